"""Parametric identity faces.

An identity is a vector of stable traits (face shape, eyes, brows, nose, mouth, skin, hair,
glasses, beard, plus clothing and height used by the scene renderer); each sample adds
nuisance (pose shift/rotation/scale, lighting direction and gain, expression, blink,
occlusion, sensor noise). Traits depend only on (seed, identity id), so the same identity looks
the same in every split and in every scene."""

from __future__ import annotations

import numpy as np

from spjax.data import streams
from spjax.data.shapes import capsule, ellipse, over

# Trait name → (low, high) of a uniform draw. Binary/discrete traits are drawn in [0, 1) and
# thresholded by the renderer, so the table stays one simple, documented place.
TRAIT_RANGES: dict[str, tuple[float, float]] = {
    "face_w": (0.48, 0.68),
    "face_h": (0.66, 0.86),
    "jaw": (0.70, 1.00),  # lower-half width factor: pointed chin … square jaw
    "skin": (0.45, 0.90),
    "hair_tone": (0.02, 0.55),
    "hair_style": (0.0, 4.0),  # 0 short, 1 long, 2 very short, 3 fringe
    "hairline": (-0.60, -0.28),
    "eye_sep": (0.15, 0.30),
    "eye_y": (-0.14, 0.04),
    "eye_size": (0.045, 0.095),
    "brow_gap": (0.06, 0.14),
    "brow_tilt": (-0.05, 0.05),
    "brow_thick": (0.015, 0.045),
    "nose_len": (0.10, 0.26),
    "nose_w": (0.03, 0.08),
    "mouth_y": (0.28, 0.48),
    "mouth_w": (0.10, 0.28),
    "mouth_thick": (0.015, 0.05),
    "glasses": (0.0, 1.0),  # glasses when > 0.75
    "beard": (0.0, 1.0),  # beard when > 0.8
    "shirt": (0.05, 0.95),
    "trousers": (0.05, 0.80),
    "height": (0.85, 1.15),
    # Room-scale identity (scenes only; appended so that every earlier trait keeps its draw).
    "build": (0.0, 3.0),  # slim, medium, broad
    "shirt2": (0.05, 0.95),  # second shirt tone (stripes, blocks, sleeves)
    "pattern": (0.0, 4.0),  # plain, stripes, blocks, contrasting sleeves
    "shorts": (0.0, 1.0),  # shorts when > 0.7 (bare shins)
    "gait": (0.0, 2.0),  # short steps with still arms, long strides with swinging arms
    "cadence": (0.026, 0.046),  # floor distance per walk-cycle phase (stride length)
    "speed": (0.7, 1.35),  # walking speed factor
}
TRAIT_NAMES = tuple(TRAIT_RANGES)


def identity_traits(ids, seed: int = 0) -> dict[str, np.ndarray]:
    """Traits of identities `ids` (int array-like) → dict name → (len(ids),) float32.

    Each identity draws from its own generator seeded by (seed, id), so traits are stable
    whatever subset or order of identities is asked for."""
    ids = np.asarray(ids)
    if ids.ndim != 1 or not np.issubdtype(ids.dtype, np.integer):
        raise TypeError(
            f"ids: expected a 1-D integer array, got dtype {ids.dtype} shape {ids.shape}"
        )
    if ids.size and ids.min() < 0:
        raise ValueError(f"ids: expected non-negative identity ids, got min {ids.min()}")
    lo = np.array([r[0] for r in TRAIT_RANGES.values()], np.float64)
    hi = np.array([r[1] for r in TRAIT_RANGES.values()], np.float64)
    u = (
        np.stack(
            [
                np.random.default_rng([int(seed), streams.FACE_VARIATION, int(i)]).random(len(lo))
                for i in ids
            ]
        )
        if ids.size
        else np.zeros((0, len(lo)))
    )
    vals = lo + (hi - lo) * u
    out = {name: vals[:, j].astype(np.float32) for j, name in enumerate(TRAIT_NAMES)}
    # Keep hair visibly different from skin: push it darker when too close.
    out["hair_tone"] = np.where(
        np.abs(out["hair_tone"] - out["skin"]) < 0.25, out["hair_tone"] * 0.4, out["hair_tone"]
    ).astype(np.float32)
    return out


