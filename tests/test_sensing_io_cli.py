"""save_sensor/load_sensor round trips and corrupt files; the `spjax sensing demo` command."""

import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import spjax.sensing as S
from spjax.cli import main

H = W = 8
X = jnp.asarray(np.random.default_rng(0).random((3, H, W)), jnp.float32)
TRAIN = np.random.default_rng(1).random((8, H, W)).astype(np.float32)


def make(name):
    noise = S.NoiseModel(100.0, dark=1.0, read_std=0.5, adc_bits=10)
    if name.startswith("learned:"):
        return S.Sensor.learned(
            H, W, 0.25, parameterization=name.split(":")[1], noise=noise, rngs=nnx.Rngs(0)
        )
    fr = TRAIN if name == "hadamard:variance" else None
    return S.Sensor.family(name, H, W, 0.25, noise=noise, frames=fr, timing="pattern")


@pytest.mark.parametrize("name", list(S.FAMILIES) + [f"learned:{p}" for p in S.PARAMETERIZATIONS])
def test_round_trip(name, tmp_path):
    s = make(name)
    S.save_sensor(s, tmp_path)
    t = S.load_sensor(tmp_path)
    assert not t.learnable and t.fast == s.fast and t.noise == s.noise
    assert (t.k, t.h, t.w, t.split, t.timing) == (s.k, s.h, s.w, s.split, s.timing)
    np.testing.assert_array_equal(np.asarray(t.patterns()), np.asarray(s.patterns()))
    clip = X[None]
    key = jax.random.key(0)
    np.testing.assert_allclose(
        np.asarray(t(clip, key)), np.asarray(s(clip, key)), rtol=1e-5, atol=1e-3
    )


def test_corrupt_files(tmp_path):
    s = S.Sensor.hadamard(H, W, 0.25)
    with pytest.raises(FileNotFoundError, match="sensor.json"):
        S.load_sensor(tmp_path)
    S.save_sensor(s, tmp_path)
    np.save(tmp_path / "sensor_patterns.npy", -np.asarray(s.patterns()))
    with pytest.raises(ValueError, match="does not match the Hadamard rows"):
        S.load_sensor(tmp_path)
    np.save(tmp_path / "sensor_patterns.npy", np.ones((3, H, W), np.float32))
    with pytest.raises(ValueError, match=r"has shape \(3, 8, 8\).*\(16, 8, 8\)"):
        S.load_sensor(tmp_path)
    (tmp_path / "sensor.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        S.load_sensor(tmp_path)
    S.save_sensor(s, tmp_path)
    meta = json.loads((tmp_path / "sensor.json").read_text())
    meta["format_version"] = 99
    (tmp_path / "sensor.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="format_version must be 1, got 99"):
        S.load_sensor(tmp_path)
    (tmp_path / "sensor_patterns.npy").write_bytes(b"garbage")
    S.save_sensor(s, tmp_path / "other")
    (tmp_path / "other" / "sensor_patterns.npy").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="not a readable .npy"):
        S.load_sensor(tmp_path / "other")


def test_reconstruct_and_psnr():
    s = S.Sensor.hadamard(H, W)
    y = s(X)
    assert float(S.psnr(S.reconstruct(s, y, "pinv"), X).min()) > 60
    np.testing.assert_allclose(np.asarray(S.reconstruct(s, y, "adjoint")) / (H * W), X, atol=1e-5)
    with pytest.raises(ValueError, match="method must be one of"):
        S.reconstruct(s, y, "magic")


def test_demo_command(tmp_path, capsys):
    rc = main(
        [
            "sensing",
            "demo",
            "--out",
            str(tmp_path),
            "--size",
            "8",
            "--rate",
            "0.25",
            "1.0",
            "--families",
            "hadamard:low_frequency",
            "bernoulli",
            "--photons",
            "0",
        ]
    )
    assert rc == 0
    out = capsys.readouterr().out
    assert "hadamard:low_frequency" in out and "bernoulli" in out
    assert os.path.getsize(tmp_path / "sensing_demo.png") > 1000
    rows = json.loads((tmp_path / "sensing_demo.json").read_text())["rows"]
    assert len(rows) == 4
    full = [r for r in rows if r["rate"] == 1.0 and r["family"].startswith("hadamard")][0]
    assert full["mean_psnr"] > 60  # noiseless full-rate Hadamard recovers the images
    assert main(["sensing", "demo", "--size", "12", "--out", str(tmp_path)]) == 2
