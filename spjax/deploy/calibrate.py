"""Detector calibration of a raw recording: samples → the inner-product units the encoder
was trained on.

Model of one raw sample (what `spjax sensing record` simulates and `spjax ask` inverts):

    sample = gain · c + dark

where c are the photon counts of the run's `NoiseModel` (mean photons·⟨P, x⟩/N + its dark
counts, shot and read noise; without a NoiseModel c = ⟨P, x⟩ itself), `gain` is the DAQ's
units per count and `dark` a constant offset on every sample. Inversion:
c = (sample − dark)/gain, then `NoiseModel.to_inner` (the Sensor's own mapping), and
y = y+ − y− over split pairs.

What the data identify (split pairs of ±1 patterns: P+ + P− lights every mirror, so the
pair sum s = sample+ + sample− has the same mean for all K pairs of a frame time):
- `dark` from frames with every mirror off (the P− of an all-ones pattern), whose samples
  are gain·(dark counts) + dark; else, for split pairs, it cancels in y+ − y− and is not
  needed (a photon-transfer fit still estimates it when the gain is estimated);
- `gain` from shot noise (photon transfer): within a frame time the pair sums vary only by
  noise, Var(s) = gain·(E[s] − 2·dark) + 2·gain²·σ² (σ the read noise in counts), pooled over
  all frame times; with `dark` unknown, the slope of Var(s) against E[s] across frame times.
Anything not identifiable must be given (`--gain`, `--dark`), and the error says so.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from spjax.deploy.match import FrameLayout
from spjax.deploy.recording import RecordingError

MIN_PAIRS = 4  # pairs per frame time for a variance estimate worth pooling
MAX_REL_ERROR = 0.1  # a photon-transfer slope less certain than this is refused
SHIFT_FACTOR = 4.0
PLAUSIBLE_COUNTS = 10.0  # implied counts beyond this × the photon budget: not shot noise  # pair sums this much tighter one sample off: the stream is misaligned


@dataclasses.dataclass(frozen=True)
class Detector:
    gain: float  # raw units per count (per inner-product unit without a NoiseModel)
    dark: float  # raw units added to every sample


def frame_times(samples: np.ndarray, n_frames: int) -> tuple[np.ndarray, int]:
    """Raw 1-D samples → (M, F) complete frame times and the number of samples left over."""
    m = len(samples) // n_frames
    return samples[: m * n_frames].reshape(m, n_frames), len(samples) - m * n_frames


def _pair_stats(frames: np.ndarray, layout: FrameLayout, timing: str):
    """Mean and within-frame-time variance of the pair sums, (M,) each."""
    s = frames[:, layout.plus] + frames[:, layout.minus]
    k = s.shape[1]
    if timing == "pattern":
        # The scene moves during a frame time: pair sums drift along the sequence; remove a line.
        design = np.stack([np.ones(k), np.arange(k) - (k - 1) / 2], 1)
        coef, *_ = np.linalg.lstsq(design, s.T, rcond=None)
        resid, dof = s - (design @ coef).T, k - 2
    else:
        resid, dof = s - s.mean(1, keepdims=True), k - 1
    return s.mean(1), (resid**2).sum(1) / dof


def _alignment(samples_2d: np.ndarray, layout: FrameLayout, timing: str) -> dict:
    """Pair-sum dispersion as recorded and one sample earlier/later: a misaligned stream
    (a dropped or extra sample) pairs frames of different patterns, whose sums differ."""
    flat = samples_2d.reshape(-1)
    f, m = layout.n_frames, len(samples_2d)
    out = {"as_recorded": float(_pair_stats(samples_2d, layout, timing)[1].mean())}
    if m >= 2:
        for name, lo in (("one_sample_later", 1), ("one_sample_earlier", f - 1)):
            part = flat[lo : lo + (m - 1) * f].reshape(m - 1, f)
            out[name] = float(_pair_stats(part, layout, timing)[1].mean())
    return out


def estimate_detector(
    frames: np.ndarray,
    layout: FrameLayout,
    noise,
    *,
    timing: str = "frame",
    gain: float | None = None,
    dark: float | None = None,
) -> tuple[Detector, dict]:
    """Fit (or take) gain and dark offset for `frames` (M, F) raw samples; the report says
    for each what was given or how it was estimated, plus the pair-sum checks."""
    for name, value in (("gain", gain), ("dark", dark)):
        if value is not None and not np.isfinite(value):
            raise ValueError(f"--{name}: expected a finite number, got {value}")
    if gain is not None and gain <= 0:
        raise ValueError(f"--gain: expected a value > 0 (raw units per count), got {gain}")
    m, k = len(frames), len(layout.plus)
    sigma2 = 0.0 if noise is None else noise.read_std**2
    dark_counts = 0.0 if noise is None else noise.dark
    off = layout.all_off
    report: dict = {"model": "sample = gain * counts + dark", "frame_times_used": m}
    checks: dict = {}
    if layout.complementary and k >= 3:
        checks["pair_sum_dispersion"] = align = _alignment(frames, layout, timing)
        shifted = min(v for key, v in align.items() if key != "as_recorded") if m >= 2 else None
        if shifted is not None and align["as_recorded"] > SHIFT_FACTOR * shifted:
            raise RecordingError(
                "the recording looks misaligned by one sample: its P+/P− pair sums, which "
                "must agree within a frame time (P+ + P− = all mirrors on), agree "
                f"{align['as_recorded'] / max(shifted, 1e-300):.3g}× better one sample "
                "off; check for a dropped or extra sample at the start"
            )
    reasons = []
    if noise is None:
        reasons.append("the run's sensor has no NoiseModel (no shot noise to calibrate on)")
    if not layout.complementary:
        reasons.append("its patterns are not split ±1 pairs (no constant pair sum)")
    elif k < MIN_PAIRS:
        reasons.append(f"it has {k} pairs per frame time (< {MIN_PAIRS})")
    if m < 2:
        reasons.append("the recording holds fewer than 2 frame times")

    b0, b_per_gain, dark_how = None, 0.0, None
    if dark is not None:
        b0, dark_how = float(dark), "given"
    elif len(off):
        # All-off frames see gain·(dark counts) + dark.
        b0, b_per_gain = float(frames[:, off].mean()), dark_counts
        dark_how = (
            f"estimated: mean of the {len(off)} all-off physical frame(s) per frame time "
            f"(frames {off[:4].tolist()}{'…' if len(off) > 4 else ''}) over {m} frame times"
            + (f", less gain × {dark_counts} dark counts" if dark_counts else "")
        )

    if gain is not None:
        g, gain_info = float(gain), {"how": "given"}
    else:
        if reasons:
            raise RecordingError(
                "gain: not identifiable from this recording because "
                + "; ".join(reasons)
                + "; give --gain (raw units per count)"
            )
        mu, v = _pair_stats(frames, layout, timing)
        if not v.sum() > 0:
            raise RecordingError(
                "gain: the pair sums carry no shot noise (a noiseless or clipped recording?), "
                "so the gain is not identifiable; give --gain"
            )
        if b0 is not None:
            # Pooled photon transfer: Σv = g·Σ(μ − 2·b0) + g²·2M(σ² + b_per_gain).
            a, b, c = 2 * m * (sigma2 + b_per_gain), float((mu - 2 * b0).sum()), float(v.sum())
            g = c / b if a == 0 else (-b + np.sqrt(b * b + 4 * a * c)) / (2 * a)
            per_t = v / np.maximum(mu - 2 * (b0 - g * b_per_gain), 1e-300)
            rel = float(per_t.std(ddof=1) / np.sqrt(m) / g) if m > 1 else float("nan")
            how = (
                "estimated: photon transfer, Var(P+ + P− pair sums) = gain·(mean − 2·dark) "
                f"+ 2·gain²·σ² pooled over {m} frame times × {k} pairs (σ = read noise of "
                "the run's NoiseModel)"
            )
        else:
            design = np.stack([mu, np.ones(m)], 1)
            coef, *_ = np.linalg.lstsq(design, v, rcond=None)
            g, intercept = float(coef[0]), float(coef[1])
            resid = v - design @ coef
            dof = max(m - 2, 1)
            cov = (resid @ resid / dof) * np.linalg.pinv(design.T @ design)
            rel = float(np.sqrt(cov[0, 0]) / abs(g)) if g else float("inf")
            if m < 3 or not g > 0 or not rel <= MAX_REL_ERROR:
                raise RecordingError(
                    "gain and dark offset are not separately identifiable from this "
                    f"recording (no all-off frame; the photon-transfer slope over {m} frame "
                    f"times has relative error {rel:.2g}: the scene brightness barely "
                    "varies); give --dark (and/or --gain)"
                )
            b0 = (2 * g * g * sigma2 - intercept) / (2 * g)
            dark_how = "estimated: intercept of the photon-transfer fit (no all-off frame)"
            how = (
                "estimated: photon transfer, slope of Var(pair sums) against their mean "
                f"across {m} frame times × {k} pairs"
            )
        gain_info = {"how": how, "relative_standard_error": rel}
        if not (np.isfinite(g) and g > 0):
            raise RecordingError(f"gain: the photon-transfer fit gave {g}; give --gain")
        g = float(g)
        # A full-scale scene gives `photons` counts per pair sum: far more means the spread
        # is not shot noise (a noiseless or quantised recording), so the fit is meaningless.
        implied = float(np.mean(mu - 2 * (b0 - g * b_per_gain)) / g)
        budget = noise.photons + 2 * noise.dark
        if implied > PLAUSIBLE_COUNTS * budget:
            raise RecordingError(
                f"gain: the photon-transfer fit ({g:.3g}) implies {implied:.3g} counts per "
                f"pair, {implied / budget:.3g}× the run's photon budget {noise.photons:g}: the "
                "recording carries no measurable shot noise (noiseless or quantised?); give --gain"
            )
        gain_info["implied_counts_per_pair"] = implied

    if b0 is None:
        if layout.minus is None:
            raise RecordingError(
                "dark: not identifiable (the sensor is not split and no physical frame has "
                "every mirror off); give --dark (the raw value with no light)"
            )
        d, dark_how = 0.0, "not needed: a constant offset cancels in y = y+ − y−"
    else:
        d = b0 - g * b_per_gain
    report["gain"] = {"value": g, **gain_info}
    report["dark"] = {"value": float(d), "how": dark_how}
    if checks:
        if noise is not None and layout.complementary and k >= 3:
            mu, v = _pair_stats(frames, layout, timing)
            expected = g * (mu - 2 * d) + 2 * g * g * sigma2
            checks["pair_sum_variance_over_shot_noise"] = float(
                v.sum() / max(expected.sum(), 1e-300)
            )
        report["checks"] = checks
    return Detector(g, float(d)), report


def to_measurements(
    frames: np.ndarray, layout: FrameLayout, detector: Detector, noise, n_pixels: int
) -> np.ndarray:
    """(M, F) raw samples → (M, K) measurements in the Sensor's inner-product units."""
    counts = (frames - detector.dark) / detector.gain
    inner = counts if noise is None else noise.to_inner(counts, n_pixels)
    y = inner[:, layout.plus]
    if layout.minus is not None:
        y = y - inner[:, layout.minus]
    return y.astype(np.float32)
