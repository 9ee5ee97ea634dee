"""``manifest.json``: everything needed to display, verify and re-import an export.

Keys (schema version ``MANIFEST_VERSION``): ``format``, ``device`` (name, height, width),
``geometry`` (zoom, offset [row, col], flip_h, flip_v, rotate, measured ``region``),
``split``, ``signed``, ``k``, ``h``, ``w``, ``sampling_rate``, ``n_frames``, ``frames`` (one
entry per physical frame in display order: frame, pattern, sign and where the frame is
stored), ``exposure_us``, ``dark_us``, ``timing``, ``photons`` (the noise model or null),
``sensor`` (``Sensor.describe()``), ``config_hash`` (SHA-256 of that description as canonical
JSON), ``bit_depth`` (null for hard patterns, else the bit-planes per physical pattern),
``patterns_sha256`` (SHA-256 of the patterns' integer levels, see :func:`patterns_sha256`),
``spjax_version`` and ``files`` (SHA-256 of every other file in the directory).

Version 2 adds the calibration frames (all-off and all-on, at the start of every frame time):
``calibration`` and ``sequence_sha256`` (spjax.export.calibration). Version-1 manifests,
written before calibration frames existed, are still read: they have none.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from spjax.export import calibration
from spjax.jsonio import content_hash

MANIFEST = "manifest.json"
MANIFEST_VERSION = 2
READABLE_VERSIONS = (1, 2)  # 1: before calibration frames (none), still imported
REQUIRED = (
    "manifest_version",
    "format",
    "device",
    "geometry",
    "split",
    "k",
    "h",
    "w",
    "n_frames",
    "frames",
    "files",
    "patterns_sha256",
)


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def config_hash(description: dict) -> str:
    """SHA-256 of a sensor description as canonical JSON (key order and spacing fixed)."""
    return content_hash(description)


def patterns_sha256(patterns: np.ndarray, bit_depth: int | None = None) -> str:
    """SHA-256 of ``(K, H, W)`` patterns as their integer levels (``frames.to_levels``:
    the hard values themselves, or ``round(P * (2^b - 1))``), little-endian int16, C order,
    after a header with the shape and bit depth."""
    from spjax.export.frames import to_levels

    levels = np.ascontiguousarray(to_levels(patterns, bit_depth).astype("<i2"))
    digest = hashlib.sha256(repr((levels.shape, bit_depth)).encode())
    digest.update(levels.tobytes())
    return digest.hexdigest()


def write_manifest(out_dir: Path, manifest: dict) -> Path:
    """Add the checksums of every file already in ``out_dir`` and write the manifest."""
    files = sorted(p.name for p in out_dir.iterdir() if p.is_file() and p.name != MANIFEST)
    manifest = dict(manifest, files={name: sha256_file(out_dir / name) for name in files})
    path = out_dir / MANIFEST
    path.write_text(format_manifest(manifest))
    return path


def format_manifest(manifest: dict) -> str:
    """Indented JSON, but one line per frame entry so long sequences stay readable."""
    head = dict(manifest, frames="@FRAMES@")
    text = json.dumps(head, indent=2, allow_nan=False)
    rows = ",\n".join("    " + json.dumps(e, allow_nan=False) for e in manifest["frames"])
    return text.replace('"@FRAMES@"', "[\n" + rows + "\n  ]" if rows else "[]") + "\n"


def read_manifest(directory: Path) -> dict:
    """Load and sanity-check the manifest (the checksums are verified separately)."""
    if not directory.is_dir():
        raise FileNotFoundError(
            f"directory: expected an export directory, got {directory} "
            "(does not exist or is not a directory)"
        )
    path = directory / MANIFEST
    if not path.is_file():
        raise FileNotFoundError(
            f"{directory}: expected {MANIFEST} (written by spjax export), but it is missing"
        )
    return read_manifest_file(path)


def read_manifest_file(path: Path) -> dict:
    """Load and sanity-check one manifest.json (a ValueError names what is wrong)."""
    try:
        manifest = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{path}: not valid JSON ({err})") from None
    return validate_manifest(manifest, path)


def validate_manifest(manifest, path) -> dict:
    """Required keys, types and version of a loaded manifest (``path`` names it in errors)."""
    if not isinstance(manifest, dict):
        raise ValueError(f"{path}: expected a JSON object, got {type(manifest).__name__}")
    missing = [key for key in REQUIRED if key not in manifest]
    if missing:
        raise ValueError(f"{path}: missing keys {missing}")
    _check_types(path, manifest)
    version = manifest["manifest_version"]
    if isinstance(version, bool) or version not in READABLE_VERSIONS:
        raise ValueError(
            f"{path}: expected manifest_version in {READABLE_VERSIONS}, got {version!r} "
            "(written by a newer spjax?)"
        )
    if len(manifest["frames"]) != manifest["n_frames"]:
        raise ValueError(
            f"{path}: n_frames is {manifest['n_frames']} but "
            f"{len(manifest['frames'])} frames are listed"
        )
    if version >= 2:
        calibration.validate(manifest, path)
    elif any(e.get("calibration") for e in manifest["frames"]):
        raise ValueError(f"{path}: a version-1 manifest cannot hold calibration frames")
    return manifest


def _check_types(path: Path, manifest: dict) -> None:
    """Shapes of the fields the decoder relies on, so damage gives a message, not a crash."""

    def manifest_get(key):
        obj = manifest
        for part in key.split("."):
            obj = obj.get(part) if isinstance(obj, dict) else None
        return obj

    def bad(key, expected):
        raise ValueError(f"{path}: {key} must be {expected}, got {manifest_get(key)!r}")

    for key in ("k", "h", "w", "n_frames", "device.height", "device.width", "geometry.zoom"):
        value = manifest_get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            bad(key, "a positive integer")
    if not isinstance(manifest["split"], bool):
        bad("split", "true or false")
    if not isinstance(manifest["frames"], list) or not all(
        isinstance(e, dict) for e in manifest["frames"]
    ):
        bad("frames", "a list of objects")
    geometry = manifest["geometry"]
    missing = [k for k in ("offset", "flip_h", "flip_v", "rotate") if k not in geometry]
    if missing:
        raise ValueError(f"{path}: geometry lacks {missing}")


def verify_checksums(directory: Path, manifest: dict) -> None:
    """Every listed file must exist and match its SHA-256; every frame file must be listed."""
    files = manifest["files"]
    if not isinstance(files, dict) or not files:
        raise ValueError(f"{directory / MANIFEST}: 'files' must map file names to SHA-256 digests")
    for name, expected in files.items():
        path = directory / name
        if Path(name).name != name:
            raise ValueError(f"{directory / MANIFEST}: file name {name!r} leaves the directory")
        if not path.is_file():
            raise FileNotFoundError(f"{directory}: file {name!r} listed in the manifest is missing")
        actual = sha256_file(path)
        if actual != expected:
            raise ValueError(
                f"{path}: checksum mismatch, manifest says sha256 {expected}, file "
                f"has {actual} (the file was modified or corrupted)"
            )
    unlisted = {str(e.get("file")) for e in manifest["frames"]} - set(files)
    if unlisted:
        raise ValueError(f"{directory / MANIFEST}: frame files {sorted(unlisted)} have no checksum")
