"""Export a sensor's patterns to DMD files, and import them back with verification.

Export: sensor -> displayed patterns (hard, or quantised bit-planes) -> binary frames (split
pairs interleaved, after the all-off/all-on calibration frames) -> oriented, zoomed and placed
on the device -> format files -> manifest with checksums. Import runs the same chain
backwards and checks every step.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import shutil
import tempfile
from pathlib import Path

import numpy as np

from spjax import __version__
from spjax.export import calibration as calibration_mod
from spjax.export import frames as frames_mod
from spjax.export.formats import get_format
from spjax.export.geometry import Placement, make_placement
from spjax.export.manifest import (
    MANIFEST,
    MANIFEST_VERSION,
    config_hash,
    patterns_sha256,
    read_manifest,
    verify_checksums,
    write_manifest,
)

DEFAULT_EXPOSURE_US = 1000.0
DEFAULT_DARK_US = 0.0


@dataclasses.dataclass(frozen=True)
class Source:
    """What an export needs to know about a sensor, independent of the Sensor class."""

    patterns: np.ndarray  # (K, H, W) float32 as displayed: hard, or quantised
    split: bool
    description: dict  # Sensor.describe()
    photons: dict | None  # NoiseModel fields, or None for a noiseless sensor
    timing: str


def parse_device(device) -> tuple[int, int] | None:
    """``None``, ``(height, width)`` or a ``"WIDTHxHEIGHT"`` string such as ``"1920x1080"``."""
    if device is None:
        return None
    if isinstance(device, str):
        m = re.fullmatch(r"\s*(\d+)\s*[x×X]\s*(\d+)\s*", device)
        if not m:
            raise ValueError(f"device: expected 'WIDTHxHEIGHT' such as '1920x1080', got {device!r}")
        return int(m.group(2)), int(m.group(1))
    try:
        h, w = device
    except (TypeError, ValueError):
        raise TypeError(
            f"device: expected (height, width) or 'WIDTHxHEIGHT', got {device!r}"
        ) from None
    return h, w


def _source(obj, split: bool | None, bit_depth: int | None) -> Source:
    """A Sensor (anything with ``patterns()`` and ``describe()``) or a ``(K, H, W)`` array.

    The returned patterns are exactly what will be displayed: the hard patterns, or with
    ``bit_depth`` the patterns quantised to ``2^b - 1`` levels.
    """
    if isinstance(obj, (str, os.PathLike)):
        raise TypeError(
            f"sensor_or_patterns: expected a Sensor or a (K, H, W) array, got the "
            f"path {str(obj)!r}; load it first (spjax.sensing.load_sensor or np.load)"
        )
    if not (callable(getattr(obj, "patterns", None)) and callable(getattr(obj, "describe", None))):
        from spjax.sensing import Sensor

        # Validate first: the message says what a DMD can show.
        shown = frames_mod.from_levels(frames_mod.to_levels(obj, bit_depth), bit_depth)
        return _source(Sensor.from_patterns(shown, split=split), None, bit_depth)
    original = np.asarray(obj.patterns())
    levels = frames_mod.to_levels(original, bit_depth)
    sensor_split = bool(obj.split)
    if split is not None and split != sensor_split:
        raise ValueError(
            f"split: the sensor was built with split={sensor_split}, got "
            f"split={split}; leave split=None to export it as measured"
        )
    # What we display must be what the simulated sensor displays (up to quantisation).
    full = 1 if bit_depth is None else 2**bit_depth - 1
    ours = (
        np.stack([np.maximum(levels, 0), np.maximum(-levels, 0)], 1).reshape(
            (-1,) + levels.shape[1:]
        )
        if sensor_split
        else levels
    )
    theirs = np.round(np.asarray(obj.physical_patterns(), np.float64) * full)
    if theirs.shape != ours.shape or not np.array_equal(theirs, ours):
        raise ValueError(
            "sensor: physical_patterns() differ from the split patterns() the export would display"
        )
    noise = getattr(obj, "noise", None)
    photons = None if noise is None else noise.to_dict()
    return Source(
        frames_mod.from_levels(levels, bit_depth),
        sensor_split,
        obj.describe(),
        photons,
        str(obj.timing),
    )


def _check_time(name: str, value, minimum_exclusive: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise TypeError(f"{name}: expected a number of microseconds, got {value!r}")
    value = float(value)
    if not math.isfinite(value) or value < 0 or (minimum_exclusive and value == 0):
        bound = "> 0" if minimum_exclusive else ">= 0"
        raise ValueError(f"{name}: expected a finite time {bound} µs, got {value}")
    return value


def _prepare_out_dir(out_dir: Path, overwrite: bool) -> None:
    """Refuse to clobber; with overwrite, only replace an earlier export or an empty folder."""
    if out_dir.is_file():
        raise FileExistsError(f"out_dir: {out_dir} is a file, expected a directory path")
    if out_dir.exists() and any(out_dir.iterdir()):
        if not overwrite:
            raise FileExistsError(
                f"out_dir: {out_dir} already exists and is not empty; "
                "pass overwrite=True (--overwrite) to replace it"
            )
        if not (out_dir / MANIFEST).is_file():
            raise FileExistsError(
                f"out_dir: {out_dir} is not empty and holds no {MANIFEST}; "
                "refusing to delete a folder that is not an earlier export"
            )


def export_patterns(
    sensor_or_patterns,
    fmt: str,
    out_dir,
    *,
    zoom: int | None = None,
    device=None,
    offset: tuple[int, int] | None = None,
    flip_h: bool = False,
    flip_v: bool = False,
    rotate: int = 0,
    exposure_us: float = DEFAULT_EXPOSURE_US,
    dark_us: float = DEFAULT_DARK_US,
    split: bool | None = None,
    bit_depth: int | None = None,
    overwrite: bool = False,
    calibration=calibration_mod.DEFAULT,
) -> Path:
    """Write a sensor's hard patterns as DMD files plus ``manifest.json``; return the folder.

    ``fmt`` is one of ``png``, ``npz``, ``alp4``, ``dlpc900``, ``dlpc350``. ``device`` is
    ``(height, width)`` or ``"WIDTHxHEIGHT"`` (default: the format's DMD; for png/npz the
    zoomed pattern itself). ``zoom=None`` takes the largest integer zoom that fits,
    ``offset=None`` centres the measured region. The folder is written next to its final
    place and renamed in, so a failed export leaves nothing half-written.

    Gray-level patterns are rejected unless ``bit_depth`` b is given: then each physical
    pattern is quantised to 2^b - 1 levels and written as b bit-planes (LSB first); frame
    entries carry ``plane``, ``weight`` = 2^j / (2^b - 1) and ``exposure_us`` =
    ``exposure_us`` * 2^j / 2^(b-1) (the most significant plane gets the full exposure).
    The imported sensor then holds the quantised patterns.

    ``calibration`` (default 2 all-off and 2 all-on frames) puts that many calibration frames
    at the start of every frame time, so a recording measures its detector's dark level and
    gain (``spjax ask``); an int n means n of each, None or 0 none (an export as before).
    Calibration frames of a bit-plane export are shown for ``exposure_us``.
    """
    form = get_format(fmt)
    bit_depth = frames_mod.check_bit_depth(bit_depth)
    n_calibration = calibration_mod.check_calibration(calibration)
    source = _source(sensor_or_patterns, split, bit_depth)
    exposure_us = _check_time("exposure_us", exposure_us, True)
    dark_us = _check_time("dark_us", dark_us, False)
    k, h, w = source.patterns.shape
    dev = parse_device(device)
    placement = make_placement(
        h,
        w,
        dev if dev is not None else form.default_device,
        zoom=zoom,
        offset=offset,
        flip_h=flip_h,
        flip_v=flip_v,
        rotate=rotate,
    )
    frames, order, split_used = frames_mod.to_frames(source.patterns, source.split, bit_depth)
    if bit_depth is not None:
        for entry in order:
            entry["exposure_us"] = exposure_us * 2 ** entry["plane"] / 2 ** (bit_depth - 1)
    frames, order, cal_section = calibration_mod.prepend(frames, order, n_calibration)
    if bit_depth is not None:
        for entry in order[: cal_section["n_frames"]]:
            entry["exposure_us"] = exposure_us
    out_dir = Path(out_dir)
    _prepare_out_dir(out_dir, overwrite)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    tmp.chmod(0o755)  # mkdtemp makes it private; an export is meant to be shared
    try:
        locations = form.write(tmp, placement.orient(frames), placement, order)
        manifest = {
            "manifest_version": MANIFEST_VERSION,
            "format": form.name,
            "device": {
                "name": form.device_name,
                "height": placement.device_h,
                "width": placement.device_w,
            },
            "geometry": placement.to_json(),
            "split": split_used,
            "signed": bool((source.patterns < 0).any()),
            "k": k,
            "h": h,
            "w": w,
            "sampling_rate": k / (h * w),
            "n_frames": len(order),
            "calibration": cal_section,
            "bit_depth": bit_depth,
            "exposure_us": exposure_us,
            "dark_us": dark_us,
            "frame_period_us": exposure_us + dark_us,
            "timing": source.timing,
            "photons": source.photons,
            "sensor": source.description,
            "config_hash": config_hash(source.description),
            "patterns_sha256": patterns_sha256(source.patterns, bit_depth),
            "spjax_version": __version__,
            "sequence_sha256": calibration_mod.sequence_sha256(order, cal_section),
            "frames": [dict(o, **loc) for o, loc in zip(order, locations, strict=True)],
        }
        write_manifest(tmp, manifest)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        tmp.rename(out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir


def read_frames(directory) -> tuple[np.ndarray, dict]:
    """Verify an export's files and return the binary frames the device shows, in display
    order, as ``(F, H, W)`` uint8 0/1 in pattern orientation (the measured region, zoom,
    offset, rotation and flips undone and checked), and its manifest."""
    directory = Path(directory)
    manifest = read_manifest(directory)
    verify_checksums(directory, manifest)
    form = get_format(manifest["format"])
    device = manifest["device"]
    h, w = int(manifest["h"]), int(manifest["w"])
    placement = Placement.from_json(
        manifest["geometry"], h=h, w=w, device_h=device["height"], device_w=device["width"]
    )
    oriented = form.read(directory, manifest["frames"], placement)
    frames = placement.unorient(oriented)
    calibration_mod.verify_frames(frames, manifest, directory)
    return frames, manifest


def read_export(directory) -> tuple[np.ndarray, dict]:
    """Verify an export and return its ``(K, H, W)`` float32 patterns and its manifest."""
    directory = Path(directory)
    frames, manifest = read_frames(directory)
    k = int(manifest["k"])
    bit_depth = frames_mod.check_bit_depth(manifest.get("bit_depth"))
    patterns = frames_mod.from_frames(
        frames, manifest["frames"], k, bool(manifest["split"]), bit_depth
    )
    digest = patterns_sha256(patterns, bit_depth)
    if digest != manifest["patterns_sha256"]:
        raise ValueError(
            f"{directory}: decoded patterns have sha256 {digest}, manifest says "
            f"{manifest['patterns_sha256']}"
        )
    return patterns, manifest


_MANIFEST_NOISE = object()  # import_patterns' default: the noise model the manifest records


def import_patterns(directory, *, noise=_MANIFEST_NOISE):
    """Read an export back into a fixed ``Sensor`` (same patterns, split, noise and timing).

    A Hadamard sensor comes back on the fast path from the row indices in the manifest's
    sensor description (checked against the decoded frames), so its measurements are
    computed exactly as before; any other sensor is rebuilt with ``Sensor.from_patterns``.
    ``noise`` (a ``NoiseModel`` or None) replaces the manifest's detector model, e.g. to
    simulate the same patterns under another photon budget.
    """
    from spjax.sensing import NoiseModel, Sensor

    patterns, manifest = read_export(directory)
    if noise is _MANIFEST_NOISE:
        photons = manifest.get("photons")
        noise = None if photons is None else NoiseModel.from_dict(photons)
    common = dict(
        split=bool(manifest["split"]),
        timing=manifest.get("timing", "frame"),
        noise=noise,
    )
    description = manifest.get("sensor") or {}
    rows = description.get("hadamard_rows")
    if rows is not None:
        sensor = Sensor.from_hadamard_rows(
            manifest["h"], manifest["w"], np.asarray(rows), order=description.get("order"), **common
        )
        if not np.array_equal(np.asarray(sensor.patterns()), patterns):
            raise ValueError(
                f"{directory}: the manifest's Hadamard rows do not match the exported frames"
            )
        return sensor
    return Sensor.from_patterns(patterns, **common)
