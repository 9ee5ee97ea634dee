"""Recorded measurement streams on disk: what a DAQ card wrote, or measurements already
differenced.

- *raw* samples: one photodiode sample per physical DMD frame, in the display order of the
  export's manifest, frame time after frame time (`.npy` 1-D, `.npz` key `samples`, or CSV
  with one sample per line or one column of several, an optional header line naming them);
- *measurements*: already differenced `(T, K)` in the sensor's inner-product units
  (`.npy` 2-D, `.npz` key `y`).
"""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

import numpy as np

SUFFIXES = (".npy", ".npz", ".csv")
RAW, MEASUREMENTS = "raw", "measurements"


class RecordingError(ValueError):
    """A recording cannot be used: unreadable, damaged, or not of the sensor it claims."""


@dataclasses.dataclass(frozen=True)
class Recording:
    kind: str  # RAW (1-D samples) or MEASUREMENTS ((T, K))
    data: np.ndarray  # float64
    path: str
    file_format: str


def _finite(data: np.ndarray, path: Path) -> np.ndarray:
    bad = ~np.isfinite(data)
    if bad.any():
        first = np.argwhere(bad)[0]
        where = int(first[0]) if data.ndim == 1 else tuple(int(i) for i in first)
        raise RecordingError(
            f"{path}: {int(bad.sum())} NaN or infinite samples (first at index {where}); "
            "a detector sample was lost or saturated — re-record or cut the stream before it"
        )
    return data


def _numeric(arr, path: Path, what: str) -> np.ndarray:
    arr = np.asarray(arr)
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool) or np.iscomplexobj(arr):
        raise RecordingError(f"{path}: {what} must be real numbers, got dtype {arr.dtype}")
    return arr.astype(np.float64)


def _read_csv(path: Path, column: str | int | None) -> np.ndarray:
    with open(path, newline="") as fh:
        rows = [r for r in csv.reader(fh) if r and any(c.strip() for c in r)]
    if not rows:
        raise RecordingError(f"{path}: the CSV holds no samples")

    def is_number(text):
        try:
            float(text)
        except ValueError:
            return False
        return True

    header = None if all(is_number(c) for c in rows[0]) else [c.strip() for c in rows[0]]
    body = rows[1:] if header else rows
    width = len(rows[0])
    if column is None:
        if width != 1:
            names = header or list(range(width))
            raise RecordingError(
                f"{path}: {width} columns {names}; name the sample column with --column NAME|INDEX"
            )
        col = 0
    elif isinstance(column, int) or str(column).isdigit():
        col = int(column)
        if not 0 <= col < width:
            raise RecordingError(f"{path}: --column {col} is out of range (0..{width - 1})")
    else:
        if not header or column not in header:
            raise RecordingError(f"{path}: no column named {column!r} (header: {header or 'none'})")
        col = header.index(column)
    values = np.empty(len(body))
    for i, row in enumerate(body):
        text = row[col].strip() if col < len(row) else ""
        try:
            values[i] = float(text)  # 'nan' parses and is refused below with its index
        except ValueError:
            line = i + 1 + (header is not None)
            raise RecordingError(
                f"{path}: line {line}, column {col}: expected a number, got {text!r}"
            ) from None
    return values


def read_recording(path, *, column: str | int | None = None) -> Recording:
    """Load a recording; raw samples come back 1-D, measurements `(T, K)`; both float64.
    NaN or infinite values are an error naming the first one."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"--measurements: {path} does not exist or is not a file")
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise RecordingError(f"{path}: expected one of {SUFFIXES}, got {suffix or 'no suffix'!r}")
    if column is not None and suffix != ".csv":
        raise RecordingError(f"--column: only for CSV recordings, got {path.name}")
    fmt = suffix[1:]
    try:
        if suffix == ".csv":
            return Recording(RAW, _finite(_read_csv(path, column), path), str(path), fmt)
        if suffix == ".npy":
            arr = _numeric(np.load(path, allow_pickle=False), path, "samples")
        else:
            with np.load(path, allow_pickle=False) as z:
                keys = [k for k in ("samples", "y") if k in z.files]
                if len(keys) != 1:
                    raise RecordingError(
                        f"{path}: expected exactly one of the arrays 'samples' (raw, per "
                        f"physical frame) or 'y' (differenced, (T, K)), found {z.files}"
                    )
                arr = _numeric(z[keys[0]], path, keys[0])
                if keys[0] == "samples":
                    arr = arr.reshape(-1)
    except (OSError, EOFError) as err:
        raise RecordingError(f"{path}: not a readable {fmt} file ({err})") from None
    except ValueError as err:
        if isinstance(err, RecordingError):
            raise
        raise RecordingError(f"{path}: not a readable {fmt} file ({err})") from None
    if arr.ndim == 1:
        return Recording(RAW, _finite(arr, path), str(path), fmt)
    if arr.ndim == 2:
        return Recording(MEASUREMENTS, _finite(arr, path), str(path), fmt)
    raise RecordingError(
        f"{path}: expected raw samples (1-D) or measurements (T, K), got shape {arr.shape}"
    )


def write_samples(path, samples) -> Path:
    """Write raw samples as `.npy` (float64), `.npz` (`samples`) or CSV (one per line, a
    `sample` header, full precision)."""
    path = Path(path)
    samples = np.asarray(samples, np.float64).reshape(-1)
    suffix = path.suffix.lower()
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".npy":
        np.save(path, samples)
    elif suffix == ".npz":
        np.savez(path, samples=samples)
    elif suffix == ".csv":
        np.savetxt(path, samples, fmt="%.17g", header="sample", comments="")
    else:
        raise ValueError(f"--out: expected a .npy, .npz or .csv file name, got {path.name!r}")
    return path
