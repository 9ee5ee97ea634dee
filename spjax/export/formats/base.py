"""What every export format provides, and small file helpers they share."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import numpy as np

from spjax.export.geometry import Placement

# write(out_dir, oriented frames (F, h', w') uint8 0/1, placement, frame order)
#   -> one location dict per frame (merged into the manifest's frame entries)
Writer = Callable[[Path, np.ndarray, Placement, list[dict]], list[dict]]
# read(out_dir, manifest frame entries, placement) -> oriented frames (F, h', w') uint8 0/1
Reader = Callable[[Path, list[dict], Placement], np.ndarray]


@dataclasses.dataclass(frozen=True)
class Format:
    name: str
    device_name: str
    default_device: tuple[int, int] | None  # (height, width); None: the zoomed pattern size
    summary: str
    write: Writer
    read: Reader


def index_width(n: int) -> int:
    """Digits for zero-padded file indices: at least 4, more for long sequences."""
    return max(4, len(str(max(n - 1, 0))))


def require_file(out_dir: Path, name: str) -> Path:
    path = out_dir / name
    if not path.is_file():
        raise FileNotFoundError(
            f"{out_dir}: expected file {name!r} listed in the manifest, but it is missing"
        )
    return path


def frame_files(entries: list[dict]) -> list[str]:
    """The file of every frame entry, in frame order (checks the key exists)."""
    try:
        return [str(e["file"]) for e in entries]
    except KeyError as err:
        raise ValueError(f"manifest frames: an entry lacks the key {err}") from None


def read_image(path: Path, fmt: str, mode: str, label: str) -> np.ndarray:
    """Pixels of an exported image, refusing anything but the expected format and mode."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            img.load()
            if img.format != fmt or img.mode != mode:
                raise ValueError(f"{path}: expected a {label}, got {img.format} mode {img.mode!r}")
            return np.asarray(img, dtype=np.uint8)
    except (UnidentifiedImageError, OSError, SyntaxError) as err:
        raise ValueError(f"{path}: not a readable {fmt} ({err})") from None
