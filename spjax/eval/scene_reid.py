"""Re-identification of people in the scene stream.

A deployed sensor never sees a posed face: it sees people moving through the room. The
adversary's question here: given the measurement stream of a clip, which of the known people
is this (clothes, build, gait)? Clips hold exactly one person (`SceneConfig(min_people=1,
max_people=1, anomaly_fraction=0)`, `identities[:, 0]` is the label); train, val and test clips
come from different clip seeds, so every test clip is a new clip (other room, path, activity,
lighting) of a person seen in training.

Fresh attackers, trained from scratch on the train clips' measurements, selected on val, scored
once on test:

- `ridge:stats` — the baseline: a ridge probe on per-channel temporal mean, std, min and max
  (channels: the measurements, or their top `STATS_CHANNELS` principal components when there
  are more).
- `lda:stats` — shrinkage LDA on those statistics plus the same statistics of the deviation
  from the clip's temporal median (what moves: the person, not the room).
- `temporal` — a small temporal convolutional network on the whole (T, K) stream (each frame
  projected on the train frames' top principal components, with the deviation from the clip
  median as a second input), mean/max/std pooled over time.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from spjax.eval.fitting import apply_model, batched, cross_entropy, fit

SCENE_ATTACKS = ("ridge:stats", "lda:stats", "temporal")
QUICK_SCENE_ATTACKS = ("ridge:stats", "lda:stats")
BASELINE = "ridge:stats"
# Clip seeds of the three splits (the `seed` argument of generate_scenes, plus a chunk index).
SPLIT_SEEDS = {"train": 101, "val": 202, "test": 303}
SCENE_KEY = 20_011  # noise key of audit seed s: jax.random.key(SCENE_KEY + s)
SIZES = {
    "default": dict(n_train=16000, n_val=2000, n_test=2000),
    "quick": dict(n_train=3000, n_val=500, n_test=1000),
}
_CHUNK = 500
STATS_CHANNELS = 256  # above this many measurements, statistics of the top 256 components


def scene_config(
    size: int,
    *,
    frames: int = 16,
    identities: int = 20,
    world_seed: int = 0,
    identity_offset: int = 0,
):
    """The single-person world of the re-identification task."""
    from spjax.data.scenes import SceneConfig

    return SceneConfig(
        frames=frames,
        size=size,
        min_people=1,
        max_people=1,
        anomaly_fraction=0.0,
        anomaly_types=(),
        n_identities=identities,
        seed=world_seed,
        identity_offset=identity_offset,
    )


@dataclass
class SceneClips:
    """The clips of the three splits, generated chunk by chunk. With `keep=True` the frames
    are kept (float16) after the first pass so that several sensors can be measured on the
    same clips (the benchmark); without, each pass regenerates them (memory stays small)."""

    config: object
    n_train: int
    n_val: int
    n_test: int
    keep: bool = False

    def __post_init__(self):
        for name in ("n_train", "n_val", "n_test"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name}: expected an int >= 1, got {v!r}")
        self._store: dict = {}

    def chunks(self, split: str):
        """Yield (frames (n, T, H, W) float32, identity labels (n,) int) of `split`."""
        from spjax.data.scenes import generate_scenes

        if split in self._store:
            for frames, ids in self._store[split]:
                yield frames.astype(np.float32), ids
            return
        n = {"train": self.n_train, "val": self.n_val, "test": self.n_test}[split]
        kept = []
        for i, start in enumerate(range(0, n, _CHUNK)):
            out = generate_scenes(
                self.config, min(_CHUNK, n - start), seed=(SPLIT_SEEDS[split], i), text=False
            )
            ids = out["identities"][:, 0].astype(np.int64) - self.config.identity_offset
            if self.keep:
                kept.append((out["frames"].astype(np.float16), ids))
            yield out["frames"], ids
        if self.keep:
            self._store[split] = kept


def measure_clips(sensor, clips: SceneClips, split: str, key) -> tuple[np.ndarray, np.ndarray]:
    """Measurements (n, T, K) float32 and labels of one split (fresh noise per chunk)."""
    from spjax.eval.suite import padded_call

    ys, ids = [], []
    for i, (frames, lab) in enumerate(clips.chunks(split)):
        ys.append(
            padded_call(
                lambda b, i=i: sensor(b, jax.random.fold_in(key, i)),
                np.asarray(frames, np.float32),
                cap=_CHUNK,
            ).astype(np.float32)
        )
        ids.append(lab)
    return np.concatenate(ys), np.concatenate(ids)


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
        frames = y_train.reshape(-1, y_train.shape[-1]).astype(np.float64)
        rng = np.random.default_rng(seed)
        if len(frames) > max_frames:
            frames = frames[rng.choice(len(frames), max_frames, replace=False)]
        self.mu = frames.mean(axis=0)
        _, sv, vt = np.linalg.svd(frames - self.mu, full_matrices=False)
        keep = min(dim, int(np.sum(sv > 1e-9 * max(sv.max(initial=0.0), 1e-30))))
        keep = max(keep, 1)
        self.basis = vt[:keep]
        sd = sv[:keep] / np.sqrt(len(frames))
        self.sd = np.where(sd > 1e-12, sd, 1.0)

    def __call__(self, y: np.ndarray) -> np.ndarray:
        z = ((y - self.mu) @ self.basis.T) / self.sd
        return z.astype(np.float32)


class TemporalAttacker(nnx.Module):
    """(B, T, D) streams → identity logits: frame embedding of [x, x − median_t x], two
    residual temporal convolutions, mean/max/std pooling, LayerNorm, linear head."""

    def __init__(self, d_in: int, n_classes: int, width: int = 96, *, rngs: nnx.Rngs):
        self.inp = nnx.Linear(2 * d_in, width, rngs=rngs)
        self.c1 = nnx.Conv(width, width, (3,), rngs=rngs)
        self.c2 = nnx.Conv(width, width, (3,), rngs=rngs)
        self.norm = nnx.LayerNorm(3 * width, rngs=rngs)
        self.head = nnx.Linear(3 * width, n_classes, rngs=rngs)

    def __call__(self, x):
        dev = x - jnp.median(x, axis=1, keepdims=True)
        h = nnx.gelu(self.inp(jnp.concatenate([x, dev], axis=-1)))
        h = h + nnx.gelu(self.c1(h))
        h = h + nnx.gelu(self.c2(h))
        return self.head(self.norm(jnp.concatenate([h.mean(1), h.max(1), h.std(1)], axis=-1)))


def _run_temporal(train, val, test, n_classes, *, seed, quick):
    from spjax.eval.attackers import mean_cross_entropy, topk_accuracy

    proj = _Projection(train[0], seed=seed)
    xtr, xva, xte = proj(train[0]), proj(val[0]), proj(test[0])
    model = TemporalAttacker(xtr.shape[-1], n_classes, rngs=nnx.Rngs(seed))

    def validate(m):
        logits = batched(apply_model, m, xva, 512)
        return topk_accuracy(logits, val[1], 1), -mean_cross_entropy(logits, val[1])

    model, record = fit(
        model,
        xtr,
        train[1],
        loss=cross_entropy,
        validate=validate,
        lr=1e-3,
        weight_decay=5e-2,
        epochs=10 if quick else 40,
        patience=3 if quick else 6,
        batch=256,
        seed=seed,
    )
    scores = batched(apply_model, model, xte, 512)
    return {
        "val_top1": record["val_score"],
        "test_scores": scores,
        "hparams": {"components": int(xtr.shape[-1]), "best_epoch": record["best_epoch"]},
    }


# --------------------------------------------------------------------------- the task


def scene_reid(
    sensor,
    *,
    frames: int = 16,
    identities: int = 20,
    quick: bool = False,
    attackers=None,
    n_train: int | None = None,
    n_val: int | None = None,
    n_test: int | None = None,
    world_seed: int = 0,
    identity_offset: int = 0,
    seed: int = 0,
    clips: SceneClips | None = None,
) -> dict:
    """Re-identify the single person of scene clips from `sensor`'s measurement stream.

    The clips are rendered at the sensor's size (`sensor.h`); `identities` people
    (`identity_offset …`) of world `world_seed`. Returns `chance`, `setup`, per attacker
    `top1`, `top5`, `val_top1`, `hparams`, `pooled`, and `best` (the strongest, with
    `ratio_to_chance`) plus `baseline` (the ridge probe on temporal statistics)."""
    from spjax.eval.attackers import Split, run_attacker, topk_accuracy

    t0 = time.time()
    attackers = tuple(attackers or (QUICK_SCENE_ATTACKS if quick else SCENE_ATTACKS))
    unknown = [a for a in attackers if a not in SCENE_ATTACKS]
    if unknown or not attackers:
        raise ValueError(f"attackers: expected names from {SCENE_ATTACKS}, got {list(attackers)}")
    if int(sensor.h) != int(sensor.w):
        raise ValueError(f"sensor: scene clips are square, got a {sensor.h}x{sensor.w} sensor")
    if isinstance(identities, bool) or not isinstance(identities, int) or identities < 2:
        raise ValueError(f"identities: expected an int >= 2, got {identities!r}")
    sizes = dict(SIZES["quick" if quick else "default"])
    for name, v in (("n_train", n_train), ("n_val", n_val), ("n_test", n_test)):
        if v is not None:
            sizes[name] = v
    if clips is None:
        clips = SceneClips(
            scene_config(
                int(sensor.h),
                frames=frames,
                identities=identities,
                world_seed=world_seed,
                identity_offset=identity_offset,
            ),
            **sizes,
        )
    else:
        cfg = clips.config
        if (cfg.size, cfg.n_identities) != (int(sensor.h), identities):
            raise ValueError(
                f"clips: rendered at {cfg.size} px for {cfg.n_identities} people, the "
                f"sensor measures {sensor.h} px and identities={identities}"
            )
        sizes = {"n_train": clips.n_train, "n_val": clips.n_val, "n_test": clips.n_test}
    key = jax.random.key(SCENE_KEY + seed)
    data = {
        s: measure_clips(sensor, clips, s, jax.random.fold_in(key, i))
        for i, s in enumerate(("train", "val", "test"))
    }
    t_measure = time.time() - t0
    chance = 1.0 / identities
    results = {}
    feats = {"ridge:stats": temporal_stats, "lda:stats": motion_stats}
    stats_data = data
    if data["train"][0].shape[-1] > STATS_CHANNELS:
        # Many channels (high rates): the statistics are taken of the top principal components.
        proj = _Projection(data["train"][0], dim=STATS_CHANNELS, seed=seed)
        stats_data = {k: (proj(y), lab) for k, (y, lab) in data.items()}
    for name in attackers:
        t1 = time.perf_counter()
        if name == "temporal":
            r = _run_temporal(
                data["train"], data["val"], data["test"], identities, seed=seed, quick=quick
            )
            scores, yte = r.pop("test_scores"), data["test"][1]
            r["top1"] = topk_accuracy(scores, yte, 1)
            r["top5"] = topk_accuracy(scores, yte, 5)
            r["n_correct"], r["n_test"] = int(round(r["top1"] * len(yte))), int(len(yte))
        else:
            f = feats[name]

            def split(s, f=f):
                return Split(f(stats_data[s][0]), stats_data[s][1])

            r = run_attacker(
                name.split(":")[0], split("train"), split("val"), split("test"), seed=seed
            )
        r["seconds"] = round(time.perf_counter() - t1, 2)
        r["pooled"] = {"correct": r.pop("n_correct"), "n": r.pop("n_test")}
        results[name] = r
    best = max(results, key=lambda a: results[a]["top1"])
    out = {
        "task": "which of the known people is in this clip (one person per clip; test clips are "
        "new clips, from other clip seeds, of the people seen in training)",
        "chance": chance,
        "setup": {
            "size": int(sensor.h),
            "frames": clips.config.frames,
            "identities": identities,
            "identity_offset": clips.config.identity_offset,
            "world_seed": clips.config.seed,
            **sizes,
            "clip_seeds": dict(SPLIT_SEEDS),
            "quick": quick,
            "seed": seed,
        },
        "attackers": results,
        "best": {
            "name": best,
            "top1": results[best]["top1"],
            "ratio_to_chance": results[best]["top1"] / chance,
        },
        "measure_seconds": round(t_measure, 1),
        "elapsed_s": round(time.time() - t0, 1),
    }
    if BASELINE in results:
        out["baseline"] = {
            "name": BASELINE,
            "top1": results[BASELINE]["top1"],
            "ratio_to_chance": results[BASELINE]["top1"] / chance,
        }
    return out
