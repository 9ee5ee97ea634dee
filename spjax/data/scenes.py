"""Behaviour scenes: clips of people in procedural rooms, with exact labels and text.

`generate_scenes(config, n, seed=...)` plans every person's trajectory and pose per frame
(vectorised over clips), composites articulated-person sprites over the cached room images,
then applies lighting changes and sensor noise. Labels come from the plan, so they are exact:
per-frame people counts, anomaly type and time span, activity and zone per person, identity
ids. Anomalies: fall (upright → lying, then still), fight (two people close with fast repeated
punches; the victim defends, is pushed back and pushed down or cornered), loiter (one person
pacing back and forth in front of the stalls or the door for the whole clip; normal people
stand still only at the sink or bench, or for at most 2/3 of a clip), crowding (≥ 3 people packed together the whole clip; off by default)."""

from __future__ import annotations

import dataclasses
import random

import numpy as np

from spjax.data import layout as L
from spjax.data import people as P
from spjax.data import streams
from spjax.data.labels import ACTIVITIES, ANOMALY_TYPES, MIN_PEOPLE  # noqa: F401  (re-exported)
from spjax.data.scene_plan import plan_clips


@dataclasses.dataclass(frozen=True)
class SceneConfig:
    """What clips look like. `seed` is the world seed (identities, rooms); clip sampling uses
    the `seed` argument of `generate_scenes`. Rooms are layouts `layout_offset …
    layout_offset + layout_seeds − 1` of the world, people identities `identity_offset …
    identity_offset + n_identities − 1` (other offsets: rooms or people never seen).
    `noise_std`/`lighting` switch the sensor noise and light changes (off only for
    label-checking tests and previews)."""

    frames: int = 16
    size: int = 32
    min_people: int = 0
    max_people: int = 4
    anomaly_fraction: float = 0.3
    anomaly_types: tuple = ("fall", "fight", "loiter")
    layout_seeds: int = 1000
    n_identities: int = 50
    seed: int = 0
    layout_offset: int = 0
    identity_offset: int = 0
    noise_std: float = 0.02
    lighting: bool = True
    captions_per_clip: int = 3

    def __post_init__(self):
        def need(cond, name, expected):
            if not cond:
                raise ValueError(
                    f"SceneConfig.{name}: expected {expected}, got {getattr(self, name)!r}"
                )

        need(isinstance(self.frames, int) and self.frames >= 6, "frames", "an int >= 6")
        need(isinstance(self.size, int) and self.size >= 16, "size", "an int >= 16")
        need(isinstance(self.min_people, int) and self.min_people >= 0, "min_people", "an int >= 0")
        need(
            isinstance(self.max_people, int) and self.min_people <= self.max_people <= 6,
            "max_people",
            f"an int in [{self.min_people}, 6]",
        )
        need(0.0 <= float(self.anomaly_fraction) <= 1.0, "anomaly_fraction", "a float in [0, 1]")
        object.__setattr__(self, "anomaly_types", tuple(self.anomaly_types))
        for t in self.anomaly_types:
            need(t in MIN_PEOPLE, "anomaly_types", f"names from {tuple(MIN_PEOPLE)}")
            need(
                MIN_PEOPLE[t] <= self.max_people,
                "max_people",
                f">= {MIN_PEOPLE[t]} for anomaly {t!r}",
            )
        need(
            self.anomaly_fraction == 0 or self.anomaly_types,
            "anomaly_types",
            "at least one type when anomaly_fraction > 0",
        )
        need(
            isinstance(self.layout_seeds, int) and self.layout_seeds >= 1,
            "layout_seeds",
            "an int >= 1",
        )
        need(
            isinstance(self.layout_offset, int) and self.layout_offset >= 0,
            "layout_offset",
            "an int >= 0",
        )
        need(
            isinstance(self.identity_offset, int) and self.identity_offset >= 0,
            "identity_offset",
            "an int >= 0",
        )
        need(
            isinstance(self.n_identities, int) and self.n_identities >= self.max_people,
            "n_identities",
            f"an int >= max_people ({self.max_people})",
        )
        need(float(self.noise_std) >= 0, "noise_std", "a float >= 0")
        need(
            isinstance(self.captions_per_clip, int) and self.captions_per_clip >= 1,
            "captions_per_clip",
            "an int >= 1",
        )

    @classmethod
    def from_dict(cls, values: dict) -> SceneConfig:
        """Build from a dict, naming any unknown key."""
        known = {f.name for f in dataclasses.fields(cls)}
        for k in values:
            if k not in known:
                raise ValueError(f"SceneConfig: unknown key {k!r}; expected one of {sorted(known)}")
        return cls(**values)

    @classmethod
    def pick(cls, values, **renamed) -> SceneConfig:
        """The world fields found in a larger mapping (a recipe's `data` section, a TFDS
        builder config); `renamed` maps a field to the mapping's own key for it (e.g.
        `seed="world_seed"`). Fields the mapping lacks keep their defaults."""
        get = values.get if hasattr(values, "get") else lambda k, d=None: getattr(values, k, d)
        out = {}
        for f in dataclasses.fields(cls):
            key = renamed.get(f.name, f.name)
            value = get(key, None)
            if value is not None:
                out[f.name] = value
        return cls(**out)


