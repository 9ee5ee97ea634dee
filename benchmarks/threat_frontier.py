"""The privacy–utility frontier against the three threat models, from runs and sweep rows.

    .venv/bin/python benchmarks/threat_frontier.py --run default=runs/default \
        --run private_r01=runs/private_r01 --run private=runs/private \
        --sweep benchmarks/results/threat_frontier --sweep benchmarks/results/threat_frontier_photons \
        --out benchmarks/results/threat_frontier/frontier

For every trained run: anomaly accuracy and count MAE from generated text (report.json) and
its own quick T3 (room re-identification of unseen people, `privacy.t3_quick`), plus T1 and
T2 from its audit (`audit.json` beside the report, when one was run). For every sweep row
(`spjax bench patterns`, fixed designs, no training): T2 and T3 by rate and photon budget.
Writes FRONTIER.json and a figure: × chance of T1, T2 and T3 against anomaly accuracy for the
runs, and T2/T3 against the sampling rate for the sweep, with the T3 target drawn.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from spjax.plotting import pyplot, save_figure
from spjax.privacy.scene_reid import TARGET


def run_point(name: str, run: Path) -> dict:
    rep = json.loads((run / "report.json").read_text())
    u, t3 = rep["utility"], rep["privacy"].get("t3_quick") or {}
    point = {
        "name": name,
        "run": str(run),
        "sensor": f"{rep['sensor'].get('kind')} {rep['sensor'].get('family') or ''}".strip(),
        "rate": rep["sampling_rate"],
        "photons": rep["photons"],
        "anomaly_accuracy": u["anomaly_accuracy"],
        "anomaly_balanced_accuracy": u["anomaly_balanced_accuracy"],
        "count_mae": u["count_mae"],
        "t3_ratio": t3.get("ratio_to_chance"),
        "t3_ci95_ratio": t3.get("ci95_ratio_to_chance"),
        "t3_linkage_auc": t3.get("linkage_auc"),
        "t3_note": t3.get("note"),
    }
    audit = run / "audit.json"
    if audit.is_file():
        tm = json.loads(audit.read_text()).get("threat_models", {})
        if "T1" in tm:
            point["t1_ratio"], point["t1_at_chance"] = (
                tm["T1"]["ratio_to_chance"],
                tm["T1"]["at_chance"],
            )
        if "T2" in tm:
            point["t2_ratio"] = tm["T2"]["ratio_to_chance"]
        if "T3" in tm:
            point["audit_t3_ratio"] = tm["T3"]["ratio_to_chance"]
            point["audit_t3_linkage_auc"] = tm["T3"]["linkage_auc"]
    return point


def sweep_rows(folder: Path) -> list[dict]:
    rows = []
    for line in (folder / "results.jsonl").read_text().splitlines():
        r = json.loads(line)
        rows.append(
            {
                "family": r["family"],
                "rate": r["rate"],
                "photons": r["photons"],
                "t2_ratio": r["ratio_to_chance"],
                "t2_identities": r["identities"],
                "t3_ratio": r.get("scene_ratio"),
                "t3_ci95_ratio": r.get("scene_ci95_ratio"),
                "t3_linkage_auc": r.get("scene_linkage_auc"),
                "t3_attackers": r.get("scene_attackers"),
                "t1_ratio": r.get("t1_ratio"),
            }
        )
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", action="append", default=[], help="NAME=RUN_DIR (repeatable)")
    ap.add_argument("--sweep", action="append", default=[], help="a bench patterns folder")
    ap.add_argument("--out", required=True, help="output stem (STEM.json, STEM.png)")
    args = ap.parse_args()
    points = []
    for spec in args.run:
        name, _, path = spec.partition("=")
        if not path:
            raise SystemExit(f"--run: expected NAME=RUN_DIR, got {spec!r}")
        points.append(run_point(name, Path(path)))
    rows = [r for folder in args.sweep for r in sweep_rows(Path(folder))]
    out = {
        "target": {"t3": TARGET, "anomaly_accuracy": 0.90, "count_mae": 0.40},
        "runs": points,
        "sweep": rows,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out + ".json").write_text(json.dumps(out, indent=1))

    plt = pyplot()
    fig, (a, b) = plt.subplots(1, 2, figsize=(12, 4.5))
    for p in points:
        x = p["anomaly_accuracy"]
        if p.get("t3_ratio") is not None:
            lo, hi = p["t3_ci95_ratio"]
            a.errorbar(
                x,
                p["t3_ratio"],
                yerr=[[p["t3_ratio"] - lo], [hi - p["t3_ratio"]]],
                fmt="o",
                color="tab:red",
                label="T3 room re-ID (quick)" if p is points[0] else None,
            )
        for key, colour, label in (
            ("t2_ratio", "tab:blue", "T2 close-up faces"),
            ("t1_ratio", "tab:green", "T1 recognizer / reconstruction"),
        ):
            if p.get(key) is not None:
                a.plot(x, p[key], "s" if key == "t2_ratio" else "^", color=colour, label=label)
        a.annotate(
            f"{p['name']} (r={100 * p['rate']:.2g} %)",
            (x, p.get("t3_ratio") or 1),
            fontsize=7,
            textcoords="offset points",
            xytext=(4, 4),
        )
    a.axhline(TARGET["top1_ratio"], color="tab:red", ls=":", lw=1, label="T3 target (1.5× chance)")
    a.axhline(1.0, color="k", ls="--", lw=1, label="chance")
    a.axvline(0.90, color="gray", ls=":", lw=1, label="utility target (0.90)")
    a.set_yscale("log")
    a.set_xlabel("anomaly accuracy (generated text, test split)")
    a.set_ylabel("attacker top-1 ÷ chance")
    a.set_title("trained SP-VLMs: utility against T1/T2/T3", fontsize=9)
    handles, labels = a.get_legend_handles_labels()
    uniq = dict(zip(labels, handles))
    a.legend(uniq.values(), uniq.keys(), fontsize=7)
    for photons in sorted({r["photons"] for r in rows}, key=lambda v: -(v or 0)):
        sel = sorted((r for r in rows if r["photons"] == photons), key=lambda r: r["rate"])
        rates = [100 * r["rate"] for r in sel]
        b.plot(rates, [r["t3_ratio"] for r in sel], "o-", label=f"T3, {photons:g} photons")
        n2 = sel[0]["t2_identities"]
        b.plot(
            rates,
            [r["t2_ratio"] for r in sel],
            "s--",
            label=f"T2 ({n2} faces), {photons:g} photons",
        )
    b.axhline(TARGET["top1_ratio"], color="tab:red", ls=":", lw=1, label="T3 target")
    b.axhline(1.0, color="k", ls="--", lw=1)
    b.set_xscale("log")
    b.set_yscale("log")
    b.set_xlabel("sampling rate r (%)  — fixed 2-D low-frequency Hadamard, 64×64")
    b.set_ylabel("attacker top-1 ÷ chance")
    b.set_title("fixed designs (no training): T2 and T3 by rate and photon budget", fontsize=9)
    b.legend(fontsize=7)
    save_figure(fig, args.out + ".png")
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
