"""The training loop of an SP-VLM run: batches, steps, logging, validation, checkpoints.

Clips are made on the fly on a background thread (`TrainClips` inside a grain pipeline: the
thread plans them, the device renders them), one fresh batch per step, so the data a step sees
depends only on (seed, step); the face batches come from a checkpointed index loader. A second
thread (`spjax.prefetch.DevicePrefetch`) puts each step's batch on the device a few steps
ahead, so no step waits for a host-to-device copy.

The loop never waits for the device between steps: metrics are fetched only at log steps, and
the non-finite-loss check runs on the device (`HealthCheck`), read only where the loop syncs
anyway or is about to keep something (log, validation, adversary restart, checkpoint). A
non-finite loss stops the run naming the first bad step and term, with the last good
checkpoint untouched: nothing is validated or saved after a bad step.
"""

from __future__ import annotations

import time

import grain
import jax
import jax.numpy as jnp
import numpy as np

from spjax.prefetch import DevicePrefetch
from spjax.training import sharding
from spjax.training.checkpoint import Checkpointer
from spjax.training.config import to_json
from spjax.training.data import index_loader
from spjax.training.logging import RunLogger, progress

# Scalars whose non-finite value ends the run.
WATCHED = ("task_loss", "privacy_loss", "adversary_ce_mean", "grad_norm")


class TrainingError(RuntimeError):
    """Training cannot go on (non-finite loss); the message names the step and the term."""


def host_batch(trainer, step: int) -> dict:
    """The host arrays of one training step: its clips and (answer stage) questions."""
    from spjax.training.data import answer_rows, clip_targets, step_qtype

    clips = trainer.train_clips.clips(step)
    # The rendered world's frames are a device array still being computed: left as they are.
    batch = {"frames": clips["frames"], **clip_targets(clips)}
    if trainer.stage(step) == "answer":
        qtype = step_qtype(trainer.cfg, step)
        batch.update(answer_rows(clips, qtype, trainer.tokenizer, trainer.widths[qtype]))
    return batch


def step_batches(trainer, start: int):
    """Grain pipeline over steps start+1 …: (step, `host_batch`), prepared on a background
    thread."""
    ds = grain.MapDataset.range(start + 1, trainer.cfg.train.steps + 1).map(
        lambda step: (step, host_batch(trainer, step))
    )
    return iter(ds.to_iter_dataset(grain.ReadOptions(num_threads=1, prefetch_buffer_size=3)))


@jax.jit
def _track(health, watched):
    """Advance the on-device health record by one step: its step count, and the first step
    whose watched scalars were not finite, with which ones and their values."""
    step = health["step"] + 1
    values = jnp.stack([jnp.asarray(watched[k], jnp.float32) for k in WATCHED])
    bad = ~jnp.isfinite(values)
    first = (health["bad_step"] == 0) & jnp.any(bad)
    return {
        "step": step,
        "bad_step": jnp.where(first, step, health["bad_step"]),
        "bad": jnp.where(first, bad, health["bad"]),
        "values": jnp.where(first, values, health["values"]),
    }


class HealthCheck:
    """The non-finite-loss watch, kept on the device so steps never wait for the host."""

    def __init__(self, start: int, mesh, checkpoints):
        self.checkpoints = checkpoints
        n = len(WATCHED)
        self.state = sharding.replicate(
            {
                "step": np.asarray(start, np.int32),
                "bad_step": np.asarray(0, np.int32),
                "bad": np.zeros(n, bool),
                "values": np.zeros(n, np.float32),
            },
            mesh,
        )

    def update(self, metrics) -> None:
        self.state = _track(self.state, {k: metrics[k] for k in WATCHED})

    def check(self, step: int) -> None:
        """Raise `TrainingError` if any step up to `step` had a non-finite watched scalar
        (a host sync: call it where the loop reads from the device anyway)."""
        health = jax.device_get(self.state)
        if int(health["step"]) != step:
            raise RuntimeError(f"health record at step {int(health['step'])}, loop at {step}")
        bad_step = int(health["bad_step"])
        if bad_step:
            names = [k for k, b in zip(WATCHED, health["bad"]) if b]
            values = {k: float(v) for k, v, b in zip(WATCHED, health["values"], health["bad"]) if b}
            raise TrainingError(
                f"non-finite {', '.join(names)} at step {bad_step} ({values}); nothing after "
                f"step {bad_step - 1} was saved: the last good checkpoint is kept in "
                f"{self.checkpoints}"
            )


