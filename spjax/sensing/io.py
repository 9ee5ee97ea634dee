"""Save and load the frozen, hardware-realisable sensor of a run.

A directory holds `sensor.json` (`Sensor.describe()` plus a format version) and
`sensor_patterns.npy` (the hard (K, H, W) patterns). Loading always gives a *fixed* sensor:
Hadamard sensors (including learned row selections) come back on the fast path from their row
indices, everything else through `Sensor.from_patterns`. The stored patterns are checked
against the description, so a corrupt or mismatched pair fails loudly.
"""

from __future__ import annotations

import json
import os

import numpy as np

from .noise import NoiseModel
from .sensor import Sensor

FORMAT_VERSION = 1
JSON_NAME, PATTERNS_NAME = "sensor.json", "sensor_patterns.npy"


def save_sensor(sensor: Sensor, directory) -> None:
    if not isinstance(sensor, Sensor):
        raise TypeError(f"sensor must be a Sensor, got {type(sensor).__name__}")
    os.makedirs(directory, exist_ok=True)
    meta = dict(sensor.describe(), format_version=FORMAT_VERSION)
    np.save(os.path.join(directory, PATTERNS_NAME), np.asarray(sensor.patterns(), np.float32))
    with open(os.path.join(directory, JSON_NAME), "w") as f:
        json.dump(meta, f, indent=2)


def load_sensor(directory) -> Sensor:
    jpath, ppath = os.path.join(directory, JSON_NAME), os.path.join(directory, PATTERNS_NAME)
    for p in (jpath, ppath):
        if not os.path.isfile(p):
            raise FileNotFoundError(
                f"load_sensor: missing {p} (expected {JSON_NAME} and "
                f"{PATTERNS_NAME} in {directory})"
            )
    try:
        with open(jpath) as f:
            meta = json.load(f)
    except json.JSONDecodeError as e:
        raise ValueError(f"load_sensor: {jpath} is not valid JSON ({e})") from None
    if not isinstance(meta, dict) or meta.get("format_version") != FORMAT_VERSION:
        got = meta.get("format_version") if isinstance(meta, dict) else type(meta).__name__
        raise ValueError(
            f"load_sensor: {jpath} format_version must be {FORMAT_VERSION}, got {got!r}"
        )
    missing = {"k", "h", "w", "split", "timing", "noise"} - set(meta)
    if missing:
        raise ValueError(f"load_sensor: {jpath} lacks fields {sorted(missing)}")
    try:
        pats = np.load(ppath, allow_pickle=False)
    except (ValueError, OSError) as e:
        raise ValueError(f"load_sensor: {ppath} is not a readable .npy array ({e})") from None
    want = (meta["k"], meta["h"], meta["w"])
    if pats.shape != tuple(want):
        raise ValueError(
            f"load_sensor: {ppath} has shape {pats.shape}, but {JSON_NAME} says "
            f"(K, H, W) = {tuple(want)}"
        )
    noise = None if meta["noise"] is None else NoiseModel.from_dict(meta["noise"])
    common = dict(split=meta["split"], noise=noise, timing=meta["timing"])
    if meta.get("hadamard_rows") is not None:
        sensor = Sensor.from_hadamard_rows(
            meta["h"],
            meta["w"],
            np.asarray(meta["hadamard_rows"]),
            order=meta.get("order"),
            **common,
        )
        if not np.array_equal(np.asarray(sensor.patterns()), pats):
            raise ValueError(f"load_sensor: {ppath} does not match the Hadamard rows in {jpath}")
        return sensor
    return Sensor.from_patterns(pats, **common)
