"""Load a trained SP-VLM run: its config and its newest checkpoint, for evaluation
(`spjax evaluate`) and deployment (`spjax ask`). The one place that turns a run directory
back into a model."""

from __future__ import annotations

import json
from pathlib import Path

from spjax.training.config import ConfigDict


def run_config(run_dir: str | Path) -> ConfigDict:
    """The locked config of a trained run; a clear error if it is not one or has no
    checkpoint (`CheckpointError`)."""
    from spjax.training.checkpoint import CheckpointError, has_checkpoint

    run_dir = Path(run_dir)
    cfg_path = run_dir / "config.json"
    if not cfg_path.is_file():
        raise FileNotFoundError(f"{run_dir} is not an SP-VLM run: no config.json")
    if not has_checkpoint(run_dir):
        raise CheckpointError(
            f"{run_dir} holds no checkpoint (checkpoints/last/<step>); train it first"
        )
    try:
        cfg = ConfigDict(json.loads(cfg_path.read_text()))
    except json.JSONDecodeError as err:
        raise ValueError(f"{cfg_path}: not valid JSON ({err})") from None
    cfg.lock()
    return cfg


def restore_run(run_dir: str | Path, overrides=(), *, data: bool = True):
    """(trainer with the newest checkpoint restored, checkpoint meta) of a trained run,
    built from its config after `overrides` (already validated by the caller). The
    adversaries keep the trained run's identity count, so the checkpoint fits even when
    the overrides change the world. `data=False` skips the evaluation sets (model only)."""
    from spjax.training.config import apply_overrides, flatten
    from spjax.training.trainer import SPVLMTrainer

    cfg = run_config(run_dir)
    trained_identities = int(flatten(cfg)["data.n_identities"])
    cfg = apply_overrides(cfg, overrides)
    trainer = SPVLMTrainer(
        cfg, run_dir, evaluation=True, n_identities=trained_identities, data=data
    )
    meta = trainer.restore_latest()
    return trainer, meta
