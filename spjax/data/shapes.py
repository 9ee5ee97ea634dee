"""Small anti-aliased 2-D shape primitives shared by the face and scene renderers.

Every primitive returns a coverage in [0, 1] computed from an approximate signed distance
(in the same units as the coordinates) and the pixel width `pw`, so edges are anti-aliased at
any resolution without supersampling."""

from __future__ import annotations

import numpy as np


def coverage(dist: np.ndarray, pw) -> np.ndarray:
    """Signed distance (negative inside) → pixel coverage with a one-pixel linear ramp."""
    return np.clip(0.5 - dist / pw, 0.0, 1.0)


def ellipse(x, y, cx, cy, a, b, pw):
    """Axis-aligned ellipse centred at (cx, cy) with semi-axes (a, b)."""
    dx = (x - cx) / a
    dy = (y - cy) / b
    q = np.sqrt(dx * dx + dy * dy) + 1e-6
    grad = np.sqrt((dx / a) ** 2 + (dy / b) ** 2) / q + 1e-6
    return coverage((q - 1.0) / grad, pw)


def capsule(x, y, x0, y0, x1, y1, r, pw):
    """Segment (x0, y0)–(x1, y1) thickened by radius r (a limb)."""
    vx, vy = x1 - x0, y1 - y0
    wx, wy = x - x0, y - y0
    t = np.clip((wx * vx + wy * vy) / (vx * vx + vy * vy + 1e-9), 0.0, 1.0)
    dx, dy = wx - t * vx, wy - t * vy
    return coverage(np.sqrt(dx * dx + dy * dy) - r, pw)


def box1d(c, lo, hi, pw):
    """Coverage of the interval [lo, hi] along one axis (for separable rectangles)."""
    return np.clip(np.minimum(c - lo, hi - c) / pw + 0.5, 0.0, 1.0)


def over(img, alpha, value):
    """Paint `value` over `img` with coverage `alpha` (painter's algorithm)."""
    return img * (1.0 - alpha) + alpha * value
