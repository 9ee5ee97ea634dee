"""A picture of an export: the patterns, the DMD frames that display them, and (for TI
controllers) the 24-bit image that packs them. Used for docs/export_example.png."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def render_preview(directory, out_png, n_patterns: int = 3) -> Path:
    """Decode the export in ``directory`` (with full verification) and save a figure showing
    ``n_patterns`` patterns spread evenly over the sequence."""
    from PIL import Image

    from spjax.export.api import read_export
    from spjax.export.geometry import Placement
    from spjax.plotting import pyplot, save_figure

    directory, out_png = Path(directory), Path(out_png)
    patterns, m = read_export(directory)
    n = max(1, min(n_patterns, m["k"]))
    chosen = np.unique(np.linspace(0, m["k"] - 1, n).round().astype(int))
    n = len(chosen)
    dev = m["device"]
    placement = Placement.from_json(
        m["geometry"], h=m["h"], w=m["w"], device_h=dev["height"], device_w=dev["width"]
    )
    rows = ["pattern", "plus", "minus"] if m["split"] else ["pattern", "plus"]
    packed = m["format"] in ("dlpc900", "dlpc350")
    mosaic = [[f"{r}{i}" for i in range(n)] + (["bmp"] if packed else []) for r in rows]
    plt = pyplot()
    fig, axes = plt.subplot_mosaic(
        mosaic,
        figsize=(2.6 * (n + packed * 1.6), 2.1 * len(rows)),
        width_ratios=[1] * n + ([1.6] if packed else []),
    )
    g = m["geometry"]
    by_key: dict[tuple[int, int], list[int]] = {}
    for e in m["frames"]:
        if e.get("calibration"):
            continue
        by_key.setdefault((e["pattern"], e["sign"]), []).append(e["frame"])
    for i, p in enumerate(chosen):
        ax = axes[f"pattern{i}"]
        ax.imshow(
            patterns[p],
            cmap="RdBu_r" if m["signed"] else "gray",
            vmin=-1,
            vmax=1,
            interpolation="nearest",
        )
        colours = " red +1, blue -1" if m["signed"] else ""
        ax.set_title(f"pattern {p} ({m['h']}x{m['w']}){colours}", fontsize=8)
        for row, sign in (("plus", 1), ("minus", -1)):
            if row not in rows:
                continue
            idx = by_key[(int(p), sign)]
            shown = np.maximum(patterns[p] * sign, 0)  # gray for bit-plane exports
            device = placement.embed(placement.orient(shown))
            ax = axes[f"{row}{i}"]
            ax.imshow(device, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
            _outline(ax, g["region"])
            label = {1: "P+", -1: "P-"}[sign] if m["split"] else "frame"
            span = f"frame {idx[0]}" if len(idx) == 1 else f"planes {idx[0]}-{idx[-1]}"
            ax.set_title(f"DMD {span} ({label})", fontsize=8)
    if packed:
        first = m["frames"][0]["file"]
        with Image.open(directory / first) as img:
            axes["bmp"].imshow(np.asarray(img.convert("RGB")), interpolation="nearest")
        _outline(axes["bmp"], g["region"])
        axes["bmp"].set_title(
            f"{first}: frames 0-23 packed\nin 24 bits ({m['format']})", fontsize=8
        )
    for ax in axes.values():
        ax.set_xticks([])
        ax.set_yticks([])
    depth = f", bit depth {m['bit_depth']}" if m.get("bit_depth") else ""
    fig.suptitle(
        f"{m['format']} export: K={m['k']}, r={m['sampling_rate']:.3g}, "
        f"split={m['split']}{depth}, DMD {dev['width']}x{dev['height']}, "
        f"zoom {g['zoom']}, offset {tuple(g['offset'])} (orange: measured region)",
        fontsize=9,
    )
    save_figure(fig, out_png)
    return out_png


def _outline(ax, region: dict) -> None:
    """Draw the measured region, so the all-off border of the DMD stays visible."""
    from matplotlib.patches import Rectangle

    ax.add_patch(
        Rectangle(
            (region["left"] - 0.5, region["top"] - 0.5),
            region["width"],
            region["height"],
            fill=False,
            edgecolor="tab:orange",
            linewidth=1,
        )
    )
