"""TFDS builders for the procedural world (`spjax_faces`, `spjax_scenes`) and for local real
data (`spjax_lfw`, `spjax_videos`): array_record files with `Tensor` features only, so neither
writing nor reading needs TensorFlow. Read with `tfds.data_source(name, data_dir=...)` or
`load(...)`.

Features (images stored as uint8 0–255 to keep files small; divide by 255 for radiance):
- faces:  image (H, W) uint8, identity int32.
- scenes: frames (T, H, W) uint8, count, anomaly, anomaly_type, layout int32, count_per_frame
  (T,), event_span (2,), identities / activity / zone (P,) int32 (−1 / 0 / −1 pad), caption (C,)
  str (several references), qtypes / questions / answers (4,) str ("" where a clip has no
  activity question). The word tokenizer's vocabulary is stored in the dataset metadata
  (`vocab`) and by `prepare` as `tokenizer.json`.
Splits: faces train/val/test (same identities, different samples: closed-set identification)
and open (unseen identities: open-set verification); scenes train/val/test."""

from __future__ import annotations

import dataclasses
import json
import os

import numpy as np
import tensorflow_datasets as tfds

from spjax import jsonio
from spjax.cliargs import typed_value
from spjax.data.tfds_local import LocalConfig, SpjaxLfw, SpjaxVideos
from spjax.data.tfds_world import FacesConfig, ScenesConfig, SpjaxFaces, SpjaxScenes
from spjax.data.word_tokenizer import WordTokenizer

BUILDERS = {
    "spjax_faces": SpjaxFaces,
    "spjax_scenes": SpjaxScenes,
    "spjax_lfw": SpjaxLfw,
    "spjax_videos": SpjaxVideos,
}
CONFIG_CLASSES = {
    "spjax_faces": FacesConfig,
    "spjax_scenes": ScenesConfig,
    "spjax_lfw": LocalConfig,
    "spjax_videos": LocalConfig,
}


def make_config(name: str, overrides: dict | None = None, config_classes: dict | None = None):
    """BuilderConfig for dataset `name` with `overrides` (unknown keys raise, naming the key).

    The config's name is `r{size}` for defaults, else `r{size}-{hash}` of the overrides, so
    every distinct setting lives in its own directory."""
    classes = config_classes or CONFIG_CLASSES
    if name not in classes:
        raise ValueError(f"dataset: expected one of {sorted(classes)}, got {name!r}")
    cls = classes[name]
    fields = {f.name for f in dataclasses.fields(cls)} - {
        f.name for f in dataclasses.fields(tfds.core.BuilderConfig)
    }
    overrides = dict(overrides or {})
    for k in overrides:
        if k not in fields:
            raise ValueError(
                f"config: unknown key {k!r} for {name}; expected one of {sorted(fields)}"
            )
    defaults = {f.name: f.default for f in dataclasses.fields(cls)}
    values = {k: typed_value(v, defaults[k], f"config {k}") for k, v in overrides.items()}
    for k, v in values.items():  # sizes and counts (every int field but seed and min_people)
        if isinstance(v, int) and k not in ("seed", "min_people") and v < 1:
            raise ValueError(f"config {k}: expected a positive int, got {v}")
    base = cls(name="default")
    size = values.get("size", getattr(base, "size", 32))
    rest = {k: v for k, v in sorted(values.items()) if k != "size"}
    cname = f"r{size}" if not rest else f"r{size}-" + jsonio.content_hash(rest, 8)
    return cls(name=cname, description=json.dumps(values, sort_keys=True, default=str), **values)


def builder(name: str, data_dir, overrides: dict | None = None):
    """A builder of dataset `name` writing to / reading from `data_dir`."""
    config = make_config(name, overrides)
    if name in ("spjax_lfw", "spjax_videos") and config.path:
        config = dataclasses.replace(config, path=os.path.abspath(config.path))
    cls = BUILDERS[name]
    fields = [
        f.name
        for f in dataclasses.fields(CONFIG_CLASSES[name])
        if f.name not in ("name", "description")
    ]
    for registered in cls.BUILDER_CONFIGS:  # TFDS wants the registered object for a registered name
        if registered.name == config.name and all(
            getattr(registered, f) == getattr(config, f) for f in fields
        ):
            config = registered
    return cls(data_dir=str(data_dir), config=config, file_format="array_record")


def prepare(name: str, data_dir, overrides: dict | None = None, *, overwrite: bool = False) -> str:
    """Build dataset `name` into `data_dir` atomically; returns the dataset directory.

    The build happens in a hidden temporary folder inside `data_dir`; only a finished build is
    renamed into place (`data_dir/name/config/version`), so an interrupted prepare never
    leaves a dataset that reads as complete. The word tokenizer is saved as tokenizer.json."""
    import os
    import shutil
    import tempfile

    b = builder(name, data_dir, overrides)  # validates name and config keys first
    final = os.path.join(os.fspath(data_dir), name, b.builder_config.name, str(b.version))
    if os.path.exists(final):
        if not overwrite:
            raise FileExistsError(f"dataset already prepared: {final} (pass overwrite to rebuild)")
    os.makedirs(os.fspath(data_dir), exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".spjax-prepare-", dir=os.fspath(data_dir))
    try:
        tb = builder(name, tmp, overrides)
        tb.download_and_prepare(
            download_config=tfds.download.DownloadConfig(try_download_gcs=False)
        )
        built = os.path.join(tmp, name, tb.builder_config.name, str(tb.version))
        WordTokenizer.build().save(os.path.join(built, "tokenizer.json"))
        os.makedirs(os.path.dirname(final), exist_ok=True)
        if os.path.exists(final):
            shutil.rmtree(final)
        os.rename(built, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final


def load(name: str, data_dir, overrides: dict | None = None, split: str = "train"):
    """A random-access data source (`len`, `[i]`) of a prepared split."""
    b = builder(name, data_dir, overrides)
    if not os.path.isdir(b.data_dir):
        raise FileNotFoundError(
            f"dataset not prepared: {b.data_dir} (run `spjax data prepare {name} --data-dir {data_dir}`)"
        )
    sources = b.as_data_source()
    if split not in sources:
        raise ValueError(f"split: expected one of {sorted(sources)}, got {split!r}")
    return sources[split]


def as_arrays(source, limit: int | None = None) -> dict:
    """Read a prepared split into the dict layout of `generate_faces` / `generate_scenes`:
    images/frames float32 in [0, 1], labels stacked, `captions` (list of list[str]) and `qa`
    (list of (qtype, question, answer), "" padding dropped) for scene splits."""
    n = len(source) if limit is None else min(int(limit), len(source))
    recs = [source[i] for i in range(n)]
    if not recs:
        raise ValueError("source: expected at least one record, got an empty split")

    def dec(v):
        return v.decode() if isinstance(v, bytes) else str(v)

    out: dict = {}
    for key in recs[0]:
        if key in ("caption", "qtypes", "questions", "answers"):
            continue
        col = [r[key] for r in recs]
        if key in ("image", "frames"):
            out[key] = np.stack(col).astype(np.float32) / np.float32(255.0)
        elif isinstance(col[0], (bytes, str)):
            out[key] = [dec(v) for v in col]
        else:
            out[key] = np.stack([np.asarray(v) for v in col])
    if "caption" in recs[0]:
        out["captions"] = [[dec(c) for c in r["caption"]] for r in recs]
        out["qa"] = [
            [
                (dec(t), dec(q), dec(a))
                for t, q, a in zip(r["qtypes"], r["questions"], r["answers"])
                if dec(t)
            ]
            for r in recs
        ]
    return out
