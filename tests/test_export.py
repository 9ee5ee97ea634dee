"""Round trips through every export format, frame conversion and geometry."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from spjax.export import (
    FORMATS,
    export_patterns,
    from_frames,
    make_placement,
    read_export,
    to_frames,
)

ALL_FORMATS = sorted(FORMATS)


def signed_patterns(k=5, h=4, w=8, seed=0):
    return np.random.default_rng(seed).choice([-1.0, 1.0], size=(k, h, w)).astype(np.float32)


def binary_patterns(k=5, h=4, w=8, seed=1):
    return np.random.default_rng(seed).integers(0, 2, size=(k, h, w)).astype(np.float32)


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("fmt", ALL_FORMATS)
@pytest.mark.parametrize("kind", ["signed", "binary"])
def test_round_trip_small_device(tmp_path, fmt, kind):
    # 27 patterns -> 54 split frames + 4 calibration frames: the DLPC formats need three
    # images, the last partial.
    pats = signed_patterns(k=27) if kind == "signed" else binary_patterns(k=27)
    out = export_patterns(
        pats, fmt, tmp_path / "out", device="20x24", zoom=2, offset=(5, 3), flip_h=True, rotate=90
    )
    back, manifest = read_export(out)
    assert back.dtype == np.float32 and np.array_equal(back, pats)
    assert manifest["split"] is (kind == "signed")
    assert manifest["n_frames"] == 4 + (54 if kind == "signed" else 27)
    assert manifest["calibration"]["off"] == [0, 1] and manifest["calibration"]["on"] == [2, 3]
    assert manifest["k"] == 27 and (manifest["h"], manifest["w"]) == (4, 8)
    assert manifest["sampling_rate"] == pytest.approx(27 / 32)
    assert manifest["geometry"]["region"] == {"top": 5, "left": 3, "height": 16, "width": 8}
    listed = set(manifest["files"]) | {"manifest.json"}
    assert listed == {p.name for p in out.iterdir()}


@pytest.mark.parametrize("fmt", ALL_FORMATS)
def test_round_trip_default_device(tmp_path, fmt):
    pats = signed_patterns(k=3, h=8, w=8)
    out = export_patterns(pats, fmt, tmp_path / fmt)
    back, manifest = read_export(out)
    assert np.array_equal(back, pats)
    expected = {
        "alp4": (768, 1024),
        "dlpc900": (1080, 1920),
        "dlpc350": (1140, 912),
        "png": (8, 8),
        "npz": (8, 8),
    }[fmt]
    assert (manifest["device"]["height"], manifest["device"]["width"]) == expected
    # Largest integer zoom that fits, centred.
    zoom = min(expected[0] // 8, expected[1] // 8)
    assert manifest["geometry"]["zoom"] == zoom
    assert manifest["geometry"]["offset"] == [
        (expected[0] - 8 * zoom) // 2,
        (expected[1] - 8 * zoom) // 2,
    ]


def test_split_frame_order_and_interleaving():
    pats = np.array([[[1, -1], [0, 1]], [[-1, -1], [1, 0]]], np.float32)
    frames, order, split = to_frames(pats)
    assert split
    assert [(o["frame"], o["pattern"], o["sign"]) for o in order] == [
        (0, 0, 1),
        (1, 0, -1),
        (2, 1, 1),
        (3, 1, -1),
    ]
    assert np.array_equal(frames[0], [[1, 0], [0, 1]])  # P+ of pattern 0 at an even index
    assert np.array_equal(frames[1], [[0, 1], [0, 0]])  # P- of pattern 0 at the odd index
    assert np.array_equal(frames[3], [[1, 1], [0, 0]])
    assert np.array_equal(from_frames(frames, order, 2, True), pats)


def test_nonnegative_patterns_forced_split_have_dark_minus_frames():
    pats = binary_patterns(k=3)
    frames, order, split = to_frames(pats, split=True)
    assert split and len(frames) == 6 and not frames[1::2].any()
    assert np.array_equal(from_frames(frames, order, 3, True), pats)


def test_near_hard_float_values_are_snapped():
    pats = signed_patterns(k=2) * np.float32(0.99999994)
    frames, _, _ = to_frames(pats)
    assert np.array_equal(frames[0::2], signed_patterns(k=2) > 0)


def test_manifest_records_settings(tmp_path):
    out = export_patterns(
        signed_patterns(k=2), "npz", tmp_path / "e", exposure_us=250, dark_us=12.5
    )
    m = json.loads((out / "manifest.json").read_text())
    assert (m["exposure_us"], m["dark_us"], m["frame_period_us"]) == (250.0, 12.5, 262.5)
    assert m["format"] == "npz" and m["spjax_version"]
    assert len(m["config_hash"]) == 64 and len(m["patterns_sha256"]) == 64
    assert m["manifest_version"] == 2 and m["n_frames"] == 8
    # Two all-off and two all-on calibration frames open the frame time, then the pairs.
    assert [(f["pattern"], f["sign"], f.get("calibration")) for f in m["frames"]] == [
        (None, 0, "off"),
        (None, 0, "off"),
        (None, 0, "on"),
        (None, 0, "on"),
        (0, 1, None),
        (0, -1, None),
        (1, 1, None),
        (1, -1, None),
    ]
    assert len(m["sequence_sha256"]) == 64
    assert m["sensor"]["k"] == 2 and m["sensor"]["split"] is True


def test_png_is_one_bit_with_zero_padded_names(tmp_path):
    out = export_patterns(binary_patterns(k=3), "png", tmp_path / "p", zoom=3, calibration=0)
    names = sorted(p.name for p in out.glob("*.png"))
    assert names == ["frame_0000.png", "frame_0001.png", "frame_0002.png"]
    raw = (out / names[0]).read_bytes()
    assert raw[24] == 1  # IHDR bit depth
    with Image.open(out / names[0]) as img:
        assert img.mode == "1" and img.size == (24, 12)


def test_alp4_sequence_and_msb_first_bitplanes(tmp_path):
    pats = np.zeros((1, 1, 16), np.float32)
    pats[0, 0, 0] = 1  # first pixel of the row only
    out = export_patterns(pats, "alp4", tmp_path / "a", device="16x1", calibration=0)
    seq = np.load(out / "sequence.npy")
    planes = np.load(out / "bitplanes.npy")
    assert seq.dtype == np.uint8 and seq.shape == (1, 1, 16)
    assert seq[0, 0, 0] == 255 and not seq[0, 0, 1:].any()
    assert planes.shape == (1, 1, 2) and planes[0, 0].tolist() == [0b10000000, 0]


# --------------------------------------------------------------------------- geometry


def test_zoom_offset_and_flips_place_pixels_exactly():
    pattern = np.arange(6, dtype=np.uint8).reshape(2, 3)  # values identify pixels
    p = make_placement(2, 3, (10, 12), zoom=2, offset=(1, 4))
    device = p.embed(p.orient(pattern))
    expected = np.zeros((10, 12), np.uint8)
    expected[1:5, 4:10] = np.kron(pattern, np.ones((2, 2), np.uint8))
    assert np.array_equal(device, expected)
    assert p.region == {"top": 1, "left": 4, "height": 4, "width": 6}

    fh = make_placement(2, 3, (10, 12), zoom=2, offset=(1, 4), flip_h=True)
    assert np.array_equal(
        fh.embed(fh.orient(pattern))[1:5, 4:10],
        np.kron(pattern[:, ::-1], np.ones((2, 2), np.uint8)),
    )
    fv = make_placement(2, 3, (10, 12), zoom=2, offset=(1, 4), flip_v=True)
    assert np.array_equal(
        fv.embed(fv.orient(pattern))[1:5, 4:10], np.kron(pattern[::-1], np.ones((2, 2), np.uint8))
    )


def test_rotation_is_counter_clockwise_and_swaps_shape():
    pattern = np.array([[1, 2, 3], [4, 5, 6]], np.uint8)
    p = make_placement(2, 3, None, rotate=90)
    assert p.oriented_shape == (3, 2)
    assert np.array_equal(p.orient(pattern), [[3, 6], [2, 5], [1, 4]])
    p180 = make_placement(2, 3, None, rotate=180)
    assert np.array_equal(p180.orient(pattern), [[6, 5, 4], [3, 2, 1]])


def test_default_offset_centres_and_default_zoom_is_largest_fit():
    p = make_placement(4, 8, (768, 1024))
    assert p.zoom == 128 and p.offset == (128, 0)
    p = make_placement(5, 5, (11, 13), zoom=2)
    assert p.offset == (0, 1)  # (11-10)//2, (13-10)//2


@settings(max_examples=40, deadline=None)
@given(
    h=st.integers(1, 5),
    w=st.integers(1, 5),
    zoom=st.integers(1, 3),
    rotate=st.sampled_from([0, 90, 180, 270]),
    flip_h=st.booleans(),
    flip_v=st.booleans(),
    pad=st.integers(0, 3),
    seed=st.integers(0, 2**16),
)
def test_placement_inverts(h, w, zoom, rotate, flip_h, flip_v, pad, seed):
    frames = np.random.default_rng(seed).integers(0, 2, size=(3, h, w)).astype(np.uint8)
    oh, ow = (w, h) if rotate in (90, 270) else (h, w)
    p = make_placement(
        h,
        w,
        (oh * zoom + pad, ow * zoom + 2 * pad),
        zoom=zoom,
        rotate=rotate,
        flip_h=flip_h,
        flip_v=flip_v,
    )
    device = p.embed(p.orient(frames))
    assert device.sum() == frames.sum() * zoom * zoom
    assert np.array_equal(p.unorient(p.extract(device)), frames)
