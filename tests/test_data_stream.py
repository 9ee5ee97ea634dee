"""Clips rendered on the fly: deterministic per (seed, step), disjoint from the evaluation splits."""

import jax
import numpy as np
import pytest

from spjax.data.scenes import SceneConfig
from spjax.data.stream import clip_batch, clip_stream, eval_clips

CFG = SceneConfig(size=16, frames=6)


def test_batches_depend_only_on_seed_and_step():
    a = clip_batch(CFG, 4, seed=0, step=7)
    b = clip_batch(CFG, 4, seed=0, step=7)
    # Frames are rendered on the device and stay there (no host compositing in training).
    assert isinstance(a["frames"], jax.Array)
    np.testing.assert_array_equal(a["frames"], b["frames"])
    host = clip_batch(CFG, 4, seed=0, step=7, device_frames=False)
    assert isinstance(host["frames"], np.ndarray)
    np.testing.assert_array_equal(host["frames"], a["frames"])
    assert a["qa"] == b["qa"]
    assert not np.array_equal(a["frames"], clip_batch(CFG, 4, seed=0, step=8)["frames"])
    assert not np.array_equal(a["frames"], clip_batch(CFG, 4, seed=1, step=7)["frames"])
    assert not np.array_equal(
        a["frames"], clip_batch(CFG, 4, seed=0, step=7, shard_index=1)["frames"]
    )


def test_stream_resumes_at_any_step_and_prefetches_in_order():
    full = [b for b in clip_stream(CFG, 3, seed=2, start=0, stop=5, shard_index=0, text=False)]
    assert [int(b["step"]) for b in full] == [0, 1, 2, 3, 4]
    resumed = list(clip_stream(CFG, 3, seed=2, start=3, stop=5, shard_index=0, text=False))
    for x, y in zip(full[3:], resumed):
        np.testing.assert_array_equal(x["frames"], y["frames"])
    with pytest.raises(ValueError, match="batch_size"):
        clip_stream(CFG, 0, seed=0)


def test_eval_splits_are_fixed_and_not_training_batches():
    val, test = eval_clips(CFG, 4, seed=0, split="val"), eval_clips(CFG, 4, seed=0, split="test")
    assert not np.array_equal(val["frames"], test["frames"])
    np.testing.assert_array_equal(
        test["frames"], eval_clips(CFG, 4, seed=0, split="test")["frames"]
    )
    for step in range(3):
        train = clip_batch(CFG, 4, seed=0, step=step)
        assert not any(np.array_equal(t, v) for t in train["frames"] for v in test["frames"])
    with pytest.raises(ValueError, match="split"):
        eval_clips(CFG, 4, seed=0, split="train")
