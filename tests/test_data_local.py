import os

import numpy as np
import pytest
from PIL import Image

from spjax.data import tfds_builders as tb
from spjax.data.faces import generate_faces
from spjax.data.local import read_clip, read_label_csv, read_lfw, read_videos
from spjax.data.scenes import ANOMALY_TYPES


def _lfw(root, names=("Ada_Lovelace", "Alan_Turing"), per=3):
    faces = generate_faces(len(names), per, size=48, seed=0)
    for k, name in enumerate(names):
        os.makedirs(root / name)
        for j in range(per):
            im = (faces["image"][k * per + j] * 255).astype(np.uint8)
            Image.fromarray(im).convert("RGB").save(root / name / f"{name}_{j + 1:04d}.jpg")
    return root


def test_lfw_folder_reads_into_face_features(tmp_path):
    d = read_lfw(_lfw(tmp_path / "lfw"), size=32)
    assert d["image"].shape == (6, 32, 32) and d["image"].dtype == np.float32
    assert 0 <= d["image"].min() and d["image"].max() <= 1
    np.testing.assert_array_equal(d["identity"], [0, 0, 0, 1, 1, 1])
    assert d["names"] == ["Ada_Lovelace", "Alan_Turing"]


def test_lfw_bad_inputs_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        read_lfw(tmp_path / "nowhere")
    root = _lfw(tmp_path / "lfw")
    (root / "Ada_Lovelace" / "holiday.jpg").write_bytes(b"x")
    with pytest.raises(ValueError, match="holiday.jpg"):
        read_lfw(root)
    os.remove(root / "Ada_Lovelace" / "holiday.jpg")
    (root / "Alan_Turing" / "Alan_Turing_0009.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    with pytest.raises(ValueError, match="Alan_Turing_0009.jpg"):
        read_lfw(root)
    empty = tmp_path / "flat"
    empty.mkdir()
    Image.new("L", (8, 8)).save(empty / "a.png")
    with pytest.raises(ValueError, match="LFW layout"):
        read_lfw(empty)


def _clips(root):
    root.mkdir()
    rng = np.random.default_rng(0)
    (root / "c1").mkdir()
    for t in range(20):
        Image.fromarray(rng.integers(0, 255, (40, 40), dtype=np.uint8)).save(
            root / "c1" / f"{t:03d}.png"
        )
    frames = [Image.fromarray(np.full((24, 24), 10 * t, np.uint8)) for t in range(10)]
    frames[0].save(root / "c2.gif", save_all=True, append_images=frames[1:])
    (root / "labels.csv").write_text(
        "clip,count,anomaly_type,caption\nc1,2,fall,Someone fell.\nc2,0,none,\n"
    )
    return root


def test_video_folder_reads_into_scene_features(tmp_path):
    d = read_videos(_clips(tmp_path / "clips"), frames=8, size=32)
    assert d["frames"].shape == (2, 8, 32, 32)
    np.testing.assert_array_equal(d["count"], [2, 0])
    np.testing.assert_array_equal(d["anomaly_type"], [ANOMALY_TYPES.index("fall"), 0])
    assert d["captions"][0] == ["Someone fell."] * 3
    assert "empty" in d["captions"][1][0] or "no one" in d["captions"][1][0]
    gif = read_clip(tmp_path / "clips" / "c2.gif", frames=10, size=24)
    np.testing.assert_allclose(gif[:, 0, 0] * 255, 10 * np.arange(10), atol=1)


def test_video_bad_inputs(tmp_path):
    root = _clips(tmp_path / "clips")
    (root / "labels.csv").write_text("clip,count\nc1,2\n")
    with pytest.raises(ValueError, match="anomaly_type"):
        read_videos(root)
    (root / "labels.csv").write_text("clip,count,anomaly_type\nc1,two,none\n")
    with pytest.raises(ValueError, match="labels.csv:2: count"):
        read_videos(root)
    (root / "labels.csv").write_text("clip,count,anomaly_type\nc1,1,explosion\n")
    with pytest.raises(ValueError, match="explosion"):
        read_videos(root)
    (root / "labels.csv").write_text("clip,count,anomaly_type\nc9,1,none\n")
    with pytest.raises(FileNotFoundError, match="c9"):
        read_videos(root)
    os.remove(root / "labels.csv")
    with pytest.raises(FileNotFoundError, match="labels.csv"):
        read_videos(root)
    with pytest.raises(FileNotFoundError, match="missing"):
        read_label_csv(root / "missing.csv")
    (root / "bad.gif").write_bytes(b"GIF89a broken")
    with pytest.raises(ValueError, match="bad.gif"):
        read_clip(root / "bad.gif")


def test_local_tfds_builders(tmp_path):
    lfw = _lfw(tmp_path / "lfw", per=5)
    tb.prepare(
        "spjax_lfw",
        tmp_path / "data",
        {"path": str(lfw), "test_fraction": 0.2, "val_fraction": 0.2},
    )
    srcs = {
        s: tb.load(
            "spjax_lfw",
            tmp_path / "data",
            {"path": str(lfw), "test_fraction": 0.2, "val_fraction": 0.2},
            split=s,
        )
        for s in ("train", "val", "test")
    }
    assert sum(len(s) for s in srcs.values()) == 10
    r = srcs["train"][0]
    assert r["image"].shape == (32, 32) and r["name"].decode() in ("Ada_Lovelace", "Alan_Turing")
    clips = _clips(tmp_path / "clips")
    cfg = {"path": str(clips), "frames": 8, "test_fraction": 0.0, "val_fraction": 0.0}
    tb.prepare("spjax_videos", tmp_path / "data", cfg)
    src = tb.load("spjax_videos", tmp_path / "data", cfg)
    assert len(src) == 2 and src[0]["frames"].shape == (8, 32, 32)
    with pytest.raises(ValueError, match="path"):
        tb.prepare("spjax_lfw", tmp_path / "data2", {})
