"""Is this stream a recording of this export? Checked before anything is estimated from it,
so a recording of another export is refused with the mismatch named, not with a detector
estimate that happens to fail.

In order: the recording's own side file (`<stem>.labels.json`, written by `spjax sensing
record`: which export it went through), the length (at least one frame time), the period
(a stream repeats every frame time: another export repeats at its own), the split pairs
(P+ + P− sums agree within a frame time, not one sample off), and the calibration frames (the
all-off frames must be the darkest and the all-on the brightest, where the manifest puts
them).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from spjax.deploy.recording import RecordingError

MAX_PERIOD_SAMPLES = 1 << 18  # enough frame times to see the period; keeps the FFT small
CLEAR_PERIOD = 0.25  # a lag whose mean squared difference is below this × the median: a period
NOT_A_PERIOD = 0.5  # the frame time's lag above this × the median: the stream does not repeat
SHIFT_FACTOR = 4.0  # pair sums this much tighter one sample off: the stream is misaligned
CAL_Z = 5.0  # standard errors a pattern frame may sit beyond the calibration levels
CAL_RANGE = 0.01  # ... plus this fraction of the all-off → all-on range


def side_file(path) -> Path:
    """Where `spjax sensing record` writes a recording's ground truth and provenance."""
    path = Path(path)
    return path.with_name(path.stem + ".labels.json")


def describe_layout(layout) -> str:
    pairs = f"{len(layout.plus)} {'split pairs' if layout.minus is not None else 'patterns'}"
    cal = f" + {layout.n_calibration} calibration frames" if layout.n_calibration else ""
    return f"{layout.n_frames} physical frames per frame time ({pairs}{cal})"


def check_side_file(side: dict, n_samples: int, layout, where: str) -> dict:
    """The export a simulated recording went through, against the one given."""
    if side.get("n_samples") != n_samples:
        return {"checked": False, "reason": f"{where} describes {side.get('n_samples')} samples"}
    diffs = []
    theirs = side.get("physical_frames_per_frame_time")
    if theirs != layout.n_frames:
        diffs.append(f"{theirs} physical frames per frame time, not {layout.n_frames}")
    if side.get("patterns_sha256") not in (None, layout.patterns_sha256):
        diffs.append(
            f"patterns sha256 {side['patterns_sha256'][:16]}…, not {layout.patterns_sha256[:16]}…"
        )
    seq = side.get("sequence_sha256")
    if seq is not None and layout.sequence_sha256 is not None and seq != layout.sequence_sha256:
        diffs.append(f"display sequence sha256 {seq[:16]}…, not {layout.sequence_sha256[:16]}…")
    if diffs:
        raise RecordingError(
            f"the recording was made through the export {side.get('export')!r} ({where}), not "
            f"{layout.source}: " + "; ".join(diffs)
        )
    return {"checked": True, "export": side.get("export")}


