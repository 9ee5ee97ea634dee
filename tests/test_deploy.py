"""Closing the hardware loop: export → (simulated) recording → `spjax ask` answers.

Fast tests check the measurement side with a fixed Hadamard sensor (no trained run): the
recording formats, the export check, the detector calibration and the differencing, against
the Sensor's own measurements of the same clips and noise draw. Slow tests train a tiny run
once and check that `spjax ask` on a recording gives the in-simulation answers.
tests/test_deploy_calibration.py checks the detector estimates statistically (coverage,
drift, the fallback for exports without calibration frames)."""

from __future__ import annotations

import json
import shutil

import jax
import numpy as np
import pytest

from spjax.deploy import (
    RecordingError,
    check_export,
    estimate_detector,
    frame_times,
    load_manifest,
    read_recording,
    simulate_samples,
    to_measurements,
    write_samples,
)
from spjax.deploy.record import render_clips, world
from spjax.deploy.stream import check_stream
from spjax.export import export_patterns
from spjax.export.manifest import read_manifest
from spjax.sensing import NoiseModel, Sensor

PHOTONS = 1e6


def hadamard_sensor(order="low_frequency", rate=0.1, photons=PHOTONS, **kw):
    noise = None if photons is None else NoiseModel(photons=photons)
    return Sensor.hadamard(16, 16, rate, order=order, noise=noise, **kw)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A 16×16 Hadamard sensor (K = 26, 52 DMD frames + 4 calibration frames) exported for
    both DMD families, and six unseen clips of 6 frames."""
    base = tmp_path_factory.mktemp("deploy")
    sensor = hadamard_sensor()
    dirs = {
        "dlpc900": export_patterns(sensor, "dlpc900", base / "dlpc900"),
        "alp4": export_patterns(sensor, "alp4", base / "alp4", flip_h=True, rotate=90),
    }
    clips = render_clips(world(read_manifest(dirs["alp4"]), frames=6), 6, seed=3)["frames"]
    return sensor, dirs, clips


def check(export, sensor):
    manifest, frames, source = load_manifest(export)
    return check_export(manifest, sensor, frames, source)


def measure_back(export_dir, sensor, samples, **given):
    """What `spjax ask` does before the encoder: the export and stream checks, the detector
    (its report gets the stream checks under "stream"), the differenced measurements."""
    manifest, frames, source = load_manifest(export_dir)
    layout = check_export(manifest, sensor, frames, source)
    stream = check_stream(samples, layout, timing=sensor.timing)
    frames2d, left = frame_times(samples, layout.n_frames)
    detector, report = estimate_detector(frames2d, layout, sensor.noise, **given)
    report["stream"] = stream
    return to_measurements(frames2d, layout, detector, sensor.noise, sensor.n_pixels), report, left


@pytest.mark.parametrize("fmt", ["dlpc900", "alp4"])
def test_noiseless_recording_gives_the_sensors_measurements(exported, fmt):
    sensor, dirs, clips = exported
    samples, _ = simulate_samples(dirs[fmt], clips, gain=2.5, dark=130.0, noiseless=True)
    assert samples.shape == (6 * 6 * 56,)
    y, report, left = measure_back(dirs[fmt], sensor, samples, gain=2.5, dark=130.0)
    want = np.asarray(sensor(clips, noiseless=True)).reshape(-1, sensor.k)
    assert left == 0 and report["gain"]["how"] == "given"
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-3)
    # The pair sums agree inside every frame time, and not one sample off.
    align = report["stream"]["pair_sum_dispersion"]
    assert align["as_recorded"] < 1e-6 * align["one_sample_later"]
    # Without the gain: no shot noise to calibrate on, said so.
    with pytest.raises(RecordingError, match="no measurable shot noise|no shot noise"):
        measure_back(dirs[fmt], sensor, samples)


@pytest.mark.parametrize("fmt", ["dlpc900", "alp4"])
def test_noisy_recording_same_draw_and_estimated_detector(exported, fmt):
    sensor, dirs, clips = exported
    key = jax.random.key(11)
    samples, info = simulate_samples(dirs[fmt], clips, seed=11, gain=2.5, dark=130.0)
    assert info["detector"]["noise"]["photons"] == PHOTONS
    sim = np.asarray(sensor(clips, key)).reshape(-1, sensor.k)
    clean = np.asarray(sensor(clips, noiseless=True)).reshape(-1, sensor.k)
    noise_std = np.std(sim - clean)
    # Gain and dark given: the simulation's noise draw. The recording's mean counts come from
    # the DMD frames, the Sensor's from its fast transform; they differ by float rounding, so
    # the Poisson sampler redraws a few samples (independently: within the noise).
    y, _, _ = measure_back(dirs[fmt], sensor, samples, gain=2.5, dark=130.0)
    same = np.abs(y - sim) < 1e-3 * noise_std + 1e-4
    assert same.mean() > 0.9
    assert np.abs(y - sim).max() < 8 * noise_std
    # Measured: dark from the all-off calibration frames, gain from the shot noise of the
    # all-on frames and the pair sums.
    y_est, report, _ = measure_back(dirs[fmt], sensor, samples)
    gain, dark = report["gain"], report["dark"]
    assert report["method"] == "dark frames" and not report["warnings"]
    assert "photon transfer" in gain["how"] and "all-off" in dark["how"]
    assert abs(gain["value"] / 2.5 - 1) < 4 * gain["relative_standard_error"] + 1e-3
    lo, hi = dark["interval_95"]
    assert abs(dark["value"] - 130.0) < 1e-6 and lo <= 130.0 <= hi
    np.testing.assert_allclose(y_est, y * 2.5 / gain["value"], rtol=1e-4, atol=1e-2)
    assert report["checks"]["variance_check_z"] < 4


def test_gain_and_dark_without_an_all_off_frame(exported, tmp_path):
    """An export without calibration frames of Hadamard rows without the all-ones row 0: the
    dark offset cancels in y+ − y−, and the gain comes from the slope of the photon-transfer
    fit or must be given."""
    sensor = Sensor.from_hadamard_rows(16, 16, np.arange(1, 14), noise=NoiseModel(PHOTONS))
    out = export_patterns(sensor, "npz", tmp_path / "seq", calibration=0)
    clips = exported[2]
    samples, _ = simulate_samples(out, clips, seed=2, gain=0.5, dark=-40.0)
    y, report, _ = measure_back(out, sensor, samples, gain=0.5)
    assert report["dark"]["how"].startswith("not needed")
    sim = np.asarray(sensor(clips, jax.random.key(2))).reshape(-1, sensor.k)
    assert np.abs(y - sim).max() < 1.0  # the offset cancelled; the noise draw is shared
    try:
        _, report, _ = measure_back(out, sensor, samples)
        assert abs(report["gain"]["value"] / 0.5 - 1) < 0.3
    except RecordingError as err:  # brightness too uniform across 36 frame times: said so
        assert "not separately identifiable" in str(err) and "--dark" in str(err)


def test_recording_formats_and_bad_samples(tmp_path):
    samples = np.random.default_rng(0).normal(size=104) * 1e3
    for suffix in (".npy", ".npz", ".csv"):
        path = write_samples(tmp_path / f"rec{suffix}", samples)
        rec = read_recording(path)
        assert rec.kind == "raw" and rec.file_format == suffix[1:]
        np.testing.assert_array_equal(rec.data, samples)
    # A DAQ's CSV: a header and several columns.
    daq = tmp_path / "daq.csv"
    daq.write_text(
        "time,volts\n" + "".join(f"{i * 1e-4},{float(v)!r}\n" for i, v in enumerate(samples))
    )
    with pytest.raises(RecordingError, match="--column"):
        read_recording(daq)
    np.testing.assert_array_equal(read_recording(daq, column="volts").data, samples)
    np.testing.assert_array_equal(read_recording(daq, column=1).data, samples)
    # Differenced measurements (T, K).
    np.save(tmp_path / "y.npy", samples.reshape(4, 26))
    assert read_recording(tmp_path / "y.npy").kind == "measurements"
    # NaN samples: named, with the first index.
    bad = samples.copy()
    bad[[17, 40]] = np.nan
    np.save(tmp_path / "nan.npy", bad)
    with pytest.raises(RecordingError, match="2 NaN or infinite samples.*index 17"):
        read_recording(tmp_path / "nan.npy")
    (tmp_path / "nan.csv").write_text("1.0\n2.0\nnan\n")
    with pytest.raises(RecordingError, match="index 2"):
        read_recording(tmp_path / "nan.csv")
    (tmp_path / "junk.csv").write_text("1.0\nabc\n")
    with pytest.raises(RecordingError, match="line 2"):
        read_recording(tmp_path / "junk.csv")
    with pytest.raises(RecordingError, match="expected one of"):
        read_recording(daq.rename(tmp_path / "daq.txt"))
    with pytest.raises(FileNotFoundError):
        read_recording(tmp_path / "missing.npy")


def test_recording_of_another_export_is_refused(exported, tmp_path):
    sensor, dirs, clips = exported
    more = export_patterns(hadamard_sensor(rate=0.2), "dlpc900", tmp_path / "more")
    other_order = export_patterns(hadamard_sensor(order="sequency"), "alp4", tmp_path / "seq")
    for export, message in (
        (more, r"K \(patterns\): export 51, run 26; frame count: export 106, run 52 \+ 4 cal"),
        (other_order, "patterns differ: .*differ.*checksum"),
        (other_order / "manifest.json", "patterns differ \\(checksum"),
    ):
        with pytest.raises(RecordingError, match=message):
            check(export, sensor)
    # Same patterns, another order: named as such.
    perm = np.asarray(sensor.patterns())[[1, 0, *range(2, sensor.k)]]
    swapped = export_patterns(perm, "npz", tmp_path / "swapped")
    with pytest.raises(
        RecordingError, match="pattern order differs.*export pattern 0 is the run's pattern 1"
    ):
        check(swapped, sensor)
    # A modified export file fails its checksum.
    victim = dirs["dlpc900"] / sorted(read_manifest(dirs["dlpc900"])["files"])[0]
    copy = tmp_path / "tampered"

    shutil.copytree(dirs["dlpc900"], copy)
    data = bytearray(victim.read_bytes())
    data[-1] ^= 1
    (copy / victim.name).write_bytes(bytes(data))
    with pytest.raises(ValueError, match="checksum mismatch"):
        load_manifest(copy)


def test_misaligned_truncated_and_unidentifiable(exported):
    sensor, dirs, clips = exported
    samples, _ = simulate_samples(dirs["dlpc900"], clips, seed=1)
    with pytest.raises(RecordingError, match="misaligned by one sample"):
        measure_back(dirs["dlpc900"], sensor, samples[1:])
    _, _, left = measure_back(dirs["dlpc900"], sensor, samples[:-7])
    assert left == 56 - 7
    noiseless = hadamard_sensor(photons=None)
    with pytest.raises(RecordingError, match="no NoiseModel.*give --gain"):
        measure_back(dirs["dlpc900"], noiseless, samples)
    with pytest.raises(ValueError, match="expected a value > 0"):
        estimate_detector(np.ones((2, 26)), None, None, gain=-1.0)
    # Unsplit patterns: the calibration frames measure the dark offset (which does not
    # cancel here) and the gain (from the two all-on frames' shot noise alone).
    unsplit = Sensor.from_patterns(
        (np.asarray(sensor.patterns()) > 0).astype(np.float32), noise=NoiseModel(PHOTONS)
    )
    out = export_patterns(unsplit, "npz", dirs["dlpc900"].parent / "unsplit")
    raw, _ = simulate_samples(out, clips, seed=1, gain=1.5, dark=40.0)
    y, report, _ = measure_back(out, unsplit, raw, gain=1.5)
    assert report["dark"]["value"] == pytest.approx(40.0, abs=1e-6)
    want = np.asarray(unsplit(clips, jax.random.key(1))).reshape(-1, 26)
    np.testing.assert_allclose(y, want, rtol=1e-4, atol=0.5)
    _, report, _ = measure_back(out, unsplit, raw)
    assert "2 all-on calibration frames" in report["gain"]["how"]
    assert abs(report["gain"]["value"] / 1.5 - 1) < 4 * report["gain"]["relative_standard_error"]
    # Without calibration frames, neither is identifiable.
    old = export_patterns(unsplit, "npz", dirs["dlpc900"].parent / "unsplit_old", calibration=0)
    raw, _ = simulate_samples(old, clips, seed=1)
    with pytest.raises(RecordingError, match="not split ±1 pairs"):
        measure_back(old, unsplit, raw)
    with pytest.raises(RecordingError, match="give --dark"):
        measure_back(old, unsplit, raw, gain=1.0)
    y, report, _ = measure_back(old, unsplit, raw, gain=1.0, dark=0.0)
    np.testing.assert_allclose(y, want, rtol=1e-4, atol=0.5)


# -- a trained run: the whole loop through the command line ---------------------------------


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny trained run (the `tiny` recipe of test_training), its pipeline, and exports of
    its sensor for a DLPC900 and an ALP-4."""
    from test_training import TINY_DECODER, tiny_config

    from spjax.deploy import Pipeline
    from spjax.training.report import run_spvlm

    base = tmp_path_factory.mktemp("trained")
    (base / "decoder_recipe.py").write_text(TINY_DECODER)
    tiny = (str(base / "decoder_recipe.py"), str(base / "cache"))
    run = base / "run"
    run_spvlm(tiny_config(tiny, "train.steps=4", "train.label_steps=2"), run)
    from spjax.cli import main

    exports = {}
    for fmt in ("dlpc900", "alp4"):
        exports[fmt] = base / f"export_{fmt}"
        assert main(["export", "--run", str(run), "--format", fmt, "--out", str(exports[fmt])]) == 0
    return run, Pipeline.from_run(run), exports


