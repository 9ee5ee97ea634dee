"""Run logging: a JSONL metrics file always, wandb only when the user asks for it."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from spjax import jsonio

WANDB_MODES = ("disabled", "offline", "online")


class RunLogger:
    """Appends one JSON object per event to `metrics.jsonl`; mirrors scalars to wandb.

    wandb is `disabled` by default and never prompts for a login: `offline` writes a local
    run folder, `online` needs the user's own credentials.
    """

    def __init__(
        self,
        workdir: str | Path,
        *,
        config: dict | None = None,
        wandb_mode: str = "disabled",
        project: str = "spjax",
        name: str | None = None,
        keep_until: int | None = None,
    ):
        """`keep_until`: drop the rows of steps after it before appending (a resumed run
        starts again after its restored step, so each step is logged once)."""
        if wandb_mode not in WANDB_MODES:
            raise ValueError(f"wandb mode must be one of {WANDB_MODES}, got {wandb_mode!r}")
        self.path = Path(workdir) / "metrics.jsonl"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if keep_until is not None:
            truncate_after(self.path, keep_until)
        self._file = self.path.open("a", buffering=1)
        self._wandb = None
        if wandb_mode != "disabled":
            import wandb

            self._wandb = wandb.init(
                project=project, name=name, config=config, dir=str(Path(workdir)), mode=wandb_mode
            )

    def log(self, kind: str, step: int, **values: Any) -> None:
        record = {"kind": kind, "step": int(step), "time": round(time.time(), 3)}
        record.update(jsonio.to_jsonable(values, nonfinite_as_text=True))
        self._file.write(jsonio.dumps(record) + "\n")
        if self._wandb is not None:
            scalars = {
                f"{kind}/{k}": v
                for k, v in record.items()
                if k not in ("kind", "step", "time") and isinstance(v, (int, float))
            }
            self._wandb.log(scalars, step=int(step))

    def close(self) -> None:
        self._file.close()
        if self._wandb is not None:
            self._wandb.finish()


def truncate_after(path: str | Path, step: int) -> int:
    """Rewrite the metrics file `path` without its rows of steps after `step` (and without a
    line cut by a killed run); returns how many lines were dropped. Atomic: a crash leaves
    the old file or the new one."""
    path = Path(path)
    if not path.exists():
        return 0
    kept, dropped = [], 0
    for line in path.read_text().splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            dropped += bool(line.strip())
            continue
        if isinstance(row, dict) and int(row.get("step", 0)) > step:
            dropped += 1
        else:
            kept.append(line)
    if dropped:
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text("".join(line + "\n" for line in kept))
        os.replace(tmp, path)
    return dropped


def read_metrics(workdir: str | Path, kind: str | None = None) -> list[dict]:
    path = Path(workdir) / "metrics.jsonl"
    if not path.exists():
        return []
    rows = []
    for line in path.read_text().splitlines():
        if line.strip():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut by a killed run
            if kind is None or row.get("kind") == kind:
                rows.append(row)
    return rows


def progress(total: int, initial: int = 0, desc: str = "train"):
    """A tqdm bar with step rate and ETA; quiet when stderr is not a terminal (CI logs)."""
    from tqdm.auto import tqdm

    return tqdm(
        total=total,
        initial=initial,
        desc=desc,
        dynamic_ncols=True,
        mininterval=1.0 if sys.stderr.isatty() else 30.0,
    )
