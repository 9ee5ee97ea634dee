"""Which export was displayed: load its manifest (and frames, given the export folder), check
that it is the run's sensor, and lay out which physical frame measured which pattern and
where the calibration frames (all-off, all-on) sit in every frame time."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from spjax.deploy.recording import RecordingError


@dataclasses.dataclass(frozen=True)
class FrameLayout:
    """Where pattern k's P+ (and P−) sit in one frame time of the recorded stream."""

    n_frames: int  # physical frames per frame time
    plus: np.ndarray  # (K,) sample index of P+ (or of the unsplit pattern)
    minus: np.ndarray | None  # (K,) sample index of P−, None when not split
    shown: np.ndarray  # (F, H, W) bool: the mirrors on in each physical frame, display order
    frame_period_s: float | None  # one physical frame (exposure + dark time)
    source: str  # the manifest or export folder it came from
    verified_files: bool  # every export file checked against its SHA-256 and decoded
    calibration_off: np.ndarray = dataclasses.field(
        default_factory=lambda: np.zeros(0, int)
    )  # all-off calibration frames (sample indices in a frame time)
    calibration_on: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0, int))
    manifest_version: int = 2
    sequence_sha256: str | None = None  # the export's display-order checksum (version 2)
    patterns_sha256: str | None = None

    @property
    def frame_time_s(self) -> float | None:
        """Seconds of one frame time: every physical frame shown once."""
        return None if self.frame_period_s is None else self.n_frames * self.frame_period_s

    @property
    def all_off(self) -> np.ndarray:
        """Indices of physical frames with every mirror off (they see only the dark level):
        the calibration frames, and any pattern frame that happens to be dark."""
        return np.flatnonzero(~self.shown.reshape(self.n_frames, -1).any(1))

    @property
    def all_on(self) -> np.ndarray:
        """Indices of physical frames with every mirror of the measured region on."""
        return np.flatnonzero(self.shown.reshape(self.n_frames, -1).all(1))

    @property
    def n_calibration(self) -> int:
        return len(self.calibration_off) + len(self.calibration_on)

    @property
    def complementary(self) -> bool:
        """Split pairs whose P+ and P− together light every mirror (±1 patterns): then
        y+ + y− = Σx is the same for every pair of a frame time."""
        if self.minus is None:
            return False
        return bool((self.shown[self.plus] ^ self.shown[self.minus]).all())


def load_manifest(path) -> tuple[dict, np.ndarray | None, str]:
    """`--manifest/--export`: an export folder (files verified and frames decoded: returns
    its (F, H, W) frames) or a manifest.json file alone (frames None)."""
    from spjax.export import read_frames
    from spjax.export.manifest import read_manifest_file

    path = Path(path)
    if path.is_dir():
        frames, manifest = read_frames(path)
        return manifest, frames, str(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"--export: expected an export folder or its manifest.json, got {path} (missing)"
        )
    return read_manifest_file(path), None, str(path)


def _order(manifest: dict, k: int, split: bool, source: str):
    signs = (1, -1) if split else (1,)
    index = {}
    for i, entry in enumerate(manifest["frames"]):
        if entry.get("calibration") is not None:
            continue
        try:
            key = (int(entry["pattern"]), int(entry["sign"]))
        except (KeyError, TypeError, ValueError):
            raise RecordingError(f"{source}: frame entry {i} lacks pattern/sign: {entry}") from None
        if entry.get("frame") != i or not 0 <= key[0] < k or key[1] not in signs:
            raise RecordingError(f"{source}: frame entry {i} is invalid for K={k}: {entry}")
        if key in index:
            raise RecordingError(
                f"{source}: pattern {key[0]} sign {key[1]:+d} is shown twice "
                f"(frames {index[key]} and {i})"
            )
        index[key] = i
    plus = np.array([index[(p, 1)] for p in range(k)])
    minus = np.array([index[(p, -1)] for p in range(k)]) if split else None
    return plus, minus


