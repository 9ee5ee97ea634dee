"""Real data from local files, turned into the same features as the procedural datasets.

- Faces in LFW layout: `ROOT/NAME/NAME_0001.jpg` (any PIL-readable image; the file stem must be
  the folder name, an underscore and a number). Identities are the sorted folder names.
- Clips: `ROOT/labels.csv` with columns `clip,count,anomaly_type` (optional `caption`,
  `location`) and, per row, either a frame folder `ROOT/CLIP/` of images (sorted by name) or a
  multi-frame image file `ROOT/CLIP.gif` / `.tif` / `.tiff` (videos in other containers: extract
  frames first). Frames are converted to grayscale, resized to `size`, and resampled to
  `frames` time steps."""

from __future__ import annotations

import csv
import os
import re

import numpy as np
from PIL import Image, ImageSequence, UnidentifiedImageError

from spjax.data.layout import ZONES
from spjax.data.scenes import ANOMALY_TYPES

IMAGE_EXT = (".jpg", ".jpeg", ".png", ".bmp", ".pgm", ".tif", ".tiff", ".gif")
MULTI_EXT = (".gif", ".tif", ".tiff")


def _gray(img: Image.Image, size: int, path) -> np.ndarray:
    try:
        g = img.convert("L").resize((size, size), Image.BILINEAR)
    except OSError as err:
        raise ValueError(f"{path}: corrupt or truncated image ({err})") from None
    return np.asarray(g, np.float32) / 255.0


def _open(path) -> Image.Image:
    try:
        img = Image.open(path)
        img.load()
        return img
    except (UnidentifiedImageError, OSError, SyntaxError) as err:
        raise ValueError(f"{path}: not a readable image ({err})") from None


def read_image(path, size: int) -> np.ndarray:
    """One grayscale image resized to (size, size) float32 in [0, 1]."""
    return _gray(_open(path), size, path)


def read_lfw(root, size: int = 32) -> dict:
    """LFW-layout folder → dict(image=(N,H,W) float32, identity=(N,) int32, names=list[str])."""
    root = os.fspath(root)
    if not os.path.isdir(root):
        raise FileNotFoundError(f"faces folder not found: {root}")
    names = sorted(
        d
        for d in os.listdir(root)
        if os.path.isdir(os.path.join(root, d)) and not d.startswith(".")
    )
    if not names:
        raise ValueError(
            f"{root}: expected LFW layout NAME/NAME_0001.jpg, found no identity folders"
        )
    images, ids = [], []
    for k, name in enumerate(names):
        folder = os.path.join(root, name)
        files = sorted(f for f in os.listdir(folder) if not f.startswith("."))
        if not files:
            raise ValueError(f"{folder}: identity folder has no images")
        for f in files:
            stem, ext = os.path.splitext(f)
            path = os.path.join(folder, f)
            if ext.lower() not in IMAGE_EXT or not re.fullmatch(re.escape(name) + r"_\d+", stem):
                raise ValueError(
                    f"{path}: expected LFW name {name}/{name}_NNNN.jpg, got {name}/{f}"
                )
            images.append(read_image(path, size))
            ids.append(k)
    return {"image": np.stack(images), "identity": np.array(ids, np.int32), "names": names}


def _resample(frames: list[np.ndarray], t: int) -> np.ndarray:
    idx = np.round(np.linspace(0, len(frames) - 1, t)).astype(int)
    return np.stack([frames[i] for i in idx])


def read_clip(path, frames: int = 16, size: int = 32) -> np.ndarray:
    """A frame folder or multi-frame image file → (frames, size, size) float32 in [0, 1]."""
    path = os.fspath(path)
    if os.path.isdir(path):
        files = sorted(f for f in os.listdir(path) if os.path.splitext(f)[1].lower() in IMAGE_EXT)
        if not files:
            raise ValueError(f"{path}: frame folder has no images ({', '.join(IMAGE_EXT)})")
        seq = [read_image(os.path.join(path, f), size) for f in files]
    elif os.path.isfile(path):
        img = _open(path)
        seq = [_gray(fr.copy(), size, path) for fr in ImageSequence.Iterator(img)]
    else:
        raise FileNotFoundError(
            f"clip not found: {path} (expected a frame folder or a .gif/.tif file)"
        )
    return _resample(seq, frames)


def _find_clip(root: str, clip: str) -> str:
    cand = [os.path.join(root, clip)] + [os.path.join(root, clip + e) for e in MULTI_EXT]
    for c in cand:
        if os.path.exists(c):
            return c
    raise FileNotFoundError(
        f"clip {clip!r} listed in labels.csv not found: expected {cand[0]}/ or {cand[0]}.gif/.tif"
    )


def read_label_csv(path) -> list[dict]:
    """labels.csv → rows with clip (str), count (int), anomaly_type (name), caption, location."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"label file not found: {path}")
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        missing = {"clip", "count", "anomaly_type"} - set(reader.fieldnames or [])
        if missing:
            raise ValueError(
                f"{path}: missing column(s) {sorted(missing)}; expected clip,count,anomaly_type[,caption,location]"
            )
        rows = []
        for line, row in enumerate(reader, start=2):
            try:
                count = int(row["count"])
            except (TypeError, ValueError):
                raise ValueError(
                    f"{path}:{line}: count: expected an int, got {row['count']!r}"
                ) from None
            at = (row["anomaly_type"] or "none").strip()
            if at not in ANOMALY_TYPES:
                raise ValueError(
                    f"{path}:{line}: anomaly_type: expected one of {ANOMALY_TYPES}, got {at!r}"
                )
            loc = (row.get("location") or "").strip() or None
            if loc is not None and loc not in ZONES:
                raise ValueError(f"{path}:{line}: location: expected one of {ZONES}, got {loc!r}")
            rows.append(
                {
                    "clip": row["clip"].strip(),
                    "count": count,
                    "anomaly_type": at,
                    "caption": (row.get("caption") or "").strip(),
                    "location": loc,
                }
            )
    if not rows:
        raise ValueError(f"{path}: no rows")
    return rows


def read_videos(root, frames: int = 16, size: int = 32) -> dict:
    """Clip folder with labels.csv → dict(frames, count, anomaly, anomaly_type, captions, qa)."""
    root = os.fspath(root)
    if not os.path.isdir(root):
        raise FileNotFoundError(f"clips folder not found: {root}")
    rows = read_label_csv(os.path.join(root, "labels.csv"))
    clips = np.stack([read_clip(_find_clip(root, r["clip"]), frames, size) for r in rows])
    from spjax.data import text as tx

    rng = np.random.default_rng(0)
    caps, qas = [], []
    for r in rows:
        lab = {
            "count": r["count"],
            "anomaly_type": r["anomaly_type"],
            "location": r["location"],
            "people": [],
        }
        caps.append([r["caption"]] * 3 if r["caption"] else tx.captions(lab, rng, 3))
        qas.append(
            [q for q in tx.qa_pairs(lab, rng) if q[0] != "describe"]
            + [("describe", "Describe the scene.", caps[-1][0])]
        )
    at = np.array([ANOMALY_TYPES.index(r["anomaly_type"]) for r in rows], np.int32)
    return {
        "frames": clips,
        "count": np.array([r["count"] for r in rows], np.int32),
        "anomaly": (at > 0).astype(np.int32),
        "anomaly_type": at,
        "captions": caps,
        "qa": qas,
        "clip": [r["clip"] for r in rows],
    }
