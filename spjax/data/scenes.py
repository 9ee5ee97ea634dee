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
import functools
import random

import numpy as np

from spjax.data import layout as L
from spjax.data import people as P
from spjax.data import streams
from spjax.data.faces import identity_traits
from spjax.data.labels import ACTIVITIES, ANOMALY_TYPES  # noqa: F401  (re-exported)

ACT = {a: i for i, a in enumerate(ACTIVITIES)}
_MIN_PEOPLE = {"fall": 1, "fight": 2, "loiter": 1, "crowding": 3}
_NORMAL = ("walking", "waiting", "washing hands", "sitting", "entering", "leaving")
_NORMAL_P = np.array([0.24, 0.14, 0.2, 0.12, 0.15, 0.15])


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
            need(t in _MIN_PEOPLE, "anomaly_types", f"names from {tuple(_MIN_PEOPLE)}")
            need(
                _MIN_PEOPLE[t] <= self.max_people,
                "max_people",
                f">= {_MIN_PEOPLE[t]} for anomaly {t!r}",
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


def _floor_points(rng, lay_wall, n_shape):
    x = rng.uniform(0.12, 0.88, n_shape)
    y = rng.uniform(np.broadcast_to(lay_wall + 0.08, n_shape), 0.94)
    return np.stack([x, y], -1)


def _plan(cfg: SceneConfig, n: int, rng: np.random.Generator):
    """Labels and per-frame kinematics for n clips (all vectorised)."""
    T, Pm = (
        cfg.frames,
        max(cfg.max_people, 2),
    )  # slot 1 always exists (the fight victim), maybe absent
    t = np.arange(T, dtype=np.float32)
    layout = cfg.layout_offset + rng.integers(0, cfg.layout_seeds, n)
    marks = L.landmark_array(cfg.seed, layout)  # (n, Z, 2)
    wall = np.array([L.room_layout(cfg.seed, int(lid))["wall_y"] for lid in layout], np.float32)[
        :, None
    ]
    has_bench = ~np.isnan(marks[:, L.ZONES.index("bench"), 0])

    # Anomaly type and people count.
    is_anom = rng.random(n) < cfg.anomaly_fraction
    types = np.array([ANOMALY_TYPES.index(a) for a in cfg.anomaly_types] or [0])
    atype = np.where(is_anom, types[rng.integers(0, len(types), n)], 0)
    need = np.array([0] + [_MIN_PEOPLE[a] for a in ANOMALY_TYPES[1:]])[atype]
    lo = np.maximum(cfg.min_people, need)
    count = lo + np.floor(rng.random(n) * (cfg.max_people - lo + 1)).astype(int)
    count = np.where(atype == ANOMALY_TYPES.index("crowding"), cfg.max_people, count)
    present = np.arange(Pm)[None] < count[:, None]

    # Identities: distinct per clip.
    ids = cfg.identity_offset + np.argsort(rng.random((n, cfg.n_identities)), axis=1)[
        :, :Pm
    ].astype(np.int32)
    ids = np.where(present, ids, -1)

    # Normal activities for everyone, then anomaly actors overwrite slots 0 (and 1).
    act = np.array([ACT[a] for a in _NORMAL])[rng.choice(len(_NORMAL), (n, Pm), p=_NORMAL_P)]
    act = np.where((act == ACT["sitting"]) & ~has_bench[:, None], ACT["waiting"], act)
    a_name = np.array(ANOMALY_TYPES)[atype]
    act[:, 0] = np.where(a_name == "fall", ACT["fallen"], act[:, 0])
    act[:, 0] = np.where(a_name == "loiter", ACT["loitering"], act[:, 0])
    act[:, 0] = np.where(a_name == "fight", ACT["fighting"], act[:, 0])
    act[:, 1] = np.where(a_name == "fight", ACT["being pushed"], act[:, 1])
    act = np.where(a_name[:, None] == "crowding", ACT["crowding"], act)
    act = np.where(present, act, ACT["absent"])

    # Trajectories: from A at frame t0 to B over dur frames; visibility set below.
    shp = (n, Pm)
    A = _floor_points(rng, wall, shp)
    B = _floor_points(rng, wall, shp)

    def zone_pt(z):
        return marks[:, L.ZONES.index(z)][:, None, :]

    spread = np.stack([(np.arange(Pm) - (Pm - 1) / 2) * 0.07, np.zeros(Pm)], -1)[None]
    door = zone_pt("door") + np.array([0, 0.02])
    # People at the sink stand side by side along the wall (far enough apart to be seen).
    inward = np.where(marks[:, L.ZONES.index("sink"), 0] > 0.5, -1.0, 1.0)[:, None]
    sink = zone_pt("sink") + np.stack(
        [
            inward * 0.04 * (np.arange(Pm) % 2),
            np.broadcast_to((np.arange(Pm) - 1.5) * 0.11, (n, Pm)),
        ],
        -1,
    )
    bench = np.nan_to_num(zone_pt("bench")) + spread

    def u(lo_, hi_):
        return rng.uniform(lo_, hi_, shp)

    t0 = np.zeros(shp)
    dur = u(0.6, 1.3) * T

    def is_(name):
        return act == ACT[name]

    # waiting: stand first, then walk off.
    t0 = np.where(is_("waiting"), np.floor(u(T / 3, 2 * T / 3)), t0)
    # entering: from the door; leaving: to the door, then gone.
    A = np.where(is_("entering")[..., None], door, A)
    t0 = np.where(is_("entering"), np.floor(u(0, T / 3)), t0)
    dur = np.where(is_("entering"), u(0.4, 0.7) * T, dur)
    B = np.where(is_("leaving")[..., None], door, B)
    t0 = np.where(is_("leaving"), np.floor(u(0, T / 4)), t0)
    dur = np.where(is_("leaving"), u(0.4, 0.6) * T, dur)
    # stationary activities.
    for name, pt in (("washing hands", sink), ("sitting", bench)):
        A = np.where(is_(name)[..., None], pt, A)
        B = np.where(is_(name)[..., None], pt, B)
    # loiter: pacing back and forth on the floor in front of the stalls or the door for the
    # whole clip (a behaviour a camera can see: it never leaves, never settles, keeps turning).
    loiter_pt = np.where(rng.random((n, 1, 1)) < 0.5, zone_pt("stalls"), zone_pt("door")) + [
        [[0, 0.1]]
    ]
    pace = rng.uniform(0.06, 0.1, (n, 1, 1)) * np.where(rng.random((n, 1, 1)) < 0.5, 1.0, -1.0)
    A = np.where(is_("loitering")[..., None], loiter_pt - pace * [[[1, 0]]], A)
    B = np.where(is_("loitering")[..., None], loiter_pt + pace * [[[1, 0]]], B)
    # crowding: everyone packed around one point (with a little jostling).
    centre = _floor_points(rng, wall, (n, 1))
    jostle = rng.uniform(-0.05, 0.05, (n, Pm, 2))
    A = np.where(is_("crowding")[..., None], centre + spread * 0.8 + jostle * [[[1, 0.6]]], A)
    B = np.where(is_("crowding")[..., None], A + rng.uniform(-0.015, 0.015, (n, Pm, 2)), B)
    # fall: walk, then fall at tf and lie still.
    tf = np.floor(rng.uniform(T / 4, T / 2, n)).astype(int)
    fall = a_name == "fall"
    t_end = np.where(fall[:, None] & (np.arange(Pm) == 0), tf[:, None], 1_000)
    # fight: victim (slot 1) near a wall or corner, aggressor (slot 0) walks up to them.
    fight = a_name == "fight"
    V = np.stack(
        [
            np.where(rng.random(n) < 0.5, rng.uniform(0.15, 0.3, n), rng.uniform(0.7, 0.85, n)),
            rng.uniform(wall[:, 0] + 0.1, 0.9),
        ],
        -1,
    )
    side = np.where(V[:, 0] < 0.5, 1.0, -1.0)  # aggressor stands towards the middle
    tfi = np.floor(rng.uniform(2, T / 3, n)).astype(int)
    A[:, 1] = np.where(fight[:, None], V, A[:, 1])
    B[:, 1] = np.where(fight[:, None], V - np.stack([side * 0.06, np.zeros(n)], -1), B[:, 1])
    t0[:, 1] = np.where(fight, tfi + 1, t0[:, 1])
    dur[:, 1] = np.where(fight, 2.0, dur[:, 1])
    agg_stop = V + np.stack([side * 0.13, np.zeros(n)], -1)
    A[:, 0] = np.where(
        fight[:, None],
        agg_stop + np.stack([side * rng.uniform(0.2, 0.35, n), rng.uniform(-0.15, 0.15, n)], -1),
        A[:, 0],
    )
    B[:, 0] = np.where(fight[:, None], agg_stop, B[:, 0])
    t0[:, 0] = np.where(fight, 0, t0[:, 0])
    dur[:, 0] = np.where(fight, np.maximum(tfi, 1), dur[:, 0])
    stationary = is_("washing hands") | is_("sitting")
    dur = np.where(stationary, 1.0, dur)
    pacing = is_("loitering")

    A = np.clip(A, [0.06, 0.0], [0.94, 0.97])
    B = np.clip(B, [0.06, 0.0], [0.94, 0.97])
    A[..., 1] = np.maximum(A[..., 1], wall + 0.03)
    B[..., 1] = np.maximum(B[..., 1], wall + 0.03)
    tt = np.minimum(t[None, None], t_end[..., None])  # the fall victim freezes at tf
    frac = np.clip((tt - t0[..., None]) / dur[..., None], 0.0, 1.0)
    # Pacers swing between A and B with a period of 6-10 frames.
    swing = 0.5 - 0.5 * np.cos(
        2 * np.pi * tt / rng.uniform(6, 10, shp)[..., None]
        + rng.uniform(0, 2 * np.pi, shp)[..., None]
    )
    frac = np.where(pacing[..., None], swing, frac)
    pos = A[..., None, :] + (B - A)[..., None, :] * frac[..., None]  # (n, P, T, 2)
    moving = (tt >= t0[..., None]) & (tt < t0[..., None] + dur[..., None]) & ~stationary[..., None]
    moving = np.where(pacing[..., None], True, moving)

    visible = np.broadcast_to(present[..., None], (n, Pm, T)).copy()
    visible &= ~(is_("entering")[..., None] & (t[None, None] < t0[..., None]))
    gone = t0 + np.ceil(dur)
    visible &= ~(is_("leaving")[..., None] & (t[None, None] >= gone[..., None]))

    # Poses: the walk cycle follows the distance walked so far.
    step_len = np.linalg.norm(np.diff(pos, axis=2, prepend=pos[:, :, :1]), axis=-1)
    dist = np.cumsum(step_len, axis=2)
    walk = P.POSE["walk0"] + (np.floor(dist / 0.035).astype(int) % 8)
    pose = np.where(moving, walk, P.POSE["stand"])
    pose = np.where(
        is_("washing hands")[..., None],
        np.where((t // 2) % 2 == 0, P.POSE["wash0"], P.POSE["wash1"])[None, None],
        pose,
    )
    pose = np.where(is_("sitting")[..., None], P.POSE["sit"], pose)
    # Fall sequence: fall30, fall60, then lying towards the walking direction.
    right = (B - A)[:, 0, 0] >= 0
    k = t[None] - tf[:, None]
    seq = np.where(k < 0, -1, np.where(k == 0, 0, np.where(k == 1, 1, 2)))
    fall_pose = np.where(
        right[:, None],
        np.array([P.POSE["fall30R"], P.POSE["fall60R"], P.POSE["lyingR"]])[np.maximum(seq, 0)],
        np.array([P.POSE["fall30L"], P.POSE["fall60L"], P.POSE["lyingL"]])[np.maximum(seq, 0)],
    )
    pose[:, 0] = np.where(fall[:, None] & (seq >= 0), fall_pose, pose[:, 0])
    # Fight: aggressor punches (a new arm position every frame) facing the victim;
    # the victim defends, then is pushed down (crouch, sometimes lying) or stays cornered.
    face_r = side < 0  # aggressor right of victim faces left
    fk = (t[None] - tfi[:, None]) % 4
    fight_pose = np.where(face_r[:, None], P.POSE["fight0L"] + fk, P.POSE["fight0R"] + fk)
    on = t[None] >= tfi[:, None]
    pose[:, 0] = np.where(fight[:, None] & on, fight_pose, pose[:, 0])
    down_at = tfi + np.floor(rng.uniform(3, 6, n)).astype(int)
    pushed_down = rng.random(n) < 0.6
    vpose = np.where(
        t[None] >= down_at[:, None],
        np.where(pushed_down[:, None], P.POSE["crouch"], P.POSE["defend"]),
        P.POSE["defend"],
    )
    pose[:, 1] = np.where(fight[:, None] & on, vpose, pose[:, 1])

    span = np.full((n, 2), -1, np.int32)
    span[fall] = np.stack([tf, np.full(n, T - 1)], -1)[fall]
    span[fight] = np.stack([tfi, np.full(n, T - 1)], -1)[fight]
    whole = (a_name == "loiter") | (a_name == "crowding")
    span[whole] = [0, T - 1]

    # Zone of each person: nearest landmark to where they are at the end (or at the event).
    ref_t = np.where(visible.any(-1), T - 1 - np.argmax(visible[..., ::-1], axis=-1), 0)
    ref = np.take_along_axis(pos, ref_t[..., None, None].repeat(2, -1), axis=2)[:, :, 0]
    dz = np.linalg.norm(ref[:, :, None] - marks[:, None], axis=-1)
    dz = np.where(np.isnan(dz), np.inf, dz)
    dz[..., L.ZONES.index("middle")] = np.minimum(dz[..., L.ZONES.index("middle")], 0.2)
    zone = np.argmin(dz, axis=-1)
    zone = np.where(is_("washing hands"), L.ZONES.index("sink"), zone)
    zone = np.where(is_("sitting"), L.ZONES.index("bench"), zone)
    zone = np.where(present, zone, -1)
    k = cfg.max_people
    return dict(
        layout=layout,
        wall=wall[:, 0],
        count=count.astype(np.int32),
        anomaly_type=atype.astype(np.int32),
        identities=ids[:, :k],
        activity=act[:, :k].astype(np.int32),
        zone=zone[:, :k].astype(np.int32),
        pos=pos[:, :k].astype(np.float32),
        pose=pose[:, :k].astype(np.int32),
        visible=visible[:, :k],
        event_span=span,
    )


@functools.lru_cache(maxsize=16)
def _appearance(n_identities: int, world: int) -> np.ndarray:
    """(n_identities, 5) trousers, shirt, skin, hair tones and height of every identity."""
    t = identity_traits(np.arange(n_identities), seed=world)
    table = np.stack([t["trousers"], t["shirt"], t["skin"], t["hair_tone"], t["height"]], -1)
    table.setflags(write=False)
    return table


def _composite(cfg: SceneConfig, plan: dict, rng: np.random.Generator, out: np.ndarray) -> None:
    """Render the planned clips into `out` (n, T, S, S) float32."""
    S, T = cfg.size, cfg.frames
    n, Pm = plan["identities"].shape
    bank, box, lmin = P.sprite_bank(S)
    nL = bank.shape[0] // (len(P.POSES) * 4)
    pad = box // 2 + 1  # enough margin for any sprite whose anchor lies in the image
    Sp = S + 2 * pad
    canvas = np.zeros((n, T, Sp, Sp), np.float32)
    for lid in np.unique(plan["layout"]):
        canvas[plan["layout"] == lid, :, pad : pad + S, pad : pad + S] = L.render_room(
            cfg.seed, int(lid), S
        )
    look = _appearance(cfg.identity_offset + cfg.n_identities, cfg.seed)[
        np.maximum(plan["identities"], 0)
    ]
    colours = np.concatenate(
        [np.full(look.shape[:-1] + (1,), P.SHADOW_TONE, np.float32), look[..., :4]], -1
    )
    height = look[..., 4]
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
    sprite = ((li - lmin) * len(P.POSES) + pose) * 4 + oy * 2 + ox
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
        a = np.take(
            bank, sprite[nv, pv, tv], axis=0
        )  # (M, channels, box²); np.take is ~5× faster than bank[...]
        col = colours[nv, pv].astype(np.float32)
        cov = a.sum(1)
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
        plan = _plan(config, m, rng)
        _composite(config, plan, rng, frames[start : start + m])
        parts.append(plan)
    if not parts:
        parts = [_plan(config, 0, rng)]
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
