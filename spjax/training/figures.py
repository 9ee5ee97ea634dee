"""Figures of an SP-VLM run: learned patterns, training curves, sample answers (with the
clip frames and what the sensor saw of them)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np

from spjax.plotting import pyplot, save_figure
from spjax.training import keys
from spjax.training.logging import read_metrics


def patterns_figure(sensor, path: Path, max_patterns: int = 32) -> Path:
    p = np.asarray(sensor.patterns())[:max_patterns]
    cols = min(8, len(p))
    rows = int(np.ceil(len(p) / cols))
    plt = pyplot()
    fig, axes = plt.subplots(rows, cols, figsize=(1.4 * cols, 1.4 * rows + 0.5), squeeze=False)
    vmin = -1 if sensor.signed else 0
    for ax in axes.flat:
        ax.axis("off")
    for i, ax in enumerate(axes.flat[: len(p)]):
        ax.imshow(p[i], cmap="gray", vmin=vmin, vmax=1, interpolation="nearest")
        ax.set_title(str(i), fontsize=7)
    fig.suptitle(
        f"patterns ({sensor.k} of {sensor.h}×{sensor.w}, r = {sensor.sampling_rate:.3f}, "
        f"{'signed → split ±' if sensor.split else 'non-negative'})",
        fontsize=9,
    )
    save_figure(fig, path)
    return path


def curves_figure(workdir: Path, path: Path) -> Path:
    train = read_metrics(workdir, "train")
    val = read_metrics(workdir, "val")
    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.4))
    steps = [r["step"] for r in train]
    axes[0].plot(steps, [r["label_loss"] for r in train], label="label heads (CE)")
    answered = [r for r in train if "answer_loss" in r]
    if answered:
        axes[0].plot(
            [r["step"] for r in answered],
            [r["answer_loss"] for r in answered],
            label="answers (CE through the frozen decoder)",
        )
    axes[0].set_title("losses")
    axes[0].set_xlabel("step")
    axes[0].set_yscale("log")
    axes[0].legend(fontsize=7)
    if answered:
        axes[1].plot(
            [r["step"] for r in answered], [r["answer_accuracy"] for r in answered], label="train"
        )
    if val:
        axes[1].plot(
            [r["step"] for r in val], [r["answer_accuracy"] for r in val], "o-", label="val"
        )
    axes[1].set_title("answer-token accuracy")
    axes[1].legend()
    axes[1].set_xlabel("step")
    axes[2].plot(
        steps, [r["adversary_accuracy_worst"] for r in train], label="worst training adversary"
    )
    axes[2].plot(steps, [r["privacy_weight"] for r in train], "--", label="λ (privacy weight)")
    axes[2].set_title("identity adversary (train batches)")
    axes[2].legend()
    axes[2].set_xlabel("step")
    save_figure(fig, path)
    return path


def samples_figure(trainer, samples: list[dict], path: Path, frames_shown: int = 6) -> Path:
    """One row per sample: the clip's frames, what the sensor measured lifted back to images
    (the encoder's view), then the question, the generated answer and the reference."""
    import jax

    split = trainer.splits["test"]
    sensor = trainer.model().sensor
    t = np.linspace(0, split.frames.shape[1] - 1, frames_shown).round().astype(int)
    plt = pyplot()
    fig, axes = plt.subplots(
        len(samples),
        2 * frames_shown + 1,
        figsize=(2 * frames_shown * 0.9 + 6, 1.0 * len(samples) + 0.6),
        squeeze=False,
        gridspec_kw={"width_ratios": [1] * (2 * frames_shown) + [7]},
    )
    for r, s in enumerate(samples):
        clip = split.frames[s["clip"]]
        key = jax.random.fold_in(jax.random.fold_in(trainer.base_key, keys.FIGURES), s["clip"])
        y = sensor(clip, key=key, check=False)
        seen = np.asarray(sensor.lift(y))
        for j, ti in enumerate(t):
            for col, img, lo, hi in (
                (j, clip[ti], 0.0, 1.0),
                (frames_shown + j, seen[ti], 0.0, max(float(seen.max()), 1e-6)),
            ):
                ax = axes[r, col]
                ax.imshow(img, cmap="gray", vmin=lo, vmax=hi, interpolation="nearest")
                ax.set_xticks([])
                ax.set_yticks([])
                if r == 0:
                    ax.set_title(f"{'frame' if col < frames_shown else 'sensed'} {ti}", fontsize=6)
        mark = {True: "RIGHT", False: "WRONG", None: ""}[s.get("correct")]
        text = "\n".join(
            [
                f"[{s['qtype']}] {mark}  Q: {s['question']}",
                *textwrap.wrap(f"answer: {s['answer']}", 80),
                *textwrap.wrap(f"reference: {s['reference']}", 80),
            ]
        )
        ax = axes[r, -1]
        ax.axis("off")
        ax.text(
            0.0,
            0.5,
            text,
            va="center",
            fontsize=6.5,
            family="monospace",
            color={"RIGHT": "darkgreen", "WRONG": "darkred"}.get(mark, "black"),
        )
    fig.suptitle(
        f"test clips: frames | pseudo-inverse of the measurements (K = {sensor.k}, "
        f"r = {sensor.sampling_rate:.3f}) | generated answer",
        fontsize=9,
    )
    save_figure(fig, path, dpi=100)
    return path


def write_figures(workdir: Path, trainer, report: dict) -> list[Path]:
    out = Path(workdir) / "figures"
    out.mkdir(parents=True, exist_ok=True)
    sensor = trainer.model().sensor
    return [
        patterns_figure(sensor, out / "patterns.png"),
        curves_figure(Path(workdir), out / "training_curves.png"),
        samples_figure(trainer, report["samples"], out / "sample_answers.png"),
    ]
