"""Sensing patterns <-> the binary frames a DMD displays.

A DMD mirror is on or off. Hard patterns (values in {0, 1}, or {-1, 0, +1} when signed) map
to one frame each; a signed pattern S is shown as the split pair P+ = [S > 0], P- = [S < 0]
(P+ at even frame indices, P- at odd), as in docs/conventions.md. Gray-level patterns are refused
unless a ``bit_depth`` b is given: then every physical pattern is quantised to the levels
q / (2^b - 1) and shown as b binary *bit-planes*, least significant first, where plane j has
weight 2^j / (2^b - 1). A detector that integrates the planes with exposure times in the
ratio 2^j (the manifest lists them), or software that adds plane measurements with those
weights, recovers the quantised pattern's measurement. Frame order for pattern k: P+ planes
0..b-1, then P- planes 0..b-1 (if split). An export puts its calibration frames (all-off,
all-on; spjax.export.calibration) before these; `from_frames` checks and skips them.
"""

from __future__ import annotations

import numpy as np

# Values within this distance of -1, 0 or 1 count as hard (float32 arithmetic may leave
# 0.99999994 behind); they are snapped to the exact value before export.
HARD_ATOL = 1e-6
MAX_BIT_DEPTH = 8


def _as_array(patterns) -> np.ndarray:
    arr = np.asarray(patterns)
    if arr.dtype == bool:
        arr = arr.astype(np.float32)
    if not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
        raise TypeError(f"patterns: expected a real numeric (K, H, W) array, got dtype {arr.dtype}")
    if arr.ndim != 3 or 0 in arr.shape:
        raise ValueError(f"patterns: expected a non-empty (K, H, W) array, got shape {arr.shape}")
    arr = arr.astype(np.float64)
    if not np.isfinite(arr).all():
        raise ValueError("patterns: expected finite values, found NaN or inf")
    return arr


def check_bit_depth(bit_depth) -> int | None:
    if bit_depth is None:
        return None
    if (
        isinstance(bit_depth, bool)
        or not isinstance(bit_depth, (int, np.integer))
        or not 1 <= bit_depth <= MAX_BIT_DEPTH
    ):
        raise ValueError(
            f"bit_depth: expected None (hard patterns) or an integer in "
            f"[1, {MAX_BIT_DEPTH}], got {bit_depth!r}"
        )
    return int(bit_depth)


def as_hard_patterns(patterns) -> np.ndarray:
    """Validate ``(K, H, W)`` patterns and return them as exact float32 {-1, 0, 1} values."""
    arr = _as_array(patterns)
    snapped = np.round(arr)
    off = np.abs(arr - snapped) > HARD_ATOL
    off |= np.abs(snapped) > 1
    if off.any():
        k, i, j = np.argwhere(off)[0]
        raise ValueError(
            "patterns: a DMD shows only hard patterns, expected values in {0, 1} "
            f"(or {{-1, 0, +1}} for signed patterns), got gray level {arr[k, i, j]:.6g} at "
            f"pattern {k}, pixel ({i}, {j}); export the sensor's hard patterns (binary or "
            "signed_binary parameterisation, Hadamard, Rademacher, Bernoulli), binarise "
            "first, or pass bit_depth (--bit-depth) to export gray levels as bit-planes"
        )
    return snapped.astype(np.float32)


def to_levels(patterns, bit_depth: int | None = None) -> np.ndarray:
    """Integer levels ``round(P * (2^b - 1))`` as int16 ``(K, H, W)``; hard patterns: b = 1.

    Hard patterns (``bit_depth=None``) must already be hard; gray patterns must lie in
    [-1, 1] and are rounded to the nearest level.
    """
    bit_depth = check_bit_depth(bit_depth)
    if bit_depth is None:
        return as_hard_patterns(patterns).astype(np.int16)
    arr = _as_array(patterns)
    if arr.min() < -1 - HARD_ATOL or arr.max() > 1 + HARD_ATOL:
        raise ValueError(
            f"patterns: expected values in [-1, 1] for bit-plane export, got "
            f"range [{arr.min():.6g}, {arr.max():.6g}]"
        )
    return np.round(np.clip(arr, -1, 1) * (2**bit_depth - 1)).astype(np.int16)


def from_levels(levels: np.ndarray, bit_depth: int | None = None) -> np.ndarray:
    """Inverse of :func:`to_levels`: the (quantised) float32 patterns."""
    full = 1 if bit_depth is None else 2**bit_depth - 1
    return (levels.astype(np.float64) / full).astype(np.float32)


