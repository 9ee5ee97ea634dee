"""One JSON convention for everything spjax writes (reports, logs, configs, manifests).

`to_jsonable` turns NumPy/JAX scalars and arrays into Python values, tuples into lists, paths
into strings and non-finite floats into `null` (JSON has no NaN; a NaN metric must not make
the file unreadable by strict parsers). `canonical_json` is the byte-stable form that hashes
are taken of.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import PurePath
from typing import Any


def to_jsonable(obj: Any, *, nonfinite_as_text: bool = False) -> Any:
    """A JSON-safe copy of `obj` (see the module docstring); unknown objects become `str`.
    `nonfinite_as_text` writes NaN/inf as "nan"/"inf" instead of null (training logs, where
    which one it was matters)."""
    again = lambda v: to_jsonable(v, nonfinite_as_text=nonfinite_as_text)  # noqa: E731
    if isinstance(obj, dict):
        return {str(k): again(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [again(v) for v in obj]
    if hasattr(obj, "tolist") and hasattr(obj, "dtype"):  # numpy / jax arrays and scalars
        return again(obj.tolist())
    if isinstance(obj, float):
        if math.isfinite(obj):
            return obj
        return str(obj) if nonfinite_as_text else None
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    if isinstance(obj, PurePath):
        return str(obj)
    return str(obj)


def dumps(obj: Any, **kwargs) -> str:
    """`json.dumps` of `to_jsonable(obj)`, refusing anything it could not make strict JSON."""
    return json.dumps(to_jsonable(obj), allow_nan=False, **kwargs)


def canonical_json(obj: Any) -> str:
    """Sorted keys, no spaces, strict JSON: the same object always gives the same bytes."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def content_hash(obj: Any, digits: int = 64) -> str:
    """SHA-256 of `obj`'s canonical JSON, cut to `digits` hex digits: the one hash that names
    configs, caches, datasets and exported sensors by their content."""
    return sha256_hex(canonical_json(to_jsonable(obj)))[:digits]
