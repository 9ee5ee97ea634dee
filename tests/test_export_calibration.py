"""Calibration frames (all-off, all-on at the start of every frame time): where every format
puts them, the manifest's record and checksum of them, and exports from before them."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from spjax.cli import main
from spjax.export import FORMATS, export_patterns, import_patterns, read_export, read_frames
from spjax.export.calibration import check_calibration, sequence_sha256
from spjax.export.manifest import sha256_file
from spjax.sensing import Sensor


def signed(k=5, h=4, w=4, seed=0):
    return np.random.default_rng(seed).choice([-1.0, 1.0], size=(k, h, w)).astype(np.float32)


def as_version_1(out):
    """Rewrite an export without calibration frames as the manifest spjax wrote before them."""
    path = out / "manifest.json"
    m = json.loads(path.read_text())
    assert m["calibration"]["n_frames"] == 0
    m["manifest_version"] = 1
    del m["calibration"], m["sequence_sha256"]
    path.write_text(json.dumps(m))
    return out


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_every_format_shows_off_then_on_frames_first(tmp_path, fmt):
    pats = signed()
    out = export_patterns(
        pats, fmt, tmp_path / "e", device=None if fmt in ("png", "npz") else "8x8"
    )
    frames, m = read_frames(out)
    assert m["manifest_version"] == 2 and m["n_frames"] == 4 + 10
    assert m["calibration"] == {
        "off": [0, 1],
        "on": [2, 3],
        "n_frames": 4,
        "placement": "start",
        "every_frame_times": 1,
    }
    assert not frames[:2].any() and frames[2:4].all()
    assert np.array_equal(frames[4::2], pats > 0) and np.array_equal(frames[5::2], pats < 0)
    assert np.array_equal(read_export(out)[0], pats)


def test_dlpc900_calibration_bits_and_the_measured_region(tmp_path):
    out = export_patterns(signed(k=2, h=2, w=2), "dlpc900", tmp_path / "e", device="4x4", zoom=2)
    with Image.open(out / "image_0000.bmp") as img:
        rgb = np.asarray(img)
    # Frames 0-3 are R bits 0-3: off, off, on, on over the 4x4 measured region.
    assert (rgb[..., 0] & 0b1111 == 0b1100).all()


def test_custom_counts_none_and_bad_values(tmp_path):
    out = export_patterns(signed(k=2), "npz", tmp_path / "a", calibration=(1, 3))
    m = json.loads((out / "manifest.json").read_text())
    assert m["calibration"]["off"] == [0] and m["calibration"]["on"] == [1, 2, 3]
    none = export_patterns(signed(k=2), "npz", tmp_path / "b", calibration=0)
    m = json.loads((none / "manifest.json").read_text())
    assert m["n_frames"] == 4 and m["calibration"]["n_frames"] == 0
    assert check_calibration(None) == (0, 0) and check_calibration(3) == (3, 3)
    for bad in (-1, (1, 2, 3), "2", 2.0, (1, True), 65):
        with pytest.raises(ValueError, match="calibration"):
            export_patterns(signed(k=2), "npz", tmp_path / "c", calibration=bad)


def test_an_export_from_before_calibration_frames_still_imports(tmp_path, capsys):
    sensor = Sensor.hadamard(8, 8, 0.25)
    old = as_version_1(export_patterns(sensor, "dlpc900", tmp_path / "old", calibration=0))
    back = import_patterns(old)
    assert np.array_equal(np.asarray(back.patterns()), np.asarray(sensor.patterns()))
    frames, m = read_frames(old)
    assert len(frames) == sensor.physical_frames and m["manifest_version"] == 1
    assert main(["import-patterns", str(old)]) == 0
    assert "no calibration frames (manifest version 1)" in capsys.readouterr().out
    # A version-1 manifest cannot claim calibration frames.
    path = old / "manifest.json"
    m = json.loads(path.read_text())
    m["frames"][0]["calibration"] = "off"
    path.write_text(json.dumps(m))
    with pytest.raises(ValueError, match="version-1 manifest cannot hold calibration frames"):
        read_export(old)


def test_placement_and_count_are_checksummed(tmp_path):
    out = export_patterns(signed(k=2), "png", tmp_path / "e")
    path = out / "manifest.json"
    original = json.loads(path.read_text())
    # Moving a calibration frame in the section alone: the entries disagree.
    m = json.loads(json.dumps(original))
    m["calibration"]["on"] = [1, 3]
    m["calibration"]["off"] = [0, 2]
    path.write_text(json.dumps(m))
    with pytest.raises(ValueError, match="the frame entries mark calibration frames"):
        read_export(out)
    # Both moved consistently: the sequence checksum says the manifest was edited.
    m["frames"][1]["calibration"], m["frames"][2]["calibration"] = "on", "off"
    path.write_text(json.dumps(m))
    with pytest.raises(ValueError, match=r"sequence_sha256 .*\(the manifest was edited\)"):
        read_export(out)
    # Resealed, the frames themselves disagree with what the manifest lists.
    m["sequence_sha256"] = sequence_sha256(m["frames"], m["calibration"])
    path.write_text(json.dumps(m))
    with pytest.raises(ValueError, match="frame 2 is listed as an all-off calibration frame"):
        read_export(out)


def test_a_calibration_frame_file_that_is_not_all_on_is_refused(tmp_path):
    out = export_patterns(signed(k=2), "png", tmp_path / "e")
    m = json.loads((out / "manifest.json").read_text())
    name = m["frames"][3]["file"]
    with Image.open(out / name) as img:
        pixels = np.asarray(img.convert("L")).copy()
    pixels[0, 0] = 0
    Image.fromarray(pixels).convert("1").save(out / name)
    m["files"][name] = sha256_file(out / name)
    (out / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(ValueError, match="frame 3 is listed as an all-on calibration frame"):
        read_frames(out)