def _pattern_difference(exported: np.ndarray, ours: np.ndarray) -> str:
    """Say how decoded patterns differ from the run's: reordered, or which differ."""
    flat_e, flat_o = exported.reshape(len(exported), -1), ours.reshape(len(ours), -1)
    same = [np.flatnonzero((flat_o == row).all(1)) for row in flat_e]
    if all(len(s) for s in same):
        moved = [(i, int(s[0])) for i, s in enumerate(same) if s[0] != i]
        pairs = ", ".join(f"export pattern {i} is the run's pattern {j}" for i, j in moved[:3])
        return f"pattern order differs ({len(moved)} patterns moved: {pairs})"
    differ = [i for i in range(len(flat_e)) if not (flat_e[i] == flat_o[i]).all()]
    return f"{len(differ)} of {len(flat_e)} patterns differ (first: pattern {differ[0]})"


def check_export(manifest: dict, sensor, frames: np.ndarray | None, source: str) -> FrameLayout:
    """Refuse an export that is not `sensor` (K, size, split, frame count, timing, the
    patterns' checksum and order), naming every difference; else its `FrameLayout`. The
    frame count is the sensor's physical frames plus the export's calibration frames."""
    from spjax.export.calibration import manifest_calibration
    from spjax.export.frames import from_frames
    from spjax.export.manifest import patterns_sha256

    if manifest.get("bit_depth") is not None:
        raise RecordingError(
            f"{source}: a bit-plane export (bit_depth {manifest['bit_depth']}) needs its "
            "planes combined per pattern; spjax ask reads hard-pattern exports"
        )
    ours = np.asarray(sensor.patterns(), np.float32)
    cal = manifest_calibration(manifest)
    n_cal = cal["n_frames"]
    diffs = [
        f"{name}: export {manifest[key]!r}, run {mine!r}"
        for name, key, mine in (
            ("K (patterns)", "k", sensor.k),
            ("height", "h", sensor.h),
            ("width", "w", sensor.w),
            ("split", "split", sensor.split),
        )
        if manifest[key] != mine
    ]
    if manifest["n_frames"] != sensor.physical_frames + n_cal:
        cal_note = f" + {n_cal} calibration" if n_cal else ""
        diffs.append(
            f"frame count: export {manifest['n_frames']}, run {sensor.physical_frames}{cal_note}"
        )
    timing = manifest.get("timing", "frame")
    if timing != sensor.timing:
        diffs.append(f"timing: export {timing!r}, run {sensor.timing!r}")
    if not diffs:
        digest = patterns_sha256(ours)
        how = ""
        if frames is not None:
            try:
                exported = from_frames(frames, manifest["frames"], sensor.k, sensor.split)
                if not np.array_equal(exported, ours):
                    how = f": {_pattern_difference(exported, ours)}"
            except ValueError as err:
                how = f" (its frames do not decode: {err})"
        if manifest["patterns_sha256"] != digest or how:
            diffs.append(
                f"patterns differ{how} (checksum: export sha256 "
                f"{manifest['patterns_sha256'][:16]}…, run {digest[:16]}…)"
            )
    if diffs:
        raise RecordingError(
            f"{source}: the export that was displayed is not this run's sensor — "
            + "; ".join(diffs)
        )
    plus, minus = _order(manifest, sensor.k, sensor.split, source)
    off, on = np.asarray(cal["off"], int), np.asarray(cal["on"], int)
    if frames is None:
        shown = np.empty((manifest["n_frames"],) + ours.shape[1:], bool)
        shown[plus] = ours > 0
        if minus is not None:
            shown[minus] = ours < 0
        shown[off], shown[on] = False, True
    else:
        shown = np.asarray(frames) > 0
    period = manifest.get("frame_period_us")
    return FrameLayout(
        n_frames=int(manifest["n_frames"]),
        plus=plus,
        minus=minus,
        shown=shown,
        frame_period_s=None if period is None else float(period) * 1e-6,
        source=source,
        verified_files=frames is not None,
        calibration_off=off,
        calibration_on=on,
        manifest_version=int(manifest["manifest_version"]),
        sequence_sha256=manifest.get("sequence_sha256"),
        patterns_sha256=manifest["patterns_sha256"],
    )
