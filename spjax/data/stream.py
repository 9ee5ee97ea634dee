"""Clips generated on the fly, one batch per training step, deterministic in (seed, step).

Procedural scenes render faster than training consumes them, so a trainer never needs a fixed
clip set: `clip_stream(config, batch_size, seed=…, start=step)` is a grain pipeline whose
element `s` is the batch of step `s`, made by `generate_scenes` from the seed
`(seed, 0, s, shard)`. Its background thread only plans the clips and writes their text; the
pixels are rendered on jax's device (`spjax.data.render`, dispatched asynchronously), so
`frames` arrive as a device array that is still being computed and no step waits for host
compositing. A resumed run starts the stream at its step and sees exactly the batches it would
have seen; processes of a multi-host run each render their own shard (`shard_index`) of every
step's global batch.
"""

from __future__ import annotations

import grain
import numpy as np

from spjax.data.scenes import SceneConfig, generate_scenes


def clip_batch(
    config: SceneConfig,
    batch_size: int,
    *,
    seed: int,
    step: int,
    shard_index: int = 0,
    text: bool = True,
    device_frames: bool = True,
) -> dict:
    """The clips of one step (this process's shard): `generate_scenes` output for `batch_size`
    clips from the seed `(seed, 0, step, shard_index)`, its `frames` and `drawn_pixels` left
    on the device unless `device_frames=False`."""
    return generate_scenes(
        config,
        batch_size,
        seed=(int(seed), SPLIT_TAGS["train"], int(step), int(shard_index)),
        text=text,
        device_frames=device_frames,
    )


def clip_stream(
    config: SceneConfig,
    batch_size: int,
    *,
    seed: int,
    start: int = 0,
    stop: int | None = None,
    shard_index: int | None = None,
    text: bool = True,
    transform=None,
    prefetch: int = 4,
    device_frames: bool = True,
) -> grain.IterDataset:
    """Batches (`clip_batch`) for steps `start, start+1, …` (`stop` excluded; None =
    unbounded: 2**40).

    `transform(batch) -> batch` runs on the background thread too (e.g. tokenising QA pairs)."""
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size: expected a positive int, got {batch_size!r}")
    if shard_index is None:
        import jax

        shard_index = jax.process_index()
    stop = 2**40 if stop is None else stop

    def make(step):
        batch = clip_batch(
            config,
            batch_size,
            seed=seed,
            step=int(step),
            shard_index=shard_index,
            text=text,
            device_frames=device_frames,
        )
        batch["step"] = np.int64(step)
        return batch if transform is None else transform(batch)

    ds = grain.MapDataset.range(start, stop).map(make)
    return ds.to_iter_dataset(grain.ReadOptions(num_threads=1, prefetch_buffer_size=prefetch))


# Seeds of the fixed evaluation splits: (seed, split tag, 0, 0) never equals a training
# step's (seed, 0, step, shard) because the tag differs.
SPLIT_TAGS = {"train": 0, "val": 1, "test": 2}


def eval_clips(config: SceneConfig, n: int, *, seed: int, split: str, text: bool = True) -> dict:
    """A fixed evaluation split (`val` or `test`) of `n` clips, disjoint from the training stream."""
    if split not in ("val", "test"):
        raise ValueError(f"split: expected 'val' or 'test', got {split!r}")
    return generate_scenes(config, n, seed=(int(seed), SPLIT_TAGS[split], 0, 0), text=text)
