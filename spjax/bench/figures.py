"""The sweep's figures: worst attacker vs sampling rate (critical rates marked, scene
re-identification below) and the privacy–utility Pareto."""

from __future__ import annotations

import os

from spjax.bench.grid import budget_label
from spjax.privacy.leakage import MARGIN


def sweep_figures(rows, crit, scene_crit, out_dir) -> list[str]:
    from spjax.plotting import pyplot, save_figure

    plt = pyplot()
    paths = []
    budgets = sorted({r["photons"] for r in rows}, key=lambda p: -1 if p is None else p)
    panels = [
        (
            "faces",
            "worst_top1",
            "worst_top1_std",
            "chance",
            crit,
            "face identification: worst fresh attacker top-1",
        )
    ]
    if any(r.get("scene_top1") is not None for r in rows):
        panels.append(
            (
                "scenes",
                "scene_top1",
                None,
                "scene_chance",
                scene_crit,
                "scene re-identification: best fresh attacker top-1",
            )
        )
    fig, axes = plt.subplots(
        len(panels), len(budgets), figsize=(5.5 * len(budgets), 4.2 * len(panels)), squeeze=False
    )
    for row_axes, (task, key, err, chance_key, critical, ylabel) in zip(axes, panels):
        for ax, ph in zip(row_axes, budgets):
            chance = None
            for fam in sorted({r["family"] for r in rows}):
                sel = sorted(
                    (
                        r
                        for r in rows
                        if r["family"] == fam and r["photons"] == ph and r.get(key) is not None
                    ),
                    key=lambda r: r["rate"],
                )
                if not sel:
                    continue
                x = [100 * r["rate"] for r in sel]
                line = ax.errorbar(
                    x,
                    [r[key] for r in sel],
                    yerr=[r[err] for r in sel] if err else None,
                    marker="o",
                    ms=3,
                    capsize=2,
                    label=sel[0].get("label", fam),
                )
                c = critical.get(f"{fam}|photons={budget_label(ph)}", {})
                if c.get("critical_rate") is not None:
                    ax.axvline(100 * c["critical_rate"], color=line[0].get_color(), ls=":", lw=1)
                chance = sel[0][chance_key]
            if chance is not None:
                ax.axhline(chance, color="k", ls="--", lw=1, label="chance")
                ax.axhline(
                    MARGIN * chance, color="gray", ls="-.", lw=1, label=f"{MARGIN:g}× chance"
                )
            ax.set_xscale("log")
            ax.set_xlabel("sampling rate (%)")
            ax.set_ylabel(ylabel, fontsize=8)
            ax.set_ylim(0, 1.02)
            ax.set_title(
                f"{task}; photons = {'∞ (noiseless)' if ph is None else f'{ph:g}'}; "
                "dotted = critical rate (pooled binomial bound)",
                fontsize=8,
            )
            ax.legend(fontsize=6)
    paths.append(save_figure(fig, os.path.join(out_dir, "leakage_vs_rate.png")))
    with_u = [r for r in rows if r.get("utility")]
    if with_u:
        fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
        for ax, key in zip(axes, ("anomaly_accuracy", "count_mae", "rouge_l")):
            for fam in sorted({r["family"] for r in with_u}):
                sel = sorted(
                    (r for r in with_u if r["family"] == fam and r["utility"].get(key) is not None),
                    key=lambda r: (str(r["photons"]), r["rate"]),
                )
                ax.scatter(
                    [r["utility"][key] for r in sel],
                    [r["worst_top1"] for r in sel],
                    label=sel[0].get("label", fam) if sel else fam,
                    s=18,
                    marker="*" if fam.startswith("learned") else "o",
                )
                for r in sel:
                    ax.annotate(
                        f"{100 * r['rate']:g}%",
                        (r["utility"][key], r["worst_top1"]),
                        fontsize=6,
                        xytext=(3, 2),
                        textcoords="offset points",
                    )
            chance = with_u[0]["chance"]
            ax.axhline(chance, color="k", ls="--", lw=1, label="chance")
            ax.axhline(MARGIN * chance, color="gray", ls="-.", lw=1, label=f"{MARGIN:g}× chance")
            ax.set_xlabel(key.replace("_", " ") + " (test split, parsed answers)")
            ax.set_ylabel("worst fresh attacker top-1")
            ax.set_ylim(0, 1.02)
            ax.legend(fontsize=7)
        fig.suptitle(
            "privacy–utility: lower is more private; right is more useful (left for count MAE)",
            fontsize=10,
        )
        paths.append(save_figure(fig, os.path.join(out_dir, "pareto.png")))
    return paths
