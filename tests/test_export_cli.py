"""`spjax export` and `spjax import-patterns` through the real CLI entry point."""

from __future__ import annotations

import json

import numpy as np
import pytest

from spjax import cli
from spjax.sensing import Sensor, load_sensor, save_sensor


@pytest.fixture(autouse=True)
def only_export_commands(monkeypatch):
    # Test this area's commands without depending on the other areas' CLI modules.
    monkeypatch.setattr(cli, "_COMMAND_MODULES", ("spjax.export.cli",))


def test_family_export_then_import(tmp_path, capsys):
    out = tmp_path / "had"
    assert (
        cli.main(
            [
                "export",
                "--family",
                "hadamard",
                "--rate",
                "0.25",
                "--size",
                "8",
                "--format",
                "dlpc900",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert (
        "exported 36 frames (K=16, 8x8, r=0.25, split=True; 2 all-off + 2 all-on calibration "
        "frames first) as dlpc900" in printed
    )
    assert "device 1920x1080, zoom 135" in printed
    assert cli.main(["import-patterns", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "verified 2 files" in printed and "2 all-off + 2 all-on calibration frames" in printed
    m = json.loads((out / "manifest.json").read_text())
    assert m["sensor"]["family"] == "hadamard:low_frequency"  # bare "hadamard": the 2-D order


def test_run_directory_with_geometry_and_save_sensor(tmp_path, capsys):
    sensor = Sensor.family("bernoulli", 4, 8, k=5, seed=3)
    save_sensor(sensor, tmp_path / "run")
    out = tmp_path / "e"
    assert (
        cli.main(
            [
                "export",
                "--run",
                str(tmp_path / "run"),
                "--format",
                "alp4",
                "--out",
                str(out),
                "--device",
                "32x24",
                "--zoom",
                "2",
                "--offset",
                "3,4",
                "--flip-h",
                "--rotate",
                "90",
                "--exposure-us",
                "500",
            ]
        )
        == 0
    )
    m = json.loads((out / "manifest.json").read_text())
    assert m["geometry"] == {
        "zoom": 2,
        "offset": [3, 4],
        "flip_h": True,
        "flip_v": False,
        "rotate": 90,
        "region": {"top": 3, "left": 4, "height": 16, "width": 8},
    }
    assert m["exposure_us"] == 500.0 and m["split"] is False
    assert cli.main(["import-patterns", str(out), "--save-sensor", str(tmp_path / "back")]) == 0
    assert np.array_equal(
        np.asarray(load_sensor(tmp_path / "back").patterns()), np.asarray(sensor.patterns())
    )


def test_patterns_file_and_preview(tmp_path):
    pats = np.random.default_rng(0).choice([-1.0, 1.0], size=(3, 4, 4)).astype(np.float32)
    np.save(tmp_path / "p.npy", pats)
    assert (
        cli.main(
            [
                "export",
                "--patterns",
                str(tmp_path / "p.npy"),
                "--format",
                "dlpc350",
                "--out",
                str(tmp_path / "e"),
                "--device",
                "16x16",
                "--preview",
                str(tmp_path / "preview.png"),
            ]
        )
        == 0
    )
    assert (tmp_path / "preview.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_errors_are_one_line_and_exit_2(tmp_path, capsys):
    out = tmp_path / "e"
    args = [
        "export",
        "--family",
        "rademacher",
        "--k",
        "3",
        "--size",
        "4x8",
        "--format",
        "png",
        "--out",
        str(out),
    ]
    assert cli.main(args) == 0
    capsys.readouterr()
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "already exists" in err and "--overwrite" in err
    assert cli.main(args + ["--overwrite"]) == 0

    frame = out / "frame_0000.png"
    frame.write_bytes(frame.read_bytes() + b"x")
    capsys.readouterr()
    assert cli.main(["import-patterns", str(out)]) == 2
    assert "checksum mismatch" in capsys.readouterr().err

    assert (
        cli.main(
            [
                "export",
                "--family",
                "hadamard",
                "--size",
                "8",
                "--format",
                "png",
                "--out",
                str(tmp_path / "x"),
            ]
        )
        == 2
    )
    assert "exactly one of --rate or --k" in capsys.readouterr().err
    assert (
        cli.main(
            [
                "export",
                "--family",
                "hadamard",
                "--k",
                "4",
                "--size",
                "8",
                "--format",
                "alp4",
                "--device",
                "8x8",
                "--zoom",
                "2",
                "--out",
                str(tmp_path / "x"),
            ]
        )
        == 2
    )
    assert "largest zoom that fits is 1" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_cli_format_choices_match_the_registry():
    from spjax.export import FORMATS
    from spjax.export.cli import FORMAT_NAMES

    assert FORMAT_NAMES == tuple(FORMATS)


def test_gray_patterns_file_needs_bit_depth(tmp_path, capsys):
    np.save(tmp_path / "g.npy", np.full((2, 4, 4), 0.25, np.float32))
    base = ["export", "--patterns", str(tmp_path / "g.npy"), "--format", "npz"]
    assert cli.main(base + ["--out", str(tmp_path / "a")]) == 2
    assert "gray level 0.25" in capsys.readouterr().err
    assert cli.main(base + ["--out", str(tmp_path / "b"), "--bit-depth", "4"]) == 0
    assert "4 bit-planes each" in capsys.readouterr().out


@pytest.mark.parametrize("fmt", ["dlpc900", "alp4"])
def test_default_recipe_style_learned_sensor_from_run_dir(tmp_path, fmt, capsys):
    # The default recipe's sensor: learned signed_binary, Hadamard low-frequency init,
    # 32x32 at rate 0.05, split, photon noise. "Training" moves the parameters at random.
    import jax
    from flax import nnx

    from spjax.export import import_patterns
    from spjax.sensing import NoiseModel

    sensor = Sensor.learned(
        32,
        32,
        0.05,
        parameterization="signed_binary",
        init="hadamard:low_frequency",
        split=True,
        noise=NoiseModel(photons=1e5),
        rngs=nnx.Rngs(0),
    )
    values = sensor.source.values
    values[...] = values[...] + jax.random.normal(jax.random.key(1), values.shape)
    save_sensor(sensor, tmp_path / "run")
    out = tmp_path / "e"
    assert (
        cli.main(["export", "--run", str(tmp_path / "run"), "--format", fmt, "--out", str(out)])
        == 0
    )
    assert "exported 106 frames (K=51, 32x32, r=0.0498, split=True;" in capsys.readouterr().out
    back = import_patterns(out)
    assert np.array_equal(np.asarray(back.patterns()), np.asarray(sensor.patterns()))
    frames = jax.random.uniform(jax.random.key(2), (3, 32, 32))
    key = jax.random.key(3)
    assert np.array_equal(np.asarray(back(frames, key)), np.asarray(sensor(frames, key)))
    assert back.noise == sensor.noise
