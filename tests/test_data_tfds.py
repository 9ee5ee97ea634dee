import os

import numpy as np
import pytest
import tensorflow_datasets as tfds

from spjax.data import tfds_builders as tb
from spjax.data.answers import parse_answer
from spjax.data.faces import generate_faces
from spjax.data.scenes import generate_scenes
from spjax.data.word_tokenizer import WordTokenizer

FACES = {
    "n_identities": 3,
    "train_per_identity": 2,
    "val_per_identity": 1,
    "test_per_identity": 1,
    "open_identities": 2,
    "per_open_identity": 2,
}
SCENES = {"n_train": 6, "n_val": 2, "n_test": 3, "frames": 8}


def test_faces_build_and_read_round_trip(tmp_path):
    path = tb.prepare("spjax_faces", tmp_path, FACES)
    config = os.path.basename(os.path.dirname(path))
    ds = tfds.data_source(f"spjax_faces/{config}", data_dir=str(tmp_path))
    assert {k: len(v) for k, v in ds.items()} == {"train": 6, "val": 3, "test": 3, "open": 4}
    want = generate_faces(3, 2, size=32, seed=1, identity_offset=0)
    got = sorted((int(r["identity"]), r["image"].tobytes()) for r in ds["train"])
    expect = sorted(
        (int(i), (np.clip(im, 0, 1) * 255 + 0.5).astype(np.uint8).tobytes())
        for i, im in zip(want["identity"], want["image"])
    )
    assert got == expect
    assert {int(r["identity"]) for r in ds["open"]} == {3, 4}  # unseen identities
    assert ds["train"][0]["image"].dtype == np.uint8 and ds["train"][0]["image"].shape == (32, 32)


def test_scenes_build_and_read_round_trip(tmp_path):
    path = tb.prepare("spjax_scenes", tmp_path, SCENES)
    src = tb.load("spjax_scenes", tmp_path, SCENES, split="train")
    assert len(src) == 6
    cfg = tb.make_config("spjax_scenes", SCENES).scene_config()
    ref = generate_scenes(cfg, 6, seed=1 * 1_000_003)
    by_frames = {
        (np.clip(f, 0, 1) * 255 + 0.5).astype(np.uint8).tobytes(): i
        for i, f in enumerate(ref["frames"])
    }
    for r in src:
        i = by_frames[r["frames"].tobytes()]
        assert r["frames"].shape == (8, 32, 32)
        assert (
            int(r["count"]) == ref["count"][i] and int(r["anomaly_type"]) == ref["anomaly_type"][i]
        )
        np.testing.assert_array_equal(r["count_per_frame"], ref["count_per_frame"][i])
        assert [c.decode() for c in r["caption"]] == ref["captions"][i]
        for qt, _q, a in zip(r["qtypes"], r["questions"], r["answers"]):
            if qt:
                assert parse_answer(qt.decode(), a.decode()) is not None
    arrays = tb.as_arrays(src)
    order = [by_frames[r["frames"].tobytes()] for r in src]
    assert arrays["frames"].dtype == np.float32 and arrays["frames"].shape == (6, 8, 32, 32)
    np.testing.assert_allclose(arrays["frames"], ref["frames"][order], atol=0.5 / 255 + 1e-6)
    np.testing.assert_array_equal(arrays["anomaly_type"], ref["anomaly_type"][order])
    assert arrays["captions"] == [ref["captions"][i] for i in order]
    assert arrays["qa"] == [[tuple(q) for q in ref["qa"][i]] for i in order]
    tok = WordTokenizer.load(os.path.join(path, "tokenizer.json"))
    assert tok.vocab == WordTokenizer.build().vocab
    assert tb.builder("spjax_scenes", tmp_path, SCENES).info.metadata["vocab"] == tok.vocab


def test_interrupted_prepare_leaves_nothing_that_reads_as_complete(tmp_path, monkeypatch):
    calls = {"n": 0}
    from spjax.data import tfds_world

    real = tfds_world.generate_faces

    def failing(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # like Ctrl-C halfway through the splits
        return real(*args, **kwargs)

    monkeypatch.setattr(tfds_world, "generate_faces", failing)
    with pytest.raises(KeyboardInterrupt):
        tb.prepare("spjax_faces", tmp_path, FACES)
    assert not os.path.exists(tmp_path / "spjax_faces")
    assert [p for p in os.listdir(tmp_path) if p.startswith(".spjax-prepare")] == []
    with pytest.raises(FileNotFoundError, match="not prepared"):
        tb.load("spjax_faces", tmp_path, FACES)
    monkeypatch.setattr(tfds_world, "generate_faces", real)
    tb.prepare("spjax_faces", tmp_path, FACES)
    with pytest.raises(FileExistsError, match="already prepared"):
        tb.prepare("spjax_faces", tmp_path, FACES)
    tb.prepare("spjax_faces", tmp_path, FACES, overwrite=True)


def test_config_errors_name_key_and_value(tmp_path):
    with pytest.raises(ValueError, match="'resolution'"):
        tb.make_config("spjax_scenes", {"resolution": 64})
    with pytest.raises(ValueError, match="size"):
        tb.make_config("spjax_faces", {"size": "big"})
    with pytest.raises(ValueError, match=r"n_train=3.5: expected int"):
        tb.make_config("spjax_scenes", {"n_train": "3.5"})
    with pytest.raises(ValueError, match="n_val: expected a positive int"):
        tb.make_config("spjax_scenes", {"n_val": "0"})
    with pytest.raises(ValueError, match="dataset"):
        tb.make_config("imagenet", {})
    with pytest.raises(ValueError, match="anomaly_types"):
        tb.prepare("spjax_scenes", tmp_path, {**SCENES, "anomaly_types": "fall,meteor"})
    with pytest.raises(ValueError, match="split"):
        tb.prepare("spjax_faces", tmp_path, FACES)
        tb.load("spjax_faces", tmp_path, FACES, split="holdout")
    assert tb.make_config("spjax_faces", {"size": "64"}).name == "r64"
    assert tb.make_config("spjax_faces", {}).name == "r32"
    assert (
        tb.make_config("spjax_faces", {"seed": 1}).name
        != tb.make_config("spjax_faces", {"seed": 2}).name
    )