def mean_square_differences(x: np.ndarray) -> np.ndarray:
    """D[L] = mean over i of (x[i+L] − x[i])², L = 0 … len(x)//2, in O(n log n)."""
    n = len(x)
    x = x - x.mean()
    size = 1 << int(np.ceil(np.log2(2 * n)))
    spec = np.fft.rfft(x, size)
    cross = np.fft.irfft(spec * np.conj(spec), size)[: n // 2 + 1]
    sq = np.concatenate([[0.0], np.cumsum(x * x)])
    lags = np.arange(n // 2 + 1)
    head = sq[n - lags]  # Σ x[i]², i < n − L
    tail = sq[n] - sq[lags]  # Σ x[i]², i ≥ L
    return (head + tail - 2 * cross) / (n - lags)


def stream_period(samples: np.ndarray, n_frames: int) -> dict:
    """The lag at which the stream repeats, from its mean squared differences: a recording of
    this export repeats every frame time (scenes change slowly, patterns every frame)."""
    x = np.asarray(samples[:MAX_PERIOD_SAMPLES], np.float64)
    if len(x) < 3 * n_frames or len(x) < 8:
        return {"checked": False, "reason": "fewer than 3 frame times"}
    d = mean_square_differences(x)[1:]
    median = float(np.median(d))
    if not median > 0:
        return {"checked": False, "reason": "the stream does not vary"}
    at_frame = float(d[n_frames - 1]) / median if n_frames <= len(d) else None
    clear = np.flatnonzero(d < CLEAR_PERIOD * median)
    if len(clear):
        # The shortest clear lag whose multiples stay clear is the period.
        best = clear[np.argmin(d[clear])]
        candidates = [lag for lag in clear if d[lag] <= 2 * d[best] + 1e-12 * median]
        period = int(candidates[0]) + 1
    else:
        period = None
    return {
        "checked": True,
        "period": period,
        "frame_time_lag_over_median": at_frame,
    }


def check_period(samples: np.ndarray, layout) -> dict:
    found = stream_period(samples, layout.n_frames)
    if not found["checked"]:
        return found
    period, at_frame = found["period"], found["frame_time_lag_over_median"]
    if period is not None and at_frame is not None and at_frame > NOT_A_PERIOD:
        whole = (
            f"; its {len(samples)} samples are {len(samples) // period} whole frame times of "
            f"{period}"
            if len(samples) % period == 0
            else ""
        )
        raise RecordingError(
            f"the recording repeats every {period} samples, but the export {layout.source} "
            f"shows {describe_layout(layout)}: it is a recording of another export (another K, "
            f"size, split or calibration){whole}"
        )
    return found


def check_calibration_frames(frames: np.ndarray, layout) -> dict:
    """All-off frames darkest and all-on brightest, on average over frame times."""
    off, on = layout.calibration_off, layout.calibration_on
    if not len(off) or not len(on) or len(frames) < 2:
        return {"checked": False}
    m = len(frames)
    o, u = frames[:, off].mean(1), frames[:, on].mean(1)
    span = float((u - o).mean())
    plain = np.setdiff1d(np.arange(layout.n_frames), np.union1d(layout.all_off, layout.all_on))
    if not span > 0:
        raise RecordingError(
            f"the all-on calibration frames (samples {on.tolist()} of every frame time) are "
            f"not brighter than the all-off ones ({off.tolist()}): mean difference {span:.4g}; "
            "the recording is misaligned or not of this export"
        )
    report = {"checked": True, "off_to_on_range": span}
    if not len(plain):
        return report
    p = frames[:, plain]
    below = p - o[:, None]  # ≥ 0 expected
    above = u[:, None] - p  # ≥ 0 expected
    for name, diff, word in (("off", below, "darker"), ("on", above, "brighter")):
        mean = diff.mean(0)
        se = diff.std(0, ddof=1) / np.sqrt(m)
        bad = np.flatnonzero(mean < -(CAL_Z * se + CAL_RANGE * span))
        if len(bad):
            f = int(plain[bad[np.argmin(mean[bad])]])
            raise RecordingError(
                f"the calibration frames are not where the manifest of {layout.source} puts "
                f"them: {len(bad)} pattern frame(s) (first: sample {f} of each frame time) are "
                f"{word} on average than the all-{name} frames; the recording is misaligned "
                "or of another export"
            )
    return report


def pair_sum_alignment(frames: np.ndarray, layout, timing: str) -> dict:
    """Pair-sum dispersion as recorded and one sample earlier/later: a misaligned stream (a
    dropped or extra sample) pairs frames of different patterns, whose sums differ."""
    from spjax.deploy.calframes import pair_sums

    flat = frames.reshape(-1)
    f, m = layout.n_frames, len(frames)
    out = {"as_recorded": float(pair_sums(frames, layout, timing)[1].mean())}
    if m >= 2:
        for name, lo in (("one_sample_later", 1), ("one_sample_earlier", f - 1)):
            part = flat[lo : lo + (m - 1) * f].reshape(m - 1, f)
            out[name] = float(pair_sums(part, layout, timing)[1].mean())
    return out


def check_alignment(frames: np.ndarray, layout, timing: str) -> dict:
    if not (layout.complementary and len(layout.plus) >= 3):
        return {"checked": False}
    align = pair_sum_alignment(frames, layout, timing)
    shifted = [v for key, v in align.items() if key != "as_recorded"]
    if shifted and align["as_recorded"] > SHIFT_FACTOR * min(shifted):
        raise RecordingError(
            "the recording looks misaligned by one sample: its P+/P− pair sums, which must "
            "agree within a frame time (P+ + P− = all mirrors on), agree "
            f"{align['as_recorded'] / max(min(shifted), 1e-300):.3g}× better one sample off; "
            "check for a dropped or extra sample at the start"
        )
    return {"checked": True, **align}


def check_stream(
    samples: np.ndarray, layout, *, timing: str = "frame", side: tuple[dict, str] | None = None
) -> dict:
    """Every check above, in order; `side` is a recording's side file (content, path).
    Returns what was checked and found, or raises a RecordingError naming the first
    mismatch."""
    report: dict = {}
    if side is not None:
        report["side_file"] = check_side_file(side[0], len(samples), layout, side[1])
    if len(samples) < layout.n_frames:
        raise RecordingError(
            f"{len(samples)} samples, fewer than one frame time ({describe_layout(layout)})"
        )
    report["period"] = check_period(samples, layout)
    m = len(samples) // layout.n_frames
    frames = samples[: m * layout.n_frames].reshape(m, layout.n_frames)
    # A one-sample shift is named as such before the calibration frames (which it also moves).
    report["pair_sum_dispersion"] = check_alignment(frames, layout, timing)
    report["calibration_frames"] = check_calibration_frames(frames, layout)
    return report


def read_side_file(path) -> tuple[dict, str] | None:
    """A labels/side file as (content, path), None if absent or not a JSON object."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        content = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return (content, str(path)) if isinstance(content, dict) else None
