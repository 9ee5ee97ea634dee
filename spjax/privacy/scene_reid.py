"""T3, deployment re-identification: people in the room stream, recognised across clips.

A deployed sensor never sees a posed face: it sees people moving through the room, 10–25 px
tall. What identifies them there is height, build, clothing tones and patterns, hair, skin
tone and gait (`spjax.data.people.appearance`). The adversary's questions:

- **closed set**: given the measurement stream of a clip, which of the known people is this?
  Clips hold exactly one person (`SceneConfig(min_people=1, max_people=1,
  anomaly_fraction=0)`, `identities[:, 0]` is the label); train, val and test clips come from
  different clip seeds, so every test clip is a new clip (other room, path, activity,
  lighting) of a person seen in training. Reported: top-1 with its two-sided 95 %
  Clopper–Pearson interval, top-5 and the CMC curve.
- **open set (linkage)**: are two clips of people the attacker never trained on the same
  person? Cosine similarity of the attacker's embeddings over all pairs of `link` clips:
  ROC AUC (0.5 = chance) and TAR at FAR 1 %.

Fresh attackers, trained from scratch on the train clips' measurements, selected on val,
scored once on test (`SCENE_ATTACKS`):

- `ridge:stats` — ridge probe on per-channel temporal mean, std, min and max (channels: the
  measurements, or their top `STATS_CHANNELS` principal components when there are more).
- `lda:stats` — shrinkage LDA on those statistics plus the same statistics of the deviation
  from the clip's temporal median (what moves: the person, not the room).
- `temporal` — a temporal conv net on the whole (T, K) stream (each frame projected on the
  train frames' top principal components, with the deviation from the clip median as a second
  input), mean/max/std pooled over time.
- `crop:lift` — a conv net on the person, followed through the lifted stream: every frame
  lifted to image space with the sensor's own `lift` (exact pseudo-inverse on the fast path;
  the clean frames themselves for the ceiling), the person found as the strongest foreground
  blob, a crop around them and where they stand, a small per-frame conv net, and
  mean/max/std pooling over time (build, clothing layout and gait in image space).

The attacker holds the empty room: a deployed sensor records it most of the day. Every
attacker sees the stream minus the (noiselessly averaged) empty-room measurement, scaled per
frame for the lighting (`subtract_room`), so what is left is the person.

`calibrate=True` runs the same attackers on the clean frames of the same clips: the `ceiling`
(the best the attackers do when nothing hides identity; 1.0 is perfect re-identification) is
reported as `attacker_strength`, and each through-the-sensor figure beside it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import cached_property

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from spjax.privacy.attacks import attack, names
from spjax.privacy.fitting import apply_model, batched, cross_entropy, fit, model_features

# The T3 attackers, their builders and grids: `attacks.ATTACKS`.
SCENE_ATTACKS = names(threat="T3")
BASELINE = "ridge:stats"
# Clip seeds of the four splits (the `seed` argument of generate_scenes, plus a chunk index).
SPLIT_SEEDS = {"train": 101, "val": 202, "test": 303, "link": 404}
SCENE_KEY = 20_011  # noise key of audit seed s: jax.random.key(SCENE_KEY + s)
IDENTITIES = 50  # closed-set people (and as many unseen ones for linkage)
SIZES = {
    "default": dict(n_train=12000, n_val=1500, n_test=2000, n_link=1500),
    "quick": dict(n_train=3000, n_val=500, n_test=1000, n_link=1000),
}
CMC_RANKS = 10
_CHUNK = 500
STATS_CHANNELS = 256  # above this many measurements, statistics of the top 256 components
# The deployment target a private design must meet (issue: private where it is deployed).
TARGET = {"top1_ratio": 1.5, "upper_ratio": 2.0, "auc": 0.60}


def scene_config(
    size: int,
    *,
    frames: int = 16,
    identities: int = IDENTITIES,
    world_seed: int = 0,
    identity_offset: int = 0,
):
    """The single-person world of the re-identification task."""
    from spjax.data.scenes import SceneConfig, single_person_world

    world = SceneConfig(frames=frames, size=size, seed=world_seed)
    return single_person_world(world, identities=identities, identity_offset=identity_offset)


@dataclass
class SceneClips:
    """The clips of the closed-set splits (`config`'s people) and of the linkage split
    (`link_config`'s people, never trained on), generated chunk by chunk. With `keep=True`
    the frames are kept (float16) after the first pass so that several sensors, or a sensor
    and its clean ceiling, are measured on the same clips; without, each pass regenerates
    them (memory stays small)."""

    config: object
    n_train: int
    n_val: int
    n_test: int
    n_link: int = 0
    link_config: object = None
    keep: bool = False

    def __post_init__(self):
        for name in ("n_train", "n_val", "n_test"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name}: expected an int >= 1, got {v!r}")
        if isinstance(self.n_link, bool) or not isinstance(self.n_link, int) or self.n_link < 0:
            raise ValueError(f"n_link: expected an int >= 0, got {self.n_link!r}")
        if self.n_link and self.link_config is None:
            raise ValueError("link_config: expected the unseen people's SceneConfig with n_link")
        self._store: dict = {}

    @property
    def splits(self) -> tuple[str, ...]:
        return ("train", "val", "test", "link") if self.n_link else ("train", "val", "test")

    def chunks(self, split: str):
        """Yield (frames (n, T, H, W) float32, identity labels (n,) int, empty rooms (n, H, W)
        float32) of `split`; labels count from the split's own identity offset. The empty
        room of each clip is its room without people, lighting changes or noise: what a
        deployed sensor records most of the day, so the attacker holds it."""
        from spjax.data.layout import render_room
        from spjax.data.scenes import generate_scenes

        if split in self._store:
            for frames, ids, rooms in self._store[split]:
                yield frames.astype(np.float32), ids, rooms
            return
        cfg = self.link_config if split == "link" else self.config
        n = {"train": self.n_train, "val": self.n_val, "test": self.n_test, "link": self.n_link}
        n = n[split]
        kept = []
        for i, start in enumerate(range(0, n, _CHUNK)):
            out = generate_scenes(
                cfg, min(_CHUNK, n - start), seed=(SPLIT_SEEDS[split], i), text=False
            )
            ids = out["identities"][:, 0].astype(np.int64) - cfg.identity_offset
            rooms = np.stack([render_room(cfg.seed, int(lid), cfg.size) for lid in out["layout"]])
            if self.keep:
                kept.append((out["frames"].astype(np.float16), ids, rooms))
            yield out["frames"], ids, rooms
        if self.keep:
            self._store[split] = kept


class CleanFrames:
    """The clean frames themselves as a 'sensor' (the T3 ceiling): one measurement per pixel,
    lifted back by reshaping."""

    noise = None

    def __init__(self, size: int):
        self.h = self.w = int(size)

    def __call__(self, frames, key=None):
        frames = np.asarray(frames, np.float32)
        return frames.reshape(*frames.shape[:-2], -1)

    def describe(self) -> dict:
        return {"kind": "clean frames", "h": self.h, "w": self.w, "k": self.h * self.w}


def lift_matrix(sensor) -> np.ndarray | None:
    """(K, H·W) rows: the image each unit measurement lifts to (`sensor.lift` is linear), or
    None for the clean frames (the identity)."""
    if isinstance(sensor, CleanFrames):
        return None
    eye = jnp.eye(int(sensor.k), dtype=jnp.float32)
    return np.asarray(sensor.lift(eye), np.float32).reshape(int(sensor.k), -1)


def measure_clips(sensor, clips: SceneClips, split: str, key) -> tuple[np.ndarray, np.ndarray]:
    """The attacker's view of one split: the measurement stream minus its empty room,
    (n, T, K) float32, and the labels. Each clip is measured with fresh noise; its empty room
    is measured noiselessly (the attacker averages many empty-room recordings) and removed
    with a per-frame gain fitted by least squares (lighting changes scale the room)."""
    from spjax.privacy.suite import padded_call

    ys, ids = [], []
    clean = isinstance(sensor, CleanFrames)
    for i, (frames, lab, rooms) in enumerate(clips.chunks(split)):
        if clean:
            y, ye = sensor(frames), sensor(rooms)
        else:
            y = padded_call(
                lambda b, i=i: sensor(b, jax.random.fold_in(key, i)),
                np.asarray(frames, np.float32),
                cap=_CHUNK,
            ).astype(np.float32)
            ye = padded_call(
                lambda b: sensor(b, noiseless=True), np.asarray(rooms, np.float32), cap=_CHUNK
            ).astype(np.float32)
        ys.append(subtract_room(y, ye))
        ids.append(lab)
    return np.concatenate(ys), np.concatenate(ids)


def subtract_room(y: np.ndarray, room: np.ndarray) -> np.ndarray:
    """(n, T, K) stream − g_t · (n, K) empty-room measurement, g_t fitted per frame."""
    num = np.einsum("ntk,nk->nt", y, room)
    den = np.maximum(np.einsum("nk,nk->n", room, room), 1e-12)[:, None]
    return (y - (num / den)[..., None] * room[:, None]).astype(np.float32)


# --------------------------------------------------------------------------- features


def temporal_stats(y: np.ndarray) -> np.ndarray:
    """(n, T, K) → (n, 4K): per-channel mean, std, min, max over time."""
    return np.concatenate([y.mean(1), y.std(1), y.min(1), y.max(1)], axis=1)


def motion_stats(y: np.ndarray) -> np.ndarray:
    """`temporal_stats` of the stream and of its deviation from the clip's temporal median."""
    dev = y - np.median(y, axis=1, keepdims=True)
    return np.concatenate([temporal_stats(y), temporal_stats(dev)], axis=1)


class _Projection:
    """Centre frames with the train mean, project on the top principal components of the train
    frames (at most `dim`), and scale each component to unit variance."""

    def __init__(self, y_train: np.ndarray, dim: int = 128, max_frames: int = 20000, seed: int = 0):
        frames = y_train.reshape(-1, y_train.shape[-1])
        rng = np.random.default_rng(seed)
        if len(frames) > max_frames:
            frames = frames[rng.choice(len(frames), max_frames, replace=False)]
        frames = frames.astype(np.float64)
        self.mu = frames.mean(axis=0)
        _, sv, vt = np.linalg.svd(frames - self.mu, full_matrices=False)
        keep = min(dim, int(np.sum(sv > 1e-9 * max(sv.max(initial=0.0), 1e-30))))
        keep = max(keep, 1)
        self.basis = vt[:keep].astype(np.float32)
        sd = sv[:keep] / np.sqrt(len(frames))
        self.sd = np.where(sd > 1e-12, sd, 1.0).astype(np.float32)
        self.mu = self.mu.astype(np.float32)

    def __call__(self, y: np.ndarray) -> np.ndarray:
        out = [
            ((c - self.mu) @ self.basis.T) / self.sd
            for c in np.array_split(y, max(1, len(y) // 1000))
        ]
        return np.concatenate(out).astype(np.float32)


def _pool_time(h):
    """(B, T, C) → (B, 3C): mean, max and std over time (what a person looks like on
    average, at their most visible, and how much they change: gait). The std has a floor so
    that its gradient stays finite for a feature constant in time."""
    mean = h.mean(1)
    std = jnp.sqrt(jnp.mean((h - mean[:, None]) ** 2, axis=1) + 1e-6)
    return jnp.concatenate([mean, h.max(1), std], axis=-1)


class TemporalAttacker(nnx.Module):
    """(B, T, D) streams → identity logits: frame embedding of [x, x − median_t x], two
    residual temporal convolutions, mean/max/std pooling, LayerNorm, linear head."""

    def __init__(self, d_in: int, n_classes: int, width: int = 96, *, rngs: nnx.Rngs):
        self.inp = nnx.Linear(2 * d_in, width, rngs=rngs)
        self.c1 = nnx.Conv(width, width, (3,), rngs=rngs)
        self.c2 = nnx.Conv(width, width, (3,), rngs=rngs)
        self.norm = nnx.LayerNorm(3 * width, rngs=rngs)
        self.head = nnx.Linear(3 * width, n_classes, rngs=rngs)

    def features(self, x):
        dev = x - jnp.median(x, axis=1, keepdims=True)
        h = nnx.gelu(self.inp(jnp.concatenate([x, dev], axis=-1)))
        h = h + nnx.gelu(self.c1(h))
        h = h + nnx.gelu(self.c2(h))
        return self.norm(_pool_time(h))

    def __call__(self, x):
        return self.head(self.features(x))


def person_crops(images: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Follow the person through a foreground stream (n, T, S, S): per frame, the window ×
    window crop centred on the strongest blob (box-filtered |foreground|), and that centre
    in [0, 1] image coordinates (where someone stands says how tall they are). Returns
    crops (n, T, window, window) float32 and centres (n, T, 2) float32."""
    n, t, s, _ = images.shape
    flat = images.reshape(n * t, s, s)
    energy = np.abs(flat)
    # Box filter of about a torso (a sum over a sliding window, via cumulative sums).
    r = max(1, s // 16)
    c = np.pad(energy, ((0, 0), (r + 1, r), (r + 1, r))).cumsum(1).cumsum(2)
    k = 2 * r + 1
    box = c[:, k:, k:] - c[:, :-k, k:] - c[:, k:, :-k] + c[:, :-k, :-k]
    idx = np.argmax(box.reshape(n * t, -1), axis=1)
    cy, cx = np.divmod(idx, s)
    half = window // 2
    padded = np.pad(flat, ((0, 0), (half, half), (half, half)))
    rows = cy[:, None] + np.arange(window)[None]  # in padded coordinates: centre - half + i
    cols = cx[:, None] + np.arange(window)[None]
    crops = padded[np.arange(n * t)[:, None, None], rows[:, :, None], cols[:, None, :]]
    centres = np.stack([(cx + 0.5) / s, (cy + 0.5) / s], -1).astype(np.float32)
    return crops.reshape(n, t, window, window).astype(np.float32), centres.reshape(n, t, 2)


def crop_window(size: int) -> int:
    """The crop side: the tallest person's sprite box (people.length_range) at `size` px."""
    from spjax.data.people import length_range

    return int(length_range(size)[1]) + 2


class CropAttacker(nnx.Module):
    """(B, T, W·W + 2) person crops and centres → identity logits: a small conv net per frame
    (3×3 convolutions, the first two with stride 2; spatial mean and max), the centre appended,
    mean/max/std over time (appearance, and how it changes: gait), LayerNorm, linear head."""

    def __init__(self, window: int, n_classes: int, *, width: int = 32, rngs: nnx.Rngs):
        self.window = int(window)
        self.c1 = nnx.Conv(1, width // 2, (3, 3), strides=(2, 2), rngs=rngs)
        self.c2 = nnx.Conv(width // 2, width, (3, 3), strides=(2, 2), rngs=rngs)
        self.c3 = nnx.Conv(width, 2 * width, (3, 3), rngs=rngs)
        d = 4 * width + 2
        self.norm = nnx.LayerNorm(3 * d, rngs=rngs)
        self.head = nnx.Linear(3 * d, n_classes, rngs=rngs)

    def features(self, x):
        b, t, _ = x.shape
        w = self.window
        img = x[..., : w * w].reshape(b * t, w, w, 1)
        h = nnx.gelu(self.c1(img))
        h = nnx.gelu(self.c2(h))
        h = nnx.gelu(self.c3(h))
        h = jnp.concatenate([h.mean((1, 2)), h.max((1, 2))], axis=-1).reshape(b, t, -1)
        return self.norm(_pool_time(jnp.concatenate([h, x[..., w * w :]], axis=-1)))

    def __call__(self, x):
        return self.head(self.features(x))


@dataclass
class SceneViews:
    """What the T3 attackers read: the room-subtracted streams per split (`data[split] =
    (y (N, T, K), labels)`), the channel's lift to image space (None: already images) and the
    frame size. `stats` holds the streams the statistics attackers summarise (their top
    principal components when there are many channels)."""

    data: dict
    lift: np.ndarray | None
    size: int
    seed: int

    @cached_property
    def stats(self) -> dict:
        if self.data["train"][0].shape[-1] <= STATS_CHANNELS:
            return self.data
        # Many channels (clean frames, high rates): the top principal components.
        proj = _Projection(self.data["train"][0], dim=STATS_CHANNELS, seed=self.seed)
        return {k: (proj(y), lab) for k, (y, lab) in self.data.items()}


def _fit_network(model, data, n_classes, *, seed, quick, lr, epochs, batch):
    from spjax.privacy.attackers import mean_cross_entropy, topk_accuracy

    (xtr, ytr), (xva, yva) = data["train"], data["val"]

    def validate(m):
        logits = batched(apply_model, m, xva, 256)
        return topk_accuracy(logits, yva, 1), -mean_cross_entropy(logits, yva)

    model, record = fit(
        model,
        xtr,
        ytr,
        loss=cross_entropy,
        validate=validate,
        lr=lr,
        weight_decay=5e-2,
        epochs=epochs[0] if quick else epochs[1],
        patience=3 if quick else 6,
        batch=batch,
        seed=seed,
    )
    out = {
        "val_top1": record["val_score"],
        "test_scores": batched(apply_model, model, data["test"][0], 256),
        "hparams": {"best_epoch": record["best_epoch"], "epochs_run": record["epochs_run"]},
    }
    if "link" in data:
        out["link_embed"] = batched(model_features, model, data["link"][0], 256)
    return out


def fit_temporal(name, views, n_classes, *, seed, quick, grid):
    """`temporal`: `TemporalAttacker` on the stream projected on its top components."""
    data = views.data
    proj = _Projection(data["train"][0], seed=seed)
    projected = {k: (proj(y), lab) for k, (y, lab) in data.items()}
    model = TemporalAttacker(proj.basis.shape[0], n_classes, rngs=nnx.Rngs(seed))
    out = _fit_network(model, projected, n_classes, seed=seed, quick=quick, **grid[0])
    out["hparams"]["components"] = int(proj.basis.shape[0])
    return out


def fit_crops(name, views, n_classes, *, seed, quick, grid):
    """`crop:lift`: lift the foreground stream to image space, follow the person, and train
    `CropAttacker` on the crops (standardised with train statistics)."""
    data, lift, size = views.data, views.lift, views.size
    window = crop_window(size)
    if quick:  # every other frame: half the cost, and gait still spans several frames
        data = {k: (y[:, ::2], lab) for k, (y, lab) in data.items()}

    def crops(y):
        out = []
        for c in np.array_split(y, max(1, len(y) // 500)):
            img = c if lift is None else c @ lift
            cr, centre = person_crops(img.reshape(*c.shape[:2], size, size), window)
            out.append(np.concatenate([cr.reshape(*cr.shape[:2], -1), centre], -1))
        return np.concatenate(out)

    cropped = {k: (crops(y), lab) for k, (y, lab) in data.items()}
    pix = cropped["train"][0][..., : window * window]
    mu, sd = float(pix.mean()), float(pix.std()) or 1.0
    for x, _ in cropped.values():
        x[..., : window * window] = (x[..., : window * window] - mu) / sd
    model = CropAttacker(window, n_classes, rngs=nnx.Rngs(seed))
    out = _fit_network(model, cropped, n_classes, seed=seed, quick=quick, **grid[0])
    out["hparams"]["window"] = window
    return out


# --------------------------------------------------------------------------- scoring


def closed_set(scores: np.ndarray, labels: np.ndarray, chance: float) -> dict:
    """Top-1 with its two-sided 95 % Clopper–Pearson interval (and as × chance), top-5, and
    the CMC curve (rank r: share of test clips whose person is among the r best scores)."""
    from spjax.privacy.leakage import binomial_lower_bound

    labels = np.asarray(labels)
    n = len(labels)
    order = np.argsort(-np.asarray(scores), axis=1, kind="stable")
    rank = np.argmax(order == labels[:, None], axis=1)  # 0-based rank of the true person
    cmc = [float(np.mean(rank < r)) for r in range(1, min(CMC_RANKS, scores.shape[1]) + 1)]
    k = int(np.sum(rank == 0))
    lo = binomial_lower_bound(k, n, 0.975)
    hi = 1.0 - binomial_lower_bound(n - k, n, 0.975)
    return {
        "top1": k / n,
        "top1_ci95": [lo, hi],
        "ratio_to_chance": (k / n) / chance,
        "ci95_ratio_to_chance": [lo / chance, hi / chance],
        "top5": float(np.mean(rank < 5)),
        "cmc": cmc,
        "pooled": {"correct": k, "n": int(n)},
    }


def _linkage(embed: np.ndarray, labels: np.ndarray) -> dict:
    from spjax.privacy.attackers import verification

    v = verification(embed, labels)
    return {"auc": v["auc"], "tar@far=0.01": v["tar@far=0.01"], "pairs": v["pairs"]}


def _suite(channel, clips, identities, attackers, *, seed, quick, size, progress=False) -> dict:
    """Every attacker of `attackers` on `channel` (a sensor or `CleanFrames`)."""
    key = jax.random.key(SCENE_KEY + seed)
    t0 = time.time()
    data = {
        s: measure_clips(channel, clips, s, jax.random.fold_in(key, i))
        for i, s in enumerate(clips.splits)
    }
    t_measure = time.time() - t0
    chance = 1.0 / identities
    views = SceneViews(data, lift=lift_matrix(channel), size=size, seed=seed)
    results = {}
    for name in attackers:
        t1 = time.perf_counter()
        spec = attack(name, reads="scene")
        r = spec.build()(
            name, views, identities, seed=seed, quick=quick, grid=spec.search_grid(quick)
        )
        entry = {"val_top1": r["val_top1"], "hparams": r.get("hparams")}
        entry.update(closed_set(r["test_scores"], data["test"][1], chance))
        if "link_embed" in r:
            entry["linkage"] = _linkage(r["link_embed"], data["link"][1])
        entry["seconds"] = round(time.perf_counter() - t1, 2)
        results[name] = entry
        if progress:
            link = entry.get("linkage", {}).get("auc", float("nan"))
            print(
                f"  T3 {getattr(channel, 'describe', lambda: {})().get('kind', '')} {name}: "
                f"top-1 {entry['top1']:.3f}, linkage AUC {link:.3f} ({entry['seconds']:.0f} s)",
                flush=True,
            )
    return {"attackers": results, "measure_seconds": round(t_measure, 1)}


def fit_stats(name, views, identities, *, seed, quick, grid) -> dict:
    """`ridge:stats` / `lda:stats`: a closed-form attacker on temporal statistics (ridge on
    `temporal_stats`, LDA on `motion_stats`): test scores and link embeddings."""
    from spjax.privacy.attackers import Split, fit_closed_form

    f = {"ridge:stats": temporal_stats, "lda:stats": motion_stats}[name]
    split = {k: Split(f(y), lab) for k, (y, lab) in views.stats.items()}
    out = fit_closed_form(
        name,
        split["train"],
        split["val"],
        split["test"],
        split["link"].x if "link" in split else None,
        identities,
        grid=grid,
    )
    if "heldout_embed" in out:
        out["link_embed"] = out.pop("heldout_embed")
    return out


def _best(results: dict, chance: float) -> dict:
    best = max(results, key=lambda a: results[a]["top1"])
    out = {
        "name": best,
        "top1": results[best]["top1"],
        "ratio_to_chance": results[best]["top1"] / chance,
        "ci95_ratio_to_chance": results[best]["ci95_ratio_to_chance"],
    }
    linked = {a: r["linkage"]["auc"] for a, r in results.items() if "linkage" in r}
    if linked:
        worst = max(linked, key=linked.get)
        out["linkage"] = {
            "name": worst,
            "auc": linked[worst],
            "tar@far=0.01": results[worst]["linkage"]["tar@far=0.01"],
        }
    return out


def target_check(best: dict) -> dict:
    """The deployment target: worst top-1 ≤ 1.5× chance with the upper end of its 95 %
    interval ≤ 2× chance, and worst linkage AUC ≤ 0.60."""
    checks = {
        "top1": best["ratio_to_chance"] <= TARGET["top1_ratio"],
        "upper": best["ci95_ratio_to_chance"][1] <= TARGET["upper_ratio"],
    }
    if "linkage" in best:
        checks["auc"] = best["linkage"]["auc"] <= TARGET["auc"]
    return {"target": dict(TARGET), "checks": checks, "met": all(checks.values())}


# --------------------------------------------------------------------------- the task


def scene_reid(
    sensor,
    *,
    frames: int = 16,
    identities: int = IDENTITIES,
    link_identities: int | None = None,
    quick: bool = False,
    attackers=None,
    n_train: int | None = None,
    n_val: int | None = None,
    n_test: int | None = None,
    n_link: int | None = None,
    world_seed: int = 0,
    identity_offset: int = 0,
    seed: int = 0,
    calibrate: bool = False,
    clips: SceneClips | None = None,
    progress: bool = False,
) -> dict:
    """T3: re-identify the single person of scene clips from `sensor`'s measurement stream.

    The clips are rendered at the sensor's size (`sensor.h`); `identities` people
    (`identity_offset …`) of world `world_seed` for the closed set and `link_identities`
    others (default as many, after them) for linkage (`n_link=0`: none). Returns `chance`,
    `setup`, per attacker `top1` (+ `top1_ci95`, `ratio_to_chance`, `cmc`, `top5`,
    `linkage: {auc, tar@far=0.01}`), `best` (the strongest closed-set attacker and the worst
    linkage AUC), `baseline` (the ridge probe), `target` (the deployment target check) and,
    with `calibrate`, `ceiling` (the same attackers on the clean frames of the same clips)
    and `attacker_strength` (the ceiling's best top-1; 1.0 is perfect)."""
    t0 = time.time()
    attackers = tuple(attackers or SCENE_ATTACKS)
    unknown = [a for a in attackers if a not in SCENE_ATTACKS]
    if unknown or not attackers:
        raise ValueError(f"attackers: expected names from {SCENE_ATTACKS}, got {list(attackers)}")
    if int(sensor.h) != int(sensor.w):
        raise ValueError(f"sensor: scene clips are square, got a {sensor.h}x{sensor.w} sensor")
    if isinstance(identities, bool) or not isinstance(identities, int) or identities < 2:
        raise ValueError(f"identities: expected an int >= 2, got {identities!r}")
    link_identities = identities if link_identities is None else link_identities
    if (
        isinstance(link_identities, bool)
        or not isinstance(link_identities, int)
        or link_identities < 2
    ):
        raise ValueError(f"link_identities: expected an int >= 2, got {link_identities!r}")
    sizes = dict(SIZES["quick" if quick else "default"])
    for name, v in (("n_train", n_train), ("n_val", n_val), ("n_test", n_test), ("n_link", n_link)):
        if v is not None:
            sizes[name] = v
    size = int(sensor.h)
    if clips is None:
        world = dict(frames=frames, world_seed=world_seed)
        clips = SceneClips(
            scene_config(size, identities=identities, identity_offset=identity_offset, **world),
            **sizes,
            link_config=scene_config(
                size,
                identities=link_identities,
                identity_offset=identity_offset + identities,
                **world,
            ),
            keep=calibrate,
        )
    else:
        cfg = clips.config
        if (cfg.size, cfg.n_identities) != (size, identities):
            raise ValueError(
                f"clips: rendered at {cfg.size} px for {cfg.n_identities} people, the "
                f"sensor measures {size} px and identities={identities}"
            )
        sizes = {k: getattr(clips, k) for k in ("n_train", "n_val", "n_test", "n_link")}
        if clips.link_config is not None:
            link_identities = clips.link_config.n_identities
    chance = 1.0 / identities
    run = _suite(
        sensor, clips, identities, attackers, seed=seed, quick=quick, size=size, progress=progress
    )
    results = run["attackers"]
    out = {
        "threat_model": "T3: re-identification of people in the room stream across clips "
        "(closed set: which known person; linkage: same unseen person or not)",
        "task": "which of the known people is in this clip (one person per clip; test clips are "
        "new clips, from other clip seeds, of the people seen in training); linkage: whether "
        "two clips of people never trained on show the same person",
        "chance": chance,
        "setup": {
            "size": size,
            "frames": clips.config.frames,
            "identities": identities,
            "link_identities": link_identities if sizes["n_link"] else 0,
            "identity_offset": clips.config.identity_offset,
            "world_seed": clips.config.seed,
            **sizes,
            "clip_seeds": dict(SPLIT_SEEDS),
            "quick": quick,
            "seed": seed,
        },
        "attackers": results,
        "best": _best(results, chance),
        "measure_seconds": run["measure_seconds"],
    }
    out["target"] = target_check(out["best"])
    if BASELINE in results:
        out["baseline"] = {
            "name": BASELINE,
            "top1": results[BASELINE]["top1"],
            "ratio_to_chance": results[BASELINE]["top1"] / chance,
        }
    if calibrate:
        clean = _suite(
            CleanFrames(size),
            clips,
            identities,
            attackers,
            seed=seed,
            quick=quick,
            size=size,
            progress=progress,
        )
        ceiling = _best(clean["attackers"], chance)
        out["ceiling"] = {"attackers": clean["attackers"], "best": ceiling}
        out["attacker_strength"] = ceiling["top1"]
        out["relative_to_ceiling"] = out["best"]["top1"] / max(ceiling["top1"], 1e-12)
    out["elapsed_s"] = round(time.time() - t0, 1)
    return out
