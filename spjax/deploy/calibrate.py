"""Detector calibration of a raw recording: samples → the inner-product units the encoder
was trained on.

Model of one raw sample (what `spjax sensing record` simulates and `spjax ask` inverts):

    sample = gain · c + dark

where c are the photon counts of the run's `NoiseModel` (mean photons·⟨P, x⟩/N + its dark
counts, shot and read noise; without a NoiseModel c = ⟨P, x⟩ itself), `gain` is the DAQ's
units per count and `dark` a constant offset on every sample (both may drift slowly).
Inversion: c = (sample − dark)/gain, then `NoiseModel.to_inner` (the Sensor's own mapping),
and y = y+ − y− over split pairs.

How each is found, best first (the report says which, with standard errors):
- measured from dark frames (`calframes`): the export's all-off calibration frames, or any
  pattern frame with every mirror off, give the dark level and its noise directly; the
  all-on calibration frames and the pair sums of ±1 patterns give the gain from their shot
  noise. With calibration frames in every frame time, both are also followed per block of
  frame times and a significant drift is corrected (`drift`).
- photon transfer alone (`photon_transfer`), for recordings without any dark frame: the
  slope of the pair sums' variance against their mean, checked for consistency; the dark
  offset cancels in y+ − y− and is only reported.
- given (`--gain`, `--dark`). Anything not identifiable must be given, and the error says so.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from spjax.deploy import calframes, drift, photon_transfer
from spjax.deploy.match import FrameLayout
from spjax.deploy.recording import RecordingError

MIN_PAIRS = 4  # pairs per frame time for a pair-sum variance worth using
PLAUSIBLE_COUNTS = 10.0  # implied counts beyond this × the photon budget: not shot noise
GIVEN_DARK_Z = 5.0  # a given --dark this many standard errors off the dark frames: warned


Line = tuple[float, float, float]  # (value at t0, slope per frame time, t0)


@dataclasses.dataclass(frozen=True)
class Detector:
    gain: float  # raw units per count (per inner-product unit without a NoiseModel)
    dark: float  # raw units added to every sample
    gain_drift: Line | None = None  # a corrected drift: the gain along the recording
    dark_drift: Line | None = None

    def per_sample(self, m: int, f: int) -> tuple[np.ndarray, np.ndarray]:
        """(M, F) gains and darks of every sample; sample j of frame time t is shown at
        t + j/F (frame-time units), where a drift line is evaluated."""
        t = np.arange(m)[:, None] + np.arange(f)[None, :] / f

        def along(value: float, line: Line | None) -> np.ndarray:
            if line is None:
                return np.full((m, f), value)
            at, slope, t0 = line
            return at + slope * (t - t0)

        return along(self.gain, self.gain_drift), along(self.dark, self.dark_drift)


def frame_times(samples: np.ndarray, n_frames: int) -> tuple[np.ndarray, int]:
    """Raw 1-D samples → (M, F) complete frame times and the number of samples left over."""
    m = len(samples) // n_frames
    return samples[: m * n_frames].reshape(m, n_frames), len(samples) - m * n_frames


def _check_given(gain, dark) -> None:
    for name, value in (("gain", gain), ("dark", dark)):
        if value is not None and not np.isfinite(value):
            raise ValueError(f"--{name}: expected a finite number, got {value}")
    if gain is not None and gain <= 0:
        raise ValueError(f"--gain: expected a value > 0 (raw units per count), got {gain}")


def _entry(value: float, se: float | None, how: str, **extra) -> dict:
    """A report entry: the value, how it was found and (measured) its error and interval."""
    out = {"value": float(value), "how": how}
    if se is not None:
        out.update(standard_error=float(se), interval_95=calframes.interval(value, se))
        if value:
            out["relative_standard_error"] = float(se / abs(value))
    return {**out, **extra}


def _plausible(implied: float, g: float, noise) -> None:
    """A full-scale scene gives `photons` counts on an all-on frame: far more means the
    spread is not shot noise (a noiseless or quantised recording), so the fit is void."""
    budget = noise.photons + 2 * noise.dark
    if not np.isfinite(implied) or implied > PLAUSIBLE_COUNTS * budget:
        raise RecordingError(
            f"gain: the photon-transfer estimate ({g:.3g}) implies {implied:.3g} counts per "
            f"all-on frame, {implied / budget:.3g}× the run's photon budget {noise.photons:g}: "
            "the recording carries no measurable shot noise (noiseless or quantised?); give "
            "--gain"
        )


def _gain_reasons(layout: FrameLayout, noise, m: int, variance_sources: bool) -> list[str]:
    reasons = []
    if noise is None:
        reasons.append("the run's sensor has no NoiseModel (no shot noise to calibrate on)")
    if not variance_sources:
        reasons.append(
            "it has no pair of all-on calibration frames per frame time and its patterns are "
            "not split ±1 pairs (nothing whose spread is noise alone)"
            if len(layout.all_off)
            else "its patterns are not split ±1 pairs (no constant pair sum)"
            if not layout.complementary
            else f"it has {len(layout.plus)} pairs per frame time (< {MIN_PAIRS})"
        )
    if m < 2:
        reasons.append("the recording holds fewer than 2 frame times")
    return reasons


def _refuse_gain(reasons: list[str]) -> None:
    raise RecordingError(
        "gain: not identifiable from this recording because "
        + "; ".join(reasons)
        + "; give --gain (raw units per count)"
    )


def _from_dark_frames(frames, layout, noise, timing, gain, dark, block):
    """Dark and gain measured from the dark frames (and all-on frames / pair sums)."""
    m = len(frames)
    d_c = 0.0 if noise is None else noise.dark
    st = calframes.frame_stats(frames, layout, timing)
    off = layout.all_off
    where = (
        f"the {len(layout.calibration_off)} all-off calibration frame(s)"
        if len(layout.calibration_off)
        else f"the all-off physical frame(s) {off[:4].tolist()}{'…' if len(off) > 4 else ''}"
    )
    report, warnings = {"method": "dark frames"}, []
    if gain is None:
        sources = st.dof_on > 0 or (st.dof_pairs > 0 and len(layout.plus) >= MIN_PAIRS)
        reasons = _gain_reasons(layout, noise, m, sources)
        if reasons:
            _refuse_gain(reasons)
        if st.dof_pairs and len(layout.plus) < MIN_PAIRS:
            st = dataclasses.replace(st, dof_pairs=0, var_ss=st.var_ss * 0)  # too few pairs
        res = calframes.measure(st, d_c)
        g = res["gain"]
        if not (np.isfinite(g) and g > 0):
            raise RecordingError(
                "gain: the frames' spread is no larger than the dark frames' (no shot noise: "
                "a noiseless, clipped or unlit recording?), so the gain is not identifiable; "
                "give --gain"
            )
        _plausible(res["mean_level"] / g, g, noise)
        used = []
        if st.dof_on:
            used.append(f"{len(layout.calibration_on)} all-on calibration frames")
        if st.dof_pairs:
            used.append(f"{len(layout.plus)} P+ + P− pair sums (= all mirrors on)")
        report["gain"] = _entry(
            g,
            res["gain_se"],
            "measured: shot noise of the "
            + " and the ".join(used)
            + f" per frame time over {m} frame times, less the dark frames' own variance "
            f"(photon transfer referred to {where}); standard error: {res['se_method']}",
            implied_counts_all_on=res["mean_level"] / g,
        )
        report["checks"] = {
            "variance_over_shot_noise": res["variance_over_shot_noise"],
            "variance_check_z": res["variance_check_z"],
        }
        if res["variance_check_z"] > calframes.CHI2_Z:
            warnings.append(
                "gain: the frames' spread varies between frame times "
                f"{np.sqrt(res['variance_over_shot_noise']):.3g}× more than shot noise allows "
                "(flicker, a non-linear detector, or a moving scene under pattern timing?); "
                "its standard error is widened by that factor"
            )
    else:
        g = float(gain)
        res = calframes.measure(st, d_c, gain=g)
        report["gain"] = {"value": g, "how": "given"}
    measured_dark = _entry(
        res["dark"],
        res["dark_se"],
        f"measured: mean of {where} over {m} frame times"
        + (f", less gain × {d_c:g} dark counts" if d_c else ""),
        dark_frame_variance=res["dark_frame_variance"],
    )
    if dark is None:
        d = res["dark"]
        report["dark"] = measured_dark
    else:
        d = float(dark)
        report["dark"] = {"value": d, "how": "given", "measured": measured_dark}
        if abs(d - res["dark"]) > GIVEN_DARK_Z * res["dark_se"] + 1e-9 * (abs(d) + 1):
            warnings.append(
                f"dark: the given --dark {d:.6g} differs from what the dark frames measure, "
                f"{res['dark']:.6g} ± {res['dark_se']:.3g}; the given value is used"
            )
    detector = Detector(g, d)
    if block and len(layout.all_off):
        # Where in a frame time each is measured: the dark frames' mean position; the gain
        # over the whole frame time.
        phase = {"dark": (float(off.mean()) + 0.5) / layout.n_frames, "gain": 0.5}
        found, lines = drift.analyse(st, d_c, block=block, gain=gain, phase=phase)
        if found is not None:
            if dark is not None:
                lines.pop("dark", None)  # the user's value stands
                found["dark"].update(applied=False, how=found["dark"]["how"] + "; --dark given")
            report["drift"] = found
            detector = Detector(g, d, lines.get("gain"), lines.get("dark"))
    return detector, report, warnings


def _photon_transfer(frames, layout, noise, timing, gain, dark):
    """No dark frame: the fallback on the pair sums alone (or the values given)."""
    m = len(frames)
    report, warnings = {"method": "photon transfer on the pair sums (no dark frame)"}, []
    if gain is None:
        reasons = _gain_reasons(
            layout, noise, m, layout.complementary and len(layout.plus) >= MIN_PAIRS
        )
        if reasons:
            _refuse_gain(reasons)
        if dark is None:
            res, warnings = photon_transfer.fit(frames, layout, noise, timing)
            how = (
                "estimated: photon transfer, weighted slope of the P+ + P− pair sums' variance "
                f"against their mean across {m} frame times × {len(layout.plus)} pairs "
                "(fallback: the export has no all-off frame)"
            )
        else:
            res = photon_transfer.pooled_with_dark(frames, layout, noise, timing, dark)
            how = (
                "estimated: photon transfer, Var(pair sums) = gain·(mean − 2·dark) + "
                f"2·gain²·σ² pooled over {m} frame times × {len(layout.plus)} pairs with the "
                "given dark (σ = read noise of the run's NoiseModel)"
            )
        g = res["gain"]
        _plausible(res["implied_counts"], g, noise)
        report["gain"] = _entry(g, res["gain_se"], how, implied_counts_all_on=res["implied_counts"])
        if "variance_check_z" in res:
            report["checks"] = {
                "variance_over_shot_noise": res["variance_over_shot_noise"],
                "variance_check_z": res["variance_check_z"],
            }
    else:
        g, res = float(gain), {}
        report["gain"] = {"value": g, "how": "given"}
    if dark is not None:
        report["dark"] = {"value": float(dark), "how": "given"}
        return Detector(g, float(dark)), report, warnings
    if layout.minus is None:
        raise RecordingError(
            "dark: not identifiable (the sensor is not split and no physical frame has every "
            "mirror off); record through an export with calibration frames (spjax export "
            "writes them), or give --dark (the raw value with no light)"
        )
    how = "not needed: a constant offset cancels in y = y+ − y−"
    if "dark" in res:
        report["dark"] = _entry(
            0.0,
            None,
            how,
            photon_transfer_intercept={
                "value": res["dark"],
                "standard_error": res["dark_se"],
                "interval_95": res["interval_dark"],
                "determined": res["dark_determined"],
                "note": "the offset the fit's intercept implies (with the run's read noise); "
                "not used",
            },
        )
    else:
        report["dark"] = {"value": 0.0, "how": how}
    return Detector(g, 0.0), report, warnings


def estimate_detector(
    frames: np.ndarray,
    layout: FrameLayout,
    noise,
    *,
    timing: str = "frame",
    gain: float | None = None,
    dark: float | None = None,
    block: int | None = None,
) -> tuple[Detector, dict]:
    """Fit (or take) gain and dark offset for `frames` (M, F) raw samples. The report says
    for each what was given or how it was measured, with standard errors and 95 % intervals,
    the consistency checks, the drift per block of `block` frame times (with calibration
    frames) and `warnings`: the estimate contradicts the data, or is not determined."""
    _check_given(gain, dark)
    if len(layout.all_off):
        detector, report, warnings = _from_dark_frames(
            frames, layout, noise, timing, gain, dark, block
        )
    else:
        detector, report, warnings = _photon_transfer(frames, layout, noise, timing, gain, dark)
    report = {"model": "sample = gain * counts + dark", "frame_times_used": len(frames), **report}
    report["warnings"] = warnings
    return detector, report


def to_measurements(
    frames: np.ndarray, layout: FrameLayout, detector: Detector, noise, n_pixels: int
) -> np.ndarray:
    """(M, F) raw samples → (M, K) measurements in the Sensor's inner-product units."""
    gains, darks = detector.per_sample(*frames.shape)
    counts = (frames - darks) / gains
    inner = counts if noise is None else noise.to_inner(counts, n_pixels)
    y = inner[:, layout.plus]
    if layout.minus is not None:
        y = y - inner[:, layout.minus]
    return y.astype(np.float32)
