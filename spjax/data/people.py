"""Articulated people as a pre-rendered sprite bank.

A person is a skeleton (head, torso, two arms, two legs) in a pose; the bank holds every pose
× integer body length (pixels) × half-pixel sub-position, rendered anti-aliased into four
coverage channels (trousers, shirt, skin, hair) so that each person's clothing, skin and hair
tones (their identity) are applied when compositing. Rendering a clip is then gathers and
blends, which keeps scene generation fast in plain NumPy."""

from __future__ import annotations

import functools

import numpy as np

from spjax.data.shapes import capsule, ellipse

# Pose codes (per person per frame). Fight poses face right (+) or left (−).
POSES = (
    "stand",
    *[f"walk{i}" for i in range(8)],
    "wash0",
    "wash1",
    *[f"fight{i}R" for i in range(4)],
    *[f"fight{i}L" for i in range(4)],
    "sit",
    "crouch",
    "fall30R",
    "fall60R",
    "lyingR",
    "fall30L",
    "fall60L",
    "lyingL",
    "defend",
)
POSE = {name: i for i, name in enumerate(POSES)}
LYING = (POSE["lyingR"], POSE["lyingL"])
CHANNELS = ("shadow", "trousers", "shirt", "skin", "hair")
SHADOW_TONE = 0.06  # the contact shadow keeps people visible whatever their clothing and floor
RIM = 0.6  # coverage of the dark rim drawn around every silhouette (edge shading)
BODY_SCALE = 0.34  # body length of a height-1.0 person at the front of the room, in image heights


def _skeleton(name: str):
    """Pose → (tilt radians, clockwise; list of (kind, params)) in body units, feet at origin, y up."""
    hands = [(-0.13, 0.45), (0.13, 0.45)]
    feet = [(-0.05, 0.02), (0.05, 0.02)]
    hip, shoulder, head, lean = 0.47, 0.74, 0.89, 0.0
    tilt = 0.0
    if name.startswith("walk"):
        s = np.sin(2 * np.pi * int(name[4:]) / 8)
        feet = [(-0.04 + 0.14 * s, 0.02), (0.04 - 0.14 * s, 0.02)]
        hands = [(-0.12 - 0.1 * s, 0.47), (0.12 + 0.1 * s, 0.47)]
    elif name.startswith("wash"):
        d = 0.04 if name == "wash0" else -0.04
        hands = [(-0.05 + d, 0.56), (0.05 + d, 0.56)]
    elif name.startswith("fight"):
        k, d = int(name[5]), (1.0 if name.endswith("R") else -1.0)
        lean = 0.06 * d
        hands = {
            0: [(d * 0.45, 0.76), (d * 0.12, 0.62)],
            1: [(d * 0.16, 0.66), (d * 0.2, 0.6)],
            2: [(d * 0.12, 0.62), (d * 0.44, 0.72)],
            3: [(d * 0.25, 0.9), (d * 0.3, 0.86)],
        }[k]
        feet = [(-0.1, 0.02), (0.1, 0.02)]
    elif name == "sit":
        hip, shoulder, head = 0.3, 0.57, 0.71
        feet = [(-0.08, 0.02), (0.08, 0.02)]
        hands = [(-0.12, 0.3), (0.12, 0.3)]
    elif name == "crouch":
        hip, shoulder, head = 0.22, 0.45, 0.57
        feet = [(-0.12, 0.02), (0.12, 0.02)]
        hands = [(-0.06, 0.6), (0.06, 0.62)]
    elif name == "defend":
        hands = [(-0.08, 0.93), (0.08, 0.93)]
    elif name.startswith(("fall", "lying")):
        tilt = np.deg2rad({"fall30": 30, "fall60": 60, "lying": 90}[name[:-1]])
        tilt *= 1.0 if name.endswith("R") else -1.0
        hands = [(-0.15, 0.8), (0.15, 0.75)] if name.startswith("fall") else hands
    parts = []
    for fx, fy in feet:
        parts.append(("trousers", "capsule", (np.sign(fx) * 0.045, hip, fx, fy, 0.06)))
    parts.append(("shirt", "capsule", (lean * 0.3, hip, lean, shoulder, 0.115)))
    for hx, hy in hands:
        sx = lean + (0.1 if hx >= lean else -0.1)
        parts.append(("shirt", "capsule", (sx, shoulder, hx, hy, 0.045)))
    parts.append(("skin", "ellipse", (lean * 1.2, head, 0.095, 0.11)))
    parts.append(("hair", "ellipse", (lean * 1.2, head + 0.04, 0.1, 0.08)))
    return tilt, parts


