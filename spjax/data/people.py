"""Articulated people as a pre-rendered sprite bank, and what makes each person recognisable.

A person is a skeleton (head, torso, two arms, two legs) in a pose; the bank holds every build
× pose × integer body length (pixels) × half-pixel sub-position, rendered anti-aliased into
coverage channels (trousers, shins, four torso bands, sleeves, skin, hair, long hair) so that
each person's clothing, skin and hair tones and clothing pattern (their identity) are applied
when compositing. Rendering a clip is then gathers and blends (`spjax.data.render`, in JAX on
jax's device; the bank is built once per size in NumPy).

Identity at room scale is what a ceiling camera sees of a 10–25 px person: height and build,
clothing tones and patterns (stripes, blocks, contrasting sleeves, shorts), hair tone and
length, skin tone, and gait (stride style, cadence, speed). `appearance(n, world)` gives it per
identity, from the same per-identity trait draws as the faces (`faces.identity_traits`)."""

from __future__ import annotations

import functools

import numpy as np

from spjax.data.shapes import box1d, capsule, ellipse

# Pose codes (per person per frame). Fight poses face right (+) or left (−). Walking has two
# gait styles: `walk*` (short steps, arms close) and `stride*` (long strides, swinging arms).
POSES = (
    "stand",
    *[f"walk{i}" for i in range(8)],
    *[f"stride{i}" for i in range(8)],
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
GAIT_POSES = (POSE["walk0"], POSE["stride0"])  # first walk-cycle pose of each gait style
# Painter's order, bottom to top: later layers hide earlier ones.
CHANNELS = (
    "shadow",
    "long_hair",
    "trousers",
    "shins",
    "shirt0",
    "shirt1",
    "shirt2",
    "shirt3",
    "sleeves",
    "skin",
    "hair",
)
CH = {name: i for i, name in enumerate(CHANNELS)}
TORSO_BANDS = 4  # horizontal bands of the torso: stripes and blocks are tone patterns over them
BUILDS = (0.78, 1.0, 1.28)  # limb and torso width factors: slim, medium, broad
PATTERNS = ("plain", "stripes", "blocks", "sleeves")
SHADOW_TONE = 0.06  # the contact shadow keeps people visible whatever their clothing and floor
RIM = 0.6  # coverage of the dark rim drawn around every silhouette (edge shading)
BODY_SCALE = 0.34  # body length of a height-1.0 person at the front of the room, in image heights
_STRIDE = {"walk": (0.10, 0.04), "stride": (0.19, 0.15)}  # (foot, hand) swing amplitudes


def _skeleton(name: str, build: float = 1.0):
    """Pose → (tilt radians, clockwise; list of (channel, kind, params)) in body units, feet at
    origin, y up; `build` widens the torso and limbs."""
    hands = [(-0.13, 0.45), (0.13, 0.45)]
    feet = [(-0.05, 0.02), (0.05, 0.02)]
    hip, shoulder, head, lean = 0.47, 0.74, 0.89, 0.0
    tilt = 0.0
    if name.startswith(("walk", "stride")):
        style = name.rstrip("01234567")
        foot, hand = _STRIDE[style]
        s = np.sin(2 * np.pi * int(name[len(style) :]) / 8)
        feet = [(-0.04 + foot * s, 0.02), (0.04 - foot * s, 0.02)]
        hands = [(-0.12 - hand * s, 0.47), (0.12 + hand * s, 0.47)]
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
    b = float(build)
    parts = []
    for fx, fy in feet:
        parts.append(("trousers", "capsule", (np.sign(fx) * 0.045 * b, hip, fx, fy, 0.06 * b)))
    parts.append(("shirt", "capsule", (lean * 0.3, hip, lean, shoulder, 0.115 * b)))
    for hx, hy in hands:
        sx = lean + (0.1 if hx >= lean else -0.1) * b
        parts.append(("sleeves", "capsule", (sx, shoulder, hx, hy, 0.045 * b)))
    parts.append(("long_hair", "ellipse", (lean * 1.2, head - 0.08, 0.115, 0.13)))
    parts.append(("skin", "ellipse", (lean * 1.2, head, 0.095, 0.11)))
    parts.append(("hair", "ellipse", (lean * 1.2, head + 0.04, 0.1, 0.08)))
    return tilt, parts, (hip, shoulder)


def anchor_offset(pose: np.ndarray) -> np.ndarray:
    """(..., 2) offset of the sprite anchor (body midpoint) from the feet, in body lengths, image axes."""
    tilts = np.array([_skeleton(p)[0] for p in POSES], np.float32)  # the tilt ignores build
    t = tilts[pose]
    return np.stack([0.5 * np.sin(t), -0.5 * np.cos(t)], axis=-1)


def _render_sprites(
    name: str, length: np.ndarray, box: int, ox: np.ndarray, oy: np.ndarray, build: float = 1.0
) -> np.ndarray:
    """(M, channels, box, box) coverages of pose `name` at M body lengths (pixels) with the
    anchor at pixel (box//2 + ox, box//2 + oy); `length`, `ox`, `oy` are (M,) arrays (one
    vectorised pass instead of M sprite renders)."""
    tilt, parts, (hip, shoulder) = _skeleton(name, build)
    length = np.asarray(length, np.float32)[:, None, None]
    ox = np.asarray(ox, np.float32)[:, None, None]
    oy = np.asarray(oy, np.float32)[:, None, None]
    c = np.arange(box, dtype=np.float32) + 0.5
    py, px = np.meshgrid(c, c, indexing="ij")
    # Pixel → world offset from the anchor (body lengths, y up) → body frame (feet origin).
    wx = (px - (box // 2 + ox)) / length
    wy = -(py - (box // 2 + oy)) / length
    wx, wy = wx + 0.5 * np.sin(tilt), wy + 0.5 * np.cos(tilt)
    cos, sin = np.cos(tilt), np.sin(tilt)
    bx, by = cos * wx - sin * wy, sin * wx + cos * wy
    pw = 1.0 / length
    shape = wx.shape
    cov = {ch: np.zeros(shape, np.float32) for ch in CHANNELS}
    # Contact shadow on the floor under the body (image-aligned, from the feet to below the head).
    head_x = np.sin(tilt) * 0.9
    cov["shadow"] = 0.7 * capsule(
        wx, wy, min(0.0, head_x) - 0.12, -0.04, max(0.0, head_x) + 0.12, -0.04, 0.08, pw
    )
    shirt = np.zeros(shape, np.float32)
    for ch, kind, p in parts:
        a = capsule(bx, by, *p, pw) if kind == "capsule" else ellipse(bx, by, *p, pw)
        if ch == "hair":  # hair covers the top of the head only
            a = np.minimum(a, ellipse(bx, by, p[0], p[1] - 0.04, 0.095, 0.11, pw))
        if ch == "shirt":
            shirt = np.maximum(shirt, a)
        else:
            cov[ch] = np.maximum(cov[ch], a)
    # Shins: the lower half of the legs (bare for people in shorts).
    knee = 0.5 * hip
    cov["shins"] = cov["trousers"] * box1d(by, -1.0, knee, pw)
    cov["trousers"] = cov["trousers"] - cov["shins"]
    # Torso bands, from the waist up (stripes alternate tones, blocks split top from bottom).
    lo, hi = hip - 0.12, shoulder + 0.12
    edges = lo + (hi - lo) * np.arange(TORSO_BANDS + 1) / TORSO_BANDS
    edges[0], edges[-1] = -1.0, 2.0  # the first and last bands take everything beyond them
    for i in range(TORSO_BANDS):
        cov[f"shirt{i}"] = shirt * box1d(by, edges[i], edges[i + 1], pw)
    # A dark one-pixel rim around the silhouette (bodies are shaded at their edges under
    # ceiling light): keeps every person visible against a floor or wall of their own tone.
    # Long hair is left out: most people have none, and the rim must not outline it.
    body = np.maximum.reduce([cov[ch] for ch in CHANNELS[2:]])
    padded = np.pad(body, ((0, 0), (1, 1), (1, 1)))
    grown = np.maximum.reduce(
        [
            padded[:, 1 + dy : 1 + dy + box, 1 + dx : 1 + dx + box]
            for dy in (-1, 0, 1)
            for dx in (-1, 0, 1)
        ]
    )
    cov["shadow"] = np.maximum(cov["shadow"], RIM * np.clip(grown - body, 0.0, 1.0))
    # Painter's order (CHANNELS): each layer keeps only what the layers above leave visible.
    out = np.zeros((shape[0], len(CHANNELS), box, box), np.float32)
    vis = np.ones(shape, np.float32)
    for i in reversed(range(len(CHANNELS))):
        out[:, i] = cov[CHANNELS[i]] * vis
        vis = vis * (1 - cov[CHANNELS[i]])
    return out


def length_range(size: int) -> tuple[int, int]:
    """Smallest and largest body length in pixels (shortest person at the back … tallest at the front)."""
    lo = int(np.floor(0.85 * 0.6 * BODY_SCALE * size))
    hi = int(np.ceil(1.15 * BODY_SCALE * size))
    return max(lo, 3), hi


@functools.lru_cache(maxsize=8)
def sprite_bank(size: int) -> tuple[np.ndarray, int, int]:
    """(bank, box, lmin): bank[sprite_index(build, L − lmin, pose, oy, ox)] → (channels, box²)
    uint8 coverages (255 = full; 8 bits keep the bank small enough to gather from quickly)."""
    lmin, lmax = length_range(size)
    box = lmax + 4
    lengths, oys, oxs = np.meshgrid(
        np.arange(lmin, lmax + 1), (0, 1), (0, 1), indexing="ij"
    )  # one vectorised render per (build, pose), ordered as `sprite_index`
    shape = (len(BUILDS), lmax + 1 - lmin, len(POSES), 4, len(CHANNELS), box * box)
    bank = np.empty(shape, np.uint8)
    for b, build in enumerate(BUILDS):
        for p, name in enumerate(POSES):
            cov = _render_sprites(
                name, lengths.ravel(), box, 0.5 * oxs.ravel(), 0.5 * oys.ravel(), build
            )
            bank[b, :, p] = np.rint(cov * 255).reshape(shape[1], 4, *shape[4:])
    bank = bank.reshape(-1, len(CHANNELS), box * box)
    bank.setflags(write=False)
    return bank, box, lmin


def sprite_index(build, length, pose, oy, ox, n_lengths: int):
    """Row of `sprite_bank` for integer arrays of build index, length − lmin, pose and offsets."""
    return (((build * n_lengths + length) * len(POSES) + pose) * 2 + oy) * 2 + ox


@functools.lru_cache(maxsize=16)
def appearance(n_identities: int, world: int) -> dict:
    """What the scene renderer draws of identities 0 … n_identities − 1 of `world`: `tones`
    (n, channels) and `opacity` (n, channels) per sprite channel, `height` (n,), `build` (n,)
    index into BUILDS, `gait` (n,) index into GAIT_POSES, `cadence` (n,) floor distance per
    walk-cycle phase and `speed` (n,) walking-speed factor. Read-only arrays."""
    from spjax.data.faces import identity_traits

    t = identity_traits(np.arange(n_identities), seed=world)
    shirt, other = t["shirt"], t["shirt2"]
    # A pattern needs a second tone that differs visibly from the first.
    other = np.where(
        np.abs(other - shirt) < 0.3, np.where(shirt > 0.5, shirt - 0.45, shirt + 0.45), other
    )
    pattern = np.floor(t["pattern"]).astype(int)
    band = np.arange(TORSO_BANDS)
    # Which torso bands take the second tone, per PATTERNS entry.
    second_tone = np.stack(
        [band < 0, band % 2 == 1, band >= TORSO_BANDS // 2, band < 0]
    )  # plain, stripes, blocks (upper half), sleeves only
    second = second_tone[pattern]
    bands = np.where(second, other[:, None], shirt[:, None])
    sleeves = np.where(pattern == 3, other, shirt)
    shins = np.where(t["shorts"] > 0.7, t["skin"], t["trousers"])
    long_hair = np.floor(t["hair_style"]) == 1
    tones = np.zeros((n_identities, len(CHANNELS)), np.float32)
    tones[:, CH["shadow"]] = SHADOW_TONE
    tones[:, CH["long_hair"]] = t["hair_tone"]
    tones[:, CH["trousers"]] = t["trousers"]
    tones[:, CH["shins"]] = shins
    for i in range(TORSO_BANDS):
        tones[:, CH[f"shirt{i}"]] = bands[:, i]
    tones[:, CH["sleeves"]] = sleeves
    tones[:, CH["skin"]] = t["skin"]
    tones[:, CH["hair"]] = t["hair_tone"]
    opacity = np.ones_like(tones)
    opacity[:, CH["long_hair"]] = long_hair
    out = {
        "tones": tones,
        "opacity": opacity,
        "height": t["height"].astype(np.float32),
        "build": np.minimum(np.floor(t["build"]).astype(np.int32), len(BUILDS) - 1),
        "gait": np.minimum(np.floor(t["gait"]).astype(np.int32), len(GAIT_POSES) - 1),
        "cadence": t["cadence"].astype(np.float32),
        "speed": t["speed"].astype(np.float32),
    }
    for v in out.values():
        v.setflags(write=False)
    return out
