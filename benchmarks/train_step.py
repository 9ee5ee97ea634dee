"""SP-VLM training-step rate of the default recipe vs the rate data can be generated.

    .venv/bin/python benchmarks/train_step.py [--steps 20] [--recipe recipes/spvlm_synthetic.py] [--set K=V]

Builds the default trainer (tiny frozen decoder from the cache, pretraining it first if
needed), times `--steps` jitted steps of each stage after a warm-up (compile time reported
separately): the label stage, and the answer stage on short (anomaly) and long (describe)
questions. Times the clip renderer in the same run: clips generated per second against clips
consumed by the slowest step (> 1: rendering on the background thread keeps up). Writes
benchmarks/out/train_step.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import jax
import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--recipe", default="recipes/spvlm_synthetic.py")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--set", dest="overrides", action="append", default=[])
    ap.add_argument("--out", default="benchmarks/out/train_step.json")
    args = ap.parse_args()

    from spjax.data.stream import clip_batch
    from spjax.training import sharding
    from spjax.training.config import apply_overrides, load_recipe
    from spjax.training.data import answer_rows, clip_targets, scene_config
    from spjax.training.trainer import SPVLMTrainer

    cfg = apply_overrides(
        load_recipe(args.recipe), ["data.n_val=32", "data.n_test=32", *args.overrides]
    )
    workdir = Path("benchmarks/out/train_step_run")
    trainer = SPVLMTrainer(cfg, workdir / str(time.time_ns()))
    faces = trainer.faces["train"]
    rng = np.random.default_rng(0)
    bs, fbs = cfg.train.batch_size, cfg.privacy.face_batch_size
    clips = trainer.train_clips.clips(1)
    result = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "devices": [str(d) for d in jax.devices()],
        "batch_size": bs,
        "K": int(trainer.model().sensor.k),
        "H": cfg.data.size,
        "steps_timed": args.steps,
    }
    for stage, qtype in (("label", None), ("answer", "anomaly"), ("answer", "describe")):
        local = {"frames": clips["frames"], **clip_targets(clips)}
        if qtype:
            local.update(answer_rows(clips, qtype, trainer.tokenizer, trainer.widths[qtype]))
        batch = sharding.global_batch(local, trainer.mesh)

        def one_step(stage=stage, batch=batch):
            fidx = rng.integers(0, len(faces), fbs)
            face = sharding.global_batch(
                {"image": faces.image[fidx], "identity": faces.identity[fidx]}, trainer.mesh
            )
            trainer.state, metrics = trainer.step_fns[stage](
                trainer.state, trainer.frozen, batch, face, trainer.base_key
            )
            jax.block_until_ready(metrics)

        t0 = time.perf_counter()
        one_step()
        compile_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        for _ in range(args.steps):
            one_step()
        step_s = (time.perf_counter() - t0) / args.steps
        name = stage if qtype is None else f"{stage}_{qtype}"
        result[f"{name}_compile_s"] = round(compile_s, 2)
        result[f"{name}_step_s"] = round(step_s, 4)

    world = scene_config(cfg)
    # until the frames exist (the renderer leaves them on the device, still computing)
    jax.block_until_ready(clip_batch(world, bs, seed=0, step=0)["frames"])  # warm-up, compile
    t0 = time.perf_counter()
    for step in range(1, 6):
        jax.block_until_ready(clip_batch(world, bs, seed=0, step=step)["frames"])
    gen_batch_s = (time.perf_counter() - t0) / 5
    result["clips_generated_per_s"] = round(bs / gen_batch_s, 1)
    slowest = max(v for k, v in result.items() if k.endswith("_step_s"))
    result["clips_consumed_per_s_slowest_step"] = round(bs / slowest, 1)
    result["generation_over_consumption"] = round(slowest / gen_batch_s, 2)
    for k, v in result.items():
        print(f"{k:>36}: {v}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
