"""Training data for SP-VLM: clips with tokenised question/answer pairs, and identity faces.

Every (clip, question) pair is one example. Examples and faces are served by grain
pipelines over in-memory arrays: sharded by process first (so processes see disjoint
examples), reshuffled each epoch from the seed, batched; their iterator state is a small dict
saved in every checkpoint, so a resumed run sees exactly the batches it would have seen.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from spjax.training.config import ConfigDict

QTYPES = ("count", "anomaly", "activity", "describe")


@dataclasses.dataclass
class QASplit:
    """Examples of one split. Token layouts are those of `spjax.models.spvlm`: training rows
    `[bos] question answer [eos]` right-padded with a loss mask on the answer; prompts
    `[bos] question` left-padded for generation."""

    frames: np.ndarray          # (N, T, H, W) float32 clips
    clip: np.ndarray            # (E,) clip index of each example
    qtype: np.ndarray           # (E,) index into QTYPES
    tokens: np.ndarray          # (E, L)
    loss_mask: np.ndarray       # (E, L)
    attention_mask: np.ndarray  # (E, L)
    prompt: np.ndarray          # (E, Lq)
    prompt_mask: np.ndarray     # (E, Lq)
    question_text: list[str]
    answer_text: list[str]
    labels: dict                # clip-level labels from the scene generator
    captions: list[list[str]]   # (N,) reference captions

    def __len__(self) -> int:
        return len(self.clip)

    def batch(self, index, width: int | None = None) -> dict:
        """Examples `index`, token rows cut to `width` (rows are right-padded, so any width
        ≥ the longest row in the batch loses nothing)."""
        w = slice(None, width)
        clip = self.clip[index]
        return {"frames": self.frames[clip], "tokens": self.tokens[index, w],
                "loss_mask": self.loss_mask[index, w], "attention_mask": self.attention_mask[index, w],
                "count": self.labels["count"][clip].astype(np.int32),
                "anomaly_type": self.labels["anomaly_type"][clip].astype(np.int32)}

    def length_pools(self, quantile: float = 75.0, multiple: int = 8) -> dict[str, tuple[np.ndarray, int]]:
        """Split examples into a `short` pool (length ≤ the quantile, rounded up to `multiple`)
        and a `long` pool, each with the width its batches are cut to. Long descriptions are a
        minority; cutting every other batch to the short width halves the decoder's work."""
        lengths = self.attention_mask.sum(1)
        cut = int(np.ceil(np.percentile(lengths, quantile) / multiple) * multiple)
        pools = {"short": (np.flatnonzero(lengths <= cut), cut),
                 "long": (np.flatnonzero(lengths > cut), self.tokens.shape[1])}
        return {name: pool for name, pool in pools.items() if len(pool[0])}

    def references(self, index) -> list:
        """Per example: the reference answer, or the clip's captions for `describe`."""
        return [self.captions[self.clip[i]] if QTYPES[self.qtype[i]] == "describe"
                else self.answer_text[i] for i in index]


@dataclasses.dataclass
class FaceSplit:
    image: np.ndarray     # (N, H, W) float32
    identity: np.ndarray  # (N,) int32

    def __len__(self) -> int:
        return len(self.identity)


def sequence_length(clip_sets: list[dict], tokenizer) -> int:
    """Longest `[bos] question answer [eos]` over the given clip sets (so nothing is cut)."""
    longest = 0
    for clips in clip_sets:
        for qa in clips["qa"]:
            for _, question, answer in qa:
                longest = max(longest, len(tokenizer.encode(question)) + len(tokenizer.encode(answer)))
    return longest + 2


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
    return QASplit(frames=np.asarray(clips["frames"], np.float32),
                   clip=np.asarray(clip, np.int32), qtype=np.asarray(qtype, np.int32),
                   tokens=rows["tokens"], loss_mask=rows["loss_mask"],
                   attention_mask=rows["attention_mask"], prompt=prompt, prompt_mask=prompt_mask,
                   question_text=questions, answer_text=answers, labels=labels,
                   captions=[list(c) for c in clips["captions"]])


def index_loader(n: int, batch_size: int, seed: int):
    """Infinite, per-epoch reshuffled batches of example indices for this process's shard."""
    from spjax.data.pipeline import make_loader

    return iter(make_loader(range(n), batch_size=batch_size, seed=seed, num_epochs=None,
                            drop_remainder=True, to_float=False))


def build_clip_sets(cfg: ConfigDict):
    """Scene clips per split and face splits: generated in memory (`data.source="synthetic"`)
    or read from TFDS datasets prepared on disk (`"tfds"`, builders `data.scenes`/`data.faces`)."""
    d = cfg.data
    if d.source == "tfds":
        return _from_tfds(cfg)
    from spjax.data import faces, scenes

    scene_cfg = scenes.SceneConfig(frames=d.frames, size=d.size, min_people=d.min_people,
                                   max_people=d.max_people, anomaly_fraction=d.anomaly_fraction,
                                   n_identities=d.n_identities, seed=cfg.seed)
    clips = {name: scenes.generate_scenes(scene_cfg, n, seed=cfg.seed * 1000 + i)
             for i, (name, n) in enumerate((("train", d.n_train), ("val", d.n_val),
                                            ("test", d.n_test)))}
    face_data = faces.generate_faces(d.n_identities, d.faces_per_identity, size=d.size,
                                     seed=cfg.seed)
    return clips, split_faces(face_data, seed=cfg.seed)


def parse_builder_config(text: str) -> dict:
    """`"size=16,frames=8"` → {"size": "16", "frames": "8"} (the builder coerces the types)."""
    from spjax.data.cli import parse_overrides

    return parse_overrides(t for t in text.split(",") if t.strip())


def _from_tfds(cfg: ConfigDict):
    from spjax.data.tfds_builders import as_arrays, load

    d = cfg.data
    limits = {"train": d.n_train, "val": d.n_val, "test": d.n_test}
    scenes_cfg, faces_cfg = parse_builder_config(d.scenes_config), parse_builder_config(d.faces_config)
    clips = {split: as_arrays(load(d.scenes, d.data_dir, scenes_cfg, split=split), limit=n)
             for split, n in limits.items()}
    face_sets = {split: as_arrays(load(d.faces, d.data_dir, faces_cfg, split=split))
                 for split in ("train", "val", "test")}
    for split, c in clips.items():
        if c["frames"].shape[1:] != (d.frames, d.size, d.size):
            raise ValueError(f"{d.scenes} {split} clips have shape {c['frames'].shape[1:]}, the "
                             f"config expects (data.frames, data.size, data.size) = "
                             f"{(d.frames, d.size, d.size)}")
    faces = {split: FaceSplit(np.asarray(f["image"], np.float32), np.asarray(f["identity"], np.int32))
             for split, f in face_sets.items()}
    if faces["train"].image.shape[1:] != (d.size, d.size):
        raise ValueError(f"{d.faces} images have shape {faces['train'].image.shape[1:]}, the config "
                         f"expects (data.size, data.size) = {(d.size, d.size)}")
    return clips, faces


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
        parts["val"].append(idx[n_tr:n_tr + n_va])
        parts["test"].append(idx[n_tr + n_va:])
    out = {}
    for name, chunks in parts.items():
        idx = np.concatenate(chunks)
        out[name] = FaceSplit(np.asarray(face_data["image"], np.float32)[idx], ids[idx].astype(np.int32))
    return out