def to_frames(
    patterns, split: bool | None = None, bit_depth: int | None = None
) -> tuple[np.ndarray, list[dict], bool]:
    """Patterns -> ``(F, H, W)`` uint8 0/1 frames, frame order, split.

    ``split=None`` splits exactly when some value is negative. Every order entry names the
    frame, pattern index and sign (+1 for P+ or unsplit, -1 for P-); bit-plane exports add
    ``plane`` and ``weight``.
    """
    bit_depth = check_bit_depth(bit_depth)
    levels = to_levels(patterns, bit_depth)
    signed = bool((_as_array(patterns) < 0).any())
    if split is None:
        split = signed
    if signed and not split:
        raise ValueError(
            "split: signed patterns (values < 0) can only be displayed as split "
            "pairs, expected split=True or None, got split=False"
        )
    signs = (1, -1) if split else (1,)
    planes = 1 if bit_depth is None else bit_depth
    k = levels.shape[0]
    frames = np.empty((k * len(signs) * planes,) + levels.shape[1:], np.uint8)
    order = []
    for p in range(k):
        for sign in signs:
            magnitude = np.maximum(sign * levels[p], 0)
            for j in range(planes):
                entry = {"frame": len(order), "pattern": p, "sign": sign}
                if bit_depth is not None:
                    entry.update(plane=j, weight=2**j / (2**bit_depth - 1))
                frames[len(order)] = (magnitude >> j) & 1
                order.append(entry)
    return frames, order, bool(split)


def from_frames(
    frames: np.ndarray, order: list[dict], k: int, split: bool, bit_depth: int | None = None
) -> np.ndarray:
    """Inverse of :func:`to_frames`: ``(F, H, W)`` 0/1 frames -> ``(K, H, W)`` float32.
    Calibration entries of ``order`` (``calibration`` "off"/"on") must be all-off / all-on
    frames and are skipped."""
    bit_depth = check_bit_depth(bit_depth)
    planes = 1 if bit_depth is None else bit_depth
    signs = (1, -1) if split else (1,)
    f = frames.shape[0]
    if len(order) != f:
        raise ValueError(f"frame order: expected {f} entries (one per frame), got {len(order)}")
    seen: dict[tuple[int, int, int], int] = {}
    for i, entry in enumerate(order):
        if isinstance(entry, dict) and entry.get("calibration") is not None:
            _check_calibration_frame(frames[i], entry, i)
            continue
        try:
            key = (
                int(entry["pattern"]),
                int(entry["sign"]),
                int(entry["plane"]) if bit_depth is not None else 0,
            )
        except (KeyError, TypeError, ValueError):
            raise ValueError(
                f"frame order: entry {i} lacks pattern/sign{'/plane' if bit_depth else ''}: {entry}"
            ) from None
        if (
            entry.get("frame") != i
            or not 0 <= key[0] < k
            or key[1] not in signs
            or not 0 <= key[2] < planes
        ):
            raise ValueError(
                f"frame order: entry {i} is invalid for K={k}, split={split}, "
                f"bit_depth={bit_depth}: {entry}"
            )
        if key in seen:
            raise ValueError(
                f"frame order: pattern {key[0]} sign {key[1]:+d} plane {key[2]} "
                f"appears twice (frames {seen[key]} and {i})"
            )
        seen[key] = i
    if len(seen) != k * len(signs) * planes:
        raise ValueError(
            f"frame order: expected {k * len(signs) * planes} frames for K={k}, "
            f"split={split}, bit_depth={bit_depth}, got {len(seen)}"
        )
    if frames.max(initial=0) > 1:
        raise ValueError("frames: expected binary 0/1 values")
    magnitude = np.zeros((k, len(signs)) + frames.shape[1:], np.int16)
    for (p, sign, j), i in seen.items():
        magnitude[p, signs.index(sign)] += frames[i].astype(np.int16) << j
    if split and ((magnitude[:, 0] > 0) & (magnitude[:, 1] > 0)).any():
        raise ValueError(
            "frames: a mirror is on in both P+ and P- of a split pair; "
            "the pair does not come from one signed pattern"
        )
    levels = magnitude[:, 0] - (magnitude[:, 1] if split else 0)
    return from_levels(levels, bit_depth)


def _check_calibration_frame(frame: np.ndarray, entry: dict, i: int) -> None:
    from spjax.export.calibration import KINDS, check_frame

    if (
        entry["calibration"] not in KINDS
        or entry.get("frame") != i
        or entry.get("pattern") is not None
    ):
        raise ValueError(
            f"frame order: entry {i} is not a valid calibration frame "
            f"(expected frame {i}, pattern null, calibration 'off' or 'on'): {entry}"
        )
    check_frame(frame, entry["calibration"], f"frames: frame {i}")
