"""How much behaviour can a temporal encoder read from the measurements at all?

    .venv/bin/python benchmarks/encoder_ceiling.py [--rate 0.05] [--steps 2000] [--clips 24000]

Trains the SP-VLM's `TemporalEncoder` with *direct* supervision (people-count and anomaly-type
heads, no language decoder) on a fixed Hadamard low-frequency sensor's measurements of
procedural clips, and scores held-out clips every 250 steps. This bounds what the SP-VLM can
reach through its frozen decoder at the same rate and training budget (a diagnostic, not a
target). Writes benchmarks/out/encoder_ceiling.json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import optax
from flax import nnx

from spjax.data import scenes
from spjax.models.adversaries import identity_loss
from spjax.models.encoder import TemporalEncoder
from spjax.sensing import Sensor


class Probe(nnx.Module):
    def __init__(self, k: int, n_counts: int, n_types: int, *, rngs: nnx.Rngs):
        self.encoder = TemporalEncoder(k, max_frames=16, width=128, depth=2, heads=4,
                                       num_queries=8, out_dim=128, rngs=rngs)
        self.count = nnx.Linear(8 * 128, n_counts, rngs=rngs)
        self.anomaly = nnx.Linear(8 * 128, n_types, rngs=rngs)

    def __call__(self, y):
        h = self.encoder(y).reshape(y.shape[0], -1)
        return self.count(h), self.anomaly(h)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rate", type=float, default=0.05)
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--clips", type=int, default=24000)
    ap.add_argument("--out", default="benchmarks/out/encoder_ceiling.json")
    args = ap.parse_args()

    cfg = scenes.SceneConfig(seed=0, anomaly_fraction=0.4)
    train = scenes.generate_scenes(cfg, args.clips, seed=1, text=False)
    test = scenes.generate_scenes(cfg, 400, seed=2, text=False)
    sensor = Sensor.family("hadamard:low_frequency", cfg.size, cfg.size, args.rate)
    y_train = np.asarray(sensor(train["frames"], check=False))
    y_test = np.asarray(sensor(test["frames"], check=False))
    n_counts = int(max(train["count"].max(), test["count"].max())) + 1
    model = Probe(sensor.k, n_counts, len(scenes.ANOMALY_TYPES), rngs=nnx.Rngs(0))
    opt = nnx.Optimizer(model, optax.adamw(1e-3), wrt=nnx.Param)

    @nnx.jit
    def step(model, opt, y, count, atype):
        def loss(model):
            lc, la = model(y)
            return identity_loss(lc, count).mean() + identity_loss(la, atype).mean()
        value, grads = nnx.value_and_grad(loss)(model)
        opt.update(model, grads)
        return value

    @nnx.jit
    def predict(model, y):
        lc, la = model(y)
        return lc.argmax(-1), la.argmax(-1)

    rng = np.random.default_rng(0)
    rows, t0 = [], time.time()
    majority = max(np.mean(test["anomaly_type"] > 0), np.mean(test["anomaly_type"] == 0))
    for i in range(1, args.steps + 1):
        idx = rng.integers(0, len(y_train), 32)
        step(model, opt, y_train[idx], train["count"][idx], train["anomaly_type"][idx])
        if i % 250 == 0 or i == args.steps:
            pc, pa = (np.asarray(a) for a in predict(model, y_test))
            row = {"step": i, "count_mae": float(np.abs(pc - test["count"]).mean()),
                   "anomaly_accuracy": float(((pa > 0) == (test["anomaly_type"] > 0)).mean()),
                   "seconds": round(time.time() - t0, 1)}
            rows.append(row)
            print(row, flush=True)
    result = {"rate": args.rate, "K": sensor.k, "clips": args.clips, "rows": rows,
              "baselines": {"anomaly_majority": float(majority),
                            "count_mae_median": float(np.abs(np.median(train["count"]) - test["count"]).mean())}}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))
    print(result["baselines"])


if __name__ == "__main__":
    main()