def _nuisance(rng: np.random.Generator, n: int, strength: float) -> dict[str, np.ndarray]:
    s = float(strength)
    return {
        "dx": rng.uniform(-0.06, 0.06, n) * s,
        "dy": rng.uniform(-0.06, 0.06, n) * s,
        "rot": np.deg2rad(rng.uniform(-8.0, 8.0, n) * s),
        "scale": 1.0 + rng.uniform(-0.07, 0.07, n) * s,
        "light_dir": rng.uniform(0, 2 * np.pi, n),
        "light": rng.uniform(0.0, 0.35, n) * s,
        "gain": 1.0 + rng.uniform(-0.2, 0.15, n) * s,
        "smile": rng.uniform(-1.0, 1.0, n) * s,
        "mouth_open": rng.uniform(0.0, 1.0, n) * s,
        "blink": 1.0 - rng.uniform(0.0, 0.6, n) * s,
        "occlude": rng.random(n) < 0.15 * s,
        "occ_y": rng.uniform(0.35, 0.8, n),
        "occ_tone": rng.uniform(0.0, 1.0, n),
        "bg": 0.5 + rng.uniform(-0.35, 0.35, n) * s,
        "noise": 0.02 * s,
    }


def render_faces(
    traits: dict[str, np.ndarray], nuisance: dict[str, np.ndarray], size: int
) -> np.ndarray:
    """Render one face per row of `traits`/`nuisance` → (N, size, size) float32 in [0, 1]."""
    n = len(traits["skin"])
    c = (np.arange(size, dtype=np.float32) + 0.5) / size * 2.0 - 1.0  # pixel centres in [-1, 1]
    gy, gx = np.meshgrid(c, c, indexing="ij")
    t = {k: np.asarray(v, np.float32).reshape(n, 1, 1) for k, v in traits.items()}
    z = {
        k: (np.asarray(v, np.float32).reshape(n, 1, 1) if np.ndim(v) else v)
        for k, v in nuisance.items()
    }
    # Pose: express each pixel in the face's own frame (inverse similarity transform).
    cos, sin = np.cos(z["rot"]), np.sin(z["rot"])
    px, py = gx - z["dx"], gy - z["dy"]
    x = (cos * px + sin * py) / z["scale"]
    y = (-sin * px + cos * py) / z["scale"]
    pw = 2.0 / size / z["scale"]

    img = np.broadcast_to(z["bg"] + 0.15 * gy, (n, size, size)).astype(np.float32)
    fw, fh = t["face_w"], t["face_h"]
    style = np.floor(t["hair_style"])
    long_hair = (style == 1).astype(np.float32)
    # Long hair falls behind the face and shoulders.
    img = over(img, long_hair * ellipse(x, y, 0, 0.15, fw * 1.25, fh * 1.15, pw), t["hair_tone"])
    img = over(img, ellipse(x, y, -fw * 0.98, 0.0, 0.08, 0.14, pw), t["skin"] * 0.92)  # ears
    img = over(img, ellipse(x, y, fw * 0.98, 0.0, 0.08, 0.14, pw), t["skin"] * 0.92)
    # Face: upper half an ellipse, lower half narrowed by the jaw factor.
    jaw = np.where(y > 0, t["jaw"], 1.0)
    img = over(img, ellipse(x, y, 0, 0, fw * jaw, fh, pw), t["skin"])
    img = over(
        img,
        (t["beard"] > 0.8)
        * ellipse(x, y, 0, fh * 0.55, fw * jaw * 0.85, fh * 0.45, pw)
        * (y > fh * 0.25),
        t["hair_tone"] * 0.9,
    )
    # Hair cap: the part of a slightly larger head ellipse above the hairline.
    cap = ellipse(x, y, 0, -0.05, fw * 1.08, fh * 1.08, pw)
    line = np.clip((t["hairline"] - y) / pw + 0.5, 0, 1)
    short = (style == 2).astype(np.float32)
    fringe = (style == 3).astype(np.float32) * ellipse(
        x, y, -0.1, t["hairline"] + 0.06, fw * 0.7, 0.12, pw
    )
    img = over(img, np.maximum(cap * line * (1 - 0.5 * short), fringe), t["hair_tone"])
    # Eyes (blink squashes them), brows above.
    for side in (-1.0, 1.0):
        ex = side * t["eye_sep"]
        img = over(
            img,
            ellipse(
                x,
                y,
                ex,
                t["eye_y"],
                t["eye_size"] * 1.3,
                t["eye_size"] * 0.8 * z["blink"] + 0.01,
                pw,
            ),
            0.95,
        )
        img = over(
            img,
            ellipse(
                x,
                y,
                ex,
                t["eye_y"],
                t["eye_size"] * 0.6,
                t["eye_size"] * 0.6 * z["blink"] + 0.005,
                pw,
            ),
            0.05,
        )
        by = t["eye_y"] - t["brow_gap"] - t["eye_size"]
        img = over(
            img,
            capsule(
                x,
                y,
                ex - 0.09,
                by + side * t["brow_tilt"],
                ex + 0.09,
                by - side * t["brow_tilt"],
                t["brow_thick"],
                pw,
            ),
            t["hair_tone"] * 0.8,
        )
        g = t["glasses"] > 0.75
        ring = ellipse(x, y, ex, t["eye_y"], 0.13, 0.10, pw) - ellipse(
            x, y, ex, t["eye_y"], 0.105, 0.075, pw
        )
        img = over(img, g * np.clip(ring, 0, 1), 0.05)
    g = t["glasses"] > 0.75
    img = over(
        img,
        g
        * capsule(
            x, y, -t["eye_sep"] + 0.12, t["eye_y"], t["eye_sep"] - 0.12, t["eye_y"], 0.015, pw
        ),
        0.05,
    )
    # Nose: a shaded ridge and nostrils.
    img = over(
        img,
        0.6
        * capsule(
            x, y, 0.0, t["eye_y"] + 0.05, 0.02, t["eye_y"] + t["nose_len"], t["nose_w"] * 0.6, pw
        ),
        t["skin"] * 0.7,
    )
    img = over(
        img,
        ellipse(x, y, 0.0, t["eye_y"] + t["nose_len"] + 0.01, t["nose_w"], 0.025, pw),
        t["skin"] * 0.45,
    )
    # Mouth: width and position are identity; smile and opening are expression.
    my = t["mouth_y"]
    curve = 0.04 * z["smile"]
    img = over(
        img,
        capsule(
            x, y, -t["mouth_w"], my - curve, 0.0, my, t["mouth_thick"] + 0.02 * z["mouth_open"], pw
        ),
        0.25,
    )
    img = over(
        img,
        capsule(
            x, y, 0.0, my, t["mouth_w"], my - curve, t["mouth_thick"] + 0.02 * z["mouth_open"], pw
        ),
        0.25,
    )
    # Lighting: a directional gradient and a global gain.
    shade = 1.0 + z["light"] * (np.cos(z["light_dir"]) * gx + np.sin(z["light_dir"]) * gy)
    img = img * shade * z["gain"]
    # Occlusion: a band (scarf, hand, mask) across the lower face.
    occ = (
        z["occlude"]
        * np.clip((y - z["occ_y"]) / pw + 0.5, 0, 1)
        * ellipse(x, y, 0, 0, fw * 1.2, fh * 1.3, pw)
    )
    img = over(img, occ, z["occ_tone"])
    return img.astype(np.float32)


