"""What every spjax TFDS builder shares: the base class, the version, the uint8 storage of
radiance (images and frames are stored as 0–255 to keep files small; divide by 255), and the
scene schema, which the procedural scenes and local videos both write."""

from __future__ import annotations

import numpy as np
import tensorflow_datasets as tfds

N_QA = 4
VERSION = tfds.core.Version("1.0.0")


class SpjaxBuilder(tfds.core.GeneratorBasedBuilder, skip_registration=True):
    """Base of the spjax builders. They download nothing, so they need no checksums file;
    `code_path = None` also skips TFDS's source-path probing, which imports the
    `importlib_resources` backport that tensorflow-datasets 4.9.10 uses but does not install."""

    code_path = None


def to_uint8(x) -> np.ndarray:
    return (np.clip(x, 0, 1) * 255 + 0.5).astype(np.uint8)


def scene_features(
    size: int, frames: int, people: int, captions: int
) -> tfds.features.FeaturesDict:
    i32 = np.int32
    return tfds.features.FeaturesDict(
        {
            "frames": tfds.features.Tensor(shape=(frames, size, size), dtype=np.uint8),
            "count": tfds.features.Tensor(shape=(), dtype=i32),
            "count_per_frame": tfds.features.Tensor(shape=(frames,), dtype=i32),
            "anomaly": tfds.features.Tensor(shape=(), dtype=i32),
            "anomaly_type": tfds.features.Tensor(shape=(), dtype=i32),
            "event_span": tfds.features.Tensor(shape=(2,), dtype=i32),
            "identities": tfds.features.Tensor(shape=(people,), dtype=i32),
            "activity": tfds.features.Tensor(shape=(people,), dtype=i32),
            "zone": tfds.features.Tensor(shape=(people,), dtype=i32),
            "layout": tfds.features.Tensor(shape=(), dtype=i32),
            "caption": tfds.features.Tensor(shape=(captions,), dtype=np.str_),
            "qtypes": tfds.features.Tensor(shape=(N_QA,), dtype=np.str_),
            "questions": tfds.features.Tensor(shape=(N_QA,), dtype=np.str_),
            "answers": tfds.features.Tensor(shape=(N_QA,), dtype=np.str_),
        }
    )


def qa_columns(qa) -> dict:
    """List of (qtype, question, answer) → three fixed-length (N_QA,) string arrays ("" pad)."""
    qa = list(qa)[:N_QA] + [("", "", "")] * max(0, N_QA - len(qa))
    return {
        "qtypes": np.array([q[0] for q in qa], dtype=object),
        "questions": np.array([q[1] for q in qa], dtype=object),
        "answers": np.array([q[2] for q in qa], dtype=object),
    }


def face_features(size: int, *, named: bool = False):
    """The face schema: image (size, size) uint8 and identity int32 (+ the person's name)."""
    spec = {
        "image": tfds.features.Tensor(shape=(size, size), dtype=np.uint8),
        "identity": tfds.features.Tensor(shape=(), dtype=np.int32),
    }
    if named:
        spec["name"] = tfds.features.Tensor(shape=(), dtype=np.str_)
    return tfds.features.FeaturesDict(spec)