def in_simulation(pipe, side, *, seed, noiseless):
    """The run's own answers for the recorded clips: Sensor → encoder → decoder."""
    frames = side["_frames"]
    y = pipe.simulate(frames, jax.random.key(seed), noiseless=noiseless)
    return pipe.answer(y.reshape(-1, pipe.sensor.k))


def texts(result):
    return [[a["answer"] for a in w["answers"]] for w in result["windows"]]


def heads(result):
    return [
        (w["label_heads"]["count"], w["label_heads"]["anomaly_type"]) for w in result["windows"]
    ]


def scores(result):
    return np.array([w["label_heads"]["anomaly_score"] for w in result["windows"]])


@pytest.mark.slow
def test_closed_loop_reproduces_in_simulation_answers(trained, tmp_path, capsys):
    from spjax.cli import main
    from spjax.deploy import ask, record

    run, pipe, exports = trained
    for fmt, suffix in (("dlpc900", ".npy"), ("alp4", ".csv")):
        # Noiseless: exactly the simulation's answers, with the detector given.
        rec = tmp_path / f"{fmt}_clean{suffix}"
        side = record(
            exports[fmt], rec, clips=3, run=run, seed=4, gain=3.0, dark=50.0, noiseless=True
        )
        sim = in_simulation(pipe, side, seed=4, noiseless=True)
        got = ask(pipe, rec, export=exports[fmt], gain=3.0, dark=50.0)
        assert texts(got) == texts(sim) and got["complete"]
        assert heads(got) == heads(sim)
        np.testing.assert_allclose(scores(got), scores(sim), atol=1e-4)
        assert got["windows"][2]["frames"] == [16, 24] and got["windows"][2]["seconds"]
        # Noisy, through the command line: the simulation's noise draw (up to the few
        # samples the Poisson sampler redraws), so the heads move less than noise moves them.
        rec = tmp_path / f"{fmt}_noisy{suffix}"
        argv = ["sensing", "record", "--export", str(exports[fmt]), "--clips", "4", "--run"]
        argv += [str(run), "--seed", "9", "--gain", "2.0", "--dark", "75", "--out", str(rec)]
        assert main(argv) == 0
        side = json.loads(rec.with_name(rec.stem + ".labels.json").read_text())
        assert side["clips"] == 4 and len(side["ground_truth"]) == 4
        frames = render_clips(world(read_manifest(exports[fmt]), run=run), 4, seed=9)["frames"]
        y_sim = pipe.simulate(frames, jax.random.key(9)).reshape(-1, pipe.sensor.k)
        sim = pipe.answer(y_sim)
        other_draw = pipe.simulate(frames, jax.random.key(10)).reshape(-1, pipe.sensor.k)
        noise_only = np.abs(scores(pipe.answer(other_draw)) - scores(sim)).max()
        out = tmp_path / f"{fmt}.json"
        argv = ["ask", "--run", str(run), "--measurements", str(rec), "--export"]
        argv += [str(exports[fmt]), "--gain", "2", "--dark", "75", "--out", str(out)]
        assert main(argv) == 0
        assert "window 3" in capsys.readouterr().out
        got = json.loads(out.read_text())
        assert texts(got) == texts(sim) and heads(got) == heads(sim)
        assert np.abs(scores(got) - scores(sim)).max() <= 3 * noise_only + 1e-4
        # The detector estimated from the recording itself: the gain within its stated
        # error, and the answers those of the simulation seen through that gain error.
        got = ask(pipe, rec, export=exports[fmt])
        det = got["detector"]
        assert "photon transfer" in det["gain"]["how"] and "all-off" in det["dark"]["how"]
        assert abs(det["gain"]["value"] / 2.0 - 1) < 4 * det["gain"]["relative_standard_error"]
        assert abs(det["dark"]["value"] - 75.0) < 1.0
        rescaled = pipe.answer(y_sim * (2.0 / det["gain"]["value"]))
        assert texts(got) == texts(rescaled) and heads(got) == heads(rescaled)
        assert np.abs(scores(got) - scores(rescaled)).max() <= 3 * noise_only + 1e-4


