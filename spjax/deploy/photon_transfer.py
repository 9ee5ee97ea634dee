"""The fallback for recordings without a dark frame (exports from before calibration frames,
whose patterns have no all-off frame): photon transfer on the split pairs' sums alone.

Within a frame time the pair sums s = sample+ + sample− of ±1 patterns differ only by noise,
so across frame times their variance v and mean μ follow

    v = gain · μ + a,     a = 2·gain²·σ² − 2·gain·dark       (σ: the run's read noise)

The slope (gain) is fitted by weighted least squares, each v weighted by its own sampling
variance 2·v²/dof, so its standard error is honest. The dark offset comes from the intercept,
an extrapolation to no light that the data often barely constrain; it cancels in y+ − y−
and is never used for the measurements, only reported.

The fit checks itself: a χ² of the variances about the line (the pair sums vary more than
shot noise allows → the gain's error bars are contradicted: widened, and said so loudly); an
offset above the darkest sample (negative light: refused); an offset known less well than the
noise of one sample (not determined: said so).
"""

from __future__ import annotations

import numpy as np

from spjax.deploy.calframes import CHI2_Z, Z95, interval, pair_sums
from spjax.deploy.recording import RecordingError

MAX_REL_ERROR = 0.1  # a slope less certain than this is refused
DARK_MARGIN_Z = 3.0  # how many standard errors an offset may sit above the darkest sample


def _wls_line(mu: np.ndarray, v: np.ndarray, dof: int):
    """v = g·μ + a with weights dof / (2·fit²), iterated from the unweighted fit."""
    design = np.stack([mu, np.ones_like(mu)], 1)
    coef, *_ = np.linalg.lstsq(design, v, rcond=None)
    for _ in range(4):
        fit = np.maximum(design @ coef, 1e-12 * max(float(np.abs(v).max()), 1e-300))
        w = dof / (2 * fit**2)
        xtw = design.T * w
        cov = np.linalg.pinv(xtw @ design)
        coef = cov @ (xtw @ v)
    resid = v - design @ coef
    chi2 = float((w * resid**2).sum())
    return coef, cov, chi2


def fit(frames: np.ndarray, layout, noise, timing: str) -> tuple[dict, list[str]]:
    """Gain (slope) and dark offset (intercept) with standard errors and the self-checks;
    returns the fit and the loud warnings. Raises RecordingError when the fit is refused."""
    mu, v, dof = pair_sums(frames, layout, timing)
    m, k = len(mu), len(layout.plus)
    sigma2 = noise.read_std**2
    if not v.sum() > 0:
        raise RecordingError(
            "gain: the pair sums carry no shot noise (a noiseless or clipped recording?), "
            "so the gain is not identifiable; give --gain"
        )
    coef, cov, chi2 = _wls_line(mu, v, dof)
    g, a = float(coef[0]), float(coef[1])
    fit_dof = max(m - 2, 1)
    birge = float(np.sqrt(chi2 / fit_dof))
    chi2_z = (chi2 - fit_dof) / np.sqrt(2 * fit_dof)
    cov = cov * max(birge, 1.0) ** 2
    se_g = float(np.sqrt(cov[0, 0]))
    rel = se_g / abs(g) if g else float("inf")
    scatter = (
        f"the pair sums' variances scatter {birge:.3g}× more about the photon-transfer line "
        f"than shot noise allows (χ²/dof = {chi2 / fit_dof:.3g} over {m} frame times)"
    )
    if m < 3 or not g > 0 or not rel <= MAX_REL_ERROR:
        why = scatter if chi2_z > CHI2_Z else "the scene brightness barely varies"
        raise RecordingError(
            "gain and dark offset are not separately identifiable from this recording (no "
            f"all-off frame; the photon-transfer slope over {m} frame times is {g:.4g} ± "
            f"{se_g:.2g}, relative error {rel:.2g}: {why}); record through an export with "
            "calibration frames (spjax export writes them), or give --gain (and --dark)"
        )
    warnings = []
    if chi2_z > CHI2_Z:
        warnings.append(
            f"gain: {scatter}: the line's error bars are contradicted by the data (flicker, "
            f"interference, a non-linear detector?); its standard error is widened {birge:.3g}×"
        )
    # Offset from the intercept; its error by the delta method.
    dark = g * sigma2 - a / (2 * g)
    grad = np.array([sigma2 + a / (2 * g * g), -1 / (2 * g)])
    se_dark = float(np.sqrt(grad @ cov @ grad))
    darkest = float(frames.min())
    if dark - DARK_MARGIN_Z * se_dark > darkest + 5 * g * np.sqrt(sigma2):
        raise RecordingError(
            f"dark: the photon-transfer fit puts the offset at {dark:.6g} ± {se_dark:.3g}, "
            f"above the darkest sample ({darkest:.6g}): that would mean negative light, so "
            "the pair sums' variance is not shot noise plus a constant (a non-linear or "
            "clipping detector, or samples that are not of this export); refusing the fit. "
            "Give --gain, or record through an export with calibration frames"
        )
    # Determined: known to better than the noise of one sample (half a pair sum's variance),
    # the precision at which an offset would matter to any measurement.
    sample_noise = float(np.sqrt(np.mean(v) / 2))
    determined = se_dark <= sample_noise
    if not determined:
        warnings.append(
            f"dark: the photon-transfer intercept gives {dark:.6g} ± {se_dark:.3g} (95 %: "
            f"{dark - Z95 * se_dark:.6g} to {dark + Z95 * se_dark:.6g}), an error "
            f"{se_dark / sample_noise:.3g}× the noise of one sample: the offset is not "
            "determined by this recording (no all-off frame). It cancels in y+ − y− and is not "
            "used; record through an export with calibration frames to measure it"
        )
    result = {
        "gain": g,
        "gain_se": se_g,
        "dark": dark,
        "dark_se": se_dark,
        "dark_determined": bool(determined),
        "variance_over_shot_noise": chi2 / fit_dof,
        "variance_check_z": chi2_z,
        # Light counts of an all-on frame from the variance alone (the offset is uncertain).
        "implied_counts": float(np.mean(v) / g**2 - 2 * sigma2),
        "frame_times": m,
        "pairs": k,
        "interval_dark": interval(dark, se_dark),
    }
    return result, warnings


def pooled_with_dark(frames: np.ndarray, layout, noise, timing: str, dark: float) -> dict:
    """Gain with the dark offset given (no dark frame): v = gain·(μ − 2·dark) + 2·gain²·σ²
    pooled over frame times; its error from the per-frame-time spread."""
    mu, v, dof = pair_sums(frames, layout, timing)
    m = len(mu)
    sigma2 = noise.read_std**2
    qa, qb, qc = 2 * m * sigma2, float((mu - 2 * dark).sum()), float(v.sum())
    g = qc / qb if qa == 0 else (-qb + np.sqrt(qb * qb + 4 * qa * qc)) / (2 * qa)
    per_t = v / np.maximum(mu - 2 * dark, 1e-300)
    se = float(per_t.std(ddof=1) / np.sqrt(m)) if m > 1 else float("nan")
    return {
        "gain": float(g),
        "gain_se": se,
        "implied_counts": float(np.mean(mu - 2 * dark) / g),
        "frame_times": m,
    }
