"""Detector drift within a recording: the dark offset and gain measured per block of frame
times (from the calibration frames every frame time holds) and fitted with a line in time.

A line is applied to the recording only where its slope is significant (|z| ≥ `DRIFT_Z`):
an insignificant slope would add its own error to every frame time for nothing. Either way
the report says what was found, with standard errors, and how well a line describes it.
"""

from __future__ import annotations

import numpy as np

from spjax.deploy.calframes import FrameStats, measure

DRIFT_Z = 3.0


def blocks(m: int, block: int) -> list[np.ndarray]:
    """Consecutive blocks of about `block` frame times covering all `m` (empty if < 2)."""
    n = m // block
    return [] if n < 2 else np.array_split(np.arange(m), n)


def fit_line(t: np.ndarray, y: np.ndarray, se: np.ndarray) -> dict:
    """Weighted least-squares line y = a + b·(t − t̄); errors widened by the Birge ratio
    when the points scatter more than their own errors say."""
    w = 1.0 / np.maximum(se, 1e-300) ** 2
    tc = float((w * t).sum() / w.sum())
    a = float((w * y).sum() / w.sum())
    sxx = float((w * (t - tc) ** 2).sum())
    b = float((w * (t - tc) * (y - a)).sum() / sxx)
    se_a, se_b = 1 / np.sqrt(w.sum()), 1 / np.sqrt(sxx)
    dof = len(t) - 2
    chi2 = float((w * (y - a - b * (t - tc)) ** 2).sum())
    birge = float(np.sqrt(chi2 / dof)) if dof > 0 else 1.0
    scale = max(birge, 1.0)
    return {
        "centre": tc,
        "at_centre": a,
        "slope": b,
        "at_centre_se": float(se_a * scale),
        "slope_se": float(se_b * scale),
        "chi2_per_dof": None if dof <= 0 else chi2 / dof,
    }


def _summary(line: dict, m: int, name: str) -> dict:
    """The drift of one quantity over the recording, from its start (t = 0) to its end
    (t = m frame times); relative to its value at the start."""
    change = line["slope"] * m
    change_se = line["slope_se"] * m
    z = line["slope"] / line["slope_se"] if line["slope_se"] > 0 else float("inf")
    start = line["at_centre"] - line["slope"] * line["centre"]
    out = {
        "start": start,
        "end": start + change,
        "change": change,
        "change_se": change_se,
        "relative_change": change / start if start else None,
        "relative_change_se": change_se / abs(start) if start else None,
        "z": z,
        "detected": bool(abs(z) >= DRIFT_Z),
        "line_chi2_per_dof": line["chi2_per_dof"],
    }
    out["applied"] = out["detected"]
    out["how"] = f"a line through the {name} of each block, weighted by their standard errors; " + (
        f"applied frame time by frame time (|z| = {abs(z):.3g} ≥ {DRIFT_Z:g})"
        if out["applied"]
        else f"not applied (|z| = {abs(z):.3g} < {DRIFT_Z:g}: the recording's mean is used)"
    )
    return out


def analyse(
    st: FrameStats,
    dark_counts: float,
    *,
    block: int,
    gain: float | None,
    phase: dict | None = None,
) -> tuple[dict | None, dict]:
    """Per-block gain and dark with a line through each: the report and the lines to apply
    ({name: (value at t0, slope per frame time, t0)}, only where significant), in frame-time
    units: frame time t spans [t, t + 1). `phase`: where in its frame time each quantity is
    measured (the dark frames open it; the pair sums span it). `gain` given: only the dark
    is followed. No report with fewer than two blocks."""
    phase = {"gain": 0.5, "dark": 0.0, **(phase or {})}
    m = len(st)
    parts = blocks(m, block)
    if not parts:
        return None, {}
    rows = []
    for idx in parts:
        r = measure(st[idx], dark_counts, gain=gain)
        rows.append(
            {
                "frame_times": [int(idx[0]), int(idx[-1]) + 1],
                "gain": r.get("gain", gain),
                "gain_se": r.get("gain_se", 0.0),
                "dark": r["dark"],
                "dark_se": r["dark_se"],
            }
        )
    centres = np.array([(r["frame_times"][0] + r["frame_times"][1] - 1) / 2 for r in rows])
    report = {"block_frame_times": block, "blocks": rows}
    lines = {}
    for name in ("gain", "dark") if gain is None else ("dark",):
        y = np.array([r[name] for r in rows])
        se = np.array([r[f"{name}_se"] for r in rows])
        line = fit_line(centres + phase[name], y, se)
        report[name] = _summary(line, m, name)
        if report[name]["applied"]:
            lines[name] = (line["at_centre"], line["slope"], line["centre"])
    return report, lines
