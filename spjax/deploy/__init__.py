"""Deployment: answers from recorded measurement streams of a DMD single-pixel camera.

`Pipeline.from_run(DIR)` loads a trained run (sensor, encoder, frozen decoder);
`ask(pipeline, FILE, export=DIR)` reads a recording (raw samples per physical DMD frame, or
differenced measurements), checks the export against the run and the stream against the
export (`check_stream`), measures the detector from the export's calibration frames (photon
transfer for exports without them), answers window by window and, with `labels=`, scores the
answers against a simulated recording's ground truth; `record(...)` simulates a recording
through an export's frames (`spjax sensing record`).
"""

from spjax.deploy.ask import ask
from spjax.deploy.calibrate import Detector, estimate_detector, frame_times, to_measurements
from spjax.deploy.match import FrameLayout, check_export, load_manifest
from spjax.deploy.pipeline import Pipeline, question_type
from spjax.deploy.record import record, render_clips, simulate_samples
from spjax.deploy.recording import Recording, RecordingError, read_recording, write_samples
from spjax.deploy.stream import check_stream

__all__ = [
    "Detector",
    "FrameLayout",
    "Pipeline",
    "Recording",
    "RecordingError",
    "ask",
    "check_export",
    "check_stream",
    "estimate_detector",
    "frame_times",
    "load_manifest",
    "question_type",
    "read_recording",
    "record",
    "render_clips",
    "simulate_samples",
    "to_measurements",
    "write_samples",
]
