"""Finish an SP-VLM run: evaluate, save the hard sensor, write report.json and figures."""

from __future__ import annotations

import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from spjax import __version__, jsonio
from spjax.data.text import QTYPES
from spjax.training import keys
from spjax.training.config import ConfigDict


def run_spvlm(cfg: ConfigDict, workdir: str | Path, *, resume: bool = False) -> dict:
    from spjax.sensing import save_sensor
    from spjax.training.compilation import compile_seconds, watch_compiles
    from spjax.training.evaluate import evaluate, utility_section
    from spjax.training.figures import write_figures
    from spjax.training.trainer import SPVLMTrainer

    watch_compiles()
    t0 = time.time()
    workdir = Path(workdir)
    trainer = SPVLMTrainer(cfg, workdir, resume=resume)
    setup_seconds = time.time() - t0
    t_train = time.time()
    final = trainer.train()
    if jax.process_index() != 0:
        return {"summary": f"process {jax.process_index()} finished training"}
    t_eval = time.time()
    test = evaluate(trainer, "test")
    adversary = training_adversary_accuracy(trainer)
    sensor = trainer.model().sensor
    save_sensor(sensor, workdir)
    t_t3 = time.time()
    t3 = quick_t3(cfg, sensor, trainer.n_identities)
    t3_seconds = time.time() - t_t3
    d = sensor.describe()
    report = {
        "spjax_version": __version__,
        "recipe_task": cfg.task,
        "sampling_rate": sensor.sampling_rate,
        "K": sensor.k,
        "H": sensor.h,
        "W": sensor.w,
        "split": sensor.split,
        "physical_frames": sensor.physical_frames,
        "photons": cfg.sensor.photons if cfg.sensor.photons > 0 else None,
        "sensor": d,
        "decoder": trainer.decoder_info,
        "utility": utility_section(test, "test"),
        "privacy": {
            "note": "TRAINING adversary on held-out test faces — NOT the privacy audit; run "
            "`spjax privacy-audit --run DIR` for fresh attackers",
            "training_adversary": adversary,
            "chance": adversary["chance"],
            "privacy_weight": cfg.privacy.weight,
            "term": cfg.privacy.term,
            # ids 0 … n−1 trained against; the audit uses identities after them
            "training_identities": trainer.n_identities,
            "channel": cfg.privacy.get("channel", "faces"),
        },
        "final_train_metrics": final,
        "samples": pick_samples(test["samples"], cfg.eval.samples_to_log),
        "timing_s": {
            "setup": round(setup_seconds, 1),
            "train": round(trainer.train_seconds, 1),
            "evaluate": round(time.time() - t_eval - t3_seconds, 1),
            "t3_quick": round(t3_seconds, 1),
            "total": round(time.time() - t0, 1),
            # tracing + XLA compilation (or its load from the cache) within each stage
            "compile": {
                "setup": round(compile_seconds(t0, t_train), 1),
                "train": round(compile_seconds(t_train, t_eval), 1),
                "evaluate": round(compile_seconds(t_eval), 1),
            },
            # the loop's wait for the next batch: an upper bound on the device's input wait
            "input_wait": round(trainer.loop_stats["input_wait_s"], 1),
        },
        "devices": [str(x) for x in jax.devices()],
    }
    if t3 is not None:
        report["privacy"]["t3_quick"] = t3
    figures = write_figures(workdir, trainer, report)
    report["figures"] = [str(p) for p in figures]
    (workdir / "report.json").write_text(jsonio.dumps(report, indent=2))
    report["summary"] = summary(report, workdir)
    return report


def pick_samples(samples: list[dict], per_kind: int) -> list[dict]:
    """Up to `per_kind` answers per question type answered right and as many answered wrong
    (describe answers have no right/wrong: the first ones), in split order."""
    out = []
    for qtype in QTYPES:
        rows = [s for s in samples if s["qtype"] == qtype]
        if qtype == "describe":
            out += rows[:per_kind]
            continue
        out += [s for s in rows if s["correct"]][:per_kind]
        out += [s for s in rows if not s["correct"]][:per_kind]
    return out


