"""Behaviour scenes: clips of people in procedural rooms, with exact labels and text.

`generate_scenes(config, n, seed=...)` plans every person's trajectory and pose per frame
(`scene_plan`, vectorised over a chunk of clips) and renders the plan (`render`: articulated
person sprites painted far to near over the cached room images, lighting changes and sensor
noise, jitted, on jax's device). Labels come from the plan, so they are exact:
per-frame people counts, anomaly type and time span, activity and zone per person, identity
ids. Anomalies: fall (upright → lying, then still), fight (two people close with fast repeated
punches; the victim defends, is pushed back and pushed down or cornered), loiter (one person
pacing back and forth in front of the stalls or the door for the whole clip; normal people
stand still only at the sink or bench, or for at most 2/3 of a clip), crowding (≥ 3 people
packed together the whole clip; off by default)."""

from __future__ import annotations

import dataclasses
import random

import jax.numpy as jnp
import numpy as np

from spjax.data import layout as L
from spjax.data import render, streams
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


CHUNK = 32
"""Clips planned from one generator and rendered in one call: clip i of a seed is planned in
chunk i // CHUNK from the generator `[world seed, SCENE, *seeds, chunk]`, so a clip does not
depend on how many clips are asked for. Part of the world's definition; 32 is a training
batch (planning costs ≈ 4 ms per call, mostly fixed: 256 clips take ≈ 10 ms)."""


_IN_FLIGHT = 2  # chunks rendering on the device while the host plans the next one


def clip_seeds(seed) -> tuple[int, ...]:
    """`seed` (an int or a tuple of ints, each in [0, 2^63)) as a tuple; names `seed` if not."""
    seeds = tuple(seed) if isinstance(seed, (tuple, list)) else (seed,)
    if not seeds or not all(
        isinstance(s, (int, np.integer)) and not isinstance(s, bool) and 0 <= s < 2**63
        for s in seeds
    ):
        raise ValueError(f"seed: expected an int or a tuple of ints in [0, 2**63), got {seed!r}")
    return tuple(int(s) for s in seeds)


def generate_scenes(
    config: SceneConfig,
    n: int,
    *,
    seed: int | tuple = 0,
    text: bool = True,
    device_frames: bool = False,
) -> dict:
    """`n` clips → dict of numpy arrays (see module doc and docs/architecture.md).

    Keys: frames (n,T,S,S) float32 in [0,1]; count (n,) int32 (distinct people in the clip);
    count_per_frame (n,T) int32 (people visible in each frame); anomaly (n,) int32 (0/1);
    anomaly_type (n,) int32 (index into ANOMALY_TYPES); event_span (n,2) int32 first/last frame
    of the anomaly (−1 if none); identities, activity, zone (n,P) int32 (−1 / 0 pad; names in
    ACTIVITIES and layout.ZONES); layout (n,) int32; positions (n,P,T,2) feet in [0,1] image
    coordinates; pose (n,P,T) int32 (people.POSES); visible (n,P,T) bool; drawn_pixels (n,P,T)
    int32 (pixels inside the frame each person's sprite covers > 50 %); and, with
    `text=True`, `captions` (list of list[str]) and `qa` (list of list of (qtype, q, a)).

    Clip i is a pure function of (world, `seed`, i): the same whatever `n` (see `CHUNK`).
    Frames are rendered by `spjax.data.render` on jax's default device; `device_frames=True`
    leaves `frames` and `drawn_pixels` there as jax arrays, still being computed (the
    training stream's way: the host only plans), otherwise they are fetched as NumPy."""
    if not isinstance(config, SceneConfig):
        raise TypeError(f"config: expected a SceneConfig, got {type(config).__name__}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n: expected an int >= 0, got {n!r}")
    n = int(n)
    seeds = clip_seeds(seed)
    key = render.render_key(config.seed, seeds)
    T, S = config.frames, config.size
    shapes = {"frames": ((T, S, S), np.float32), "drawn_pixels": ((config.max_people, T), np.int32)}
    rendered = {k: [] for k in shapes}  # device arrays, one per chunk (device_frames)
    host = {k: np.empty((n, *shape), dtype) for k, (shape, dtype) in shapes.items()}
    pending = []  # chunks rendering while the next ones are planned (host arrays)
    parts = []
    for c, start in enumerate(range(0, n, CHUNK)):
        rng = np.random.default_rng([config.seed, streams.SCENE, *seeds, c])
        plan = plan_clips(config, CHUNK, rng)
        out = render.render(
            config, render.draw_list(config, plan), key, np.arange(start, start + CHUNK)
        )
        m = min(CHUNK, n - start)
        parts.append({k: v[:m] for k, v in plan.items()})
        if device_frames:
            for k, v in zip(shapes, out):
                rendered[k].append(v if m == CHUNK else v[:m])
            continue
        pending.append((start, m, out))
        while len(pending) > _IN_FLIGHT or (pending and c == (n - 1) // CHUNK):
            done, rows, arrays = pending.pop(0)
            for k, v in zip(shapes, arrays):
                host[k][done : done + rows] = np.asarray(v)[:rows]
    if not parts:
        parts = [plan_clips(config, 0, np.random.default_rng(0))]

    def cat(k):
        return np.concatenate([p[k] for p in parts])

    if device_frames:
        for k, (shape, dtype) in shapes.items():
            chunks = rendered[k]
            if len(chunks) != 1:
                chunks = [jnp.concatenate(chunks) if chunks else jnp.zeros((0, *shape), dtype)]
            host[k] = chunks[0]
    out = {
        "frames": host["frames"],
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
        "drawn_pixels": host["drawn_pixels"],
    }
    if text:
        from spjax.data import text as tx

        tag = f"spjax-scenes-text-{int(config.seed)}-{'-'.join(map(str, seeds))}"
        out["captions"], out["qa"] = [], []
        for i in range(n):
            # A generator per clip: its text, like its pixels, depends on nothing else.
            trng = random.Random(f"{tag}-{i}")
            lab = clip_labels(out, i)
            out["captions"].append(tx.captions(lab, trng, config.captions_per_clip))
            out["qa"].append(tx.qa_pairs(lab, trng))
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
