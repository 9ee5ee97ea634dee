"""Sensors survive export -> import: same hard patterns bit for bit, same measurements."""

from __future__ import annotations

import json

import jax
import numpy as np
import pytest
from flax import nnx

from spjax.export import FORMATS, export_patterns, import_patterns, read_export
from spjax.sensing import NoiseModel, Sensor, save_sensor

H = W = 8


@pytest.fixture(scope="module")
def frames():
    return jax.random.uniform(jax.random.key(3), (2, H, W))


def sensors():
    return {
        "hadamard_split": Sensor.hadamard(H, W, rate=0.25),
        "bernoulli_nonsplit": Sensor.family("bernoulli", H, W, k=7, seed=2),
        "rademacher_split_noisy": Sensor.family(
            "rademacher", H, W, k=5, seed=1, noise=NoiseModel(photons=1e4, dark=3.0)
        ),
    }


@pytest.mark.parametrize("fmt", sorted(FORMATS))
@pytest.mark.parametrize("name", ["hadamard_split", "bernoulli_nonsplit"])
def test_every_format_round_trips_split_and_nonsplit(tmp_path, fmt, name, frames):
    sensor = sensors()[name]
    out = export_patterns(
        sensor,
        fmt,
        tmp_path / "e",
        device=None if fmt in ("png", "npz") else "24x16",
        rotate=270,
        flip_v=True,
    )
    back = import_patterns(out)
    assert np.array_equal(np.asarray(back.patterns()), np.asarray(sensor.patterns()))
    assert (back.k, back.h, back.w, back.split, back.signed) == (
        sensor.k,
        sensor.h,
        sensor.w,
        sensor.split,
        sensor.signed,
    )
    assert np.array_equal(np.asarray(back(frames)), np.asarray(sensor(frames)))
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["split"] is sensor.split
    assert manifest["n_frames"] == sensor.physical_frames + 4  # + the calibration frames
    assert manifest["sensor"] == sensor.describe()


def test_hadamard_comes_back_on_the_fast_path(tmp_path):
    sensor = Sensor.hadamard(H, W, k=10, order="cake_cutting")
    back = import_patterns(export_patterns(sensor, "npz", tmp_path / "e"))
    assert back.describe() == sensor.describe()


def test_noise_model_and_noisy_measurements_survive(tmp_path, frames):
    sensor = sensors()["rademacher_split_noisy"]
    out = export_patterns(sensor, "dlpc350", tmp_path / "e", device="16x16")
    back = import_patterns(out)
    assert back.noise == sensor.noise
    key = jax.random.key(7)
    assert np.array_equal(np.asarray(back(frames, key)), np.asarray(sensor(frames, key)))
    assert json.loads((out / "manifest.json").read_text())["photons"]["photons"] == 1e4


@pytest.mark.parametrize("parameterization", ["signed_binary", "binary"])
def test_learned_sensor_exports_its_hard_patterns(tmp_path, parameterization, frames):
    sensor = Sensor.learned(
        H, W, k=6, parameterization=parameterization, init="rademacher", rngs=nnx.Rngs(0)
    )
    back = import_patterns(export_patterns(sensor, "alp4", tmp_path / "e", device="32x32"))
    hard = np.asarray(sensor.patterns())
    assert set(np.unique(hard)) <= {-1.0, 0.0, 1.0}
    assert np.array_equal(np.asarray(back.patterns()), hard)
    assert np.array_equal(np.asarray(back(frames)), np.asarray(sensor(frames)))


def test_gray_level_learned_sensor_is_rejected(tmp_path):
    sensor = Sensor.learned(
        H, W, k=3, parameterization="continuous", init="gaussian", rngs=nnx.Rngs(0)
    )
    with pytest.raises(ValueError, match="gray level"):
        export_patterns(sensor, "png", tmp_path / "e")
    assert not (tmp_path / "e").exists()


def test_run_directory_sensor_and_array_input(tmp_path):
    sensor = Sensor.family("rademacher", H, W, k=4, seed=5)
    save_sensor(sensor, tmp_path / "run")
    from spjax.sensing import load_sensor

    out = export_patterns(load_sensor(tmp_path / "run"), "png", tmp_path / "e")
    arr_out = export_patterns(np.asarray(sensor.patterns()), "png", tmp_path / "a")
    a, b = read_export(out), read_export(arr_out)
    assert np.array_equal(a[0], b[0])
    assert a[1]["patterns_sha256"] == b[1]["patterns_sha256"]
    with pytest.raises(TypeError, match="load it first"):
        export_patterns(str(tmp_path / "run"), "png", tmp_path / "x")


def test_tampered_hadamard_rows_are_caught(tmp_path):
    out = export_patterns(Sensor.hadamard(H, W, k=4), "png", tmp_path / "e")
    path = out / "manifest.json"
    m = json.loads(path.read_text())
    m["sensor"]["hadamard_rows"][0] = 63
    path.write_text(json.dumps(m))
    with pytest.raises(ValueError, match="Hadamard rows do not match"):
        import_patterns(out)
