"""TFDS builders of local real data: `spjax_lfw` (a Labeled Faces in the Wild folder) and
`spjax_videos` (a folder of labelled clips), read from local files only and split by a seed."""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow_datasets as tfds

from spjax.data import streams
from spjax.data.tfds_base import (
    VERSION,
    SpjaxBuilder,
    face_features,
    qa_columns,
    scene_features,
    to_uint8,
)
from spjax.data.word_tokenizer import WordTokenizer


@dataclasses.dataclass(eq=False)
class LocalConfig(tfds.core.BuilderConfig):
    path: str = ""
    size: int = 32
    frames: int = 16
    val_fraction: float = 0.1
    test_fraction: float = 0.2
    seed: int = 0


def _split_index(n: int, c: LocalConfig) -> dict[str, np.ndarray]:
    """Seeded split of n records; empty splits are left out (TFDS cannot write them)."""
    for name in ("val_fraction", "test_fraction"):
        if not 0.0 <= float(getattr(c, name)) < 1.0:
            raise ValueError(
                f"config {name}: expected a fraction in [0, 1), got {getattr(c, name)!r}"
            )
    perm = np.random.default_rng([c.seed, streams.TFDS_SHUFFLE]).permutation(n)
    n_test, n_val = int(round(n * c.test_fraction)), int(round(n * c.val_fraction))
    out = {
        "test": np.sort(perm[:n_test]),
        "val": np.sort(perm[n_test : n_test + n_val]),
        "train": np.sort(perm[n_test + n_val :]),
    }
    if not len(out["train"]):
        raise ValueError(
            f"config val_fraction/test_fraction: leave records for train, got {c.val_fraction}/{c.test_fraction} of {n}"
        )
    return {k: v for k, v in out.items() if len(v)}


def _need_path(c: LocalConfig, what: str) -> str:
    if not c.path:
        raise ValueError(
            f"config path: expected the {what} folder (--config path=DIR), got nothing"
        )
    return c.path


class SpjaxLfw(SpjaxBuilder):
    """Local faces in LFW layout (NAME/NAME_0001.jpg) → the spjax_faces features."""

    VERSION = VERSION
    BUILDER_CONFIGS = [LocalConfig(name="r32")]

    def _info(self):
        c = self.builder_config
        return tfds.core.DatasetInfo(
            builder=self,
            description=self.__doc__,
            features=face_features(c.size, named=True),
        )

    def _split_generators(self, dl_manager):
        from spjax.data.local import read_lfw

        c = self.builder_config
        d = read_lfw(_need_path(c, "LFW-layout faces"), c.size)
        return {
            s: self._generate_examples(d, idx)
            for s, idx in _split_index(len(d["identity"]), c).items()
        }

    def _generate_examples(self, d, idx):
        for i in idx:
            k = int(d["identity"][i])
            yield (
                int(i),
                {"image": to_uint8(d["image"][i]), "identity": np.int32(k), "name": d["names"][k]},
            )


class SpjaxVideos(SpjaxBuilder):
    """Local clips (frame folders or .gif/.tif) with labels.csv → the spjax_scenes features."""

    VERSION = VERSION
    BUILDER_CONFIGS = [LocalConfig(name="r32")]

    def _info(self):
        c = self.builder_config
        return tfds.core.DatasetInfo(
            builder=self,
            description=self.__doc__,
            features=scene_features(c.size, c.frames, 1, 3),
            metadata=tfds.core.MetadataDict(vocab=WordTokenizer.build().vocab),
        )

    def _split_generators(self, dl_manager):
        from spjax.data.local import read_videos

        c = self.builder_config
        d = read_videos(_need_path(c, "clips"), c.frames, c.size)
        return {
            s: self._generate_examples(d, idx)
            for s, idx in _split_index(len(d["count"]), c).items()
        }

    def _generate_examples(self, d, idx):
        t = self.builder_config.frames
        for i in idx:
            ex = {
                "frames": to_uint8(d["frames"][i]),
                "count": d["count"][i],
                "count_per_frame": np.full(t, d["count"][i], np.int32),
                "anomaly": d["anomaly"][i],
                "anomaly_type": d["anomaly_type"][i],
                "event_span": np.full(2, -1, np.int32),
                "identities": np.full(1, -1, np.int32),
                "activity": np.zeros(1, np.int32),
                "zone": np.full(1, -1, np.int32),
                "layout": np.int32(-1),
                "caption": np.array(d["captions"][i], dtype=object),
            }
            ex.update(qa_columns(d["qa"][i]))
            yield int(i), ex
