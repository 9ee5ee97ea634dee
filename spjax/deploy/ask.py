"""A recording → answers: read it, check it against the export that was displayed (the
export against the run, then the stream against the export), calibrate the detector,
difference the split pairs and answer window by window (`spjax ask`); with `labels`, score
the answers against the recording's ground truth."""

from __future__ import annotations

from spjax.deploy import stream
from spjax.deploy.calibrate import estimate_detector, frame_times, to_measurements
from spjax.deploy.match import check_export, load_manifest
from spjax.deploy.recording import MEASUREMENTS, RAW, RecordingError, read_recording


def _export_info(layout) -> dict:
    return {
        "source": layout.source,
        "matches_run_sensor": True,
        "files_verified": layout.verified_files,
        "manifest_version": layout.manifest_version,
        "physical_frames": layout.n_frames,
        "calibration_frames": {
            "off": layout.calibration_off.tolist(),
            "on": layout.calibration_on.tolist(),
        },
        "all_off_frames": layout.all_off.tolist(),
        "frame_period_s": layout.frame_period_s,
        "sequence_sha256": layout.sequence_sha256,
    }


def ask(
    pipeline,
    measurements,
    *,
    export=None,
    questions=None,
    gain: float | None = None,
    dark: float | None = None,
    column=None,
    labels=None,
) -> dict:
    """Answers (the `Pipeline.answer` schema) plus what was read, checked and calibrated.

    `measurements`: raw samples per physical DMD frame in the order of `export`'s manifest
    (an export folder or its manifest.json; required for raw samples), or differenced
    measurements (T, K). `gain`/`dark` fix the detector instead of measuring it. `labels`
    (a `spjax sensing record` side file) adds `scores` against its ground truth and the
    run's test numbers. The stream is checked against the export before anything is
    estimated from it."""
    from spjax.deploy import labels as labels_mod

    sensor = pipeline.sensor
    truth = None if labels is None else labels_mod.load_labels(labels)
    rec = read_recording(measurements, column=column)
    layout = None
    if export is not None:
        manifest, frames, source = load_manifest(export)
        layout = check_export(manifest, sensor, frames, source)
    info = {"path": rec.path, "file_format": rec.file_format, "kind": rec.kind}
    warnings, detector_report, incomplete, stream_report = [], None, None, None
    if rec.kind == RAW:
        if layout is None:
            raise RecordingError(
                f"{rec.path}: raw samples need --export (the export folder, or its "
                "manifest.json, that the DMD displayed) to know each sample's pattern"
            )
        side = (truth, str(labels)) if truth is not None else None
        side = side or stream.read_side_file(stream.side_file(rec.path))
        stream_report = stream.check_stream(rec.data, layout, timing=sensor.timing, side=side)
        frames2d, leftover = frame_times(rec.data, layout.n_frames)
        detector, detector_report = estimate_detector(
            frames2d,
            layout,
            sensor.noise,
            timing=sensor.timing,
            gain=gain,
            dark=dark,
            block=pipeline.clip_frames,
        )
        warnings += [f"detector: {w}" for w in detector_report["warnings"]]
        y = to_measurements(frames2d, layout, detector, sensor.noise, sensor.n_pixels)
        info.update(samples=len(rec.data), physical_frames_per_frame_time=layout.n_frames)
        if leftover:
            incomplete = {
                "samples": leftover,
                "of": layout.n_frames,
                "reason": "the recording ends inside a frame time; those samples are unused",
            }
            warnings.append(
                f"the last {leftover} sample(s) do not complete a frame time of "
                f"{layout.n_frames} physical frames (truncated recording)"
            )
    else:
        assert rec.kind == MEASUREMENTS
        if gain is not None or dark is not None:
            raise ValueError(
                "--gain/--dark: calibrate raw samples; these are differenced measurements "
                "(T, K) already in inner-product units"
            )
        if rec.data.shape[1] != sensor.k:
            raise RecordingError(
                f"{rec.path}: measurements have {rec.data.shape[1]} columns, the run's sensor "
                f"measures K={sensor.k} patterns"
            )
        y = rec.data
    info["frame_times"] = len(y)
    frame_seconds = None if layout is None else layout.frame_time_s
    result = pipeline.answer(y, questions, frame_seconds=frame_seconds)
    if result["partial_window"] is not None:
        warnings.append(
            f"frames {result['partial_window']['frames']} do not fill a window of "
            f"{result['clip_frames']} frames and are not answered (truncated recording)"
        )
    out = {
        **result,
        "recording": info,
        "export": None if layout is None else _export_info(layout),
        "stream_checks": stream_report,
        "detector": detector_report,
        "incomplete_frame_time": incomplete,
        "complete": incomplete is None and result["partial_window"] is None,
        "warnings": warnings,
    }
    if truth is not None:
        out["scores"] = {
            "labels": str(labels),
            **labels_mod.score(result, truth),
            "run_test": labels_mod.run_test_numbers(pipeline.run_dir),
        }
    return out
