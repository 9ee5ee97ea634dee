"""Calibration frames: all-off and all-on DMD frames at the start of every frame time.

A single-pixel recording can only be turned back into the measurements a model was trained on
if the detector's dark level and gain are known. An all-off frame (every mirror of the
measured region off) sees the dark level alone; an all-on frame (every mirror on) sees all the
light of the scene, as P+ + P− of a ±1 pattern does. `spjax ask` reads the dark level and its
noise from the first and the gain from the shot noise of the second (spjax.deploy.calibrate),
instead of guessing them from the patterns. Mirrors outside the measured region stay off, as
in every other frame.

Manifest (version 2): ``calibration`` = {``off``: [frame indices], ``on``: [...],
``n_frames``, ``placement``, ``every_frame_times``}, and ``sequence_sha256``, the SHA-256 of
the display order (pattern, sign, plane and calibration kind of every frame, then the
calibration section), so the placement and count are checked like the patterns are.
Calibration entries in ``frames`` have ``pattern`` null, ``sign`` 0 and ``calibration``
"off" or "on". A version-1 manifest (before calibration frames) has none.
"""

from __future__ import annotations

import numpy as np

from spjax.jsonio import content_hash

OFF, ON = "off", "on"
KINDS = (OFF, ON)
DEFAULT = (2, 2)  # all-off, all-on frames per frame time: two of each give a variance each
PLACEMENT = "start"  # the calibration frames open every frame time
MAX_FRAMES = 64  # per kind; more only lengthens the frame time


def check_calibration(value) -> tuple[int, int]:
    """``calibration`` argument → (all-off, all-on) frames per frame time.

    None, 0 or False: none (an export as before calibration frames); an int n: n of each;
    a pair (n_off, n_on)."""
    if value is None or value is False:
        return 0, 0
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        pair = (int(value), int(value))
    else:
        try:
            pair = tuple(value)
        except TypeError:
            pair = ()
        if len(pair) != 2 or not all(
            isinstance(n, (int, np.integer)) and not isinstance(n, bool) for n in pair
        ):
            raise ValueError(
                "calibration: expected None, a count n (n all-off and n all-on frames) or a "
                f"pair (n_off, n_on) of integers, got {value!r}"
            )
        pair = (int(pair[0]), int(pair[1]))
    if not all(0 <= n <= MAX_FRAMES for n in pair):
        raise ValueError(
            f"calibration: expected counts in [0, {MAX_FRAMES}] per frame time, got {pair}"
        )
    return pair


def section(n_off: int, n_on: int) -> dict:
    """The manifest's ``calibration`` entry for frames placed first: off frames, then on."""
    return {
        "off": list(range(n_off)),
        "on": list(range(n_off, n_off + n_on)),
        "n_frames": n_off + n_on,
        "placement": PLACEMENT,
        "every_frame_times": 1,
    }


def is_calibration(entry: dict) -> bool:
    return isinstance(entry, dict) and entry.get("calibration") is not None


def prepend(
    frames: np.ndarray, order: list[dict], calibration: tuple[int, int]
) -> tuple[np.ndarray, list[dict], dict]:
    """Put the all-off then all-on frames before the pattern frames of ``to_frames``;
    returns the frames, the renumbered order and the manifest's calibration section."""
    n_off, n_on = calibration
    h, w = frames.shape[1:]
    extra = np.concatenate([np.zeros((n_off, h, w), np.uint8), np.ones((n_on, h, w), np.uint8)])
    entries = [
        {"frame": i, "pattern": None, "sign": 0, "calibration": kind}
        for i, kind in enumerate([OFF] * n_off + [ON] * n_on)
    ]
    shift = len(entries)
    entries += [dict(e, frame=e["frame"] + shift) for e in order]
    return np.concatenate([extra, frames]), entries, section(n_off, n_on)


def sequence_sha256(entries: list[dict], calibration: dict | None) -> str:
    """SHA-256 of what is displayed when: every frame's pattern, sign, plane and calibration
    kind in display order, then the calibration section (canonical JSON)."""
    rows = [
        [e.get("pattern"), e.get("sign"), e.get("plane"), e.get("calibration")] for e in entries
    ]
    return content_hash({"frames": rows, "calibration": calibration})


def manifest_calibration(manifest: dict) -> dict:
    """The calibration section of a loaded manifest; a version-1 manifest has none."""
    cal = manifest.get("calibration")
    return section(0, 0) if cal is None else cal


def validate(manifest: dict, path) -> None:
    """A version-2 manifest's calibration section agrees with its frame entries and with
    ``sequence_sha256`` (a ValueError names what disagrees)."""
    cal = manifest.get("calibration")
    if not isinstance(cal, dict):
        raise ValueError(f"{path}: calibration must be an object, got {cal!r}")
    n = manifest["n_frames"]
    listed = {}
    for kind in KINDS:
        idx = cal.get(kind)
        if not isinstance(idx, list) or not all(
            isinstance(i, int) and not isinstance(i, bool) and 0 <= i < n for i in idx
        ):
            raise ValueError(
                f"{path}: calibration.{kind} must list frame indices in [0, {n}), got {idx!r}"
            )
        listed.update({i: kind for i in idx})
    if cal.get("n_frames") != len(listed) or len(listed) != len(cal[OFF]) + len(cal[ON]):
        raise ValueError(
            f"{path}: calibration.n_frames is {cal.get('n_frames')!r}, but off {cal[OFF]} and "
            f"on {cal[ON]} list {len(cal[OFF]) + len(cal[ON])} frames"
        )
    marked = {
        i: e.get("calibration") for i, e in enumerate(manifest["frames"]) if e.get("calibration")
    }
    if marked != listed:
        raise ValueError(
            f"{path}: the frame entries mark calibration frames {marked}, the calibration "
            f"section lists {listed}"
        )
    digest = sequence_sha256(manifest["frames"], cal)
    if manifest.get("sequence_sha256") != digest:
        raise ValueError(
            f"{path}: sequence_sha256 is {manifest.get('sequence_sha256')!r}, the frame order "
            f"and calibration frames give {digest} (the manifest was edited)"
        )


def check_frame(frame: np.ndarray, kind: str, where: str) -> None:
    """A decoded calibration frame (0/1 mirrors of the measured region) is all ``kind``."""
    want = 0 if kind == OFF else 1
    wrong = int((np.asarray(frame) != want).sum())
    if wrong:
        raise ValueError(
            f"{where} is listed as an all-{kind} calibration frame, but {wrong} of its "
            f"{np.asarray(frame).size} mirrors are {'on' if want == 0 else 'off'}"
        )


def verify_frames(frames: np.ndarray, manifest: dict, source) -> None:
    """Every calibration frame of a decoded export is all-off / all-on as listed."""
    cal = manifest_calibration(manifest)
    for kind in KINDS:
        for i in cal[kind]:
            check_frame(frames[i], kind, f"{source}: frame {i}")