def anchor_offset(pose: np.ndarray) -> np.ndarray:
    """(..., 2) offset of the sprite anchor (body midpoint) from the feet, in body lengths, image axes."""
    tilts = np.array([_skeleton(p)[0] for p in POSES], np.float32)
    t = tilts[pose]
    return np.stack([0.5 * np.sin(t), -0.5 * np.cos(t)], axis=-1)


def _render_sprite(name: str, length: float, box: int, ox: float, oy: float) -> np.ndarray:
    """(5, box, box) channel coverages with the anchor at pixel coordinate (box//2 + ox, box//2 + oy)."""
    tilt, parts = _skeleton(name)
    c = np.arange(box, dtype=np.float32) + 0.5
    py, px = np.meshgrid(c, c, indexing="ij")
    # Pixel → world offset from the anchor (body lengths, y up) → body frame (feet origin).
    wx = (px - (box // 2 + ox)) / length
    wy = -(py - (box // 2 + oy)) / length
    wx, wy = wx + 0.5 * np.sin(tilt), wy + 0.5 * np.cos(tilt)
    cos, sin = np.cos(tilt), np.sin(tilt)
    bx, by = cos * wx - sin * wy, sin * wx + cos * wy
    pw = 1.0 / length
    cov = {ch: np.zeros((box, box), np.float32) for ch in CHANNELS}
    # Contact shadow on the floor under the body (image-aligned, from the feet to below the head).
    head_x = np.sin(tilt) * 0.9
    cov["shadow"] = 0.7 * capsule(
        wx, wy, min(0.0, head_x) - 0.12, -0.04, max(0.0, head_x) + 0.12, -0.04, 0.08, pw
    )
    for ch, kind, p in parts:
        a = capsule(bx, by, *p, pw) if kind == "capsule" else ellipse(bx, by, *p, pw)
        if ch == "hair":  # hair covers the top of the head only
            a = np.minimum(a, ellipse(bx, by, p[0], p[1] - 0.04, 0.095, 0.11, pw))
        cov[ch] = np.maximum(cov[ch], a)
    # A dark one-pixel rim around the silhouette (bodies are shaded at their edges under
    # ceiling light): keeps every person visible against a floor or wall of their own tone.
    body = np.maximum.reduce([cov[ch] for ch in CHANNELS[1:]])
    padded = np.pad(body, 1)
    grown = np.maximum.reduce(
        [
            padded[1 + dy : 1 + dy + box, 1 + dx : 1 + dx + box]
            for dy in (-1, 0, 1)
            for dx in (-1, 0, 1)
        ]
    )
    cov["shadow"] = np.maximum(cov["shadow"], RIM * np.clip(grown - body, 0.0, 1.0))
    # Painter's order: shadow < trousers < shirt < skin < hair; later layers hide earlier ones.
    out = np.zeros((len(CHANNELS), box, box), np.float32)
    vis = np.ones((box, box), np.float32)
    for i in reversed(range(len(CHANNELS))):
        out[i] = cov[CHANNELS[i]] * vis
        vis = vis * (1 - cov[CHANNELS[i]])
    return out


def length_range(size: int) -> tuple[int, int]:
    """Smallest and largest body length in pixels (shortest person at the back … tallest at the front)."""
    lo = int(np.floor(0.85 * 0.6 * BODY_SCALE * size))
    hi = int(np.ceil(1.15 * BODY_SCALE * size))
    return max(lo, 3), hi


@functools.lru_cache(maxsize=8)
def sprite_bank(size: int) -> tuple[np.ndarray, int, int]:
    """(bank, box, lmin): bank[((L − lmin) · n_poses + pose) · 4 + 2·oy + ox] → (5, box²) float32."""
    lmin, lmax = length_range(size)
    box = lmax + 4
    sprites = [
        _render_sprite(name, float(length), box, 0.5 * ox, 0.5 * oy)
        for length in range(lmin, lmax + 1)
        for name in POSES
        for oy in (0, 1)
        for ox in (0, 1)
    ]
    bank = np.stack(sprites).reshape(len(sprites), len(CHANNELS), box * box)
    bank.setflags(write=False)
    return bank, box, lmin
