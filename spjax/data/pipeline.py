"""grain input pipelines: seeded shuffle, per-process sharding, batching, checkpointable state.

`make_loader(source, batch_size=…)` wraps any random-access source (`len` + `__getitem__`:
a `tfds.data_source` split, `tfds_builders.load(...)`, or `ArraySource` over in-memory arrays)
in a `grain.DataLoader`. Each process reads a disjoint shard (by default `jax.process_index()` of
`jax.process_count()`); together the shards cover every record exactly once per epoch. The
iterator's `get_state()` / `set_state()` resume exactly where it stopped (also savable with
orbax through `grain.PyGrainCheckpointSave`)."""

from __future__ import annotations

import grain
import numpy as np


class ArraySource:
    """Random-access source over a dict of equal-length arrays/lists (one record = one row)."""

    def __init__(self, data: dict):
        if not isinstance(data, dict) or not data:
            raise TypeError(f"data: expected a non-empty dict of arrays, got {type(data).__name__}")
        lengths = {k: len(v) for k, v in data.items()}
        if len(set(lengths.values())) != 1:
            raise ValueError(f"data: expected equal lengths, got {lengths}")
        self._data = data
        self._n = next(iter(lengths.values()))

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, i: int) -> dict:
        return {k: v[i] for k, v in self._data.items()}


class ToFloat(grain.transforms.Map):
    """uint8 images/frames → float32 radiance in [0, 1]; decodes byte strings to str."""

    def __init__(self, keys=("image", "frames")):
        self.keys = tuple(keys)

    def map(self, record: dict) -> dict:
        out = dict(record)
        for k, v in record.items():
            if k in self.keys and getattr(v, "dtype", None) == np.uint8:
                out[k] = v.astype(np.float32) / np.float32(255.0)
            elif isinstance(v, np.ndarray) and v.dtype == object:
                out[k] = np.array(
                    [x.decode() if isinstance(x, bytes) else x for x in v.ravel()], dtype=object
                ).reshape(v.shape)
            elif isinstance(v, bytes):
                out[k] = v.decode()
        return out


def _process_shard():
    import jax

    return jax.process_index(), jax.process_count()


def make_loader(
    source,
    *,
    batch_size: int,
    seed: int = 0,
    shuffle: bool = True,
    num_epochs: int | None = 1,
    shard_index: int | None = None,
    shard_count: int | None = None,
    drop_remainder: bool = False,
    to_float: bool = True,
    operations=(),
) -> grain.IterDataset:
    """A deterministic grain dataset over `source` yielding dicts of batched numpy arrays.

    Records `shard_index::shard_count` form this process's shard (defaults: this JAX
    process's index/count), shuffled with `seed` (a fresh order each epoch), repeated
    `num_epochs` times (None = forever), mapped by `operations` (grain MapTransforms or
    callables) and batched. `iter(loader)` gives an iterator with `get_state()`/`set_state()`."""
    if not hasattr(source, "__len__") or not hasattr(source, "__getitem__"):
        raise TypeError(
            f"source: expected a random-access source (len and [i]), got {type(source).__name__}"
        )
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size: expected a positive int, got {batch_size!r}")
    if (shard_index is None) != (shard_count is None):
        raise ValueError(
            f"shard_index/shard_count: give both or neither, got {shard_index!r}/{shard_count!r}"
        )
    if shard_index is None:
        shard_index, shard_count = _process_shard()
    if not 0 <= shard_index < shard_count:
        raise ValueError(
            f"shard_index: expected 0 <= index < shard_count={shard_count}, got {shard_index}"
        )
    if num_epochs is not None and num_epochs < 1:
        raise ValueError(f"num_epochs: expected a positive int or None, got {num_epochs!r}")
    if len(source) < shard_count:
        raise ValueError(
            f"source: expected at least shard_count={shard_count} records, got {len(source)}"
        )
    # grain 0.2.18's IndexSampler drops records when shards are uneven, so shard by slicing.
    ds = grain.MapDataset.source(source)[int(shard_index) :: int(shard_count)]
    if shuffle:
        ds = ds.shuffle(seed=int(seed))
    ds = ds.repeat(num_epochs)
    if to_float:
        ds = ds.map(ToFloat())
    for op in operations:
        ds = ds.map(op)
    return ds.batch(int(batch_size), drop_remainder=drop_remainder).to_iter_dataset()
