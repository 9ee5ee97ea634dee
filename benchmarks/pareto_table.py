"""The privacy–utility table of `benchmarks/private_pareto.sh` runs, with the item-5 target check.

    .venv/bin/python benchmarks/pareto_table.py [benchmarks/results/pareto_seeing]

Reads NAME.{report,config,audit}.json and NAME.times of every design in the folder, prints a
markdown table per sampling rate and writes summary.json there. A design meets the target when
its worst fresh face attacker and its best scene re-identifier are both ≤ 2× chance and its
anomaly accuracy is within 5 points of the best privacy-free design (privacy.weight = 0, no
identity-null projection) at the same rate.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

MARGIN, UTILITY_POINTS = 2.0, 0.05


def design(folder: Path, name: str) -> dict:
    report = json.loads((folder / f"{name}.report.json").read_text())
    audit = json.loads((folder / f"{name}.audit.json").read_text())
    times = json.loads((folder / f"{name}.times").read_text())
    cfg = json.loads((folder / f"{name}.config.json").read_text())
    sensor, privacy = cfg.get("sensor", {}), cfg.get("privacy", {})
    face, scene = audit["worst_case"], audit["scene_reid"]["best"]
    u = report["utility"]
    return {
        "name": name,
        "rate": sensor.get("rate"),
        "k": audit["sensor"]["k"],
        "family": sensor.get("family"),
        "identity_null": sensor.get("identity_null", 0),
        "privacy": f"{privacy.get('term')} λ={privacy.get('weight')}",
        "privacy_free": not privacy.get("weight") and not sensor.get("identity_null", 0),
        "anomaly_accuracy": u["anomaly_accuracy"],
        "balanced_accuracy": u.get("anomaly_balanced_accuracy"),
        "count_mae": u["count_mae"],
        "face": {"attack": face["name"], "top1": face["top1"], "x_chance": face["ratio_to_chance"]},
        "face_leaks": audit["leaks"],
        "scene": {
            "attack": scene["name"],
            "top1": scene["top1"],
            "x_chance": scene["ratio_to_chance"],
        },
        "scene_leaks": audit["scene_reid"]["leak"]["leaks"],
        "train_s": times["train_s"],
        "audit_s": times["audit_s"],
    }


def figure(rows: list[dict], path: Path) -> None:
    """Anomaly accuracy against the worst face and scene attacker (× chance), one colour per
    rate; the shaded band is the target's ≤ 2× chance."""
    from spjax.plotting import pyplot, save_figure

    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    rates = sorted({r["rate"] for r in rows})
    colours = dict(zip(rates, ("tab:blue", "tab:orange", "tab:green", "tab:red")))
    for ax, key, title in zip(
        axes, ("face", "scene"), ("faces (chance 0.02)", "scene re-ID (chance 0.05)")
    ):
        for r in rows:
            ax.scatter(r[key]["x_chance"], r["anomaly_accuracy"], color=colours[r["rate"]])
            ax.annotate(r["name"], (r[key]["x_chance"], r["anomaly_accuracy"]), fontsize=7)
        ax.axvspan(0.8, MARGIN, color="0.9", zorder=0)
        ax.set_xscale("log")
        ax.set_xlim(0.8, 80)
        ax.set_xticks([1, 2, 5, 10, 20, 50], ["1", "2", "5", "10", "20", "50"])
        ax.minorticks_off()
        ax.set_xlabel(f"worst fresh attacker, × chance: {title}")
        ax.set_title(title)
    axes[0].set_ylabel("anomaly accuracy (1,000 test clips, from text)")
    for rate, c in colours.items():
        axes[1].scatter([], [], color=c, label=f"r = {rate:g}")
    axes[1].legend(loc="lower right")
    save_figure(fig, path)


def main(folder: Path) -> dict:
    names = sorted(p.name.split(".")[0] for p in folder.glob("*.audit.json"))
    rows = [design(folder, n) for n in names if (folder / f"{n}.times").exists()]
    by_rate: dict = {}
    for r in rows:
        by_rate.setdefault(r["rate"], []).append(r)
    for rate, group in sorted(by_rate.items()):
        free = [r["anomaly_accuracy"] for r in group if r["privacy_free"]]
        best_free = max(free) if free else None
        print(f"\nr = {rate:g} (best privacy-free anomaly accuracy: {best_free})\n")
        print(
            "| design | anomaly acc (bal.) | count MAE | worst face attacker | scene re-ID | target | train / audit s |"
        )
        print("|---|---|---|---|---|---|---|")
        for r in sorted(group, key=lambda r: -r["anomaly_accuracy"]):
            r["target_met"] = bool(
                best_free is not None
                and r["face"]["x_chance"] <= MARGIN
                and r["scene"]["x_chance"] <= MARGIN
                and r["anomaly_accuracy"] >= best_free - UTILITY_POINTS
            )
            bal = r["balanced_accuracy"]
            print(
                f"| {r['name']} | {r['anomaly_accuracy']:.3f} ({bal if bal is None else f'{bal:.3f}'}) "
                f"| {r['count_mae']:.3f} | {r['face']['attack']} {r['face']['top1']:.3f} = "
                f"{r['face']['x_chance']:.1f}× | {r['scene']['attack']} {r['scene']['top1']:.3f} = "
                f"{r['scene']['x_chance']:.1f}× | {'met' if r['target_met'] else 'no'} "
                f"| {r['train_s']} / {r['audit_s']} |"
            )
    figure(rows, folder / "pareto.png")
    summary = {
        "target": f"face and scene worst attacker <= {MARGIN}x chance, anomaly accuracy within "
        f"{UTILITY_POINTS} of the best privacy-free design at the same rate",
        "designs": rows,
    }
    (folder / "summary.json").write_text(json.dumps(summary, indent=1))
    return summary


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "benchmarks/results/pareto_seeing"))