class _Snapshot:
    """An iterator state recorded when a step's batch was drawn (the prefetch thread runs
    ahead of the step being checkpointed)."""

    def __init__(self, state):
        self._state = state

    def get_state(self):
        return self._state


def _due(step: int, every: int, last: int) -> bool:
    return step % every == 0 or step == last


def train(trainer, *, prefetch: int = 2) -> dict:
    """Train `trainer` (an `SPVLMTrainer`) to `train.steps`, resuming from its newest
    checkpoint when it was built with `resume=True`; returns the last step's scalars.
    `prefetch`: steps whose batches are put on the device ahead of the running one.

    Sets `trainer.train_seconds` and `trainer.loop_stats`: steps run, wall seconds, seconds
    the loop waited for input, and seconds spent validating and saving checkpoints."""
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
    # Rows logged after the restored step belong to the lost part of the run: its steps
    # are run again and logged once.
    logger = RunLogger(
        trainer.workdir,
        config=cfg.to_dict(),
        wandb_mode=cfg.run.wandb,
        name=trainer.workdir.name,
        keep_until=start,
    )

    def to_device(item):
        step, local = item
        face_idx = next(iters["faces"])
        faces = {"image": train_faces.image[face_idx], "identity": train_faces.identity[face_idx]}
        return (
            step,
            sharding.global_batch(local, trainer.mesh),
            sharding.global_batch(faces, trainer.mesh),
            {name: it.get_state() for name, it in iters.items()},
        )

    health = HealthCheck(start, trainer.mesh, trainer.workdir / "checkpoints")
    batches = DevicePrefetch(step_batches(trainer, start), to_device, depth=prefetch)
    bar = progress(cfg.train.steps, initial=start, desc="train sp-vlm")
    t_loop = time.time()
    eval_s = checkpoint_s = 0.0
    host_metrics = {}
    last = cfg.train.steps
    metrics = None

    def device_busy() -> bool:  # is the last dispatched step still running?
        return metrics is not None and not metrics["task_loss"].is_ready()

    try:
        while True:
            try:
                step, batch, faces, data_state = batches.get(device_busy)
            except StopIteration:
                break
            trainer.state, metrics = trainer.step_fns[trainer.stage(step)](
                trainer.state, trainer.frozen, batch, faces, trainer.base_key
            )
            health.update(metrics)
            restart = cfg.privacy.restart_every
            restart = bool(restart) and step % restart == 0 and step < last
            log = _due(step, cfg.train.log_every, last)
            evaluate = _due(step, cfg.train.eval_every, last)
            save = _due(step, cfg.train.checkpoint_every, last)
            if restart or log or evaluate or save:
                health.check(step)  # before anything reads, logs or keeps this state
            if restart:
                trainer.restart_adversary(step)
            if log:
                host_metrics = jax.device_get(metrics)
                rate = (step - start) / max(time.time() - t_loop, 1e-9)
                logger.log(
                    "train", step, steps_per_s=rate, stage=trainer.stage(step), **host_metrics
                )
                bar.set_postfix(
                    stage=trainer.stage(step),
                    task=f"{float(host_metrics['task_loss']):.3f}",
                    adv=f"{float(host_metrics['adversary_accuracy_worst']):.2f}",
                )
            snapshots = {name: _Snapshot(s) for name, s in data_state.items()}
            if evaluate:
                t_eval = time.time()
                val = validate(trainer)
                logger.log("val", step, **val)
                for sample in sample_answers(trainer, "val"):
                    logger.log("sample", step, **sample)
                ckpt.save_best(
                    step,
                    trainer.checkpoint_state(),
                    trainer.checkpoint_meta(step, snapshots),
                    val["answer_accuracy"],
                )
                eval_s += time.time() - t_eval
            if save:
                t_save = time.time()
                ckpt.save(
                    step, trainer.checkpoint_state(), trainer.checkpoint_meta(step, snapshots)
                )
                checkpoint_s += time.time() - t_save
            bar.update(1)
    finally:
        batches.close()
        bar.close()
        ckpt.close()
    trainer.train_seconds = time.time() - t_loop
    trainer.loop_stats = {
        "steps": last - start,
        "wall_s": trainer.train_seconds,
        "input_wait_s": batches.wait_s,  # the device idle, waiting for the next batch
        "input_waits": batches.waits,
        "eval_s": eval_s,
        "checkpoint_s": checkpoint_s,
    }
    trainer.logger = logger
    return {k: float(v) for k, v in host_metrics.items() if np.ndim(v) == 0}
