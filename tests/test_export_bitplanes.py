"""Gray-level patterns exported as bit-plane sequences (the documented alternative to refusal)."""

from __future__ import annotations

import json

import jax
import numpy as np
import pytest
from flax import nnx
from PIL import Image

from spjax.export import (
    FORMATS,
    export_patterns,
    from_frames,
    import_patterns,
    read_export,
    to_frames,
)
from spjax.export.calibration import sequence_sha256
from spjax.sensing import Sensor


def test_planes_encode_levels_lsb_first():
    pats = np.array([[[0.0, 1 / 3], [2 / 3, 1.0]]], np.float32)  # levels 0, 1, 2, 3 at b = 2
    frames, order, split = to_frames(pats, bit_depth=2)
    assert not split and len(frames) == 2
    assert frames[0].tolist() == [[0, 1], [0, 1]]  # plane 0 (LSB)
    assert frames[1].tolist() == [[0, 0], [1, 1]]  # plane 1 (MSB)
    assert [(o["plane"], o["weight"]) for o in order] == [(0, 1 / 3), (1, 2 / 3)]
    assert np.array_equal(from_frames(frames, order, 1, False, bit_depth=2), pats)


def test_signed_gray_patterns_split_then_plane():
    pats = np.array([[[0.5, -1.0]]], np.float32)
    frames, order, split = to_frames(pats, bit_depth=3)  # levels 4 (rounded 3.5) and -7
    assert split and [(o["sign"], o["plane"]) for o in order] == [
        (1, 0),
        (1, 1),
        (1, 2),
        (-1, 0),
        (-1, 1),
        (-1, 2),
    ]
    assert frames[:, 0, 0].tolist() == [0, 0, 1, 0, 0, 0]
    assert frames[:, 0, 1].tolist() == [0, 0, 0, 1, 1, 1]
    back = from_frames(frames, order, 1, True, bit_depth=3)
    assert back.tolist() == [[[np.float32(4 / 7), np.float32(-1.0)]]]


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_gray_round_trip_every_format(tmp_path, fmt):
    pats = np.random.default_rng(0).uniform(-1, 1, size=(3, 4, 4)).astype(np.float32)
    out = export_patterns(
        pats, fmt, tmp_path / "e", bit_depth=8, device=None if fmt in ("png", "npz") else "16x16"
    )
    back, m = read_export(out)
    assert m["bit_depth"] == 8 and m["n_frames"] == 4 + 3 * 2 * 8
    expected = (np.round(pats.astype(np.float64) * 255) / 255).astype(np.float32)
    assert np.array_equal(back, expected)
    assert np.abs(back - pats).max() <= 0.5 / 255 + 1e-7


def test_eight_bit_planes_fill_one_dlpc900_channel_as_a_gray_image(tmp_path):
    # With b = 8 each physical pattern occupies one whole colour channel, which is how the
    # DLPC900 shows native 8-bit patterns: the channel value is the gray level.
    pats = np.array([[[0.0, 100 / 255], [200 / 255, 1.0]]], np.float32)
    out = export_patterns(pats, "dlpc900", tmp_path / "e", bit_depth=8, device="2x2", calibration=0)
    with Image.open(out / "image_0000.bmp") as img:
        rgb = np.asarray(img)
    assert rgb[..., 0].tolist() == [[0, 100], [200, 255]] and not rgb[..., 1:].any()
    m = json.loads((out / "manifest.json").read_text())
    assert [f["exposure_us"] for f in m["frames"]] == [1000.0 * 2**j / 128 for j in range(8)]


def test_continuous_learned_sensor_via_bit_planes(tmp_path):
    sensor = Sensor.learned(
        8, 8, k=4, parameterization="continuous", init="gaussian", rngs=nnx.Rngs(0)
    )
    out = export_patterns(sensor, "npz", tmp_path / "e", bit_depth=8)
    back = import_patterns(out)
    original = np.asarray(sensor.patterns())
    assert np.abs(np.asarray(back.patterns()) - original).max() <= 0.5 / 255 + 1e-6
    frames = jax.random.uniform(jax.random.key(0), (8, 8))
    # Quantisation error only: |dy| <= sum |dP| * x <= 64 * 0.5 / 255.
    assert np.abs(np.asarray(back(frames)) - np.asarray(sensor(frames))).max() <= 64 * 0.5 / 255
    # A sensor on the 8-bit grid comes back exactly.
    again = import_patterns(export_patterns(back, "png", tmp_path / "again", bit_depth=8))
    assert np.array_equal(np.asarray(again(frames)), np.asarray(back(frames)))


def test_hard_patterns_with_one_bit_plane_match_the_hard_export(tmp_path):
    pats = np.random.default_rng(1).choice([-1.0, 1.0], size=(3, 4, 4)).astype(np.float32)
    a, _, _ = to_frames(pats)
    b, _, _ = to_frames(pats, bit_depth=1)
    assert np.array_equal(a, b)


@pytest.mark.parametrize("bad", [0, 9, 2.0, True])
def test_bad_bit_depth(tmp_path, bad):
    with pytest.raises(ValueError, match="bit_depth"):
        export_patterns(np.ones((1, 2, 2)), "png", tmp_path / "e", bit_depth=bad)


def test_gray_out_of_range_and_missing_plane(tmp_path):
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        to_frames(np.full((1, 2, 2), 1.5), bit_depth=4)
    out = export_patterns(np.full((1, 2, 2), 0.5, np.float32), "png", tmp_path / "e", bit_depth=4)
    path = out / "manifest.json"
    m = json.loads(path.read_text())
    del m["frames"][6]["plane"]  # after the 4 calibration frames
    path.write_text(json.dumps(m))
    with pytest.raises(ValueError, match="sequence_sha256"):
        read_export(out)
    # Resealed (as a forger would), the decoder still refuses it.
    m["sequence_sha256"] = sequence_sha256(m["frames"], m["calibration"])
    path.write_text(json.dumps(m))
    with pytest.raises(ValueError, match="frame order: entry 6"):
        read_export(out)


def test_preview_of_a_bit_plane_export(tmp_path):
    from spjax.export.figure import render_preview

    pats = np.random.default_rng(2).uniform(-1, 1, size=(2, 4, 4)).astype(np.float32)
    out = export_patterns(pats, "dlpc900", tmp_path / "e", bit_depth=4, device="8x8")
    png = render_preview(out, tmp_path / "p.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
