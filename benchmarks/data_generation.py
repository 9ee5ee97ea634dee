"""Scene/face generation throughput (and, with --separability, the identity-separability check).

    .venv/bin/python benchmarks/data_generation.py [--clips 4096] [--repeats 3] [--separability]

Reports clips/s of 32×32×16 scene generation (frames + labels, and with captions/QA; one
process, wall and CPU time, and two worker processes as a data loader would run), 64×64, and
faces/s; the best of `--repeats` timed runs after a warm-up that fills the room and
sprite caches and compiles the renderer (as a long training run would). Clips are planned on
the host (NumPy) and rendered by `spjax.data.render` on jax's default device; the figures
include fetching the frames back as NumPy. For training it also reports one step's batch of
the default recipe (32 clips of 64×64×16, with text, frames left on the device as the
training stream leaves them): the host's share (planning, text, dispatch: what the stream's
background thread spends) and the time until the frames exist. Writes
benchmarks/out/data_generation.json. Target: ≥ 2000 clips/s at 32×32×16 on 2 CPU cores."""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import jax
import numpy as np

from spjax.data.faces import generate_faces
from spjax.data.scenes import SceneConfig, generate_scenes
from spjax.data.stream import clip_batch


def _rate(fn, n: int, repeats: int, clock=time.perf_counter) -> float:
    best = np.inf
    for r in range(repeats):
        t0 = clock()
        fn(r)
        best = min(best, clock() - t0)
    return n / best


def _worker(args):
    n, seed = args
    generate_scenes(
        SceneConfig(), 256, seed=10_000 + seed, text=False
    )  # warm this process's caches
    t0 = time.perf_counter()
    generate_scenes(SceneConfig(), n, seed=seed, text=False)
    return time.perf_counter() - t0


def parallel_rate(n: int, workers: int) -> float:
    """Aggregate clips/s of `workers` processes generating n/workers clips each (data-loader
    style). Spawned, not forked: a forked child of a process that started jax deadlocks."""
    import multiprocessing as mp

    with mp.get_context("spawn").Pool(workers) as pool:
        times = pool.map(_worker, [(n // workers, w) for w in range(workers)])
    return (n // workers) * workers / max(times)


def train_batch_ms(repeats: int, batch: int = 32) -> tuple[float, float]:
    """(host ms, ready ms) of one training step's batch of the default recipe's world: the
    median over `repeats` × 5 steps of the time `clip_batch` takes to return (planning, text,
    dispatching the render) and of the time until its frames exist."""
    world = SceneConfig(size=64, anomaly_fraction=0.4)  # recipes/spvlm_synthetic.py
    jax.block_until_ready(clip_batch(world, batch, seed=0, step=0)["frames"])  # compile, warm
    host, ready = [], []
    for step in range(1, 5 * repeats + 1):
        t0 = time.perf_counter()
        b = clip_batch(world, batch, seed=0, step=step)
        host.append(time.perf_counter() - t0)
        jax.block_until_ready(b["frames"])
        ready.append(time.perf_counter() - t0)
    return 1e3 * float(np.median(host)), 1e3 * float(np.median(ready))


def separability(
    n_ids: int = 50, train: int = 40, test: int = 10, size: int = 32, shrink: float = 0.1
) -> float:
    """Held-out identification accuracy of pixel-space Fisher LDA (the classifier of
    tests/test_data_faces.py): same identities, fresh nuisance for the test samples."""
    tr = generate_faces(n_ids, train, size=size, seed=1)
    te = generate_faces(n_ids, test, size=size, seed=2)
    x = tr["image"].reshape(len(tr["image"]), -1).astype(np.float64)
    xt = te["image"].reshape(len(te["image"]), -1).astype(np.float64)
    means = np.stack([x[tr["identity"] == c].mean(0) for c in range(n_ids)])
    within = x - means[tr["identity"]]
    cov = within.T @ within / len(x)
    cov = (1 - shrink) * cov + shrink * np.trace(cov) / len(cov) * np.eye(len(cov))
    chol = np.linalg.cholesky(cov)
    zt, zm = np.linalg.solve(chol, xt.T).T, np.linalg.solve(chol, means.T).T
    d = (zt**2).sum(1)[:, None] - 2 * zt @ zm.T + (zm**2).sum(1)[None]
    return float((np.argmin(d, 1) == te["identity"]).mean())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clips", type=int, default=4096)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--separability", action="store_true")
    ap.add_argument(
        "--out", default=os.path.join(os.path.dirname(__file__), "out", "data_generation.json")
    )
    a = ap.parse_args()
    cfg32, cfg64 = SceneConfig(), SceneConfig(size=64)
    generate_scenes(
        cfg32, 2 * cfg32.layout_seeds, seed=99, text=False
    )  # warm the room/sprite caches
    generate_scenes(cfg64, 2 * cfg64.layout_seeds, seed=99, text=False)
    host_ms, ready_ms = train_batch_ms(a.repeats)
    res = {
        "train_batch_32x64x64x16_host_ms": round(host_ms, 1),
        "train_batch_32x64x64x16_ready_ms": round(ready_ms, 1),
        "clips_per_s_32x32x16": _rate(
            lambda r: generate_scenes(cfg32, a.clips, seed=r, text=False), a.clips, a.repeats
        ),
        "clips_per_cpu_s_32x32x16": _rate(
            lambda r: generate_scenes(cfg32, a.clips, seed=r, text=False),
            a.clips,
            a.repeats,
            time.process_time,
        ),
        "clips_per_s_32x32x16_2_processes": parallel_rate(2 * a.clips, 2),
        "clips_per_s_32x32x16_with_text": _rate(
            lambda r: generate_scenes(cfg32, a.clips, seed=r), a.clips, a.repeats
        ),
        "clips_per_s_64x64x16": _rate(
            lambda r: generate_scenes(cfg64, a.clips // 4, seed=r, text=False),
            a.clips // 4,
            a.repeats,
        ),
        "faces_per_s_32": _rate(
            lambda r: generate_faces(50, a.clips // 50, seed=r), 50 * (a.clips // 50), a.repeats
        ),
        "target_clips_per_s": 2000,
        "clips": a.clips,
        "repeats": a.repeats,
        "cpu_count": os.cpu_count(),
        "load_average_1min": os.getloadavg()[0],
        "machine": platform.processor() or platform.machine(),
        "device": str(jax.devices()[0]),
        "jax": jax.__version__,
    }
    if a.separability:
        res["identity_separability_acc_50ids_32px"] = separability()
        res["identity_separability_acc_50ids_64px"] = separability(size=64)
        res["separability_chance"] = 1 / 50
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, "w") as f:
        json.dump(res, f, indent=2)
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
