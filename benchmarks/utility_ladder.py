"""The utility ladder: how much behaviour each stage of the SP-VLM keeps, on one test split.

    .venv/bin/python benchmarks/utility_ladder.py [--rungs clean,pinv,noisy,learned]
        [--size 64] [--rate 0.05] [--photons 1e5] [--steps 2000] [--batch 32] [--test 2000]
        [--run runs/default] [--out benchmarks/out/ladder.json]

Every rung trains the SP-VLM's own `TemporalEncoder` and `LabelHeads` for the same number of
steps on clips generated on the fly (world seed 0, the default recipe's world) and scores the
same fixed test split (its own clip seed):

- `clean`   — clean frames straight into the encoder (`encode_frames`): the world's ceiling;
- `pinv`    — fixed 2-D low-frequency Hadamard at `--rate`, noiseless, lifted by the sensor's
              pseudo-inverse: what the sampling rate keeps;
- `noisy`   — the same sensor with the recipe's photon noise: the encoder supervised;
- `learned` — learned signed-binary split patterns (initialised at the same rows), noisy;
- `--run DIR` adds a trained SP-VLM's test report: its label heads and its *text* answers.

Each rung is scored on anomaly type, people count, and the activity of the person each of the
split's activity questions points at ("the person", or "the person by the sink" when they are
the only one there), read by the per-person activity head.

A drop between two rungs names the stage that loses the signal. Rows are appended to `--out`
as each rung finishes (a killed run keeps the finished rungs).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import jax
import numpy as np
from flax import nnx

from spjax.cliargs import key_values, typed_value
from spjax.data.scenes import ANOMALY_TYPES, SceneConfig
from spjax.data.stream import clip_stream, eval_clips
from spjax.data.text import activity_pointers
from spjax.eval.metrics import anomaly_metrics, count_metrics, pointed_activity_metrics
from spjax.models.encoder import TemporalEncoder
from spjax.models.heads import LabelHeads, label_loss, label_predictions
from spjax.sensing import NoiseModel, Sensor
from spjax.training import optim


class Probe(nnx.Module):
    def __init__(self, sensor, encoder, heads):
        self.sensor, self.encoder, self.heads = sensor, encoder, heads

    def logits(self, frames, key, rung: str, sampler: str):
        if rung == "clean":
            prefix = self.encoder.encode_frames(frames)
        else:
            y = self.sensor(frames, key=key, sampler=sampler, check=False)
            prefix = self.encoder(y, self.sensor)
        return self.heads(prefix)


def build(rung: str, args, max_count: int) -> Probe:
    rngs = nnx.Rngs(0)
    noise = NoiseModel(photons=args.photons) if rung in ("noisy", "learned") else None
    if rung == "learned":
        sensor = Sensor.learned(
            args.size, args.size, args.rate, init="hadamard:low_frequency", noise=noise, rngs=rngs
        )
    else:
        sensor = Sensor.hadamard(
            args.size, args.size, args.rate, order="low_frequency", noise=noise
        )
    encoder = TemporalEncoder(
        args.size,
        args.size,
        max_frames=args.frames,
        out_dim=128,
        channels=args.channels,
        summary=not args.no_summary,
        rngs=rngs,
    )
    heads = LabelHeads(encoder.num_queries, 128, max_count, rngs=rngs)
    return Probe(sensor, encoder, heads)


def activity_questions(test: dict) -> dict:
    """The test split's activity questions (one per clip where a person can be named, as the
    SP-VLM is asked them): their clips, questions and reference answers."""
    rows = [(i, q, a) for i, qa in enumerate(test["qa"]) for kind, q, a in qa if kind == "activity"]
    clips, questions, answers = zip(*rows)
    return {"clips": clips, "questions": questions, "answers": answers}


def run_rung(rung: str, args, world: SceneConfig, test: dict, questions: dict) -> dict:
    model = build(rung, args, world.max_people)
    parts = {
        "encoder": optim.make_optimizer(
            args.lr, total_steps=args.steps, warmup_steps=100, weight_decay=1e-4, clip_norm=1.0
        ),
        "heads": optim.make_optimizer(
            args.lr, total_steps=args.steps, warmup_steps=100, weight_decay=1e-4, clip_norm=1.0
        ),
    }
    if model.sensor.learnable:
        parts["sensor"] = optim.make_optimizer(
            args.sensor_lr, total_steps=args.steps, clip_norm=1.0
        )
    opt = nnx.Optimizer(model, optim.per_part(parts), wrt=nnx.Param)
    graphdef, state = nnx.split((model, opt))

    @jax.jit
    def step(state, frames, count, atype, activity, pointer, key):
        model, opt = nnx.merge(graphdef, state)

        def loss(model):
            logits = model.logits(frames, key, rung, "reparam")
            return label_loss(logits, count, atype, activity, pointer)[0]

        value, grads = nnx.value_and_grad(loss)(model)
        opt.update(model, grads)
        return nnx.state((model, opt)), value

    @jax.jit
    def predict(state, frames, key):
        model, _ = nnx.merge(graphdef, state)
        return label_predictions(model.logits(frames, key, rung, "exact"))

    stream = iter(clip_stream(world, args.batch, seed=args.seed, stop=args.steps, text=False))
    key = jax.random.key(args.seed)
    t0, losses = time.time(), []
    for i, b in enumerate(stream, start=1):
        state, value = step(
            state,
            b["frames"],
            b["count"],
            b["anomaly_type"],
            b["activity"],
            activity_pointers(b["activity"], b["zone"]),
            jax.random.fold_in(key, i),
        )
        if i % 250 == 0 or i == args.steps:
            losses.append(float(value))
            print(f"  {rung} step {i} loss {losses[-1]:.3f} ({time.time() - t0:.0f} s)", flush=True)
    train_s = time.time() - t0
    preds = {"count": [], "anomaly_type": [], "anomaly_score": [], "person_activity": []}
    eval_key, key = jax.random.split(key)
    for lo in range(0, len(test["count"]), 100):
        out = predict(state, test["frames"][lo : lo + 100], jax.random.fold_in(eval_key, lo))
        for k in preds:
            preds[k].append(np.asarray(out[k]))
    preds = {k: np.concatenate(v) for k, v in preds.items()}
    names = np.array(ANOMALY_TYPES)
    model = nnx.merge(graphdef, state)[0]
    return {
        "rung": rung,
        "K": int(model.sensor.k) if rung != "clean" else None,
        "anomaly": anomaly_metrics(
            names[preds["anomaly_type"]], names[test["anomaly_type"]], preds["anomaly_score"]
        ),
        "count": count_metrics(preds["count"].tolist(), test["count"]),
        "activity": pointed_activity_metrics(preds["person_activity"], **questions),
        "train_seconds": round(train_s, 1),
        "steps": args.steps,
        "batch": args.batch,
        "loss_curve": losses,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rungs", default="clean,pinv,noisy,learned")
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--frames", type=int, default=16)
    ap.add_argument("--rate", type=float, default=0.05)
    ap.add_argument("--photons", type=float, default=1e5)
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--channels", type=int, default=48)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument(
        "--no-summary",
        action="store_true",
        help="encoder without the pooled clip summary added to its queries",
    )
    ap.add_argument("--sensor-lr", type=float, default=2e-2)
    ap.add_argument("--test", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--world", default="", help="SceneConfig overrides, e.g. 'seed=1,noise_std=0.03'"
    )
    ap.add_argument("--run", default=None, help="a trained SP-VLM run whose report.json to add")
    ap.add_argument("--out", default="benchmarks/out/ladder.json")
    args = ap.parse_args()

    defaults = dataclasses.asdict(SceneConfig())
    overrides = {
        k: typed_value(v, defaults.get(k), f"--world {k}")
        for k, v in key_values([kv for kv in args.world.split(",") if kv], "--world")
    }
    world = SceneConfig.from_dict(
        {"size": args.size, "frames": args.frames, "anomaly_fraction": 0.4, **overrides}
    )
    test = eval_clips(world, args.test, seed=args.seed, split="test", text=True)
    questions = activity_questions(test)
    out_path = Path(args.out)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    rows = json.loads(out_path.read_text())["rows"] if out_path.exists() else []
    base = {
        "anomaly_majority": float(max(np.mean(test["anomaly"]), 1 - np.mean(test["anomaly"]))),
        "count_mae_median": float(np.abs(np.median(test["count"]) - test["count"]).mean()),
    }
    for rung in args.rungs.split(","):
        print(f"rung {rung}", flush=True)
        row = run_rung(rung, args, world, test, questions)
        row.update(
            size=args.size,
            rate=args.rate,
            photons=args.photons,
            world=args.world,
            test_clips=args.test,
        )
        rows.append(row)
        out_path.write_text(json.dumps({"baselines": base, "rows": rows}, indent=1))
        a, c, act = row["anomaly"], row["count"], row["activity"]
        print(
            f"{rung}: anomaly {a['accuracy']:.3f} (bal {a['balanced_accuracy']:.3f}, AUROC "
            f"{a['auroc']:.3f}, recall {a['recall_by_type']}), count MAE {c['mae']:.3f} "
            f"exact {c['exact_accuracy']:.3f}, activity {act['accuracy']:.3f} "
            f"{act['by_pointer']}, {row['train_seconds']} s",
            flush=True,
        )
    if args.run:
        report = json.loads((Path(args.run) / "report.json").read_text())
        rows.append({"rung": "spvlm", "run": args.run, "utility": report["utility"]})
        out_path.write_text(json.dumps({"baselines": base, "rows": rows}, indent=1))
    print(json.dumps(base))


if __name__ == "__main__":
    main()
