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
import hashlib
import json
import os

import numpy as np
import tensorflow_datasets as tfds

from spjax.data import streams
from spjax.data import text as tx
from spjax.data.faces import generate_faces
from spjax.data.scenes import SceneConfig, generate_scenes

N_QA = 4
_VERSION = tfds.core.Version("1.0.0")


class _Builder(tfds.core.GeneratorBasedBuilder, skip_registration=True):
    """Base of the spjax builders. They download nothing, so they need no checksums file;
    `code_path = None` also skips TFDS's source-path probing, which imports the
    `importlib_resources` backport that tensorflow-datasets 4.9.10 uses but does not install."""

    code_path = None


def _u8(x) -> np.ndarray:
    return (np.clip(x, 0, 1) * 255 + 0.5).astype(np.uint8)


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
    size: int = 32
    frames: int = 16
    n_train: int = 2000
    n_val: int = 200
    n_test: int = 500
    min_people: int = 0
    max_people: int = 4
    anomaly_fraction: float = 0.3
    anomaly_types: str = "fall,fight,loiter"
    layout_seeds: int = 1000
    n_identities: int = 50
    seed: int = 0

    def scene_config(self) -> SceneConfig:
        types = tuple(t for t in self.anomaly_types.split(",") if t)
        return SceneConfig.pick({**dataclasses.asdict(self), "anomaly_types": types})


class SpjaxFaces(_Builder):
    """Parametric identity faces (see spjax.data.faces)."""

    VERSION = _VERSION
    BUILDER_CONFIGS = [FacesConfig(name="r32", size=32), FacesConfig(name="r64", size=64)]

    def _info(self):
        c = self.builder_config
        return tfds.core.DatasetInfo(
            builder=self,
            description=self.__doc__,
            features=tfds.features.FeaturesDict(
                {
                    "image": tfds.features.Tensor(shape=(c.size, c.size), dtype=np.uint8),
                    "identity": tfds.features.Tensor(shape=(), dtype=np.int32),
                }
            ),
        )

    def _split_generators(self, dl_manager):
        c = self.builder_config
        return {
            "train": self._generate_examples(c.n_identities, c.train_per_identity, 1, 0),
            "val": self._generate_examples(c.n_identities, c.val_per_identity, 2, 0),
            "test": self._generate_examples(c.n_identities, c.test_per_identity, 3, 0),
            "open": self._generate_examples(
                c.open_identities, c.per_open_identity, 4, c.n_identities
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
                seed=c.seed * 1000 + split_seed,
                identity_offset=offset + start,
                world=0,
            )
            for i in range(len(d["identity"])):
                yield (
                    f"{offset + start}-{i}",
                    {"image": _u8(d["image"][i]), "identity": np.int32(d["identity"][i])},
                )


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


class SpjaxScenes(_Builder):
    """Procedural behaviour clips with labels, captions and QA (see spjax.data.scenes)."""

    VERSION = _VERSION
    BUILDER_CONFIGS = [ScenesConfig(name="r32", size=32), ScenesConfig(name="r64", size=64)]

    def _info(self):
        c = self.builder_config
        vocab = tx.WordTokenizer.build().vocab
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
            "train": self._generate_examples(c.n_train, 1),
            "val": self._generate_examples(c.n_val, 2),
            "test": self._generate_examples(c.n_test, 3),
        }

    def _generate_examples(self, n, split_seed):
        cfg = self.builder_config.scene_config()
        for start in range(0, n, 256):
            d = generate_scenes(cfg, min(256, n - start), seed=split_seed * 1_000_003 + start)
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
                ex["frames"] = _u8(d["frames"][i])
                ex["caption"] = np.array(d["captions"][i], dtype=object)
                ex.update(qa_columns(d["qa"][i]))
                yield f"{split_seed}-{start + i}", ex


BUILDERS = {"spjax_faces": SpjaxFaces, "spjax_scenes": SpjaxScenes}
CONFIG_CLASSES = {"spjax_faces": FacesConfig, "spjax_scenes": ScenesConfig}


def _coerce(cls, key: str, value):
    """A CLI string (or a value) → the type of the config field's default, naming the key."""
    default = {f.name: f for f in dataclasses.fields(cls)}[key].default
    kind = type(default)
    if kind is str:
        return str(value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"config {key}: expected {kind.__name__}, got {value!r}") from None
    if kind is int:
        if number != int(number):
            raise ValueError(f"config {key}: expected an int, got {value!r}")
        return int(number)
    return number


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
    values = {k: _coerce(cls, k, v) for k, v in overrides.items()}
    for k, v in values.items():  # sizes and counts (every int field but seed and min_people)
        if isinstance(v, int) and k not in ("seed", "min_people") and v < 1:
            raise ValueError(f"config {k}: expected a positive int, got {v}")
    base = cls(name="default")
    size = values.get("size", getattr(base, "size", 32))
    rest = {k: v for k, v in sorted(values.items()) if k != "size"}
    cname = (
        f"r{size}"
        if not rest
        else f"r{size}-"
        + hashlib.sha1(json.dumps(rest, sort_keys=True, default=str).encode()).hexdigest()[:8]
    )
    return cls(name=cname, description=json.dumps(values, sort_keys=True, default=str), **values)


# --- local real data -------------------------------------------------------------------


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


class SpjaxLfw(_Builder):
    """Local faces in LFW layout (NAME/NAME_0001.jpg) → the spjax_faces features."""

    VERSION = _VERSION
    BUILDER_CONFIGS = [LocalConfig(name="r32")]

    def _info(self):
        c = self.builder_config
        return tfds.core.DatasetInfo(
            builder=self,
            description=self.__doc__,
            features=tfds.features.FeaturesDict(
                {
                    "image": tfds.features.Tensor(shape=(c.size, c.size), dtype=np.uint8),
                    "identity": tfds.features.Tensor(shape=(), dtype=np.int32),
                    "name": tfds.features.Tensor(shape=(), dtype=np.str_),
                }
            ),
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
                {"image": _u8(d["image"][i]), "identity": np.int32(k), "name": d["names"][k]},
            )


class SpjaxVideos(_Builder):
    """Local clips (frame folders or .gif/.tif) with labels.csv → the spjax_scenes features."""

    VERSION = _VERSION
    BUILDER_CONFIGS = [LocalConfig(name="r32")]

    def _info(self):
        c = self.builder_config
        return tfds.core.DatasetInfo(
            builder=self,
            description=self.__doc__,
            features=scene_features(c.size, c.frames, 1, 3),
            metadata=tfds.core.MetadataDict(vocab=tx.WordTokenizer.build().vocab),
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
                "frames": _u8(d["frames"][i]),
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


BUILDERS.update({"spjax_lfw": SpjaxLfw, "spjax_videos": SpjaxVideos})
CONFIG_CLASSES.update({"spjax_lfw": LocalConfig, "spjax_videos": LocalConfig})


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
        tx.WordTokenizer.build().save(os.path.join(built, "tokenizer.json"))
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
