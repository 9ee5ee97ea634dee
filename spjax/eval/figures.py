"""Figures of the audit and the benchmark (matplotlib, Agg backend, files only)."""

from __future__ import annotations

import os

import numpy as np


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _ensure_dir(path):
    d = os.path.dirname(os.fspath(path))
    if d:
        os.makedirs(d, exist_ok=True)


def audit_figure(report: dict, path, *, examples: dict | None = None) -> str:
    """One page: attackers' top-1 (mean ± std) with chance and the leakage margin, open-set
    TAR, reconstructions of a few test faces, and a text panel with the key numbers."""
    plt = _plt()
    fig = plt.figure(figsize=(8.27, 11.0))  # A4 portrait
    gs = fig.add_gridspec(4, 2, height_ratios=[1.1, 1.0, 1.1, 0.9])
    s = report["sensor"]
    fig.suptitle(f"Privacy audit: {s.get('family') or s.get('kind')}  r = {s['sampling_rate']:.4g}"
                 f"  (K = {s['k']}, {s['h']}×{s['w']}, split = {s['split']})", fontsize=11)
    chance = report["chance"]["top1"]

    ax = fig.add_subplot(gs[0, :])
    names = list(report["attackers"])
    means = [report["attackers"][n]["top1"]["mean"] for n in names]
    stds = [report["attackers"][n]["top1"]["std"] for n in names]
    rec = report.get("reconstruction", {}).get("methods", {})
    names += [f"recon:{k}" for k in rec]
    means += [v["top1"] for v in rec.values()]
    stds += [0.0] * len(rec)
    worst = report["worst_case"]["name"].replace("reconstruction:", "recon:")
    colors = ["tab:red" if n == worst else "tab:blue" for n in names]
    ax.bar(range(len(names)), means, yerr=stds, color=colors, capsize=3)
    ax.axhline(chance, color="k", ls="--", lw=1, label=f"chance {chance:.3f}")
    ax.axhline(2 * chance, color="gray", ls=":", lw=1, label="2× chance")
    ax.set_xticks(range(len(names)), names, rotation=20, fontsize=8)
    ax.set_ylabel("closed-set top-1 (test)")
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=8)
    ax.set_title("fresh attackers (mean ± std over seeds) and reconstruction attack", fontsize=9)

    ax = fig.add_subplot(gs[1, 0])
    att = report["attackers"]
    x = np.arange(len(att))
    for j, far in enumerate(("0.01", "0.001")):
        vals = [att[n].get(f"tar@far={far}", {}).get("mean", np.nan) for n in att]
        ax.bar(x + 0.4 * j - 0.2, np.nan_to_num(vals), width=0.4, label=f"FAR={far}")
    ax.set_xticks(x, list(att), rotation=20, fontsize=8)
    ax.set_ylim(0, 1.02)
    ax.set_ylabel("TAR (held-out identities)")
    ax.legend(fontsize=8)
    ax.set_title("open-set verification", fontsize=9)

    ax = fig.add_subplot(gs[1, 1])
    if rec:
        ks = list(rec)
        ax.bar(ks, [rec[k]["psnr"] for k in ks], color="tab:green")
        ax.set_ylabel("PSNR (dB)")
        for i, k in enumerate(ks):
            ax.text(i, rec[k]["psnr"], f"SSIM {rec[k]['ssim']:.2f}", ha="center", va="bottom", fontsize=7)
        ax.set_title("reconstruction quality (test faces)", fontsize=9)
    else:
        ax.axis("off")

    if examples:
        rows = list(examples)
        n = len(examples[rows[0]])
        sub = gs[2, :].subgridspec(len(rows), n, wspace=0.05, hspace=0.05)
        for i, r in enumerate(rows):
            for j in range(n):
                a = fig.add_subplot(sub[i, j])
                a.imshow(np.asarray(examples[r][j]), cmap="gray", vmin=0, vmax=1)
                a.set_xticks([])
                a.set_yticks([])
                if j == 0:
                    a.set_ylabel(r, fontsize=7)

    ax = fig.add_subplot(gs[3, :])
    ax.axis("off")
    w = report["worst_case"]
    lines = [f"worst case: {w['name']}  top-1 {w['top1']:.3f} ± {w['top1_std']:.3f}  "
             f"= {w['ratio_to_chance']:.2f}× chance  (p = {w['p_value']:.2g})  "
             f"→ {'LEAKS' if report.get('leaks') else 'within 2× chance or not significant'}",
             f"setup: {report['setup']['identities']} identities × {report['setup']['per_identity']}"
             f" faces, seeds {report['setup']['seeds']}, quick={report['setup']['quick']}"]
    r = report.get("recognizer", {})
    if "sensed" in r:
        lines.append(f"dlib ResNet on real photos ({r['n_gallery']} identities): rank-1 sensed "
                     f"{r['sensed']['rank1']:.2f}, clean at sensor resolution "
                     f"{r['clean_sensor_res']['rank1']:.2f}, chance {r['chance_rank1']:.2f}; "
                     f"TAR@0.6 {r['sensed']['tar@0.6']:.2f}")
    elif r:
        lines.append(f"dlib recognizer skipped: {r.get('skipped')}")
    if "training_adversary" in report:
        lines.append("training adversary (NOT the audit): "
                     + str(report["training_adversary"])[:120])
    ax.text(0, 1, "\n".join(lines), va="top", fontsize=8, family="monospace", wrap=True)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    _ensure_dir(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return os.fspath(path)
