import numpy as np
import pytest

from spjax.data import tfds_builders as tb
from spjax.data.pipeline import ArraySource, make_loader


def _ids(loader):
    return [int(i) for b in loader for i in b["x"]]


@pytest.mark.parametrize("n, count", [(23, 1), (23, 2), (23, 3), (24, 4), (5, 5)])
def test_shards_cover_every_record_exactly_once(n, count):
    src = ArraySource({"x": np.arange(n)})
    seen = []
    for k in range(count):
        seen += _ids(make_loader(src, batch_size=4, seed=3, shard_index=k, shard_count=count))
    assert sorted(seen) == list(range(n))


def test_seeded_shuffle_is_deterministic_and_epochs_reshuffle():
    src = ArraySource({"x": np.arange(20)})
    a = _ids(make_loader(src, batch_size=5, seed=1, shard_index=0, shard_count=1, num_epochs=2))
    b = _ids(make_loader(src, batch_size=5, seed=1, shard_index=0, shard_count=1, num_epochs=2))
    c = _ids(make_loader(src, batch_size=5, seed=2, shard_index=0, shard_count=1, num_epochs=2))
    assert a == b and a != c and a[:20] != list(range(20))
    assert (
        sorted(a[:20]) == list(range(20)) and sorted(a[20:]) == list(range(20)) and a[:20] != a[20:]
    )
    plain = _ids(make_loader(src, batch_size=5, shuffle=False, shard_index=0, shard_count=1))
    assert plain == list(range(20))


def test_iterator_state_resumes_exactly():
    src = ArraySource({"x": np.arange(30)})
    loader = make_loader(src, batch_size=4, seed=5, shard_index=1, shard_count=2, num_epochs=None)
    it = iter(loader)
    for _ in range(3):
        next(it)
    state = it.get_state()
    rest = [next(it)["x"].tolist() for _ in range(6)]
    it2 = iter(loader)
    it2.set_state(state)
    assert [next(it2)["x"].tolist() for _ in range(6)] == rest


def test_loader_defaults_to_the_jax_process_shard():
    import jax

    src = ArraySource({"x": np.arange(7)})
    assert jax.process_count() == 1
    assert sorted(_ids(make_loader(src, batch_size=3, seed=0))) == list(range(7))


def test_loader_over_tfds_scenes_converts_to_float(tmp_path):
    cfg = {"n_train": 5, "n_val": 1, "n_test": 1, "frames": 8}
    tb.prepare("spjax_scenes", tmp_path, cfg)
    src = tb.load("spjax_scenes", tmp_path, cfg)
    batch = next(iter(make_loader(src, batch_size=2, seed=0, shard_index=0, shard_count=1)))
    assert batch["frames"].shape == (2, 8, 32, 32) and batch["frames"].dtype == np.float32
    assert batch["frames"].max() <= 1.0
    assert isinstance(batch["caption"][0][0], str) and batch["count"].shape == (2,)


def test_loader_bad_arguments():
    src = ArraySource({"x": np.arange(4)})
    with pytest.raises(ValueError, match="batch_size"):
        make_loader(src, batch_size=0)
    with pytest.raises(ValueError, match="shard_index"):
        make_loader(src, batch_size=1, shard_index=2, shard_count=2)
    with pytest.raises(ValueError, match="shard_index/shard_count"):
        make_loader(src, batch_size=1, shard_index=0)
    with pytest.raises(TypeError, match="source"):
        make_loader(42, batch_size=1)
    with pytest.raises(ValueError, match="equal lengths"):
        ArraySource({"a": [1, 2], "b": [1]})


_WORKER = """
import json, sys
import numpy as np
import jax
jax.distributed.initialize(coordinator_address=sys.argv[1], num_processes=int(sys.argv[2]), process_id=int(sys.argv[3]))
from spjax.data.pipeline import ArraySource, make_loader
src = ArraySource({"x": np.arange(29)})
ids = [int(i) for b in make_loader(src, batch_size=4, seed=0) for i in b["x"]]
print(json.dumps({"index": jax.process_index(), "count": jax.process_count(), "ids": ids}))
"""


@pytest.mark.slow
def test_real_processes_cover_every_record_exactly_once(tmp_path):
    """Three JAX processes (jax.distributed on CPU): each reads its default shard."""
    import json
    import socket
    import subprocess
    import sys

    with socket.socket() as s:
        s.bind(("localhost", 0))
        port = s.getsockname()[1]
    script = tmp_path / "worker.py"
    script.write_text(_WORKER)
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), f"localhost:{port}", "3", str(i)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(3)
    ]
    outs = [json.loads(p.communicate(timeout=120)[0].strip().splitlines()[-1]) for p in procs]
    assert sorted(o["index"] for o in outs) == [0, 1, 2] and {o["count"] for o in outs} == {3}
    assert sorted(i for o in outs for i in o["ids"]) == list(range(29))