@pytest.mark.slow
def test_truncated_and_differenced_recordings_and_errors(trained, tmp_path, capsys):
    from spjax.cli import main
    from spjax.deploy import Pipeline, ask, record
    from spjax.training.checkpoint import CheckpointError

    run, pipe, exports = trained
    rec = tmp_path / "rec.npy"
    record(exports["dlpc900"], rec, clips=2, run=run, seed=1, noiseless=True)
    full = np.load(rec)
    per_frame = 56  # K = 26 split pairs + 4 calibration frames
    # Cut inside the second clip's fourth frame: one window answered, the rest reported.
    np.save(tmp_path / "cut.npy", full[: (8 + 3) * per_frame + 5])
    got = ask(pipe, tmp_path / "cut.npy", export=exports["dlpc900"], gain=1.0, dark=0.0)
    assert len(got["windows"]) == 1 and not got["complete"]
    assert got["partial_window"]["frames"] == [8, 11] and not got["partial_window"]["answered"]
    assert got["incomplete_frame_time"] == {
        "samples": 5,
        "of": per_frame,
        "reason": "the recording ends inside a frame time; those samples are unused",
    }
    assert len(got["warnings"]) == 2
    # Differenced measurements answer like the raw samples they came from.
    whole = ask(pipe, rec, export=exports["dlpc900"], gain=1.0, dark=0.0)
    clips = render_clips(world(read_manifest(exports["dlpc900"]), run=run), 2, seed=1)
    y = pipe.simulate(clips["frames"], noiseless=True)
    np.save(tmp_path / "y.npy", y.reshape(-1, pipe.sensor.k))
    diff = ask(pipe, tmp_path / "y.npy", questions=["How many people are there?"])
    assert [w["answers"][0]["answer"] for w in diff["windows"]] == [
        w["answers"][0]["answer"] for w in whole["windows"]
    ]
    (q,) = diff["questions"]
    assert (q["text"], q["qtype"], q["asked"], q["source"]) == (
        "How many people are there?",
        "count",
        "How many people are there?",
        "grammar",
    )
    # Errors: one line each, naming the problem.
    np.save(tmp_path / "short.npy", full[: 3 * per_frame])
    with pytest.raises(RecordingError, match="fewer than one window of 8 frames"):
        ask(pipe, tmp_path / "short.npy", export=exports["dlpc900"], gain=1.0, dark=0.0)
    with pytest.raises(RecordingError, match="raw samples need --export"):
        ask(pipe, rec)
    nan = full.copy()
    nan[100] = np.nan
    np.save(tmp_path / "nan.npy", nan)
    argv = ["ask", "--run", str(run), "--export", str(exports["alp4"]), "--measurements"]
    assert main(argv + [str(tmp_path / "nan.npy")]) == 2
    assert "1 NaN or infinite samples (first at index 100)" in capsys.readouterr().err
    other = export_patterns(hadamard_sensor(order="sequency"), "alp4", tmp_path / "other")
    assert main(argv[:4] + [str(other), "--measurements", str(rec)]) == 2
    assert "not this run's sensor" in capsys.readouterr().err
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "config.json").write_text((run / "config.json").read_text())
    with pytest.raises(CheckpointError, match="no checkpoint"):
        Pipeline.from_run(bare)
    assert main(["ask", "--run", str(bare), "--measurements", str(rec)]) == 2
    assert "no checkpoint" in capsys.readouterr().err


