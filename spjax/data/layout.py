"""Procedural rooms (restroom / changing room) seen by a ceiling-mounted camera.

A layout is drawn from (world seed, layout id): back wall height (the camera's tilt), door and
stalls on opposite halves of the back wall, sink counter on the left or right wall, optional
bench, wall/floor tones and tiles, a ceiling lamp, lens vignetting, and the camera perspective
(how much smaller people look at the back of the room). Coordinates are normalised:
x to the right and y downwards in [0, 1]; people stand on the floor (y > wall_y)."""

from __future__ import annotations

import functools

import numpy as np

from spjax.data import streams
from spjax.data.shapes import box1d, ellipse

ZONES = ("door", "sink", "stalls", "bench", "middle")


@functools.lru_cache(maxsize=4096)
def room_layout(world: int, layout_id: int) -> dict:
    """Geometry of one room (plain floats, cached)."""
    rng = np.random.default_rng([int(world), streams.LAYOUT, int(layout_id)])
    wall_y = rng.uniform(0.2, 0.32)
    door_left = rng.random() < 0.5
    door_w = rng.uniform(0.13, 0.19)
    door_x = rng.uniform(0.1, 0.3) if door_left else rng.uniform(0.7, 0.9)
    n_stalls = int(rng.integers(1, 4))
    stall_w = rng.uniform(0.11, 0.15)
    # Stalls on the other half of the back wall from the door.
    span = n_stalls * stall_w
    stall_x0 = (
        rng.uniform(0.42, max(0.42, 0.97 - span))
        if door_left
        else rng.uniform(0.03, max(0.03, 0.58 - span))
    )
    sink_right = rng.random() < 0.5
    sink_y = rng.uniform(wall_y + 0.12, 0.6)
    has_bench = rng.random() < 0.7
    bench_x = rng.uniform(0.3, 0.7)
    bench_y = rng.uniform(0.72, 0.88)
    lay = dict(
        wall_y=wall_y,
        wall_tone=rng.uniform(0.45, 0.8),
        floor_tone=rng.uniform(0.25, 0.6),
        tile=rng.uniform(0.05, 0.12),
        tile_contrast=rng.uniform(0.0, 0.06),
        door_x=door_x,
        door_w=door_w,
        door_tone=rng.uniform(0.1, 0.35),
        n_stalls=n_stalls,
        stall_x0=stall_x0,
        stall_w=stall_w,
        stall_tone=rng.uniform(0.55, 0.95),
        sink_right=sink_right,
        sink_y=sink_y,
        sink_tone=rng.uniform(0.8, 1.0),
        has_bench=has_bench,
        bench_x=bench_x,
        bench_y=bench_y,
        bench_tone=rng.uniform(0.1, 0.3),
        persp=rng.uniform(0.6, 0.8),
        lamp_x=rng.uniform(0.2, 0.8),
        lamp=rng.uniform(0.0, 0.25),
    )
    # Landmarks: floor points where people stand for each zone (feet positions).
    sink_px = 0.88 if sink_right else 0.12
    lay["landmarks"] = {
        "door": (door_x, wall_y + 0.04),
        "sink": (sink_px, sink_y + 0.05),
        "stalls": (stall_x0 + n_stalls * stall_w / 2, wall_y + 0.06),
        "bench": (bench_x, bench_y - 0.02) if has_bench else (np.nan, np.nan),
        "middle": (0.5, (wall_y + 1.0) / 2),
    }
    return lay


@functools.lru_cache(maxsize=4096)
def render_room(world: int, layout_id: int, size: int) -> np.ndarray:
    """Background image (size, size) float32 of one room (read-only, cached)."""
    lay = room_layout(world, layout_id)
    pw = 1.0 / size
    c = (np.arange(size, dtype=np.float32) + 0.5) / size
    y, x = c[:, None], c[None, :]
    wall = box1d(y, -1.0, lay["wall_y"], pw)
    img = lay["floor_tone"] + lay["tile_contrast"] * np.sign(
        np.sin(np.pi * x / lay["tile"]) * np.sin(np.pi * y / lay["tile"])
    )
    img = img * (1 - wall) + wall * lay["wall_tone"]
    # Door in the back wall, stalls (partitions and doors), sink counter on a side wall, bench.
    door = box1d(
        x, lay["door_x"] - lay["door_w"] / 2, lay["door_x"] + lay["door_w"] / 2, pw
    ) * box1d(y, 0.04, lay["wall_y"], pw)
    img = img * (1 - door) + door * lay["door_tone"]
    for i in range(lay["n_stalls"]):
        x0 = lay["stall_x0"] + i * lay["stall_w"]
        s = box1d(x, x0 + 0.01, x0 + lay["stall_w"] - 0.01, pw) * box1d(
            y, 0.06, lay["wall_y"] + 0.03, pw
        )
        img = img * (1 - s) + s * lay["stall_tone"]
        part = box1d(x, x0 - 0.006, x0 + 0.006, pw) * box1d(y, 0.02, lay["wall_y"] + 0.06, pw)
        img = img * (1 - part) + part * 0.1
    sx0, sx1 = (0.94, 1.01) if lay["sink_right"] else (-0.01, 0.06)
    counter = box1d(x, sx0, sx1, pw) * box1d(y, lay["sink_y"] - 0.08, lay["sink_y"] + 0.1, pw)
    img = img * (1 - counter) + counter * lay["sink_tone"]
    basin = ellipse(x, y, (sx0 + sx1) / 2, lay["sink_y"], 0.025, 0.04, pw)
    img = img * (1 - basin) + basin * lay["sink_tone"] * 0.6
    if lay["has_bench"]:
        b = box1d(x, lay["bench_x"] - 0.14, lay["bench_x"] + 0.14, pw) * box1d(
            y, lay["bench_y"], lay["bench_y"] + 0.05, pw
        )
        img = img * (1 - b) + b * lay["bench_tone"]
    # A ceiling lamp brightens one area; the lens vignettes the corners.
    img = img * (1 + lay["lamp"] * np.exp(-((x - lay["lamp_x"]) ** 2 + (y - 0.5) ** 2) / 0.08))
    img = img * (1 - 0.25 * ((x - 0.5) ** 2 + (y - 0.5) ** 2))
    img = np.clip(img, 0, 1).astype(np.float32)
    img.setflags(write=False)
    return img


def landmark_array(world: int, layout_ids: np.ndarray) -> np.ndarray:
    """(N, len(ZONES), 2) landmark feet positions for each clip's layout (NaN where absent)."""
    table = {
        int(lid): np.array(
            [room_layout(world, int(lid))["landmarks"][z] for z in ZONES], np.float32
        )
        for lid in np.unique(layout_ids)
    }
    return (
        np.stack([table[int(lid)] for lid in layout_ids])
        if len(layout_ids)
        else np.zeros((0, len(ZONES), 2), np.float32)
    )
