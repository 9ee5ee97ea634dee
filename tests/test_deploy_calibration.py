"""The detector measured from calibration frames, checked statistically; drift; the stream
checks that refuse a recording of another export before anything is estimated; the
photon-transfer fallback for exports without calibration frames and its self-checks.

No trained run: `ask` is driven with `SensorOnly`, a stand-in pipeline that holds the run's
sensor and returns the measurements it is given instead of answers (tests/test_deploy.py
runs the trained loop)."""

from __future__ import annotations

import numpy as np
import pytest
from test_export_calibration import as_version_1

from spjax.deploy import (
    RecordingError,
    ask,
    check_export,
    estimate_detector,
    frame_times,
    load_manifest,
    record,
    simulate_samples,
    to_measurements,
    write_samples,
)
from spjax.deploy.calibrate import Detector
from spjax.deploy.photon_transfer import fit as photon_transfer_fit
from spjax.deploy.record import render_clips, world
from spjax.deploy.stream import check_stream
from spjax.export import export_patterns
from spjax.export.manifest import read_manifest
from spjax.sensing import NoiseModel, Sensor

GAIN, DARK = 2.0, 75.0


def rows_sensor(size: int, k: int, noise) -> Sensor:
    """±1 Hadamard rows without the all-ones row: like learned signed patterns, no pattern
    frame is dark, so only calibration frames show the dark level."""
    return Sensor.from_hadamard_rows(size, size, np.arange(1, k + 1), noise=noise)


def layout_of(out, sensor):
    manifest, frames, source = load_manifest(out)
    return check_export(manifest, sensor, frames, source)


def measure(layout, sensor, samples, **given):
    """The stream checks, then the detector and the measurements (what `ask` does)."""
    check_stream(samples, layout, timing=sensor.timing)
    frames2d, _ = frame_times(samples, layout.n_frames)
    detector, report = estimate_detector(frames2d, layout, sensor.noise, **given)
    return to_measurements(frames2d, layout, detector, sensor.noise, sensor.n_pixels), report


