"""TI DLPC900 / DLPC350 pattern images: 24 binary patterns packed into one 24-bit BMP.

Pattern ``b`` of a group of 24 sets bit ``b % 8`` (LSB first) of one colour channel:

* ``dlpc900`` (LightCrafter 6500, 1920x1080): bits 0-7 -> R, 8-15 -> G, 16-23 -> B;
* ``dlpc350`` (LightCrafter 4500, 912x1140): bits 0-7 -> G, 8-15 -> R, 16-23 -> B.

Physical frame ``i`` is bit ``i % 24`` of image ``i // 24``; bits past the last frame are
zero. The manifest lists image, channel and bit for every frame, which is what the
controller's pattern-sequence table needs. (The DLPC350's DMD has diamond pixels; zoom and
offset are in its 912x1140 addressing grid.)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from spjax.export.formats.base import Format, frame_files, index_width, read_image, require_file
from spjax.export.geometry import Placement

RGB = "RGB"
BITS_PER_IMAGE = 24


def bit_position(frame: int, channel_order: str) -> tuple[str, int]:
    """(channel letter, bit) that encodes physical frame ``frame``."""
    b = frame % BITS_PER_IMAGE
    return channel_order[b // 8], b % 8


def pack(oriented: np.ndarray, channel_order: str) -> np.ndarray:
    """Up to 24 binary ``(n, h, w)`` frames -> one ``(h, w, 3)`` uint8 RGB image."""
    if len(oriented) > BITS_PER_IMAGE:
        raise ValueError(f"pack: at most {BITS_PER_IMAGE} frames per image, got {len(oriented)}")
    image = np.zeros(oriented.shape[1:] + (3,), np.uint8)
    for b, frame in enumerate(oriented):
        letter, bit = bit_position(b, channel_order)
        image[..., RGB.index(letter)] |= frame.astype(np.uint8) << np.uint8(bit)
    return image


def unpack(image: np.ndarray, n: int, channel_order: str) -> np.ndarray:
    """Inverse of :func:`pack`: ``(h, w, 3)`` -> ``(n, h, w)`` 0/1 frames."""
    frames = np.empty((n,) + image.shape[:2], np.uint8)
    for b in range(n):
        letter, bit = bit_position(b, channel_order)
        frames[b] = (image[..., RGB.index(letter)] >> np.uint8(bit)) & np.uint8(1)
    return frames


def _make(name: str, device_name: str, device: tuple[int, int], channel_order: str) -> Format:
    def write(
        out_dir: Path, oriented: np.ndarray, placement: Placement, order: list[dict]
    ) -> list[dict]:
        n_images = -(-len(oriented) // BITS_PER_IMAGE)
        width = index_width(n_images)
        entries = []
        for j in range(n_images):
            group = oriented[j * BITS_PER_IMAGE : (j + 1) * BITS_PER_IMAGE]
            image = placement.embed_rgb(pack(group, channel_order))
            file = f"image_{j:0{width}d}.bmp"
            Image.fromarray(image).save(out_dir / file, format="BMP")
            for b in range(len(group)):
                letter, bit = bit_position(b, channel_order)
                entries.append({"file": file, "image": j, "channel": letter, "bit": bit})
        return entries

    def read(out_dir: Path, entries: list[dict], placement: Placement) -> np.ndarray:
        files = frame_files(entries)
        frames = []
        for start in range(0, len(entries), BITS_PER_IMAGE):
            group = entries[start : start + BITS_PER_IMAGE]
            names = set(files[start : start + BITS_PER_IMAGE])
            if len(names) != 1:
                raise ValueError(
                    f"manifest frames {start}..{start + len(group) - 1}: expected "
                    f"one image file per {BITS_PER_IMAGE} frames, got {sorted(names)}"
                )
            for b, entry in enumerate(group):
                if (entry.get("channel"), entry.get("bit")) != bit_position(b, channel_order):
                    raise ValueError(
                        f"manifest frame {start + b}: channel/bit "
                        f"{entry.get('channel')}/{entry.get('bit')} differs from "
                        f"the {name} bit order {bit_position(b, channel_order)}"
                    )
            path = require_file(out_dir, names.pop())
            device = read_image(path, "BMP", "RGB", "24-bit RGB BMP")
            small = placement.extract_rgb(device, what=str(path))
            unused = small & ~pack(
                np.ones((len(group),) + small.shape[:2], np.uint8), channel_order
            )
            if unused.any():
                raise ValueError(f"{path}: bits beyond the {len(group)} listed frames are set")
            frames.append(unpack(small, len(group), channel_order))
        return np.concatenate(frames)

    return Format(
        name,
        device_name,
        device,
        f"24-bit BMPs, 24 patterns each, bit order {channel_order[0]}0-7, "
        f"{channel_order[1]}0-7, {channel_order[2]}0-7",
        write,
        read,
    )


DLPC900 = _make("dlpc900", "TI DLPC900 (DLP LightCrafter 6500)", (1080, 1920), "RGB")
DLPC350 = _make("dlpc350", "TI DLPC350 (DLP LightCrafter 4500)", (1140, 912), "GRB")
