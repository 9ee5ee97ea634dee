"""Bit order of the TI 24-bit pattern images, checked pixel by pixel and in the raw BMP bytes.

Exports here have no calibration frames (`calibration=0`), so frame i is pattern frame i;
tests/test_export_calibration.py checks where calibration frames go."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest
from PIL import Image

from spjax.export import export_patterns, read_export

# Channel that holds patterns 0-7, 8-15 and 16-23 (stated independently of the code).
CHANNELS = {"dlpc900": "RGB", "dlpc350": "GRB"}
NATIVE = {"dlpc900": (1080, 1920), "dlpc350": (1140, 912)}


def one_lit(position: int, n: int = 24, h: int = 2, w: int = 3) -> np.ndarray:
    pats = np.zeros((n, h, w), np.float32)
    pats[position] = 1.0
    return pats


def raw_bmp_pixel(data: bytes, row: int, col: int) -> tuple[int, int, int]:
    """(R, G, B) of a 24-bit bottom-up BMP, read from the file's bytes without Pillow."""
    assert data[:2] == b"BM"
    pixel_offset = struct.unpack_from("<I", data, 10)[0]
    width, height = struct.unpack_from("<ii", data, 18)
    bits = struct.unpack_from("<H", data, 28)[0]
    assert bits == 24 and height > 0  # bottom-up rows
    stride = (width * 3 + 3) // 4 * 4
    start = pixel_offset + (height - 1 - row) * stride + col * 3
    b, g, r = data[start : start + 3]
    return r, g, b


@pytest.mark.parametrize("fmt", ["dlpc900", "dlpc350"])
@pytest.mark.parametrize("position", range(24))
def test_single_lit_pattern_sets_one_bit_of_one_channel(tmp_path, fmt, position):
    out = export_patterns(
        one_lit(position), fmt, tmp_path / "e", device="9x6", zoom=2, offset=(1, 2), calibration=0
    )
    with Image.open(out / "image_0000.bmp") as img:
        assert img.format == "BMP" and img.mode == "RGB" and img.size == (9, 6)
        rgb = np.asarray(img)
    channel = "RGB".index(CHANNELS[fmt][position // 8])
    expected = np.zeros((6, 9, 3), np.uint8)
    expected[1:5, 2:8, channel] = 1 << (position % 8)  # the 4x6 measured region
    assert np.array_equal(rgb, expected)
    # Same value in the file's own bytes (Pillow's BGR handling is not trusted blindly).
    data = (out / "image_0000.bmp").read_bytes()
    want = [0, 0, 0]
    want[channel] = 1 << (position % 8)
    assert raw_bmp_pixel(data, 1, 2) == tuple(want)
    assert raw_bmp_pixel(data, 0, 0) == (0, 0, 0)
    entry = json.loads((out / "manifest.json").read_text())["frames"][position]
    assert (entry["channel"], entry["bit"]) == (CHANNELS[fmt][position // 8], position % 8)
    back, _ = read_export(out)
    assert np.array_equal(back, one_lit(position))


@pytest.mark.parametrize("fmt", ["dlpc900", "dlpc350"])
def test_split_pairs_interleave_bits_and_span_images(tmp_path, fmt):
    # 13 signed patterns, top row +1 and bottom row -1 -> 26 frames: image 0 holds 24 of
    # them (even bits = P+ lit on the top row, odd bits = P- lit on the bottom row).
    pats = np.ones((13, 2, 2), np.float32)
    pats[:, 1, :] = -1.0
    out = export_patterns(pats, fmt, tmp_path / "e", calibration=0)
    with Image.open(out / "image_0000.bmp") as img0, Image.open(out / "image_0001.bmp") as img1:
        assert img0.size[::-1] == NATIVE[fmt]
        a, b = np.asarray(img0), np.asarray(img1)
    region = json.loads((out / "manifest.json").read_text())["geometry"]["region"]
    top, left = region["top"], region["left"]
    bottom = top + region["height"] - 1
    assert a[top, left].tolist() == [0b01010101] * 3
    assert a[bottom, left].tolist() == [0b10101010] * 3
    first = "RGB".index(CHANNELS[fmt][0])
    # Image 1 holds frames 24 (P+) and 25 (P-) of the last pattern in bits 0 and 1 only.
    assert b[top, left].tolist() == [0b01 if c == first else 0 for c in range(3)]
    assert b[bottom, left].tolist() == [0b10 if c == first else 0 for c in range(3)]
    assert np.array_equal(read_export(out)[0], pats)
