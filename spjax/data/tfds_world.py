"""TFDS builders of the procedural world: `spjax_faces` (identities; splits train/val/test with
the same identities and open with unseen ones) and `spjax_scenes` (clips with labels, captions
and question–answer pairs; splits train/val/test). Features are listed in
`spjax.data.tfds_builders`."""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow_datasets as tfds

from spjax.data.faces import generate_faces
from spjax.data.scenes import SceneConfig, generate_scenes
from spjax.data.tfds_base import (
    VERSION,
    SpjaxBuilder,
    face_features,
    qa_columns,
    scene_features,
    to_uint8,
)
from spjax.data.word_tokenizer import WordTokenizer

# Seeds of the written splits: faces of split tag t from world seed·FACE_SEED_STRIDE + t; scene
# chunk at clip `start` of split t from t·SCENE_SEED_STRIDE + start (disjoint for < 1e6 clips).
SPLIT_TAGS = {"train": 1, "val": 2, "test": 3, "open": 4}
FACE_SEED_STRIDE, SCENE_SEED_STRIDE = 1000, 1_000_003
_WORLD = SceneConfig()


@dataclasses.dataclass(eq=False)
class FacesConfig(tfds.core.BuilderConfig):
    size: int = 32
    n_identities: int = 50
    train_per_identity: int = 20
    val_per_identity: int = 5
    test_per_identity: int = 10
    open_identities: int = 20
    per_open_identity: int = 10
    seed: int = 0


@dataclasses.dataclass(eq=False)
class ScenesConfig(tfds.core.BuilderConfig):
    """The world fields take `SceneConfig`'s defaults (one home for them); the anomaly types are
    a comma string so that a CLI override can set them."""

    size: int = _WORLD.size
    frames: int = _WORLD.frames
    n_train: int = 2000
    n_val: int = 200
    n_test: int = 500
    min_people: int = _WORLD.min_people
    max_people: int = _WORLD.max_people
    anomaly_fraction: float = _WORLD.anomaly_fraction
    anomaly_types: str = ",".join(_WORLD.anomaly_types)
    layout_seeds: int = _WORLD.layout_seeds
    n_identities: int = _WORLD.n_identities
    seed: int = _WORLD.seed

    def scene_config(self) -> SceneConfig:
        types = tuple(t for t in self.anomaly_types.split(",") if t)
        return SceneConfig.pick({**dataclasses.asdict(self), "anomaly_types": types})


class SpjaxFaces(SpjaxBuilder):
    """Parametric identity faces (see spjax.data.faces)."""

    VERSION = VERSION
    BUILDER_CONFIGS = [FacesConfig(name="r32", size=32), FacesConfig(name="r64", size=64)]

    def _info(self):
        c = self.builder_config
        return tfds.core.DatasetInfo(
            builder=self,
            description=self.__doc__,
            features=face_features(c.size),
        )

    def _split_generators(self, dl_manager):
        c = self.builder_config
        return {
            "train": self._generate_examples(
                c.n_identities, c.train_per_identity, SPLIT_TAGS["train"], 0
            ),
            "val": self._generate_examples(
                c.n_identities, c.val_per_identity, SPLIT_TAGS["val"], 0
            ),
            "test": self._generate_examples(
                c.n_identities, c.test_per_identity, SPLIT_TAGS["test"], 0
            ),
            "open": self._generate_examples(
                c.open_identities, c.per_open_identity, SPLIT_TAGS["open"], c.n_identities
            ),
        }

    def _generate_examples(self, n_ids, per_id, split_seed, offset):
        c = self.builder_config
        for start in range(0, n_ids, 64):
            k = min(64, n_ids - start)
            d = generate_faces(
                k,
                per_id,
                size=c.size,
                seed=c.seed * FACE_SEED_STRIDE + split_seed,
                identity_offset=offset + start,
                world=0,
            )
            for i in range(len(d["identity"])):
                yield (
                    f"{offset + start}-{i}",
                    {"image": to_uint8(d["image"][i]), "identity": np.int32(d["identity"][i])},
                )


class SpjaxScenes(SpjaxBuilder):
    """Procedural behaviour clips with labels, captions and QA (see spjax.data.scenes)."""

    VERSION = VERSION
    BUILDER_CONFIGS = [ScenesConfig(name="r32", size=32), ScenesConfig(name="r64", size=64)]

    def _info(self):
        c = self.builder_config
        vocab = WordTokenizer.build().vocab
        return tfds.core.DatasetInfo(
            builder=self,
            description=self.__doc__,
            features=scene_features(c.size, c.frames, c.max_people, 3),
            metadata=tfds.core.MetadataDict(
                vocab=vocab, scene_config=dataclasses.asdict(c.scene_config())
            ),
        )

    def _split_generators(self, dl_manager):
        c = self.builder_config
        c.scene_config()  # validate before writing anything
        return {
            "train": self._generate_examples(c.n_train, SPLIT_TAGS["train"]),
            "val": self._generate_examples(c.n_val, SPLIT_TAGS["val"]),
            "test": self._generate_examples(c.n_test, SPLIT_TAGS["test"]),
        }

    def _generate_examples(self, n, split_seed):
        cfg = self.builder_config.scene_config()
        for start in range(0, n, 256):
            d = generate_scenes(
                cfg, min(256, n - start), seed=split_seed * SCENE_SEED_STRIDE + start
            )
            for i in range(len(d["count"])):
                ex = {
                    k: d[k][i]
                    for k in (
                        "count",
                        "count_per_frame",
                        "anomaly",
                        "anomaly_type",
                        "event_span",
                        "identities",
                        "activity",
                        "zone",
                        "layout",
                    )
                }
                ex["frames"] = to_uint8(d["frames"][i])
                ex["caption"] = np.array(d["captions"][i], dtype=object)
                ex.update(qa_columns(d["qa"][i]))
                yield f"{split_seed}-{start + i}", ex
