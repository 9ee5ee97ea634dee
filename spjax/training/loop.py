"""The training loop of an SP-VLM run: batches, steps, logging, validation, checkpoints.

Clips are rendered on the fly on a background thread (`TrainClips` inside a grain pipeline), one
fresh batch per step, so the data a step sees depends only on (seed, step); the face batches
come from a checkpointed index loader. A non-finite loss stops the run with the last good
checkpoint untouched.
"""

from __future__ import annotations

import time

import grain
import jax
import numpy as np

from spjax.training import sharding
from spjax.training.checkpoint import Checkpointer
from spjax.training.config import to_json
from spjax.training.data import index_loader
from spjax.training.logging import RunLogger, progress

# Scalars whose non-finite value ends the run.
WATCHED = ("task_loss", "privacy_loss", "adversary_ce_mean", "grad_norm")


class TrainingError(RuntimeError):
    """Training cannot go on (non-finite loss); the message names the step and the term."""


def step_batches(trainer, start: int):
    """Grain pipeline over steps start+1 …: each step's clips and (answer stage) questions,
    prepared on a background thread."""
    from spjax.training.data import answer_rows, clip_targets, step_qtype

    def make(step):
        clips = trainer.train_clips.clips(step)
        batch = {"frames": np.asarray(clips["frames"], np.float32), **clip_targets(clips)}
        if trainer.stage(step) == "answer":
            qtype = step_qtype(trainer.cfg, step)
            batch.update(answer_rows(clips, qtype, trainer.tokenizer, trainer.widths[qtype]))
        return step, batch

    ds = grain.MapDataset.range(start + 1, trainer.cfg.train.steps + 1).map(make)
    return iter(ds.to_iter_dataset(grain.ReadOptions(num_threads=1, prefetch_buffer_size=3)))


def _due(step: int, every: int, last: int) -> bool:
    return step % every == 0 or step == last


def train(trainer) -> dict:
    """Train `trainer` (an `SPVLMTrainer`) to `train.steps`, resuming from its newest
    checkpoint when it was built with `resume=True`; returns the last step's scalars."""
    from spjax.training.evaluate import sample_answers, validate

    cfg = trainer.cfg
    trainer.workdir.mkdir(parents=True, exist_ok=True)
    (trainer.workdir / "config.json").write_text(to_json(cfg))
    ckpt = Checkpointer(trainer.workdir / "checkpoints", keep=cfg.train.keep_checkpoints)
    local_face_bs = sharding.check_batch_size(cfg.privacy.face_batch_size)
    train_faces = trainer.faces["train"]
    iters = {"faces": index_loader(len(train_faces), local_face_bs, cfg.seed)}
    start = 0
    if trainer.resume and ckpt.latest_step() is not None:
        restored, meta = ckpt.restore(trainer.checkpoint_state())
        trainer.state = sharding.replicate(restored["train"], trainer.mesh)
        for name, it in iters.items():
            it.set_state(meta["data"][name])
        start = int(meta["step"])
    logger = RunLogger(
        trainer.workdir, config=cfg.to_dict(), wandb_mode=cfg.run.wandb, name=trainer.workdir.name
    )
    bar = progress(cfg.train.steps, initial=start, desc="train sp-vlm")
    t_loop = time.time()
    metrics = {}
    last = cfg.train.steps
    try:
        for step, local in step_batches(trainer, start):
            face_idx = next(iters["faces"])
            batch = sharding.global_batch(local, trainer.mesh)
            faces = sharding.global_batch(
                {"image": train_faces.image[face_idx], "identity": train_faces.identity[face_idx]},
                trainer.mesh,
            )
            new_state, metrics = trainer.step_fns[trainer.stage(step)](
                trainer.state, trainer.frozen, batch, faces, trainer.base_key
            )
            metrics = jax.device_get(metrics)
            bad = [k for k in WATCHED if not np.isfinite(metrics[k])]
            if bad:
                # The donated state is gone, but the last checkpoint on disk is untouched.
                raise TrainingError(
                    f"non-finite {', '.join(bad)} at step {step} "
                    f"({ {k: float(metrics[k]) for k in bad} }); the last good "
                    f"checkpoint is kept in {trainer.workdir / 'checkpoints'}"
                )
            trainer.state = new_state
            restart = cfg.privacy.restart_every
            if restart and step % restart == 0 and step < last:
                trainer.restart_adversary(step)
            if _due(step, cfg.train.log_every, last):
                rate = (step - start) / max(time.time() - t_loop, 1e-9)
                logger.log("train", step, steps_per_s=rate, stage=trainer.stage(step), **metrics)
                bar.set_postfix(
                    stage=trainer.stage(step),
                    task=f"{float(metrics['task_loss']):.3f}",
                    adv=f"{float(metrics['adversary_accuracy_worst']):.2f}",
                )
            if _due(step, cfg.train.eval_every, last):
                val = validate(trainer)
                logger.log("val", step, **val)
                for sample in sample_answers(trainer, "val"):
                    logger.log("sample", step, **sample)
                ckpt.save_best(
                    step,
                    trainer.checkpoint_state(),
                    trainer.checkpoint_meta(step, iters),
                    val["answer_accuracy"],
                )
            if _due(step, cfg.train.checkpoint_every, last):
                ckpt.save(step, trainer.checkpoint_state(), trainer.checkpoint_meta(step, iters))
            bar.update(1)
    finally:
        bar.close()
        ckpt.close()
    trainer.train_seconds = time.time() - t_loop
    trainer.logger = logger
    return {k: float(v) for k, v in metrics.items() if np.ndim(v) == 0}
