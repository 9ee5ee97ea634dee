"""What the sweep concludes: critical sampling rates per design and budget, the privacy–utility
target check, and the JSON/CSV/table outputs."""

from __future__ import annotations

import csv
import json
import os

from spjax.bench.figures import sweep_figures
from spjax.bench.grid import LEARNED_DESIGNS, UTILITY_REFERENCE, budget_label
from spjax.jsonio import to_jsonable
from spjax.privacy.leakage import MARGIN, MARGIN_RTOL, RULE, critical_sampling_rate


def target_check(rows: list[dict], *, margin: float = MARGIN, max_gap: float = 0.05) -> list[dict]:
    """Per privacy-trained learned design, rate and photon budget: does it keep the worst
    fresh attacker within `margin` x chance (on faces and, where measured, on scene
    re-identification) while its anomaly accuracy stays within `max_gap` of `learned:utility`
    at the same rate and budget?"""
    out = []
    by = {(r["family"], r["rate"], r["photons"]): r for r in rows if r.get("utility")}
    for (fam, rate, ph), adv in sorted(
        by.items(), key=lambda kv: (kv[0][1], str(kv[0][2]), kv[0][0])
    ):
        if (
            fam not in LEARNED_DESIGNS
            or fam == UTILITY_REFERENCE
            or (UTILITY_REFERENCE, rate, ph) not in by
        ):
            continue
        ref = by[(UTILITY_REFERENCE, rate, ph)]
        a, b = adv["utility"].get("anomaly_accuracy"), ref["utility"].get("anomaly_accuracy")
        gap = None if a is None or b is None else b - a
        # At most margin x chance, with the leak rule's float tolerance.
        private = adv["worst_top1"] <= margin * adv["chance"] * (1 + MARGIN_RTOL)
        entry = {
            "design": fam,
            "rate": rate,
            "photons": ph,
            "worst_top1": adv["worst_top1"],
            "chance": adv["chance"],
            "within_margin": bool(private),
        }
        if adv.get("scene_top1") is not None:
            scene_private = adv["scene_top1"] <= margin * adv["scene_chance"] * (1 + MARGIN_RTOL)
            entry.update(
                {
                    "scene_top1": adv["scene_top1"],
                    "scene_chance": adv["scene_chance"],
                    "scene_within_margin": bool(scene_private),
                }
            )
            private = private and scene_private
        entry.update(
            {
                "anomaly_accuracy": a,
                "utility_only_anomaly_accuracy": b,
                "anomaly_gap": gap,
                "utility_kept": gap is not None and gap <= max_gap,
                "met": bool(private and gap is not None and gap <= max_gap),
            }
        )
        out.append(entry)
    return out


def critical_rates(rows: list[dict], *, task: str = "faces") -> dict:
    """Critical sampling rate per family and photon budget under `leakage.RULE`, for face
    identification (`task="faces"`, the rows' `leak`) or scene re-identification
    (`task="scenes"`, `scene_leak`; rows without it are left out)."""
    field = {"faces": "leak", "scenes": "scene_leak"}.get(task)
    if field is None:
        raise ValueError(f"task: expected 'faces' or 'scenes', got {task!r}")
    rows = [r for r in rows if r.get(field)]
    out = {}
    for fam in sorted({r["family"] for r in rows}):
        for ph in sorted(
            {r["photons"] for r in rows if r["family"] == fam}, key=lambda p: -1 if p is None else p
        ):
            by_rate = {
                r["rate"]: {
                    "leak": r[field],
                    "worst": r["worst"] if task == "faces" else r["scene_worst"],
                    "worst_top1": r["worst_top1"] if task == "faces" else r["scene_top1"],
                }
                for r in rows
                if r["family"] == fam and r["photons"] == ph
            }
            crit = critical_sampling_rate(by_rate)
            out[f"{fam}|photons={budget_label(ph)}"] = {
                "family": fam,
                "photons": ph,
                "critical_rate": crit["rate"],
                "monotone": crit["monotone"],
                "per_rate": crit["per_rate"],
            }
    return out


