"""Training throughput of an SP-VLM recipe: does the device wait for the host?

    .venv/bin/python benchmarks/train_throughput.py [--steps 30] [--fixed-steps 8]
        [--recipe recipes/spvlm_synthetic.py] [--set KEY=VALUE ...]
        [--out benchmarks/results/train_throughput.json]

Runs unchanged on a CPU or a GPU (whatever jax uses) and measures, for the recipe's model and
batch (the tiny decoder comes from `.cache/decoders`, pretrained first if missing):

- render: seconds until one step's batch exists (plan the clips and write their text on one
  thread as the loop's background pipeline does, render the frames on the device, tokenise
  the questions), per stage; and its host part, until the thread hands the batch on (the
  frames then still rendering on the device);
- fixed-batch step: one device batch stepped back to back (`--fixed-steps` times, after the
  compile call), label stage and the answer stage for each question type the loop meets;
- the real loop (`spjax.training.loop.train`) over `--steps` steps, half label, half answer
  as in the recipe, with those programs already compiled: achieved steps/s, the fixed-batch
  rate of the same step mix, and the fraction of the loop's training wall time it waited for
  the next batch (an upper bound on the time the device waited for input); the validation
  and checkpoint the loop runs at its last step are timed apart;
- compile seconds: tracing + XLA compilation (or the persistent-cache load) of the label
  step and each answer step, of the setup (decoder, evaluation programs) and of the loop.

The compilation cache follows `SPJAX_COMPILATION_CACHE` as runs do (`off` for cold
compiles). Writes JSON (device, jax version, every figure) and prints a RESULTS.md row.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import time
from pathlib import Path

import jax
import numpy as np


def _device() -> dict:
    devices = jax.devices()
    d = devices[0]
    info = {
        "backend": jax.default_backend(),
        "kind": d.device_kind,
        "count": len(devices),
        "jax": jax.__version__,
        "jaxlib": jax.lib.__version__ if hasattr(jax.lib, "__version__") else None,
    }
    if info["backend"] == "cpu":
        model = platform.processor() or platform.machine()
        cpuinfo = Path("/proc/cpuinfo")
        if cpuinfo.exists():
            for line in cpuinfo.read_text().splitlines():
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
        info.update(cpu=model, cores=cores or os.cpu_count())
        info["name"] = f"CPU, {info['cores']} cores ({model})"
    else:
        info["name"] = f"{len(devices)}× {d.device_kind}"
    return info


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--recipe", default="recipes/spvlm_synthetic.py")
    ap.add_argument("--steps", type=int, default=30, help="steps of the real loop (>= 4)")
    ap.add_argument("--fixed-steps", type=int, default=8, help="steps per fixed-batch timing")
    ap.add_argument("--renders", type=int, default=3, help="batches rendered per stage")
    ap.add_argument("--set", dest="overrides", action="append", default=[])
    ap.add_argument("--out", default="benchmarks/results/train_throughput.json")
    args = ap.parse_args()
    if args.steps < 4 or args.fixed_steps < 1 or args.renders < 1:
        ap.error("--steps must be >= 4, --fixed-steps and --renders >= 1")

    from spjax.training import sharding
    from spjax.training.compilation import (
        compile_seconds,
        enable_compilation_cache,
        watch_compiles,
    )
    from spjax.training.config import apply_overrides, load_recipe
    from spjax.training.data import step_qtype
    from spjax.training.loop import host_batch, train
    from spjax.training.trainer import SPVLMTrainer

    cache = enable_compilation_cache()
    watch_compiles()
    label_steps = args.steps // 2
    cfg = apply_overrides(
        load_recipe(args.recipe),
        [
            "data.n_val=16",
            "data.n_test=16",
            "eval.samples_to_log=1",
            *args.overrides,
            f"train.steps={args.steps}",
            f"train.label_steps={label_steps}",
            f"train.log_every={max(1, args.steps // 3)}",
            f"train.eval_every={args.steps}",
            f"train.checkpoint_every={args.steps}",
        ],
    )
    workdir = Path("benchmarks/out/train_throughput_run") / str(time.time_ns())
    t0 = time.time()
    trainer = SPVLMTrainer(cfg, workdir)
    setup_s = time.time() - t0
    setup_compile_s = compile_seconds(t0)

    # Host side: one step's batch, as the loop's background pipeline makes it.
    answer_steps = list(range(label_steps + 1, args.steps + 1))
    qtypes = sorted({step_qtype(cfg, s) for s in answer_steps})
    # `host`: until `host_batch` returns (planning, text, tokens, dispatching the render: the
    # background thread's share); `render`: until the frames exist as well.
    render, host = {}, {}
    for stage, steps in (("label", range(1, label_steps + 1)), ("answer", answer_steps)):
        steps = list(steps)[: args.renders]
        jax.block_until_ready(host_batch(trainer, steps[0]))  # warm-up (sprite bank, rooms)
        host[stage] = render[stage] = 0.0
        for step in steps:
            t = time.perf_counter()
            batch = host_batch(trainer, step)
            host[stage] += (time.perf_counter() - t) / len(steps)
            jax.block_until_ready(batch)
            render[stage] += (time.perf_counter() - t) / len(steps)

    # Device side: one batch stepped back to back, per stage and question type.
    faces = trainer.faces["train"]
    face_idx = np.arange(cfg.privacy.face_batch_size) % len(faces)
    face_batch = sharding.global_batch(
        {"image": faces.image[face_idx], "identity": faces.identity[face_idx]}, trainer.mesh
    )
    step_s, compile_s = {}, {}
    first = {q: next(s for s in answer_steps if step_qtype(cfg, s) == q) for q in qtypes}
    for name, step in [("label", 1)] + [(f"answer_{q}", first[q]) for q in qtypes]:
        batch = sharding.global_batch(host_batch(trainer, step), trainer.mesh)
        fn = trainer.step_fns[trainer.stage(step)]

        def one(fn=fn, batch=batch):
            trainer.state, metrics = fn(
                trainer.state, trainer.frozen, batch, face_batch, trainer.base_key
            )
            return metrics

        t = time.time()
        jax.block_until_ready(one())
        compile_s[name] = compile_seconds(t)
        t = time.perf_counter()
        for _ in range(args.fixed_steps - 1):
            one()
        jax.block_until_ready(one())
        step_s[name] = (time.perf_counter() - t) / args.fixed_steps

    # The real loop, its step programs compiled above.
    t = time.time()
    train(trainer)
    loop_compile_s = compile_seconds(t)
    stats = trainer.loop_stats
    train_wall = stats["wall_s"] - stats["eval_s"] - stats["checkpoint_s"]
    mix = ["label"] * label_steps + [f"answer_{step_qtype(cfg, s)}" for s in answer_steps]
    fixed_time = sum(step_s[name] for name in mix)
    achieved = args.steps / train_wall
    shutil.rmtree(workdir, ignore_errors=True)

    answer_ms = {q: round(1e3 * step_s[f"answer_{q}"], 2) for q in qtypes}
    result = {
        "date": time.strftime("%Y-%m-%d"),
        "device": _device(),
        "recipe": args.recipe,
        "overrides": args.overrides,
        "batch_size": cfg.train.batch_size,
        "face_batch_size": cfg.privacy.face_batch_size,
        "K": int(trainer.model().sensor.k),
        "frame": [cfg.data.size, cfg.data.size],
        "compilation_cache": str(cache) if cache else None,
        "render_ms_per_batch": {k: round(1e3 * v, 1) for k, v in render.items()},
        "host_ms_per_batch": {k: round(1e3 * v, 1) for k, v in host.items()},
        "fixed_batch_step_ms": {"label": round(1e3 * step_s["label"], 2), "answer": answer_ms},
        "fixed_steps_timed": args.fixed_steps,
        "loop": {
            "steps": args.steps,
            "label_steps": label_steps,
            "train_wall_s": round(train_wall, 2),
            "achieved_steps_per_s": round(achieved, 3),
            "fixed_batch_steps_per_s_same_mix": round(args.steps / fixed_time, 3),
            "achieved_over_fixed": round(fixed_time / train_wall, 3),
            "input_wait_s": round(stats["input_wait_s"], 3),
            "input_wait_fraction": round(stats["input_wait_s"] / train_wall, 4),
            # the first batch waits for the pipeline to start; the rest is the steady state
            "input_wait_first_s": round(stats["input_waits"][0], 3),
            "input_wait_fraction_after_first": round(
                sum(stats["input_waits"][1:]) / (train_wall - stats["input_waits"][0]), 4
            ),
            "input_waits_ms": [round(1e3 * w, 1) for w in stats["input_waits"]],
            "validation_s": round(stats["eval_s"], 1),
            "checkpoint_s": round(stats["checkpoint_s"], 2),
        },
        "compile_s": {
            **{k: round(v, 1) for k, v in compile_s.items()},
            "training_programs": round(sum(compile_s.values()), 1),
            "setup": round(setup_compile_s, 1),
            "loop": round(loop_compile_s, 1),
        },
        "setup_s": round(setup_s, 1),
        # one render thread keeps up while this is < 1 (same step mix as the loop)
        "render_over_step": round(
            (label_steps * render["label"] + len(answer_steps) * render["answer"]) / fixed_time,
            3,
        ),
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    loop = result["loop"]
    answer = "/".join(f"{v:g}" for v in answer_ms.values())
    print("\nRESULTS.md row:")
    print(
        f"| {result['date']} | {result['device']['name']} | jax {jax.__version__} | "
        f"{args.steps} | {render['label'] * 1e3:.0f} / {render['answer'] * 1e3:.0f} | "
        f"{host['label'] * 1e3:.0f} / {host['answer'] * 1e3:.0f} | "
        f"{step_s['label'] * 1e3:.0f} / {answer} | {loop['achieved_steps_per_s']:.2f} | "
        f"{loop['achieved_over_fixed']:.0%} | {loop['input_wait_fraction']:.1%} | "
        f"{result['compile_s']['training_programs']:.0f} |"
    )


if __name__ == "__main__":
    main()
