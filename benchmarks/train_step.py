"""SP-VLM training-step rate of the default recipe vs the rate data can be generated.

    .venv/bin/python benchmarks/train_step.py [--steps 30] [--recipe recipes/spvlm_synthetic.py]

Builds the default trainer (tiny frozen decoder from the cache, pretraining it first if
needed), times `--steps` jitted training steps after a warm-up (compile time reported
separately), and times procedural clip generation in the same run. Reports steps/s, clips
consumed per second, clips generated per second and their ratio (> 1: generation is not the
bottleneck). Writes benchmarks/out/train_step.json.
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
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--out", default="benchmarks/out/train_step.json")
    args = ap.parse_args()

    from spjax.data import scenes
    from spjax.training import sharding
    from spjax.training.config import apply_overrides, load_recipe
    from spjax.training.trainer import SPVLMTrainer

    cfg = apply_overrides(load_recipe(args.recipe), ["data.n_train=512", "data.n_val=32",
                                                     "data.n_test=32"])
    workdir = Path("benchmarks/out/train_step_run")
    trainer = SPVLMTrainer(cfg, workdir / str(time.time_ns()))
    split, faces = trainer.splits["train"], trainer.faces["train"]
    rng = np.random.default_rng(0)
    bs, fbs = cfg.train.batch_size, cfg.privacy.face_batch_size

    def one_step():
        idx, fidx = rng.integers(0, len(split), bs), rng.integers(0, len(faces), fbs)
        batch = sharding.global_batch(split.batch(idx), trainer.mesh)
        face = sharding.global_batch({"image": faces.image[fidx], "identity": faces.identity[fidx]},
                                     trainer.mesh)
        trainer.state, metrics = trainer.step_fn(trainer.state, trainer.frozen, batch, face,
                                                 trainer.base_key)
        jax.block_until_ready(metrics)

    t0 = time.perf_counter()
    one_step()
    compile_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(args.steps):
        one_step()
    step_s = (time.perf_counter() - t0) / args.steps

    scene_cfg = scenes.SceneConfig(frames=cfg.data.frames, size=cfg.data.size)
    scenes.generate_scenes(scene_cfg, 64, seed=0)  # warm-up
    t0 = time.perf_counter()
    n = 1024
    scenes.generate_scenes(scene_cfg, n, seed=1)
    gen_clips_s = n / (time.perf_counter() - t0)

    consumed = bs / step_s
    result = {
        "date": time.strftime("%Y-%m-%d"), "machine": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(), "devices": [str(d) for d in jax.devices()],
        "batch_size": bs, "K": trainer.sensor_k, "steps_timed": args.steps,
        "compile_s": round(compile_s, 2), "step_s": round(step_s, 4),
        "steps_per_s": round(1 / step_s, 3), "clips_consumed_per_s": round(consumed, 1),
        "clips_generated_per_s": round(gen_clips_s, 1),
        "generation_over_consumption": round(gen_clips_s / consumed, 2),
    }
    for k, v in result.items():
        print(f"{k:>28}: {v}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
