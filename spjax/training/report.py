"""Finish an SP-VLM run: evaluate, save the hard sensor, write report.json and figures."""

from __future__ import annotations

import json
import time
from pathlib import Path

import jax
import numpy as np

from spjax import __version__
from spjax.training.config import ConfigDict


def run_spvlm(cfg: ConfigDict, workdir: str | Path, *, resume: bool = False) -> dict:
    from spjax.sensing import save_sensor
    from spjax.training.figures import write_figures
    from spjax.training.trainer import SPVLMTrainer

    t0 = time.time()
    workdir = Path(workdir)
    trainer = SPVLMTrainer(cfg, workdir, resume=resume)
    setup_seconds = time.time() - t0
    final = trainer.train()
    if jax.process_index() != 0:
        return {"summary": f"process {jax.process_index()} finished training"}
    t_eval = time.time()
    test = trainer.evaluate("test")
    adversary = trainer.training_adversary_accuracy()
    sensor = trainer.model().sensor
    save_sensor(sensor, workdir)
    d = sensor.describe()
    u = test["utility"]
    report = {
        "spjax_version": __version__,
        "recipe_task": cfg.task,
        "sampling_rate": sensor.sampling_rate, "K": sensor.k, "H": sensor.h, "W": sensor.w,
        "split": sensor.split, "physical_frames": sensor.physical_frames,
        "photons": cfg.sensor.photons if cfg.sensor.photons > 0 else None,
        "sensor": d,
        "decoder": trainer.decoder_info,
        "utility": {
            "split": "test",
            "anomaly_accuracy": u.get("anomaly", {}).get("accuracy"),
            "anomaly_balanced_accuracy": u.get("anomaly", {}).get("balanced_accuracy"),
            "anomaly_auroc": u.get("anomaly", {}).get("auroc"),
            "count_mae": u.get("count", {}).get("mae"),
            "count_exact_accuracy": u.get("count", {}).get("exact_accuracy"),
            "activity_accuracy": u.get("activity", {}).get("accuracy"),
            "rouge_l": u.get("describe", {}).get("rouge_l"),
            "bleu4": u.get("describe", {}).get("bleu4"),
            "unparseable": u.get("unparseable"),
            "details": u,
        },
        "privacy": {
            "note": "TRAINING adversary on held-out test faces — NOT the privacy audit; run "
                    "`spjax privacy-audit --run DIR` for fresh attackers",
            "training_adversary": adversary,
            "chance": adversary["chance"],
            "privacy_weight": cfg.privacy.weight, "term": cfg.privacy.term,
            # ids 0 … n−1 trained against; the audit uses identities after them
            "training_identities": trainer.n_identities,
        },
        "final_train_metrics": final,
        "samples": test["samples"],
        "timing_s": {"setup": round(setup_seconds, 1), "train": round(trainer.train_seconds, 1),
                     "evaluate": round(time.time() - t_eval, 1),
                     "total": round(time.time() - t0, 1)},
        "devices": [str(x) for x in jax.devices()],
    }
    figures = write_figures(workdir, sensor, report)
    report["figures"] = [str(p) for p in figures]
    (workdir / "report.json").write_text(json.dumps(report, indent=2, default=_plain))
    report["summary"] = summary(report, workdir)
    return report


def _plain(x):
    if isinstance(x, (np.generic,)):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    return str(x)


def _fmt(x, spec=".3f"):
    return "n/a" if x is None else format(x, spec)


def summary(report: dict, workdir: Path) -> str:
    u, p = report["utility"], report["privacy"]
    lines = [
        f"SP-VLM run finished in {report['timing_s']['total']:.0f} s — r = {report['sampling_rate']:.4f} "
        f"(K = {report['K']} of {report['H']}×{report['W']}, split = {report['split']})",
        f"  test utility: anomaly accuracy {_fmt(u['anomaly_accuracy'])}, count MAE {_fmt(u['count_mae'])}, "
        f"activity accuracy {_fmt(u['activity_accuracy'])}, ROUGE-L {_fmt(u['rouge_l'])}",
        f"  training adversary (not the audit): top-1 {_fmt(p['training_adversary']['worst_case_top1'])} "
        f"vs chance {_fmt(p['chance'])}",
        f"  report: {workdir / 'report.json'}",
        f"  figures: {workdir / 'figures'}",
        f"  audit it: spjax privacy-audit --run {workdir} --out {workdir / 'audit.json'}",
    ]
    return "\n".join(lines)
