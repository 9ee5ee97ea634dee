"""Training data for SP-VLM: clips per step, questions per clip, fixed evaluation splits, faces.

Training clips come one batch per step, deterministic in `(seed, step)` (`TrainClips`):
rendered on the fly for the procedural world (`data.source="synthetic"`; a fresh batch every
step, never an epoch), or drawn from a dataset prepared on disk (`"tfds"`). Each clip of a step
answers one question; the step's question type is drawn by `train.qtype_weights` (answer-type
balancing: the frequent, short count/anomaly questions are not drowned by long captions, and
each batch has one type, so its token width is tight). Validation and test splits are fixed
sets of (clip, question) examples (`QASplit`). A resumed run only needs the step number to
see exactly the batches it would have seen.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from spjax.data.text import QTYPES, activity_pointers
from spjax.training import keys
from spjax.training.config import ConfigDict


@dataclasses.dataclass
class QASplit:
    """Examples of one evaluation split. Token layouts are those of `spjax.models.spvlm`:
    training rows `[bos] question answer [eos]` right-padded with a loss mask on the answer;
    prompts `[bos] question` left-padded for generation."""

    frames: np.ndarray  # (N, T, H, W) float32 clips
    clip: np.ndarray  # (E,) clip index of each example
    qtype: np.ndarray  # (E,) index into QTYPES
    tokens: np.ndarray  # (E, L)
    loss_mask: np.ndarray  # (E, L)
    attention_mask: np.ndarray  # (E, L)
    prompt: np.ndarray  # (E, Lq)
    prompt_mask: np.ndarray  # (E, Lq)
    question_text: list[str]
    answer_text: list[str]
    labels: dict  # clip-level labels from the scene generator
    captions: list[list[str]]  # (N,) reference captions

    def __len__(self) -> int:
        return len(self.clip)

    def batch(self, index) -> dict:
        clip = self.clip[index]
        return {
            "frames": self.frames[clip],
            "tokens": self.tokens[index],
            "loss_mask": self.loss_mask[index],
            "attention_mask": self.attention_mask[index],
            **clip_targets(self.labels, clip),
        }

    def references(self, index) -> list:
        """Per example: the reference answer, or the clip's captions for `describe`."""
        return [
            self.captions[self.clip[i]]
            if QTYPES[self.qtype[i]] == "describe"
            else self.answer_text[i]
            for i in index
        ]


@dataclasses.dataclass
class FaceSplit:
    image: np.ndarray  # (N, H, W) float32
    identity: np.ndarray  # (N,) int32

    def __len__(self) -> int:
        return len(self.identity)


def clip_targets(labels: dict, index=slice(None)) -> dict:
    """The label-head targets of clips `index`: count, anomaly type, activity ids and who an
    activity question can name (`activity_pointers`)."""
    activity = np.asarray(labels["activity"])[index].astype(np.int32)
    return {
        "count": np.asarray(labels["count"])[index].astype(np.int32),
        "anomaly_type": np.asarray(labels["anomaly_type"])[index].astype(np.int32),
        "activity": activity,
        "activity_pointer": activity_pointers(activity, np.asarray(labels["zone"])[index]),
    }


def qtype_widths(clip_sets: list[dict], tokenizer, margin: int = 4) -> dict[str, int]:
    """Token width of `[bos] question answer [eos]` rows per question type (longest seen in
    `clip_sets` plus a margin; the grammar is closed, so a sample of clips covers it)."""
    widths = {q: 0 for q in QTYPES}
    for clips in clip_sets:
        for qa in clips["qa"]:
            for kind, question, answer in qa:
                n = len(tokenizer.encode(question)) + len(tokenizer.encode(answer)) + 2
                widths[kind] = max(widths[kind], n)
    return {q: w + margin for q, w in widths.items() if w}


