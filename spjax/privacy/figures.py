"""Figures of the audit and the benchmark (matplotlib, Agg backend, files only)."""

from __future__ import annotations

import numpy as np

from spjax.plotting import pyplot, save_figure


def audit_figure(report: dict, path, *, examples: dict | None = None) -> str:
    """One page: attackers' top-1 (mean ± std) with chance, the leakage margin and the ceiling,
    open-set TAR, reconstruction quality, scene re-identification, the calibration,
    reconstructions of a few test faces, and a text panel with the key numbers. The title
    names the design and its order."""
    from spjax.sensing.patterns import sensor_label

    plt = pyplot()
    fig = plt.figure(figsize=(8.27, 11.69))  # A4 portrait
    gs = fig.add_gridspec(5, 2, height_ratios=[1.1, 0.9, 0.9, 1.0, 0.9])
    s = report["sensor"]
    noise = s.get("noise")
    fig.suptitle(
        f"Privacy audit{' (SMOKE TEST, --quick)' if report['setup'].get('quick') else ''}: "
        f"{report.get('sensor_label') or sensor_label(s)}\n"
        f"r = {s['sampling_rate']:.4g} (K = {s['k']}, {s['h']}×{s['w']}, split = "
        f"{s['split']}, photons = {'∞' if noise is None else format(noise['photons'], 'g')})",
        fontsize=10,
    )
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
    if "ceiling" in report:
        ax.axhline(
            report["ceiling"],
            color="tab:green",
            ls="-",
            lw=1,
            label=f"ceiling (clean faces) {report['ceiling']:.3f}",
        )
    ax.set_xticks(range(len(names)), names, rotation=20, fontsize=7)
    ax.set_ylabel("closed-set top-1 (test)")
    ax.set_ylim(0, 1.25)  # headroom: the legend sits above the bars
    ax.set_yticks([0, 0.25, 0.5, 0.75, 1.0])
    ax.legend(fontsize=7, loc="upper center", ncol=3, frameon=False)
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
            ax.text(
                i,
                rec[k]["psnr"],
                f"SSIM {rec[k]['ssim']:.2f}",
                ha="center",
                va="bottom",
                fontsize=7,
            )
        ax.set_title("reconstruction quality (test faces)", fontsize=9)
    else:
        ax.axis("off")

    ax = fig.add_subplot(gs[2, 0])
    sc = report.get("scene_reid")
    if sc:
        ks = list(sc["attackers"])
        x = np.arange(len(ks))
        clean = (sc.get("ceiling") or {}).get("attackers")
        wide = 0.4 if clean else 0.8
        top1 = [sc["attackers"][k]["top1"] for k in ks]
        errs = np.array(
            [
                [t - sc["attackers"][k]["top1_ci95"][0], sc["attackers"][k]["top1_ci95"][1] - t]
                for k, t in zip(ks, top1)
            ]
        ).T
        ax.bar(x, top1, wide, yerr=errs, color="tab:purple", label="through the sensor")
        if clean:
            ax.bar(
                x + wide,
                [clean[k]["top1"] for k in ks],
                wide,
                color="tab:green",
                label="clean frames (ceiling)",
            )
        ax.axhline(sc["chance"], color="k", ls="--", lw=1, label=f"chance {sc['chance']:.3f}")
        ax.axhline(2 * sc["chance"], color="gray", ls=":", lw=1, label="2× chance")
        ax.set_xticks(x + (wide / 2 if clean else 0), ks)
        ax.set_ylim(0, 1.02)
        ax.set_ylabel("top-1 (test clips)")
        ax.tick_params(axis="x", labelsize=7)
        ax.legend(fontsize=6)
        auc = sc["best"].get("linkage", {}).get("auc")
        ax.set_title(
            f"T3 room re-ID ({sc['setup']['identities']} people); linkage AUC "
            f"{'n/a' if auc is None else format(auc, '.2f')}",
            fontsize=9,
        )
    else:
        ax.axis("off")
    ax = fig.add_subplot(gs[2, 1])
    cal = report.get("calibration")
    if cal:
        ks = ["ceiling\n(clean)", "full-rate\nreference", "this\nsensor"]
        vals = [cal["ceiling"]["top1"], cal["reference"]["top1"], report["worst_case"]["top1"]]
        ax.bar(ks, vals, color=["tab:green", "tab:olive", "tab:red"])
        ax.set_ylim(0, 1.02)
        ax.tick_params(axis="x", labelsize=7)
        ax.set_ylabel("best top-1")
        ax.set_title(
            f"calibration: attacker strength {report['attacker_strength']:.3f} "
            f"({'≥' if cal['calibrated'] else '<'} {cal['target']})",
            fontsize=9,
        )
    else:
        ax.axis("off")

    if examples:
        rows = list(examples)
        n = len(examples[rows[0]])
        sub = gs[3, :].subgridspec(len(rows), n, wspace=0.05, hspace=0.05)
        for i, r in enumerate(rows):
            for j in range(n):
                a = fig.add_subplot(sub[i, j])
                a.imshow(np.asarray(examples[r][j]), cmap="gray", vmin=0, vmax=1)
                a.set_xticks([])
                a.set_yticks([])
                if j == 0:
                    a.set_ylabel(r, fontsize=7)

    ax = fig.add_subplot(gs[4, :])
    ax.axis("off")
    w = report["worst_case"]
    lk = report["leak"]
    lines = [
        f"worst case: {w['name']}  top-1 {w['top1']:.3f} ± {w['top1_std']:.3f}  "
        f"= {w['ratio_to_chance']:.2f}× chance",
        f"leak rule: pooled binomial bound {lk['lower_bound']:.3f} ({lk['evidence']}, "
        f"conf. {lk['confidence']:.4f}) vs {lk['margin']:g}× chance {lk['threshold']:.3f} "
        f"→ {'LEAKS' if report.get('leaks') else 'within margin'}",
        f"setup: {report['setup']['identities']} identities × {report['setup']['per_identity']}"
        f" faces, seeds {report['setup']['seeds']}, quick={report['setup']['quick']}",
    ]
    if cal:
        lines.append(cal["note"])
    if sc:
        lines.append(
            f"scene re-ID: best {sc['best']['name']} {sc['best']['top1']:.3f} = "
            f"{sc['best']['ratio_to_chance']:.1f}× chance → "
            f"{'LEAKS' if sc.get('leaks') else 'within margin'}"
        )
    r = report.get("recognizer", {})
    if "sensed" in r:
        lines.append(
            f"dlib ResNet, {r['mode']} ({r['n_gallery']} identities, {r['n_probes']} "
            f"probes): rank-1 sensed {r['sensed']['rank1']:.2f}, clean at sensor res "
            f"{r['clean_sensor_res']['rank1']:.2f}, chance {r['chance_rank1']:.2f}"
        )
        lines.append(
            f"  face detected: {r['clean_detection_rate']:.0%} clean probes, "
            f"{r['recon_detection_rate']:.0%} reconstructions"
        )
    elif r:
        lines.append(f"dlib recognizer skipped: {r.get('skipped')}")
    if "training_adversary" in report:
        lines.append(
            "training adversary (NOT the audit): " + str(report["training_adversary"])[:120]
        )
    import textwrap

    text = "\n".join(textwrap.fill(line, 104, subsequent_indent="  ") for line in lines)
    ax.text(0, 1, text, va="top", fontsize=7.5, family="monospace")
    return save_figure(fig, path, rect=(0, 0, 1, 0.97))