def generate_faces(
    n_identities: int,
    per_identity: int,
    *,
    size: int = 32,
    seed: int = 0,
    identity_offset: int = 0,
    nuisance: float = 1.0,
    world: int = 0,
) -> dict[str, np.ndarray]:
    """`n_identities` × `per_identity` faces → dict(image=(N,H,W) float32 in [0,1], identity=(N,) int32).

    Identities are `identity_offset … identity_offset + n_identities − 1`; use disjoint offsets
    for open-set (verification) splits and different `seed`s for closed-set sample splits
    (traits depend on the identity only, nuisance on `seed`). `nuisance` scales the pose,
    lighting, expression, occlusion and noise ranges (0 = canonical portrait). `world` seeds the
    identity traits (the same identity id looks the same in faces and scenes of one world)."""
    for name, v in (("n_identities", n_identities), ("per_identity", per_identity), ("size", size)):
        if not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name}: expected a positive int, got {v!r}")
    if size < 8:
        raise ValueError(f"size: expected >= 8 pixels, got {size}")
    if identity_offset < 0:
        raise ValueError(f"identity_offset: expected >= 0, got {identity_offset}")
    ids = np.repeat(
        np.arange(identity_offset, identity_offset + n_identities, dtype=np.int32), per_identity
    )
    traits = identity_traits(np.arange(identity_offset, identity_offset + n_identities), seed=world)
    traits = {k: np.repeat(v, per_identity) for k, v in traits.items()}
    rng = np.random.default_rng(
        [int(seed), streams.FACE_SET, int(identity_offset), n_identities, per_identity]
    )
    nz = _nuisance(rng, len(ids), nuisance)
    img = render_faces(traits, nz, size)
    img = img + rng.standard_normal(img.shape, dtype=np.float32) * np.float32(nz["noise"])
    return {"image": np.clip(img, 0.0, 1.0).astype(np.float32), "identity": ids}