def make_qa_split(clips: dict, tokenizer, *, max_len: int) -> QASplit:
    from spjax.models.spvlm import make_batch, make_prompts

    clip, qtype, questions, answers = [], [], [], []
    for i, qa in enumerate(clips["qa"]):
        for kind, question, answer in qa:
            clip.append(i)
            qtype.append(QTYPES.index(kind))
            questions.append(question)
            answers.append(answer)
    rows = make_batch(tokenizer, questions, answers, max_len=max_len)
    prompt, prompt_mask = make_prompts(tokenizer, questions)
    labels = {k: v for k, v in clips.items() if k not in ("frames", "qa", "captions")}
    return QASplit(
        frames=np.asarray(clips["frames"], np.float32),
        clip=np.asarray(clip, np.int32),
        qtype=np.asarray(qtype, np.int32),
        tokens=rows["tokens"],
        loss_mask=rows["loss_mask"],
        attention_mask=rows["attention_mask"],
        prompt=prompt,
        prompt_mask=prompt_mask,
        question_text=questions,
        answer_text=answers,
        labels=labels,
        captions=[list(c) for c in clips["captions"]],
    )


def step_qtype(cfg: ConfigDict, step: int) -> str:
    """The question type every clip of training step `step` answers (seeded by the step)."""
    weights = np.asarray([float(w) for w in cfg.train.qtype_weights], np.float64)
    u = np.random.default_rng([int(cfg.seed), int(step)]).random()
    return QTYPES[int(np.searchsorted(np.cumsum(weights / weights.sum()), u, side="right"))]


def answer_rows(clips: dict, qtype: str, tokenizer, width: int) -> dict:
    """One `qtype` question per clip, tokenised to `width`. A clip without a question of that
    type (activity questions need a nameable person) answers its anomaly question instead."""
    from spjax.models.spvlm import make_batch

    questions, answers = [], []
    for qa in clips["qa"]:
        pairs = {kind: (q, a) for kind, q, a in qa}
        q, a = pairs.get(qtype, pairs["anomaly"])
        questions.append(q)
        answers.append(a)
    return make_batch(tokenizer, questions, answers, max_len=width)


class TrainClips:
    """The clips of each training step for this process: `clips(step) -> generate_scenes`-
    layout dict with `local_batch` clips (frames, labels, `qa`)."""

    def __init__(self, cfg: ConfigDict, local_batch: int, *, arrays: dict | None = None):
        self.cfg, self.local_batch = cfg, local_batch
        self.arrays = arrays  # a fixed clip set (tfds) instead of the renderer
        if arrays is None:
            self.scene_config = scene_config(cfg)

    def clips(self, step: int) -> dict:
        import jax

        if self.arrays is None:
            from spjax.data.stream import clip_batch

            return clip_batch(
                self.scene_config,
                self.local_batch,
                seed=self.cfg.seed,
                step=step,
                shard_index=jax.process_index(),
            )
        n = len(self.arrays["count"])
        rng = np.random.default_rng(
            [int(self.cfg.seed), int(step), keys.NP_TFDS_BATCH, jax.process_index()]
        )
        idx = rng.integers(0, n, self.local_batch)
        return {
            k: ([v[i] for i in idx] if isinstance(v, list) else np.asarray(v)[idx])
            for k, v in self.arrays.items()
        }


def scene_config(cfg: ConfigDict):
    """The world of a recipe: `spjax.data.scenes.SceneConfig` from `data.*`."""
    from spjax.data.scenes import SceneConfig

    return SceneConfig.pick(cfg.data, seed="world_seed")


IDENTITY_CHANNELS = ("faces", "room")


