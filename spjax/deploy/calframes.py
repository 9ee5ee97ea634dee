"""The detector measured from dark frames: dark level and gain, with standard errors.

Model of a raw sample: ``sample = gain · counts + dark``, counts Poisson in the light (plus
the run's dark counts d_c) with read noise. Frames with every mirror off (the export's
calibration frames, or a pattern frame that happens to be dark) see only

    D = gain · d_c + dark        (mean),      V = gain² · (d_c + σ²)   (variance),

both measured here, with no model of the detector assumed. The shot noise of the light then
gives the gain (photon transfer referred to the measured dark frames, as EMVA 1288 does):
in one frame time the scene is fixed, so

- the all-on calibration frames vary only by noise: Var(on) = gain · m + V, and
- for split ±1 patterns the pair sums s = sample+ + sample− (P+ + P− = all mirrors on) too:
  Var(s) = gain · m + 2V,

where m = E[on] − D = E[s] − 2D = gain · (light counts of an all-on frame). Pooled over
frame times, gain = Σ(excess variance) / Σ(dof · m). Standard errors: the larger of the
delta-method (Gaussian) error and a delete-one-frame-time jackknife (which also sees
variance the model does not have). A χ² of the per-frame-time gains says whether the
variance is shot noise; if not, the error is widened and the report says so.
"""

from __future__ import annotations

import dataclasses

import numpy as np

Z95 = 1.959963984540054  # two-sided 95 % normal quantile
MIN_JACKKNIFE = 10  # frame times below which the jackknife error is not trusted
CHI2_Z = 4.0  # χ² this many of its standard deviations above its dof: not shot noise


@dataclasses.dataclass(frozen=True)
class FrameStats:
    """Per-frame-time sufficient statistics, (M,) arrays; a subset is `stats[idx]`."""

    off_mean: np.ndarray  # mean of the dark frames
    off_ss: np.ndarray  # their sum of squares about it (or a successive-difference share)
    off_dof: np.ndarray
    level: np.ndarray  # m: light of an all-on frame in raw units (gain · counts)
    var_ss: np.ndarray  # sum of squares of the noise-only spreads (on frames, pair sums)
    n_off: int  # dark frames per frame time
    dof_on: int  # per frame time, from the all-on frames
    dof_pairs: int  # per frame time, from the pair sums

    def __getitem__(self, idx) -> FrameStats:
        return dataclasses.replace(
            self,
            **{
                f: getattr(self, f)[idx]
                for f in ("off_mean", "off_ss", "off_dof", "level", "var_ss")
            },
        )

    def __len__(self) -> int:
        return len(self.off_mean)

    @property
    def dof(self) -> int:
        return self.dof_on + self.dof_pairs

    @property
    def dark_weight(self) -> int:
        """How many dark-frame variances V each frame time's spread holds."""
        return self.dof_on + 2 * self.dof_pairs


