"""Planning behaviour clips: who is in the room, what each person does where, and every
person's position, pose and visibility per frame, for n clips at once (vectorised over clips).
The plan is the labels' single source: `spjax.data.scenes` renders it and reads labels off it.
"""

from __future__ import annotations

import numpy as np

from spjax.data import layout as L
from spjax.data import people as P
from spjax.data.labels import ACTIVITIES, ANOMALY_TYPES, MIN_PEOPLE

ACT = {a: i for i, a in enumerate(ACTIVITIES)}
_NORMAL = ("walking", "waiting", "washing hands", "sitting", "entering", "leaving")
_NORMAL_P = np.array([0.24, 0.14, 0.2, 0.12, 0.15, 0.15])


def _floor_points(rng, lay_wall, n_shape):
    x = rng.uniform(0.12, 0.88, n_shape)
    y = rng.uniform(np.broadcast_to(lay_wall + 0.08, n_shape), 0.94)
    return np.stack([x, y], -1)


def plan_clips(cfg, n: int, rng: np.random.Generator):
    """Labels and per-frame kinematics for n clips (all vectorised) of `cfg`, a
    `spjax.data.scenes.SceneConfig`."""
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
    need = np.array([0] + [MIN_PEOPLE[a] for a in ANOMALY_TYPES[1:]])[atype]
    lo = np.maximum(cfg.min_people, need)
    count = lo + np.floor(rng.random(n) * (cfg.max_people - lo + 1)).astype(int)
    count = np.where(atype == ANOMALY_TYPES.index("crowding"), cfg.max_people, count)
    present = np.arange(Pm)[None] < count[:, None]

    # Identities: distinct per clip.
    ids = cfg.identity_offset + np.argsort(rng.random((n, cfg.n_identities)), axis=1)[
        :, :Pm
    ].astype(np.int32)
    ids = np.where(present, ids, -1)
    # Gait is part of identity: walking speed, stride style and cadence.
    look = P.appearance(cfg.identity_offset + cfg.n_identities, cfg.seed)
    who = np.maximum(ids, 0)
    speed, gait, cadence = look["speed"][who], look["gait"][who], look["cadence"][who]

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
    # Fast walkers cover the same path in fewer frames (fight choreography keeps its timing).
    dur = np.where(fight[:, None], dur, dur / speed)
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
        2 * np.pi * tt * speed[..., None] / rng.uniform(6, 10, shp)[..., None]
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
    walk = np.array(P.GAIT_POSES)[gait][..., None] + (
        np.floor(dist / cadence[..., None]).astype(int) % 8
    )
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
