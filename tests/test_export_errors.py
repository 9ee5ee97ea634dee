"""Bad input and damaged exports give clear errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from spjax.export import export_patterns, make_placement, read_export, to_frames
from spjax.export.calibration import sequence_sha256
from spjax.export.manifest import sha256_file


def pats(k=3, h=4, w=4, seed=0):
    return np.random.default_rng(seed).choice([-1.0, 1.0], size=(k, h, w)).astype(np.float32)


def rehash(out, name):
    """Update one checksum so a tampered file passes the checksum stage."""
    path = out / "manifest.json"
    m = json.loads(path.read_text())
    m["files"][name] = sha256_file(out / name)
    path.write_text(json.dumps(m))


# --------------------------------------------------------------------------- export input


def test_gray_level_patterns_are_rejected():
    gray = np.full((2, 4, 4), 0.5, np.float32)
    with pytest.raises(ValueError, match=r"patterns: .*gray level 0\.5 at pattern 0"):
        to_frames(gray)
    with pytest.raises(ValueError, match="gray level 2"):
        to_frames(np.full((1, 2, 2), 2.0))


@pytest.mark.parametrize(
    "bad, err",
    [
        (np.zeros((4, 4)), ValueError),
        (np.zeros((0, 4, 4)), ValueError),
        (np.array([[[np.nan]]]), ValueError),
        (np.array([[["a"]]]), TypeError),
    ],
)
def test_malformed_pattern_arrays(bad, err):
    with pytest.raises(err, match="patterns"):
        to_frames(bad)


def test_signed_without_split_is_rejected():
    with pytest.raises(ValueError, match="split"):
        to_frames(pats(), split=False)


def test_resolution_too_small_for_zoom(tmp_path):
    with pytest.raises(ValueError, match=r"zoom: .*largest zoom that fits is 2"):
        export_patterns(pats(h=4, w=4), "alp4", tmp_path / "e", device="10x9", zoom=3)
    with pytest.raises(ValueError, match="does not fit"):
        export_patterns(pats(h=32, w=32), "dlpc900", tmp_path / "e", device="16x16")
    with pytest.raises(ValueError, match="offset"):
        export_patterns(pats(), "png", tmp_path / "e", device="8x8", zoom=2, offset=(1, 0))
    assert not (tmp_path / "e").exists()


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"rotate": 45}, "rotate"),
        ({"zoom": 0}, "zoom"),
        ({"zoom": 1.5}, "zoom"),
        ({"device": "big"}, "device"),
        ({"exposure_us": 0}, "exposure_us"),
        ({"dark_us": -1}, "dark_us"),
        ({"offset": (-1, 0)}, "offset"),
    ],
)
def test_bad_geometry_and_timing_arguments(tmp_path, kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        export_patterns(pats(), "png", tmp_path / "e", **kwargs)


def test_unknown_format(tmp_path):
    with pytest.raises(ValueError, match=r"format: expected one of .*'bmp'"):
        export_patterns(pats(), "bmp", tmp_path / "e")


def test_placement_rejects_non_integer_device():
    with pytest.raises(TypeError, match="device height"):
        make_placement(2, 2, (4.0, 4))


# --------------------------------------------------------------------------- overwrite


def test_never_overwrites_unless_asked(tmp_path):
    out = export_patterns(pats(seed=0), "npz", tmp_path / "e")
    before = (out / "manifest.json").read_text()
    with pytest.raises(FileExistsError, match="overwrite"):
        export_patterns(pats(seed=1), "npz", out)
    assert (out / "manifest.json").read_text() == before
    export_patterns(pats(seed=1), "png", out, overwrite=True)
    assert np.array_equal(read_export(out)[0], pats(seed=1))
    assert not list(out.glob("*.npz"))  # the earlier export was replaced, not merged
    assert [p.name for p in tmp_path.iterdir()] == ["e"]  # no temporary folder left behind


def test_overwrite_refuses_a_folder_that_is_not_an_export(tmp_path):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "thesis.tex").write_text("precious")
    with pytest.raises(FileExistsError, match="not an earlier export"):
        export_patterns(pats(), "png", tmp_path / "notes", overwrite=True)
    assert (tmp_path / "notes" / "thesis.tex").read_text() == "precious"


def test_empty_existing_directory_is_fine(tmp_path):
    (tmp_path / "e").mkdir()
    assert np.array_equal(read_export(export_patterns(pats(), "png", tmp_path / "e"))[0], pats())


# --------------------------------------------------------------------------- damaged exports


def test_missing_manifest_and_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a directory"):
        read_export(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="manifest.json"):
        read_export(tmp_path / "empty")


def test_missing_frame_file(tmp_path):
    out = export_patterns(pats(), "png", tmp_path / "e")
    (out / "frame_0003.png").unlink()
    with pytest.raises(FileNotFoundError, match="frame_0003.png"):
        read_export(out)


@pytest.mark.parametrize(
    "fmt, name",
    [
        ("png", "frame_0001.png"),
        ("npz", "patterns.npz"),
        ("alp4", "bitplanes.npy"),
        ("dlpc900", "image_0000.bmp"),
        ("dlpc350", "image_0000.bmp"),
    ],
)
def test_checksum_mismatch(tmp_path, fmt, name):
    out = export_patterns(pats(), fmt, tmp_path / "e", device="8x8" if fmt != "png" else None)
    data = bytearray((out / name).read_bytes())
    data[-1] ^= 0xFF
    (out / name).write_bytes(bytes(data))
    with pytest.raises(ValueError, match=f"{name}: checksum mismatch"):
        read_export(out)


def test_corrupt_manifest(tmp_path):
    out = export_patterns(pats(), "png", tmp_path / "e")
    (out / "manifest.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        read_export(out)
    (out / "manifest.json").write_text(json.dumps({"format": "png"}))
    with pytest.raises(ValueError, match="missing keys"):
        read_export(out)


def test_truncated_file_with_matching_checksum(tmp_path):
    out = export_patterns(pats(), "npz", tmp_path / "e")
    (out / "patterns.npz").write_bytes((out / "patterns.npz").read_bytes()[:40])
    rehash(out, "patterns.npz")
    with pytest.raises(ValueError, match="not a readable .npz"):
        read_export(out)


def test_light_outside_measured_region(tmp_path):
    out = export_patterns(pats(), "png", tmp_path / "e", device="12x12", zoom=2)
    with Image.open(out / "frame_0000.png") as img:
        arr = np.asarray(img).copy()
    arr[0, 0] = True  # a corner mirror, outside the centred 8x8 region
    Image.fromarray(arr).save(out / "frame_0000.png")
    rehash(out, "frame_0000.png")
    with pytest.raises(ValueError, match="outside the measured region"):
        read_export(out)


def test_non_uniform_zoom_block(tmp_path):
    out = export_patterns(pats(), "alp4", tmp_path / "e", device="8x8", zoom=2)
    seq = np.load(out / "sequence.npy")
    seq[0, 0, 0] ^= 255
    planes = np.packbits(seq == 255, axis=-1, bitorder="big")
    np.save(out / "sequence.npy", seq)
    np.save(out / "bitplanes.npy", planes)
    rehash(out, "sequence.npy")
    rehash(out, "bitplanes.npy")
    with pytest.raises(ValueError, match="zoom block is not uniform"):
        read_export(out)


def test_alp4_bitplanes_must_agree_with_sequence(tmp_path):
    out = export_patterns(pats(), "alp4", tmp_path / "e", device="8x8")
    planes = np.load(out / "bitplanes.npy")
    planes[2] ^= 0xFF
    np.save(out / "bitplanes.npy", planes)
    rehash(out, "bitplanes.npy")
    with pytest.raises(ValueError, match="bit-planes disagree"):
        read_export(out)


def test_dlpc_unused_bits_must_be_zero(tmp_path):
    out = export_patterns(pats(k=2), "dlpc900", tmp_path / "e", device="4x4")
    with Image.open(out / "image_0000.bmp") as img:
        rgb = np.asarray(img).copy()
    rgb[..., 2] = 0x80  # bit 23: no frame lives there (only 4 + 4 calibration frames)
    Image.fromarray(rgb).save(out / "image_0000.bmp", format="BMP")
    rehash(out, "image_0000.bmp")
    with pytest.raises(ValueError, match="bits beyond the 8 listed frames"):
        read_export(out)


def test_tampered_frame_order_is_caught(tmp_path):
    out = export_patterns(pats(), "npz", tmp_path / "e")
    path = out / "manifest.json"
    m = json.loads(path.read_text())
    m["frames"][4]["sign"], m["frames"][5]["sign"] = -1, 1  # after the calibration frames
    path.write_text(json.dumps(m))
    with pytest.raises(ValueError, match="sequence_sha256"):
        read_export(out)
    # Resealed (as a forger would), the order stored beside the frames still disagrees.
    m["sequence_sha256"] = sequence_sha256(m["frames"], m["calibration"])
    path.write_text(json.dumps(m))
    with pytest.raises(ValueError, match="frame order differs"):
        read_export(out)


@pytest.mark.parametrize(
    "edit, match",
    [
        (lambda m: m.__setitem__("k", "3"), "k must be a positive integer"),
        (lambda m: m.__setitem__("device", None), "device.height must be a positive integer"),
        (lambda m: m.__setitem__("frames", [1, 2]), "frames must be a list of objects"),
        (lambda m: m.__setitem__("split", "yes"), "split must be true or false"),
        (lambda m: m["geometry"].pop("offset"), r"geometry lacks \['offset'\]"),
        (lambda m: m["geometry"].__setitem__("rotate", 45), "rotate"),
        (lambda m: m["geometry"]["region"].__setitem__("top", 1), "recorded region"),
        (lambda m: m.__setitem__("manifest_version", 99), "manifest_version"),
        (lambda m: m.__setitem__("format", "tiff"), "format: expected one of"),
        (lambda m: m["files"].__setitem__("../x.png", "0" * 64), "leaves the directory"),
    ],
)
def test_malformed_manifest_fields(tmp_path, edit, match):
    out = export_patterns(pats(), "png", tmp_path / "e")
    path = out / "manifest.json"
    m = json.loads(path.read_text())
    edit(m)
    path.write_text(json.dumps(m))
    with pytest.raises(ValueError, match=match):
        read_export(out)