def world_settings(world: SceneConfig, **renamed) -> dict:
    """`world`'s fields as a flat settings dict (the inverse of `SceneConfig.pick`, with the
    same `renamed` keys): a recipe's `data` section states its world as the fields of one
    `SceneConfig`, so the world's settings and their defaults have one definition."""
    return {renamed.get(f.name, f.name): getattr(world, f.name) for f in dataclasses.fields(world)}


def single_person_world(
    config: SceneConfig, *, identities: int, identity_offset: int = 0
) -> SceneConfig:
    """`config`'s world (rooms, size, clip length, lighting, noise) with exactly one person per
    clip, no anomaly, drawn from `identities` people from `identity_offset`: the clips of
    room-scale re-identification (T3) and of the room identity channel in training."""
    return dataclasses.replace(
        config,
        min_people=1,
        max_people=1,
        anomaly_fraction=0.0,
        anomaly_types=(),
        n_identities=identities,
        identity_offset=identity_offset,
    )


def person_frames(config: SceneConfig, n_clips: int, *, per_clip: int = 2, seed=0) -> dict:
    """Room-scale views of labelled people: `per_clip` frames of each of `n_clips` clips of
    `config` (a `single_person_world`), chosen among the frames where the person covers the
    most pixels. Returns `image (N, S, S) float32` and `identity (N,) int32` (the world's ids)."""
    if config.max_people != 1 or config.min_people != 1:
        raise ValueError(
            f"config: expected a single-person world (single_person_world), got "
            f"min_people={config.min_people}, max_people={config.max_people}"
        )
    if (
        isinstance(per_clip, bool)
        or not isinstance(per_clip, int)
        or not 1 <= per_clip <= config.frames
    ):
        raise ValueError(f"per_clip: expected an int in [1, {config.frames}], got {per_clip!r}")
    out = generate_scenes(config, n_clips, seed=seed, text=False)
    # Frames in order of how much of the person is drawn (ties: earliest); keep the top ones.
    order = np.argsort(-out["drawn_pixels"][:, 0], axis=1, kind="stable")[:, :per_clip]
    images = np.take_along_axis(out["frames"], order[:, :, None, None], axis=1)
    ids = np.repeat(out["identities"][:, 0], per_clip)
    return {
        "image": images.reshape(-1, config.size, config.size),
        "identity": ids.astype(np.int32),
    }


