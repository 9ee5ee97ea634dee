"""``png``: one 1-bit PNG per physical frame (``frame_0000.png`` ...), white = mirror on."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from spjax.export.formats.base import Format, frame_files, index_width, read_image, require_file
from spjax.export.geometry import Placement


def write(
    out_dir: Path, oriented: np.ndarray, placement: Placement, order: list[dict]
) -> list[dict]:
    width = index_width(len(oriented))
    entries = []
    for i, frame in enumerate(oriented):
        name = f"frame_{i:0{width}d}.png"
        # A bool array becomes a mode "1" image, which Pillow writes as a 1-bit PNG.
        Image.fromarray(placement.embed(frame).astype(bool)).save(out_dir / name, format="PNG")
        entries.append({"file": name})
    return entries


def read(out_dir: Path, entries: list[dict], placement: Placement) -> np.ndarray:
    frames = []
    for name in frame_files(entries):
        path = require_file(out_dir, name)
        device = read_image(path, "PNG", "1", "1-bit PNG")
        frames.append(placement.extract(device, what=str(path)))
    return np.stack(frames)


FORMAT = Format("png", "generic", None, "one 1-bit PNG per frame", write, read)