@pytest.mark.slow
def test_readme_loop_measures_the_detector_and_scores_the_answers(trained, tmp_path, capsys):
    """The README's four commands (defaults; no --gain/--dark at ask time) plus --labels:
    the detector measured from the calibration frames, the answers those of the simulation
    seen through the measured gain, and scored beside the run's own test numbers."""
    from spjax.cli import main

    run, pipe, exports = trained
    rec, out = tmp_path / "rec.npy", tmp_path / "answers.json"
    argv = ["sensing", "record", "--export", str(exports["dlpc900"]), "--run", str(run)]
    assert main(argv + ["--clips", "10", "--gain", "2.0", "--dark", "75", "--out", str(rec)]) == 0
    labels = rec.with_name("rec.labels.json")
    argv = ["ask", "--run", str(run), "--measurements", str(rec), "--export"]
    argv += [str(exports["dlpc900"]), "--labels", str(labels), "--out", str(out)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "detector (dark frames): gain" in printed and "this recording (10 clips)" in printed
    got = json.loads(out.read_text())
    gain, dark = got["detector"]["gain"], got["detector"]["dark"]
    assert abs(gain["value"] / 2.0 - 1) < 4 * gain["relative_standard_error"]
    assert abs(dark["value"] - 75.0) <= dark["standard_error"] and "all-off" in dark["how"]
    assert got["stream_checks"]["calibration_frames"]["checked"]
    frames = render_clips(world(read_manifest(exports["dlpc900"]), run=run), 10, seed=0)["frames"]
    y_sim = pipe.simulate(frames, jax.random.key(0)).reshape(-1, pipe.sensor.k)
    seen = pipe.answer(y_sim * (2.0 / gain["value"]))
    other = pipe.simulate(frames, jax.random.key(1)).reshape(-1, pipe.sensor.k)
    noise_only = np.abs(scores(pipe.answer(other)) - scores(pipe.answer(y_sim))).max()
    # The same noise draw up to the few samples the Poisson sampler redraws: the texts, and
    # the head scores within noise (a borderline argmax of the heads may flip).
    assert texts(got) == texts(seen)
    assert np.abs(scores(got) - scores(seen)).max() <= 3 * noise_only + 1e-4
    scored = got["scores"]
    assert scored["clips"] == 10 and scored["run_test"]["source"].endswith("report.json")
    assert set(scored["answers"]) == {"count", "anomaly", "activity", "describe"}
    truth = json.loads(labels.read_text())["ground_truth"]
    exact = np.mean(
        [
            w["answers"][0]["parsed"] is not None
            and w["answers"][0]["parsed"]["count"] == g["count"]
            for w, g in zip(got["windows"], truth)
        ]
    )
    assert scored["answers"]["count"]["exact_accuracy"] == exact


@pytest.mark.slow
def test_a_drifting_detector_answers_within_noise_and_is_reported(trained, tmp_path):
    """A 5 % gain and dark drift over the recording: the answers stay within the noise of
    the drift-free recording's (same clips and noise draw), and answers.json reports it."""
    from spjax.deploy import ask, record

    run, pipe, exports = trained
    kw = dict(clips=4, run=run, seed=9, gain=2.0, dark=75.0)
    record(exports["alp4"], tmp_path / "still.npy", **kw)
    record(exports["alp4"], tmp_path / "drift.npy", drift=0.05, **kw)
    still = ask(pipe, tmp_path / "still.npy", export=exports["alp4"])
    drift = ask(pipe, tmp_path / "drift.npy", export=exports["alp4"])
    frames = render_clips(world(read_manifest(exports["alp4"]), run=run), 4, seed=9)["frames"]
    draws = [pipe.simulate(frames, jax.random.key(s)).reshape(-1, pipe.sensor.k) for s in (9, 10)]
    noise_only = np.abs(scores(pipe.answer(draws[0])) - scores(pipe.answer(draws[1]))).max()
    assert texts(drift) == texts(still) and heads(drift) == heads(still)
    assert np.abs(scores(drift) - scores(still)).max() <= 3 * noise_only + 1e-4
    found = drift["detector"]["drift"]
    dark = found["dark"]  # the dark frames have no read noise here: measured exactly
    assert dark["applied"] and dark["relative_change"] == pytest.approx(0.05, abs=2e-3)
    gain = found["gain"]
    assert abs(gain["relative_change"] - 0.05) < 3 * gain["relative_change_se"]
    assert not still["detector"]["drift"]["dark"]["detected"]


@pytest.mark.slow
def test_questions_in_a_users_words(trained, tmp_path, capsys):
    """`spjax ask` with free-form questions answers as the grammar's question of the kind
    they ask for, states plainly what it does not answer, and never answers empty;
    `spjax evaluate --wordings` scores the held-out wordings beside the grammar's."""
    from pathlib import Path

    from spjax.cli import main
    from spjax.data.router import OUTSIDE_ANSWER
    from spjax.deploy import ask, record

    run, pipe, exports = trained
    rec = tmp_path / "rec.npy"
    record(exports["dlpc900"], rec, clips=4, run=run, seed=2, noiseless=True)
    questions = [
        "Tell me how many people are here.",
        "How many people are in the room?",
        "Is anyone hurt or fighting in there?",
        "Who is this person?",
    ]
    got = ask(pipe, rec, export=exports["dlpc900"], gain=1.0, dark=0.0, questions=questions)
    assert [q["qtype"] for q in got["questions"]] == ["count", "count", "anomaly", None]
    for w in got["windows"]:
        free, grammar, anomaly, who = w["answers"]
        assert free["answer"] == grammar["answer"] and free["parsed"] == grammar["parsed"]
        assert anomaly["asked"] == "Is anything unusual happening?"
        assert who["answer"] == OUTSIDE_ANSWER and who["reason"]
        assert all(a["answer"].strip() for a in w["answers"])
    argv = ["ask", "--run", str(run), "--measurements", str(rec), "--export"]
    argv += [str(exports["dlpc900"]), "--gain", "1", "--dark", "0"]
    assert main(argv + ["--question", "Tell me how many people are here."]) == 0
    assert "[asked: How many people are in the room?]" in capsys.readouterr().out
    # spjax evaluate --wordings: the three ways of asking on the same clips
    heldout = Path(__file__).parent / "data" / "heldout_questions.json"
    out = tmp_path / "eval.json"
    argv = ["evaluate", "--run", str(run), "--set", "data.n_test=6", "--out", str(out)]
    assert main(argv + ["--wordings", str(heldout), "--wordings-clips", "6"]) == 0
    assert "wordings of" in capsys.readouterr().out
    result = json.loads(out.read_text())
    w = result["wordings"]
    assert w["clips"] == 6 and w["examples"]["count"] == w["examples"]["anomaly"] == 6
    assert w["routed"]["empty_answers"] == 0 and w["routing"]["accuracy"] > 0.8
    for mode in ("grammar", "routed", "verbatim"):
        assert w[mode]["count"]["n"] == 6 and w[mode]["anomaly"]["n"] == 6
        assert 0.0 <= w["summary"][mode]["anomaly_accuracy"] <= 1.0
    # the grammar's wordings are answered as the evaluation answers them (same clips, same
    # noise draw; other batches, so one answer in six may differ by rounding)
    u = result["utility"]
    for key in ("count_exact_accuracy", "anomaly_accuracy"):
        assert abs(w["summary"]["grammar"][key] - u[key]) <= 1 / 6 + 1e-9, key
