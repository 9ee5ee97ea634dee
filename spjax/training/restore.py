"""Load a trained SP-VLM run: its config and its newest checkpoint, for evaluation
(`spjax evaluate`: `evaluate_run`, a trained run on another world without retraining) and
deployment (`spjax ask`). The one place that turns a run directory back into a model."""

from __future__ import annotations

import json
from pathlib import Path

from spjax.cliargs import key_values
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


# `--set` keys an evaluation may change: the world (data.*) and the detector's noise; the
# sensor's patterns, the frame size and the clip length are the trained run's.
EVAL_KEYS_FIXED = ("data.size", "data.frames", "data.source", "data.max_people")


def evaluate_run(
    run_dir: str | Path,
    overrides=(),
    *,
    split: str = "test",
    wordings=None,
    wording_clips: int | None = None,
) -> dict:
    """Evaluate a trained run on the world its config describes after `overrides`
    (`data.KEY=VALUE`, `sensor.photons|dark|read_std|adc_bits=VALUE`, decoding settings
    `eval.KEY=VALUE`) → the report's utility schema. `wordings` (a JSON file of question
    wordings, `evaluate.load_wordings`) adds `wordings`: count, anomaly and activity accuracy
    with the questions in those words beside the grammar's, on the first `wording_clips`
    clips (`evaluate.wording_utility`)."""
    from spjax.training.config import flatten
    from spjax.training.evaluate import evaluate, load_wordings, utility_section, wording_utility

    cfg = run_config(run_dir)
    allowed_sensor = ("sensor.photons", "sensor.dark", "sensor.read_std", "sensor.adc_bits")
    for key, _ in key_values(overrides):
        if key in EVAL_KEYS_FIXED:
            raise ValueError(
                f"--set {key}: the trained sensor and encoder fix it "
                f"({key}={flatten(cfg)[key]}); evaluate on a world of that shape"
            )
        if not (key.startswith(("data.", "eval.")) or key in allowed_sensor):
            raise ValueError(
                f"--set {key}: only data.* and eval.* keys and "
                f"{', '.join(allowed_sensor)} can change at evaluation"
            )
    phrased = None if wordings is None else load_wordings(wordings)
    trainer, meta = restore_run(run_dir, overrides)
    result = evaluate(trainer, split)
    sensor = trainer.model().sensor
    extra = {}
    if phrased is not None:
        extra["wordings"] = {
            "source": str(wordings),
            **wording_utility(trainer, split, phrased, clips=wording_clips),
        }
    return {
        "run": str(run_dir),
        "step": int(meta["step"]),
        "overrides": list(overrides),
        "split": split,
        "sampling_rate": sensor.sampling_rate,
        "K": sensor.k,
        "H": sensor.h,
        "W": sensor.w,
        "split_pairs": sensor.split,
        "utility": utility_section(result, split),
        "samples": result["samples"][:16],
        **extra,
    }
