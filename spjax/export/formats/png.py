"""``png``: one 1-bit PNG per physical frame (``frame_0000.png`` ...), white = mirror on."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from spjax.export.formats.base import Format, frame_files, index_width, require_file
from spjax.export.geometry import Placement


def write(out_dir: Path, oriented: np.ndarray, placement: Placement,
          order: list[dict]) -> list[dict]:
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
        try:
            with Image.open(path) as img:
                img.load()
                if img.format != "PNG" or img.mode != "1":
                    raise ValueError(f"{path}: expected a 1-bit PNG, got {img.format} mode "
                                     f"{img.mode!r}")
                device = np.asarray(img, dtype=np.uint8)
        except (UnidentifiedImageError, OSError, SyntaxError) as err:
            raise ValueError(f"{path}: not a readable PNG ({err})") from None
        frames.append(placement.extract(device, what=str(path)))
    return np.stack(frames)


FORMAT = Format("png", "generic", None, "one 1-bit PNG per frame", write, read)
