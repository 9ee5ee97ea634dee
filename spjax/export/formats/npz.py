"""``npz``: all frames in one ``patterns.npz``: uint8 0/1 ``frames (F, H_dmd, W_dmd)`` plus
metadata arrays (``order`` (F, 3): pattern index, sign and bit-plane (0 for hard patterns);
a calibration frame is pattern -1, sign 0;
``zoom``, ``offset`` (row, col), ``device`` (height, width), ``flips`` (h, v), ``rotate``)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from spjax.export.formats.base import Format, frame_files, require_file
from spjax.export.geometry import Placement

FILE = "patterns.npz"


def write(
    out_dir: Path, oriented: np.ndarray, placement: Placement, order: list[dict]
) -> list[dict]:
    np.savez_compressed(
        out_dir / FILE,
        frames=placement.embed(oriented.astype(np.uint8)),
        order=_order_array(order),
        zoom=np.int32(placement.zoom),
        offset=np.array(placement.offset, np.int32),
        device=np.array([placement.device_h, placement.device_w], np.int32),
        flips=np.array([placement.flip_h, placement.flip_v], bool),
        rotate=np.int32(placement.rotate),
    )
    return [{"file": FILE, "index": i} for i in range(len(oriented))]


def _order_array(order: list[dict]) -> np.ndarray:
    # Calibration frames have no pattern: -1 keeps the array integer.
    rows = [
        [-1 if e.get("calibration") else e.get("pattern"), e.get("sign"), e.get("plane", 0)]
        for e in order
    ]
    try:
        return np.array(rows, np.int32).reshape(-1, 3)
    except (TypeError, ValueError):
        raise ValueError(
            f"manifest frames: pattern/sign/plane must be integers, got {rows[:3]}…"
        ) from None


def read(out_dir: Path, entries: list[dict], placement: Placement) -> np.ndarray:
    names = set(frame_files(entries))
    if names != {FILE}:
        raise ValueError(f"manifest frames: expected every frame in {FILE!r}, got {sorted(names)}")
    path = require_file(out_dir, FILE)
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as err:
        raise ValueError(f"{path}: not a readable .npz archive ({err})") from None
    for key in ("frames", "order", "zoom", "offset", "device", "flips", "rotate"):
        if key not in arrays:
            raise ValueError(f"{path}: expected array {key!r}, found {sorted(arrays)}")
    frames = arrays["frames"]
    if frames.dtype != np.uint8 or frames.ndim != 3 or frames.shape[0] != len(entries):
        raise ValueError(
            f"{path}: expected uint8 frames ({len(entries)}, H, W), got "
            f"{frames.dtype} {frames.shape}"
        )
    if frames.max(initial=0) > 1:
        raise ValueError(f"{path}: expected 0/1 frames, found value {frames.max()}")
    if not np.array_equal(arrays["order"], _order_array(entries)):
        raise ValueError(f"{path}: the stored frame order differs from the manifest's")
    stored = (
        int(arrays["zoom"]),
        tuple(arrays["offset"].tolist()),
        tuple(arrays["device"].tolist()),
        tuple(arrays["flips"].tolist()),
        int(arrays["rotate"]),
    )
    expected = (
        placement.zoom,
        placement.offset,
        (placement.device_h, placement.device_w),
        (placement.flip_h, placement.flip_v),
        placement.rotate,
    )
    if stored != expected:
        raise ValueError(
            f"{path}: stored (zoom, offset, device, flips, rotate) {stored} "
            f"differs from the manifest's {expected}"
        )
    return placement.extract(frames, what=str(path))


FORMAT = Format("npz", "generic", None, "uint8 0/1 frames + metadata in one .npz", write, read)