CSV_COLUMNS = [
    "family",
    "label",
    "rate",
    "k",
    "photons",
    "chance",
    "worst",
    "worst_top1",
    "worst_top1_std",
    "ratio_to_chance",
    "lower_bound",
    "leak_evidence",
    "leaks",
    "scene_chance",
    "scene_worst",
    "scene_top1",
    "scene_ratio",
    "scene_baseline_top1",
    "scene_lower_bound",
    "scene_leaks",
    "scene_linkage_auc",
    "scene_target_met",
    "t1_worst",
    "t1_ratio",
    "t1_at_chance",
    "identity_offset",
    "anomaly_accuracy",
    "anomaly_auroc",
    "count_mae",
    "rouge_l",
    "training_adversary_top1",
    "seconds",
]


def write_outputs(
    rows: list[dict], out_dir: str, *, calibration: dict | None = None, quick: bool = False
) -> dict:
    summary = {
        "leak_rule": RULE,
        "margin": MARGIN,
        "calibration": calibration,
        "smoke_test": bool(quick),
        "rows": rows,
        "critical_rates": critical_rates(rows) if rows else {},
        "scene_critical_rates": critical_rates(rows, task="scenes") if rows else {},
        "target": target_check(rows),
    }
    with open(os.path.join(out_dir, "results.json"), "w") as f:
        json.dump(to_jsonable(summary), f, indent=1)
    with open(os.path.join(out_dir, "results.csv"), "w", newline="") as f:
        wr = csv.writer(f)
        wr.writerow(CSV_COLUMNS)
        for r in rows:
            u = r.get("utility") or {}
            wr.writerow(
                [
                    u.get(c)
                    if c in ("anomaly_accuracy", "anomaly_auroc", "count_mae", "rouge_l")
                    else r.get(c, 0 if c == "identity_offset" else None)
                    for c in CSV_COLUMNS
                ]
            )
    if rows:
        summary["figures"] = sweep_figures(
            rows, summary["critical_rates"], summary["scene_critical_rates"], out_dir
        )
    return summary


def format_table(summary: dict) -> str:
    """The sweep as a plain-text table (one line per cell) plus the critical rates."""
    lines = []
    if summary.get("smoke_test"):
        lines.append("SMOKE TEST (--quick): few faces and clips, light attackers")
    cal = summary.get("calibration")
    if cal:
        lines.append(
            f"calibration: ceiling {cal['ceiling']:.3f} ({cal['ceiling_attack']}), "
            f"full-rate reference {cal['reference_top1']:.3f} ({cal['reference_attack']}), "
            f"attacker_strength {cal['attacker_strength']:.3f} "
            f"({'calibrated' if cal['calibrated'] else 'NOT calibrated'}, target "
            f"{cal['target']})"
        )
    lines.append(f"leak rule: {summary['leak_rule']} (margin {summary['margin']:g})")
    lines.append(
        f"{'family':<24}{'rate':>7}{'photons':>9}  {'worst face attack':<18}{'top1':>6}"
        f"{'xch':>6}{'bound':>7} {'leak':<5}| {'scene':<12}{'top1':>6}{'xch':>6}"
        f"{'bound':>7} {'leak':<5}"
    )
    for r in sorted(summary["rows"], key=lambda r: (r["family"], str(r["photons"]), r["rate"])):
        scene = (
            f"{r['scene_worst']:<12}{r['scene_top1']:>6.3f}{r['scene_ratio']:>6.1f}"
            f"{r['scene_lower_bound']:>7.3f} {'LEAK' if r['scene_leaks'] else '-':<5}"
            if r.get("scene_top1") is not None
            else "-"
        )
        lines.append(
            f"{r['family']:<24}{100 * r['rate']:>6.3g}%{budget_label(r['photons']):>9}  "
            f"{r['worst']:<18}{r['worst_top1']:>6.3f}{r['ratio_to_chance']:>6.1f}"
            f"{r['lower_bound']:>7.3f} {'LEAK' if r['leaks'] else '-':<5}| {scene}"
        )
    for title, crit in (
        ("faces", summary["critical_rates"]),
        ("scene re-ID", summary.get("scene_critical_rates", {})),
    ):
        for key, c in crit.items():
            r = c["critical_rate"]
            lines.append(
                f"critical rate ({title}) {key:<40} "
                f"{'none (never leaks)' if r is None else f'{100 * r:g} %'}"
                f"{'' if c['monotone'] else ' (non-monotone)'}"
            )
    return "\n".join(lines)