class SensorOnly:
    """A stand-in for `Pipeline`: the run's sensor and clip length; `answer` hands back the
    measurements (one 'window' per clip) instead of generated text."""

    run_dir = None

    def __init__(self, sensor, clip_frames):
        self.sensor, self.clip_frames = sensor, clip_frames

    def answer(self, y, questions=None, *, frame_seconds=None):
        t = self.clip_frames
        return {
            "clip_frames": t,
            "questions": [],
            "windows": [
                {
                    "window": w,
                    "frames": [w * t, (w + 1) * t],
                    "answers": [],
                    "y": y[w * t : (w + 1) * t],
                }
                for w in range(len(y) // t)
            ],
            "partial_window": None,
        }


# One sensor, world and clip count for every noisy recording here: JAX compiles its Poisson
# sampler once per array shape (seconds each), so the tests share (150, 8, 52).
NOISE = NoiseModel(photons=1e5, dark=20.0, read_std=3.0)
N_CLIPS = 150


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """16×16 ±1 rows (K = 26) with read noise and dark counts, exported with calibration
    frames and as an export from before them (manifest version 1); 150 clips of 8 frames."""
    base = tmp_path_factory.mktemp("calibration")
    sensor = rows_sensor(16, 26, NOISE)
    new = export_patterns(sensor, "npz", base / "new")
    old = as_version_1(export_patterns(sensor, "npz", base / "old", calibration=0))
    clips = render_clips(world(read_manifest(new), frames=8), N_CLIPS, seed=7)["frames"]
    return sensor, new, old, clips


def test_stated_95_intervals_cover_the_truth_in_50_recordings(setup):
    """50 recordings (3 clips × 8 frame times each, independent noise): the stated 95 %
    intervals of gain and dark cover the truth in ≥ 90 % of them, and the estimates scatter
    as their standard errors say. Read noise and dark counts make the dark non-trivial."""
    sensor, out, _, clips = setup
    layout = layout_of(out, sensor)
    samples, _ = simulate_samples(out, clips, seed=0, gain=GAIN, dark=DARK)
    n = 50
    found, flagged = {"gain": [], "dark": []}, 0
    for rec in samples.reshape(n, -1):  # each: 24 whole frame times, its own noise
        _, report = measure(layout, sensor, rec)
        assert report["method"] == "dark frames"
        flagged += bool(report["warnings"])  # the χ² check's false alarms (p ≈ 1e-3 each)
        for name in found:
            e = report[name]
            found[name].append((e["value"], e["standard_error"], *e["interval_95"]))
    for name, truth in (("gain", GAIN), ("dark", DARK)):
        value, se, lo, hi = np.array(found[name]).T
        covered = np.mean((lo <= truth) & (truth <= hi))
        assert covered >= 0.9, f"{name}: the 95 % interval covers the truth in {covered:.0%}"
        # Unbiased, and the stated errors are the estimates' actual scatter (within 35 %).
        assert abs(value.mean() - truth) < 3 * value.std(ddof=1) / np.sqrt(n)
        assert 0.65 < np.median(se) / value.std(ddof=1) < 1.35
    assert flagged <= 2


def test_drift_is_measured_reported_and_corrected(setup, tmp_path):
    sensor, out, _, clips = setup
    layout = layout_of(out, sensor)
    kw = dict(seed=3, gain=GAIN, dark=1000.0)
    still, _ = simulate_samples(out, clips, **kw)
    drifting, info = simulate_samples(out, clips, drift=0.05, **kw)
    assert info["detector"]["drift"]["gain"] == [GAIN, GAIN * 1.05]
    _, report = measure(layout, sensor, drifting, block=100)
    found = report["drift"]
    assert found["block_frame_times"] == 100 and len(found["blocks"]) == 12
    dark = found["dark"]  # measured to a fraction of a raw unit per block: detected, applied
    assert dark["detected"] and dark["applied"]
    assert abs(dark["relative_change"] - 0.05) < 3 * dark["relative_change_se"] + 1e-3
    gain = found["gain"]  # from shot noise alone: known to a few per cent, reported either way
    assert abs(gain["relative_change"] - 0.05) < 3 * gain["relative_change_se"]
    assert gain["applied"] == gain["detected"] == (abs(gain["z"]) >= 3)
    _, report = measure(layout, sensor, still, block=100)
    assert not report["drift"]["dark"]["detected"] and not report["drift"]["gain"]["applied"]

    # Unsplit patterns, where the dark offset does not cancel (noiseless, gain given): the
    # corrected measurements are the drift-free ones; one dark for the whole recording
    # would be off by 2.5 % of it at both ends.
    shown = (np.asarray(sensor.patterns()) > 0).astype(np.float32)
    unsplit = Sensor.from_patterns(shown, noise=NOISE)
    out = export_patterns(unsplit, "npz", tmp_path / "unsplit")
    layout = layout_of(out, unsplit)
    kw = dict(gain=1.5, dark=2e4, noiseless=True)
    still, _ = simulate_samples(out, clips[:16], **kw)
    drifting, _ = simulate_samples(out, clips[:16], drift=(0.0, 0.05), **kw)
    y_still, _ = measure(layout, unsplit, still, gain=1.5, block=16)
    y_drift, report = measure(layout, unsplit, drifting, gain=1.5, block=16)
    assert report["drift"]["dark"]["applied"] and "gain" not in report["drift"]
    scale = np.abs(y_still).mean()
    assert np.abs(y_drift - y_still).max() < 1e-4 * scale
    frames2d, _ = frame_times(drifting, layout.n_frames)
    one_dark = Detector(1.5, report["dark"]["value"])
    naive = to_measurements(frames2d, layout, one_dark, NOISE, unsplit.n_pixels)
    assert np.abs(naive - y_still).max() > 0.01 * scale


def test_a_recording_of_another_export_is_refused_naming_the_mismatch(tmp_path):
    """The issue's case, scaled down: a recording made through a 32×32, r = 5 % export
    (K = 51: 102 + 4 frames per frame time), given with the run's export (56)."""
    noise = NoiseModel(photons=1e6)
    run_sensor = Sensor.hadamard(16, 16, 0.1, noise=noise)
    run = SensorOnly(run_sensor, clip_frames=8)
    mine = export_patterns(run_sensor, "dlpc900", tmp_path / "mine")
    other = export_patterns(Sensor.hadamard(32, 32, 0.05, noise=noise), "npz", tmp_path / "other")
    rec = tmp_path / "rec.npy"
    record(other, rec, clips=4, frames=8, noiseless=True)
    # With its side file (spjax sensing record wrote it): named from what it says.
    with pytest.raises(
        RecordingError,
        match="made through the export .*other.*106 physical frames per frame time, not 56",
    ):
        ask(run, rec, export=mine)
    # Without: from the stream itself, which repeats every 106 samples.
    rec.with_name("rec.labels.json").unlink()
    with pytest.raises(
        RecordingError,
        match=r"repeats every 106 samples, but the export .*mine shows 56 physical frames per "
        r"frame time \(26 split pairs \+ 4 calibration frames\): it is a recording of another",
    ):
        ask(run, rec, export=mine)
    # The run's own patterns through an export without calibration frames: 52, not 56.
    old = export_patterns(run_sensor, "npz", tmp_path / "old", calibration=0)
    clips = render_clips(world(read_manifest(old), frames=8), 4, seed=1)["frames"]
    samples, _ = simulate_samples(old, clips, gain=GAIN, dark=DARK, noiseless=True)
    write_samples(tmp_path / "old.npy", samples)
    with pytest.raises(RecordingError, match="repeats every 52 samples, but the export"):
        ask(run, tmp_path / "old.npy", export=mine)
    # ... and that one with its own export: measured and answered.
    got = ask(run, tmp_path / "old.npy", export=old, gain=GAIN, dark=DARK)
    assert got["stream_checks"]["period"]["period"] == 52 and len(got["windows"]) == 4
    want = np.asarray(run_sensor(clips, noiseless=True)).reshape(-1, 26)
    np.testing.assert_allclose(np.concatenate([w["y"] for w in got["windows"]]), want, atol=1e-2)


def test_an_old_export_still_works_and_flags_inconsistent_estimates(setup, tmp_path):
    """An export from before calibration frames (manifest version 1, no dark frame): photon
    transfer on the pair sums alone, checked for consistency."""
    sensor, _, out, clips = setup
    run = SensorOnly(sensor, clip_frames=8)
    samples, _ = simulate_samples(out, clips, seed=0, gain=GAIN, dark=DARK)
    write_samples(tmp_path / "ok.npy", samples)
    got = ask(run, tmp_path / "ok.npy", export=out)
    det = got["detector"]
    assert got["export"]["manifest_version"] == 1 and det["method"].startswith("photon transfer")
    gain = det["gain"]
    assert abs(gain["value"] - GAIN) < 4 * gain["standard_error"]
    assert gain["relative_standard_error"] < 0.1
    # The intercept's offset (the dark −70 148) is reported with its error, flagged
    # as not determined, and not used.
    dark = det["dark"]
    assert dark["how"].startswith("not needed") and dark["value"] == 0.0
    intercept = dark["photon_transfer_intercept"]
    lo, hi = intercept["interval_95"]
    assert not intercept["determined"] and hi - lo > 1000
    assert any("not determined by this recording" in w for w in got["warnings"])
    y = np.concatenate([w["y"] for w in got["windows"]])
    clean = np.asarray(sensor(clips, noiseless=True)).reshape(-1, 26)
    # Over 1200 frame times the noise averages to ≈ 0.01 (photons 1e5, 256 pixels).
    np.testing.assert_allclose(y.mean(0), clean.mean(0) * GAIN / gain["value"], atol=0.06)

    # Interference bursts in 5 % of the frame times: the pair sums contradict the line's
    # error bars: flagged, and the error widened.
    rng = np.random.default_rng(0)
    frames2d = samples.reshape(-1, 52).copy()
    burst = rng.random(len(frames2d)) < 0.05
    frames2d[burst] += rng.normal(0, 300, (burst.sum(), 52))
    write_samples(tmp_path / "burst.npy", frames2d.reshape(-1))
    got = ask(run, tmp_path / "burst.npy", export=out)
    assert any("error bars are contradicted" in w for w in got["warnings"])
    assert got["detector"]["gain"]["standard_error"] > gain["standard_error"]
    assert got["detector"]["checks"]["variance_check_z"] > 4
    # Heavier ones: refused, saying why.
    frames2d[burst] += rng.normal(0, 3000, (burst.sum(), 52))
    with pytest.raises(RecordingError, match="variances scatter .* more about the photon-transfer"):
        estimate_detector(frames2d, layout_of(out, sensor), sensor.noise)


def test_photon_transfer_refuses_an_offset_above_the_darkest_sample():
    """Pair sums whose variance extrapolates to an offset (150 000) above samples the stream
    holds (negative light): the fit is refused, not reported."""
    rng = np.random.default_rng(1)
    m, k = 120, 40
    mu = rng.uniform(4e5, 8e5, m)
    sums = mu[:, None] + rng.normal(size=(m, k)) * np.sqrt(GAIN * (mu[:, None] - 3e5))
    share = rng.uniform(0.1, 0.9, k)
    frames = np.empty((m, 2 * k))
    frames[:, 0::2], frames[:, 1::2] = sums * share, sums * (1 - share)

    class Layout:
        plus, minus = np.arange(0, 2 * k, 2), np.arange(1, 2 * k, 2)

    with pytest.raises(RecordingError, match="above the darkest sample .* negative light"):
        photon_transfer_fit(frames, Layout, NoiseModel(photons=1e6), "frame")


@pytest.mark.slow
def test_the_readme_loop_at_the_default_scale_measures_gain_within_two_percent(tmp_path):
    """The README's loop at the default run's scale (64×64, K = 205 ±1 patterns with no
    dark frame of their own, photons 1e6, 10 clips × 16 frames, --gain 2 --dark 75), with
    the patterns fixed instead of learned: the detector side does not depend on training.
    Measured over 20 seeds: gain 1.9993, scatter 0.77 % = the stated error, worst 1.2 %."""
    sensor = rows_sensor(64, 205, NoiseModel(photons=1e6))
    out = export_patterns(sensor, "dlpc900", tmp_path / "e")
    clips = render_clips(world(read_manifest(out)), 10, seed=0)["frames"]
    samples, _ = simulate_samples(out, clips, seed=0, gain=GAIN, dark=DARK)
    _, report = measure(layout_of(out, sensor), sensor, samples, block=16)
    gain, dark = report["gain"], report["dark"]
    assert abs(gain["value"] / GAIN - 1) < 0.02 and gain["relative_standard_error"] < 0.01
    assert abs(dark["value"] - DARK) <= dark["standard_error"]
    assert not report["warnings"] and not report["drift"]["gain"]["applied"]
