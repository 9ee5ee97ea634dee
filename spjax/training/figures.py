"""Figures of an SP-VLM run: learned patterns, training curves, sample answers."""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from spjax.training.logging import read_metrics  # noqa: E402


def patterns_figure(sensor, path: Path, max_patterns: int = 32) -> Path:
    p = np.asarray(sensor.patterns())[:max_patterns]
    cols = min(8, len(p))
    rows = int(np.ceil(len(p) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(1.4 * cols, 1.4 * rows + 0.5), squeeze=False)
    vmin = -1 if sensor.signed else 0
    for ax in axes.flat:
        ax.axis("off")
    for i, ax in enumerate(axes.flat[:len(p)]):
        ax.imshow(p[i], cmap="gray", vmin=vmin, vmax=1, interpolation="nearest")
        ax.set_title(str(i), fontsize=7)
    fig.suptitle(f"patterns ({sensor.k} of {sensor.h}×{sensor.w}, r = {sensor.sampling_rate:.3f}, "
                 f"{'signed → split ±' if sensor.split else 'non-negative'})", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def curves_figure(workdir: Path, path: Path) -> Path:
    train = read_metrics(workdir, "train")
    val = read_metrics(workdir, "val")
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.4))
    steps = [r["step"] for r in train]
    axes[0].plot(steps, [r["task_loss"] for r in train], label="task (answer CE)")
    axes[0].set_title("task loss"); axes[0].set_xlabel("step"); axes[0].set_yscale("log")
    axes[1].plot(steps, [r["answer_accuracy"] for r in train], label="train")
    if val:
        axes[1].plot([r["step"] for r in val], [r["answer_accuracy"] for r in val], "o-", label="val")
    axes[1].set_title("answer-token accuracy"); axes[1].legend(); axes[1].set_xlabel("step")
    axes[2].plot(steps, [r["adversary_accuracy_worst"] for r in train], label="worst training adversary")
    axes[2].plot(steps, [r["privacy_weight"] for r in train], "--", label="λ (privacy weight)")
    axes[2].set_title("identity adversary (train batches)"); axes[2].legend(); axes[2].set_xlabel("step")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def samples_figure(samples: list[dict], path: Path) -> Path:
    lines = []
    for s in samples:
        lines.append(f"[{s['qtype']}] Q: {s['question']}")
        lines += textwrap.wrap(f"   reference: {s['reference']}", 110)
        lines += textwrap.wrap(f"   answer:    {s['answer']}", 110)
    fig = plt.figure(figsize=(11, 0.22 * len(lines) + 0.6))
    fig.text(0.01, 0.99, "\n".join(lines), va="top", family="monospace", fontsize=8)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_figures(workdir: Path, sensor, report: dict) -> list[Path]:
    out = Path(workdir) / "figures"
    out.mkdir(parents=True, exist_ok=True)
    return [patterns_figure(sensor, out / "patterns.png"),
            curves_figure(Path(workdir), out / "training_curves.png"),
            samples_figure(report["samples"], out / "sample_answers.png")]
