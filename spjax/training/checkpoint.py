"""Orbax checkpoints of everything a run needs to continue exactly.

A checkpoint step holds two items: `state` (trainable parameters, non-trainable sensor
variables, optimiser states, step, PRNG key; a pytree of arrays) and `meta` (JSON: the config,
the data-iterator state, best metric so far). Orbax writes each step into a temporary folder
and renames it when complete, so a run killed mid-save leaves the previous steps intact.

Two managers share the run's `checkpoints/` folder: `last/` keeps the newest N steps,
`best/` keeps the single step with the best validation metric.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jax
import numpy as np
import orbax.checkpoint as ocp

from spjax.training.config import differing_keys


class CheckpointError(ValueError):
    """A checkpoint is missing, corrupt, or belongs to a different config."""


def has_checkpoint(workdir: str | Path) -> bool:
    """Does the run directory `workdir` hold at least one saved step (in `checkpoints/last/`)?"""
    last = Path(workdir) / "checkpoints" / "last"
    return last.is_dir() and any(p.name.isdigit() for p in last.iterdir())


def _as_restorable(tree):
    # Orbax restore targets must be arrays: NumPy scalars fail (docs/conventions.md), so use 0-d arrays.
    return jax.tree.map(lambda x: np.asarray(x) if np.isscalar(x) else x, tree)


def _barriers(name: str):
    return ocp.options.MultiprocessingOptions(barrier_sync_key_prefix=f"spjax_{name}")


class Checkpointer:
    def __init__(self, directory: str | Path, *, keep: int = 3, best_mode: str = "max"):
        if best_mode not in ("max", "min"):
            raise ValueError(f"best_mode must be 'max' or 'min', got {best_mode!r}")
        self.directory = Path(directory).absolute()
        self.best_mode = best_mode
        # Each manager gets its own barrier names: in a multi-process run both save the final
        # step, and with shared names the second async save's barrier collides with the first
        # ("Barrier _async_write_complete.N is already ongoing").
        self._last = ocp.CheckpointManager(
            self.directory / "last",
            options=ocp.CheckpointManagerOptions(
                max_to_keep=keep, create=True, multiprocessing_options=_barriers("last")
            ),
        )
        self._best = ocp.CheckpointManager(
            self.directory / "best",
            options=ocp.CheckpointManagerOptions(
                max_to_keep=1, create=True, multiprocessing_options=_barriers("best")
            ),
        )
        self.best_value: float | None = None

    # -- saving ---------------------------------------------------------------------------
    def save(self, step: int, state: Any, meta: dict) -> None:
        self._last.save(step, args=self._save_args(state, meta))

    def save_best(self, step: int, state: Any, meta: dict, value: float) -> bool:
        """Save as the best step when `value` beats the best so far."""
        better = self.best_value is None or (
            value > self.best_value if self.best_mode == "max" else value < self.best_value
        )
        if better:
            self.best_value = float(value)
            meta = dict(meta, best_value=self.best_value)
            self._best.save(step, args=self._save_args(state, meta), force=True)
        return better

    @staticmethod
    def _save_args(state, meta):
        return ocp.args.Composite(state=ocp.args.StandardSave(state), meta=ocp.args.JsonSave(meta))

    def wait(self) -> None:
        self._last.wait_until_finished()
        self._best.wait_until_finished()

    def close(self) -> None:
        self.wait()
        self._last.close()
        self._best.close()

    # -- restoring ------------------------------------------------------------------------
    def latest_step(self) -> int | None:
        return self._last.latest_step()

    def read_meta(self, step: int | None = None, *, best: bool = False) -> dict:
        manager = self._best if best else self._last
        step = manager.latest_step() if step is None else step
        if step is None:
            raise CheckpointError(f"no checkpoint in {manager.directory}")
        try:
            return manager.restore(step, args=ocp.args.Composite(meta=ocp.args.JsonRestore()))[
                "meta"
            ]
        except Exception as err:  # orbax raises many types for unreadable files
            raise CheckpointError(
                f"checkpoint {manager.directory}/{step} is corrupt or unreadable: "
                f"{type(err).__name__}: {err}"
            ) from err

    def check_config(self, config_dict: dict, step: int | None = None) -> None:
        """Refuse to resume a checkpoint written under a different config."""
        meta = self.read_meta(step)
        differ = differing_keys(meta.get("config", {}), config_dict)
        if differ:
            raise CheckpointError(
                f"checkpoint in {self.directory} was written with a different config; "
                f"differing keys: {', '.join(differ)}. Use a new --workdir or the same config "
                f"(saved config: {self.directory}/last/<step>/meta)."
            )

    def restore(self, target_state: Any, step: int | None = None, *, best: bool = False):
        """Restore `(state, meta)`; `target_state` gives the tree structure, shapes and shardings."""
        manager = self._best if best else self._last
        step = manager.latest_step() if step is None else step
        if step is None:
            raise CheckpointError(f"no checkpoint in {manager.directory}")
        target = _as_restorable(target_state)
        abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, target)
        try:
            restored = manager.restore(
                step,
                args=ocp.args.Composite(
                    state=ocp.args.StandardRestore(abstract), meta=ocp.args.JsonRestore()
                ),
            )
        except Exception as err:
            raise CheckpointError(
                f"checkpoint {manager.directory}/{step} cannot be restored into this model "
                f"(corrupt files or mismatched shapes/structure): {type(err).__name__}: {err}"
            ) from err
        return restored["state"], restored["meta"]