def quick_t3(cfg: ConfigDict, sensor, training_identities: int) -> dict | None:
    """The run's own quick T3 audit (`eval.t3_quick`): fresh attackers re-identify people it
    never trained on (ids after its training identities) in its world's room stream, through
    its frozen sensor. Smoke-test sizes; `spjax privacy-audit --run DIR` is the audit."""
    if not cfg.eval.get("t3_quick", False) or cfg.data.source != "synthetic":
        return None
    from spjax.privacy.audit import t3_summary
    from spjax.privacy.scene_reid import scene_reid

    sc = scene_reid(
        sensor,
        quick=True,
        frames=cfg.data.frames,
        world_seed=cfg.data.world_seed,
        identity_offset=training_identities,
    )
    return {
        **t3_summary(sc),
        "note": "quick T3 audit of this run's own frozen sensor (fresh attackers, people it "
        "never trained on, smoke-test sizes); `spjax privacy-audit --run DIR` is the audit",
        "attackers": {k: round(v["top1"], 4) for k, v in sc["attackers"].items()},
    }


def training_adversary_accuracy(trainer) -> dict:
    """The *training* adversaries on held-out test faces (not the privacy audit)."""
    bundle = trainer.bundle()
    faces = trainer.faces["test"]
    key = jax.random.fold_in(trainer.base_key, keys.ADVERSARY_FACES)
    y = _measure(bundle.spvlm.sensor, jnp.asarray(faces.image), key)
    logits = np.asarray(_adversary_logits(bundle.adversaries, y))
    accs = (logits.argmax(-1) == faces.identity[None]).mean(-1)
    return {
        "members": [float(a) for a in accs],
        "worst_case_top1": float(accs.max()),
        "chance": 1.0 / trainer.n_identities,
    }


@nnx.jit
def _measure(sensor, frames, key):
    return sensor(frames, key=key, check=False)


@nnx.jit
def _adversary_logits(adversaries, y):
    return adversaries(y)


def _fmt(x, spec=".3f"):
    return "n/a" if x is None else format(x, spec)


def summary(report: dict, workdir: Path) -> str:
    u, p = report["utility"], report["privacy"]
    h = u["label_heads"]
    lines = [
        f"SP-VLM run finished in {report['timing_s']['total']:.0f} s — r = {report['sampling_rate']:.4f} "
        f"(K = {report['K']} of {report['H']}×{report['W']}, split = {report['split']})",
        f"  test utility (generated text): anomaly accuracy {_fmt(u['anomaly_accuracy'])} "
        f"(balanced {_fmt(u['anomaly_balanced_accuracy'])}), count MAE {_fmt(u['count_mae'])}, "
        f"activity accuracy {_fmt(u['activity_accuracy'])}, ROUGE-L {_fmt(u['rouge_l'])}, "
        f"caption content F1 {_fmt(u.get('caption_content_f1'))}",
        f"  label heads on the same prefix (supervised ceiling): anomaly accuracy "
        f"{_fmt(h['anomaly_accuracy'])}, count MAE {_fmt(h['count_mae'])}",
        f"  training adversary (not the audit): top-1 {_fmt(p['training_adversary']['worst_case_top1'])} "
        f"vs chance {_fmt(p['chance'])}",
    ]
    t3 = p.get("t3_quick")
    if t3:
        lines.append(
            f"  quick T3 (room re-ID of {t3['identities']} unseen people): {t3['worst']} "
            f"{t3['top1']:.3f} = {t3['ratio_to_chance']:.2f}x chance, linkage AUC "
            f"{_fmt(t3['linkage_auc'])}"
        )
    lines += [
        f"  report: {workdir / 'report.json'}",
        f"  figures: {workdir / 'figures'}",
        f"  audit it: spjax privacy-audit --run {workdir} --out {workdir / 'audit.json'}",
    ]
    return "\n".join(lines)
