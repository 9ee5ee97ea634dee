"""Run a recipe: dispatch on `config.task`."""

from __future__ import annotations

from pathlib import Path

from spjax.training.config import ConfigDict

TASKS = ("pretrain_decoder", "spvlm")


def run_recipe(cfg: ConfigDict, workdir: str | Path, *, resume: bool = False) -> dict:
    from spjax.training.compilation import enable_compilation_cache
    from spjax.training.sharding import maybe_initialize_distributed

    if cfg.get("task") not in TASKS:
        raise ValueError(f"config.task must be one of {TASKS}, got {cfg.get('task')!r}")
    maybe_initialize_distributed()
    enable_compilation_cache()
    if cfg.task == "pretrain_decoder":
        from spjax.training.pretrain import pretrain_decoder

        return pretrain_decoder(cfg, workdir)
    from spjax.training.report import run_spvlm

    return run_spvlm(cfg, workdir, resume=resume)