def _within(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row means and sums of squares about them of (M, n)."""
    mean = x.mean(1)
    return mean, ((x - mean[:, None]) ** 2).sum(1)


def frame_stats(frames: np.ndarray, layout, timing: str) -> FrameStats:
    """Statistics of `frames` (M, F) raw samples from the layout's dark frames, all-on
    calibration frames and (split ±1 patterns) pair sums."""
    m = len(frames)
    off = layout.all_off
    off_mean, off_ss = _within(frames[:, off])
    off_dof = np.full(m, len(off) - 1.0)
    if len(off) == 1:
        # One dark frame per frame time: its variance from successive frame times (a slow
        # drift of the dark level cancels).
        off_ss = np.append(np.diff(off_mean) ** 2 / 2, 0.0)
        off_dof = np.append(np.ones(m - 1), 0.0)
    on = layout.calibration_on
    var_ss, dof_on = np.zeros(m), 0
    level = None
    if len(on):
        on_mean, on_ss = _within(frames[:, on])
        level = on_mean - off_mean
        if len(on) >= 2:
            var_ss, dof_on = var_ss + on_ss, len(on) - 1
    dof_pairs = 0
    if layout.complementary and len(layout.plus) >= 3:
        mean_s, var_s, dof_pairs = pair_sums(frames, layout, timing)
        var_ss = var_ss + var_s * dof_pairs
        level = mean_s - 2 * off_mean  # K pairs: a far better level than 1–2 on frames
    if level is None:
        level = np.zeros(m)
    return FrameStats(off_mean, off_ss, off_dof, level, var_ss, len(off), dof_on, dof_pairs)


def _dark_variance(st: FrameStats) -> tuple[float, float]:
    dof = float(st.off_dof.sum())
    return (float(st.off_ss.sum()) / dof if dof > 0 else float("nan")), dof


def _gain(st: FrameStats, v: float) -> float:
    excess = float(st.var_ss.sum()) - len(st) * st.dark_weight * v
    return excess / float(st.dof * st.level.sum())


def _spread_variance(st: FrameStats, g: float, v: float) -> np.ndarray:
    """Var of each frame time's noise sum of squares: 2ν·σ⁴ per Gaussian source."""
    on = 2 * st.dof_on * (g * st.level + v) ** 2
    return on + 2 * st.dof_pairs * (g * st.level + 2 * v) ** 2


def _jackknife(st: FrameStats, dark_counts: float, gain) -> tuple[float, float]:
    """Delete-one-frame-time jackknife errors of (gain, dark), from running totals; with
    `gain` given, only the dark's."""
    m = len(st)
    dark_level = (st.off_mean.sum() - st.off_mean) / (m - 1)
    if gain is not None:
        g = np.full(m, float(gain))
    else:
        oss, odf = st.off_ss.sum() - st.off_ss, st.off_dof.sum() - st.off_dof
        v = np.where(odf > 0, oss / np.maximum(odf, 1e-300), 0.0)
        excess = st.var_ss.sum() - st.var_ss - (m - 1) * st.dark_weight * v
        g = excess / (st.dof * (st.level.sum() - st.level))
    dark = dark_level - dark_counts * g

    def se(x):
        return float(np.sqrt((m - 1) / m * ((x - x.mean()) ** 2).sum()))

    return se(g), se(dark)


def interval(value: float, se: float) -> list[float]:
    """The stated 95 % interval: value ± 1.96 standard errors."""
    return [value - Z95 * se, value + Z95 * se]


def measure(st: FrameStats, dark_counts: float, *, gain: float | None = None) -> dict:
    """Dark level D, dark offset (D − gain · d_c) and, unless `gain` is given, the gain of
    the frame times in `st`, each with its standard error; plus the χ² check of the variance
    model (`variance_over_shot_noise` ≈ 1 when the spreads are shot and dark noise)."""
    m = len(st)
    v, v_dof = _dark_variance(st)
    if not np.isfinite(v):
        v = 0.0  # one frame time and one dark frame: nothing to take a variance of
    d_level = float(st.off_mean.mean())
    se_level = float(np.sqrt(v / (st.n_off * m)))
    out = {"frame_times": m, "dark_level": d_level, "dark_frame_variance": v}
    # A floor so exact data (no read noise: every dark sample equal) keep a usable interval.
    floor = 1e-12 * (abs(d_level) + float(np.abs(st.level).mean()) + 1.0)
    if gain is None:
        g = _gain(st, v)
        var_excess = float(_spread_variance(st, g, v).sum())
        var_excess += (m * st.dark_weight) ** 2 * 2 * v * v / max(v_dof, 1.0)
        se_g = float(np.sqrt(var_excess) / (st.dof * st.level.sum()))
    else:
        g, se_g = float(gain), 0.0
    se_dark = float(np.hypot(se_level, dark_counts * se_g))
    se_method = "delta method"
    if m >= MIN_JACKKNIFE:
        jg, jd = _jackknife(st, dark_counts, gain)
        if jg > se_g or jd > se_dark:
            se_method = "jackknife over frame times (larger than the delta method)"
        se_g, se_dark = max(se_g, jg), max(se_dark, jd)
    out.update(dark=d_level - dark_counts * g, dark_level_se=max(se_level, floor))
    if gain is None:
        # χ² of the per-frame-time gains about the pooled one, given their own spreads.
        w = st.dof * st.level
        with np.errstate(divide="ignore", invalid="ignore"):
            r = (st.var_ss - st.dark_weight * v) / w
            chi2 = float(np.nansum((r - g) ** 2 / (_spread_variance(st, g, v) / w**2)))
        dof = max(m - 1, 1)
        birge = float(np.sqrt(chi2 / dof))
        if birge > 1:  # widen the errors by the scatter the model did not predict
            se_g, se_dark = se_g * birge, se_dark * birge
        out.update(
            gain=g,
            gain_se=max(se_g, floor * abs(g)),
            variance_over_shot_noise=chi2 / dof,
            variance_check_z=(chi2 - dof) / np.sqrt(2 * dof),
            mean_level=float(st.level.mean()),
        )
    out.update(dark_se=max(se_dark, floor), se_method=se_method)
    return out


def pair_sums(frames: np.ndarray, layout, timing: str):
    """Mean, within-frame-time variance and dof of the pair sums, (M,) each."""
    s = frames[:, layout.plus] + frames[:, layout.minus]
    k = s.shape[1]
    if timing == "pattern":
        # The scene moves during a frame time: pair sums drift along it; remove a line.
        design = np.stack([np.ones(k), np.arange(k) - (k - 1) / 2], 1)
        coef, *_ = np.linalg.lstsq(design, s.T, rcond=None)
        resid, dof = s - (design @ coef).T, k - 2
    else:
        resid, dof = s - s.mean(1, keepdims=True), k - 1
    return s.mean(1), (resid**2).sum(1) / dof, dof