def identity_views(cfg: ConfigDict, identities: int, per_identity: int, *, offset: int, seed):
    """Labelled views of `identities` people from id `offset` of the run's world, through
    the identity channel the privacy machinery aims at: frame-filling `faces`, or people as
    the room sensor sees them (`room`: `per_identity` room frames each, two per clip).
    Returns {image (N, S, S), identity (N,)}."""
    d = cfg.data
    channel = cfg.privacy.get("channel", "faces")
    if channel == "faces":
        from spjax.data.faces import generate_faces

        return generate_faces(
            identities,
            per_identity,
            size=d.size,
            seed=seed,
            identity_offset=offset,
            world=d.world_seed,
        )
    from spjax.data.scenes import person_frames, single_person_world

    world = single_person_world(scene_config(cfg), identities=identities, identity_offset=offset)
    per_clip = 2
    n_clips = identities * max(1, per_identity // per_clip)
    return person_frames(world, n_clips, per_clip=per_clip, seed=(int(seed), ROOM_VIEWS_TAG))


ROOM_VIEWS_TAG = 7  # clip-seed tag of room identity views (train/val/test clips use 0, 1, 2)


def build_eval_sets(cfg: ConfigDict):
    """(train clip arrays or None, {val, test} clip dicts, face splits)."""
    d = cfg.data
    if d.source == "tfds":
        return _from_tfds(cfg)
    from spjax.data.stream import eval_clips

    world = scene_config(cfg)
    clips = {
        split: eval_clips(world, n, seed=cfg.seed, split=split)
        for split, n in (("val", d.n_val), ("test", d.n_test))
    }
    # The privacy channel's labelled views of the training people (faces or room frames).
    views = identity_views(cfg, d.n_identities, d.faces_per_identity, offset=0, seed=cfg.seed)
    return None, clips, split_faces(views, seed=cfg.seed)


def parse_builder_config(text: str) -> dict:
    """`"size=16,frames=8"` → {"size": "16", "frames": "8"} (the builder coerces the types)."""
    from spjax.data.cli import parse_overrides

    return parse_overrides(t for t in text.split(",") if t.strip())


def _from_tfds(cfg: ConfigDict):
    from spjax.data.tfds_builders import as_arrays, load

    d = cfg.data
    limits = {"train": d.n_train, "val": d.n_val, "test": d.n_test}
    scenes_cfg, faces_cfg = (
        parse_builder_config(d.scenes_config),
        parse_builder_config(d.faces_config),
    )
    clips = {
        split: as_arrays(load(d.scenes, d.data_dir, scenes_cfg, split=split), limit=n)
        for split, n in limits.items()
    }
    face_sets = {
        split: as_arrays(load(d.faces, d.data_dir, faces_cfg, split=split))
        for split in ("train", "val", "test")
    }
    for split, c in clips.items():
        if c["frames"].shape[1:] != (d.frames, d.size, d.size):
            raise ValueError(
                f"{d.scenes} {split} clips have shape {c['frames'].shape[1:]}, the "
                f"config expects (data.frames, data.size, data.size) = "
                f"{(d.frames, d.size, d.size)}"
            )
    faces = {
        split: FaceSplit(np.asarray(f["image"], np.float32), np.asarray(f["identity"], np.int32))
        for split, f in face_sets.items()
    }
    if faces["train"].image.shape[1:] != (d.size, d.size):
        raise ValueError(
            f"{d.faces} images have shape {faces['train'].image.shape[1:]}, the config "
            f"expects (data.size, data.size) = {(d.size, d.size)}"
        )
    train = clips.pop("train")
    return train, clips, faces


def split_faces(face_data: dict, *, seed: int, fractions=(0.7, 0.15, 0.15)) -> dict[str, FaceSplit]:
    """Closed-set split: every identity appears in train, val and test with different samples."""
    rng = np.random.default_rng(seed)
    ids = np.asarray(face_data["identity"])
    parts = {"train": [], "val": [], "test": []}
    for ident in np.unique(ids):
        idx = rng.permutation(np.flatnonzero(ids == ident))
        n_tr = int(round(len(idx) * fractions[0]))
        n_va = int(round(len(idx) * fractions[1]))
        parts["train"].append(idx[:n_tr])
        parts["val"].append(idx[n_tr : n_tr + n_va])
        parts["test"].append(idx[n_tr + n_va :])
    out = {}
    for name, chunks in parts.items():
        idx = np.concatenate(chunks)
        out[name] = FaceSplit(
            np.asarray(face_data["image"], np.float32)[idx], ids[idx].astype(np.int32)
        )
    return out


def index_loader(n: int, batch_size: int, seed: int):
    """Infinite, per-epoch reshuffled batches of example indices for this process's shard."""
    from spjax.data.pipeline import make_loader

    return iter(
        make_loader(
            range(n),
            batch_size=batch_size,
            seed=seed,
            num_epochs=None,
            drop_remainder=True,
            to_float=False,
        )
    )