def _composite(cfg: SceneConfig, plan: dict, rng: np.random.Generator, out: np.ndarray) -> None:
    """Render the planned clips into `out` (n, T, S, S) float32."""
    S, T = cfg.size, cfg.frames
    n, Pm = plan["identities"].shape
    bank, box, lmin = P.sprite_bank(S)
    nL = bank.shape[0] // (len(P.BUILDS) * len(P.POSES) * 4)
    pad = box // 2 + 1  # enough margin for any sprite whose anchor lies in the image
    Sp = S + 2 * pad
    canvas = np.zeros((n, T, Sp, Sp), np.float32)
    for lid in np.unique(plan["layout"]):
        canvas[plan["layout"] == lid, :, pad : pad + S, pad : pad + S] = L.render_room(
            cfg.seed, int(lid), S
        )
    look = P.appearance(cfg.identity_offset + cfg.n_identities, cfg.seed)
    who = np.maximum(plan["identities"], 0)
    opacity = look["opacity"][who]  # (n, P, channels)
    colours = look["tones"][who] * opacity
    height, build = look["height"][who], look["build"][who]
    pos, pose, vis = plan["pos"], plan["pose"], plan["visible"]
    wall = plan["wall"][:, None, None]
    persp = np.array(
        [L.room_layout(cfg.seed, int(lid))["persp"] for lid in plan["layout"]], np.float32
    )[:, None, None]
    depth = np.clip((pos[..., 1] - wall) / (1 - wall), 0, 1)
    length = (
        height[..., None] * (persp + (1 - persp) * depth) * P.BODY_SCALE * S
    )  # (n, P, T) pixels
    li = np.clip(np.rint(length).astype(int), lmin, lmin + nL - 1)
    anchor = pos * S + P.anchor_offset(pose) * li[..., None]
    half = np.rint(anchor * 2).astype(int)
    ix, ox = half[..., 0] // 2, half[..., 0] % 2
    iy, oy = half[..., 1] // 2, half[..., 1] % 2
    sprite = P.sprite_index(build[..., None], li - lmin, pose, oy, ox, nL)
    idx_t = np.int32 if canvas.size < 2**31 else np.int64
    off = (np.arange(box)[:, None] * Sp + np.arange(box)[None]).ravel().astype(idx_t)
    ar = np.arange(box)
    drawn = np.zeros((n, Pm, T), np.int32)
    flat = canvas.reshape(-1)
    # Far people first so nearer ones are drawn over them.
    order = np.argsort(np.where(vis, pos[..., 1], -1.0), axis=1, kind="stable")
    nn, tt = np.meshgrid(np.arange(n), np.arange(T), indexing="ij")
    for k in range(Pm):
        p = order[:, k, :]  # (n, T) slot drawn k-th
        v = vis[nn, p, tt]
        if not v.any():
            continue
        nv, tv, pv = nn[v], tt[v], p[v]
        y0 = np.clip(iy[nv, pv, tv] - box // 2 + pad, 0, Sp - box)
        x0 = np.clip(ix[nv, pv, tv] - box // 2 + pad, 0, Sp - box)
        idx = ((((nv * T + tv) * Sp + y0) * Sp + x0).astype(idx_t))[:, None] + off[None]
        # (M, channels, box²) uint8 coverages; np.take is ~5× faster than bank[...]
        a = np.take(bank, sprite[nv, pv, tv], axis=0)
        col = colours[nv, pv] / np.float32(255)
        cov = np.einsum("mc,mcp->mp", opacity[nv, pv] / np.float32(255), a)
        flat[idx] = flat[idx] * (1 - cov) + np.einsum("mc,mcp->mp", col, a)
        # Pixels this person covers inside the image (the label check for rendered counts).
        rows_in = (y0[:, None] + ar - pad) % Sp < S  # (M, box): sprite rows/cols inside the image
        cols_in = (x0[:, None] + ar - pad) % Sp < S
        solid = (cov > 0.5).reshape(-1, box, box)
        drawn[nv, pv, tv] = (solid.sum(2, where=cols_in[:, None, :]) * rows_in).sum(1)
    crop = canvas[:, :, pad : pad + S, pad : pad + S]
    if cfg.lighting:
        gain = rng.uniform(0.8, 1.15, (n, 1)) + rng.normal(0, 0.015, (n, T))
        step = rng.random(n) < 0.15  # lights dim or brighten part-way through
        gain += np.where(
            step[:, None] & (np.arange(T)[None] >= rng.integers(1, T, n)[:, None]),
            rng.uniform(-0.25, 0.2, (n, 1)),
            0,
        )
        np.multiply(crop, gain[..., None, None].astype(np.float32), out=out)
    else:
        out[...] = crop
    if cfg.noise_std > 0:
        # Zero-mean sensor noise with standard deviation noise_std: the sum of two uniforms
        # (triangular) is close to Gaussian and 2× cheaper to draw than NumPy's normals.
        noise = rng.random(out.shape, dtype=np.float32)
        noise += rng.random(out.shape, dtype=np.float32)
        noise -= np.float32(1.0)
        noise *= np.float32(cfg.noise_std * np.sqrt(6.0))
        out += noise
    np.clip(out, 0.0, 1.0, out=out)
    plan["drawn"] = drawn


def generate_scenes(
    config: SceneConfig, n: int, *, seed: int | tuple = 0, text: bool = True, chunk: int = 256
) -> dict:
    """`n` clips → dict of numpy arrays (see module doc and docs/architecture.md).

    Keys: frames (n,T,S,S) float32 in [0,1]; count (n,) int32 (distinct people in the clip);
    count_per_frame (n,T) int32 (people visible in each frame); anomaly (n,) int32 (0/1);
    anomaly_type (n,) int32 (index into ANOMALY_TYPES); event_span (n,2) int32 first/last frame
    of the anomaly (−1 if none); identities, activity, zone (n,P) int32 (−1 / 0 pad; names in
    ACTIVITIES and layout.ZONES); layout (n,) int32; positions (n,P,T,2) feet in [0,1] image
    coordinates; pose (n,P,T) int32 (people.POSES); visible (n,P,T) bool; drawn_pixels (n,P,T)
    int32 (pixels inside the frame each person's sprite covers > 50 %); and, with
    `text=True`, `captions` (list of list[str]) and `qa` (list of list of (qtype, q, a))."""
    if not isinstance(config, SceneConfig):
        raise TypeError(f"config: expected a SceneConfig, got {type(config).__name__}")
    if not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n: expected an int >= 0, got {n!r}")
    seeds = tuple(int(s) for s in seed) if isinstance(seed, (tuple, list)) else (int(seed),)
    rng = np.random.default_rng([int(config.seed), streams.SCENE, *seeds])
    frames = np.empty((n, config.frames, config.size, config.size), np.float32)
    parts = []
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        plan = plan_clips(config, m, rng)
        _composite(config, plan, rng, frames[start : start + m])
        parts.append(plan)
    if not parts:
        parts = [plan_clips(config, 0, rng)]
        parts[0]["drawn"] = np.zeros((0, config.max_people, config.frames), np.int32)

    def cat(k):
        return np.concatenate([p[k] for p in parts])

    out = {
        "frames": frames,
        "count": cat("count"),
        "count_per_frame": cat("visible").sum(1).astype(np.int32),
        "anomaly": (cat("anomaly_type") > 0).astype(np.int32),
        "anomaly_type": cat("anomaly_type"),
        "event_span": cat("event_span"),
        "identities": cat("identities"),
        "activity": cat("activity"),
        "zone": cat("zone"),
        "layout": cat("layout").astype(np.int32),
        "positions": cat("pos"),
        "pose": cat("pose"),
        "visible": cat("visible"),
        "drawn_pixels": cat("drawn"),
    }
    if text:
        from spjax.data import text as tx

        trng = random.Random(f"spjax-scenes-text-{int(config.seed)}-{'-'.join(map(str, seeds))}")
        labels = [clip_labels(out, i) for i in range(n)]
        out["captions"] = [tx.captions(lab, trng, config.captions_per_clip) for lab in labels]
        out["qa"] = [tx.qa_pairs(lab, trng) for lab in labels]
    return out


def clip_labels(out: dict, i: int) -> dict:
    """Plain-Python labels of clip i, the input of the text grammar."""
    people = [
        (ACTIVITIES[a], L.ZONES[z]) for a, z in zip(out["activity"][i], out["zone"][i]) if a > 0
    ]
    atype = ANOMALY_TYPES[int(out["anomaly_type"][i])]
    where = None
    if atype in ("fall", "loiter"):
        where = L.ZONES[int(out["zone"][i][0])]
    elif atype == "fight":
        where = L.ZONES[int(out["zone"][i][1])]
    return {
        "count": int(out["count"][i]),
        "anomaly_type": atype,
        "location": where,
        "people": people,
    }
