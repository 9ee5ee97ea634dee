"""``alp4``: ViALUX ALP-4 sequences (default DMD 1024x768).

* ``sequence.npy``: uint8 ``(F, H, W)`` with 0 = off, 255 = on, the layout ``AlpSeqPut``
  takes for 8-bit sequence data (use bit depth 1 so any non-zero byte means "on");
* ``bitplanes.npy``: uint8 ``(F, H, ceil(W / 8))``, each row packed MSB-first
  (``np.packbits(..., axis=-1, bitorder="big")``): the ALP "binary top-down" layout, with
  the first pixel of a row in the most significant bit of its first byte.

Frames are written one at a time through memory maps, so a long sequence at full resolution
does not have to fit in memory twice.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from spjax.export.formats.base import Format, frame_files, require_file
from spjax.export.geometry import Placement

SEQUENCE = "sequence.npy"
BITPLANES = "bitplanes.npy"
_CHUNK = 32  # frames held in memory at once while reading


def write(
    out_dir: Path, oriented: np.ndarray, placement: Placement, order: list[dict]
) -> list[dict]:
    f, dh, dw = len(oriented), placement.device_h, placement.device_w
    seq = np.lib.format.open_memmap(
        out_dir / SEQUENCE, mode="w+", dtype=np.uint8, shape=(f, dh, dw)
    )
    planes = np.lib.format.open_memmap(
        out_dir / BITPLANES, mode="w+", dtype=np.uint8, shape=(f, dh, (dw + 7) // 8)
    )
    for i, frame in enumerate(oriented):
        device = placement.embed(frame.astype(np.uint8))
        seq[i] = device * np.uint8(255)
        planes[i] = np.packbits(device, axis=-1, bitorder="big")
    seq.flush()
    planes.flush()
    del seq, planes
    return [{"file": SEQUENCE, "index": i, "bitplanes": BITPLANES} for i in range(f)]


def _load(path: Path, shape: tuple[int, ...]) -> np.ndarray:
    try:
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as err:
        raise ValueError(f"{path}: not a readable .npy array ({err})") from None
    if arr.dtype != np.uint8 or arr.shape != shape:
        raise ValueError(
            f"{path}: expected uint8 array of shape {shape}, got {arr.dtype} {arr.shape}"
        )
    return arr


def read(out_dir: Path, entries: list[dict], placement: Placement) -> np.ndarray:
    names = set(frame_files(entries))
    if names != {SEQUENCE}:
        raise ValueError(
            f"manifest frames: expected every frame in {SEQUENCE!r}, got {sorted(names)}"
        )
    f, dh, dw = len(entries), placement.device_h, placement.device_w
    seq = _load(require_file(out_dir, SEQUENCE), (f, dh, dw))
    planes = _load(require_file(out_dir, BITPLANES), (f, dh, (dw + 7) // 8))
    out = []
    for start in range(0, f, _CHUNK):
        chunk = np.asarray(seq[start : start + _CHUNK])
        if not ((chunk == 0) | (chunk == 255)).all():
            raise ValueError(f"{out_dir / SEQUENCE}: expected only 0 and 255, found other values")
        bits = (chunk == 255).astype(np.uint8)
        packed = np.asarray(planes[start : start + _CHUNK])
        if not np.array_equal(np.packbits(bits, axis=-1, bitorder="big"), packed):
            raise ValueError(
                f"{out_dir / BITPLANES}: bit-planes disagree with {SEQUENCE} "
                f"in frames {start}..{start + len(chunk) - 1}"
            )
        out.append(placement.extract(bits, what=str(out_dir / SEQUENCE)))
    return np.concatenate(out)


FORMAT = Format(
    "alp4",
    "ViALUX ALP-4 (DLP V-series)",
    (768, 1024),
    "uint8 0/255 .npy sequence + MSB-first packed bit-planes",
    write,
    read,
)
