"""The training loop's machinery without a model: device prefetch, the on-device non-finite
watch, resumed metrics logged once, the compile clock and the persistent compilation cache."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


# -- DevicePrefetch --------------------------------------------------------------------------


def test_prefetch_keeps_order_runs_ahead_and_counts_the_wait():
    from spjax.prefetch import DevicePrefetch

    made = []

    def put(i):
        made.append(i)
        return i * 10

    batches = DevicePrefetch(iter(range(6)), put, depth=2)
    deadline = time.time() + 10
    while len(made) < 3 and time.time() < deadline:  # 2 queued + 1 waiting to be queued
        time.sleep(0.01)
    assert made == [0, 1, 2]  # bounded: no more than depth (+ the one in hand) ahead
    assert list(batches) == [0, 10, 20, 30, 40, 50]
    with pytest.raises(StopIteration):
        next(batches)
    batches.close()

    def slow(i):
        time.sleep(0.05)
        return i

    batches = DevicePrefetch(iter(range(4)), slow, depth=2)
    assert list(batches) == [0, 1, 2, 3]
    assert 0.1 < batches.wait_s < 2.0  # the consumer waited for slow input
    batches.close()


def test_prefetch_counts_only_the_wait_of_an_idle_device():
    from spjax.prefetch import DevicePrefetch

    def slow(i):
        time.sleep(0.3)
        return i

    busy_until = time.perf_counter() + 0.1  # the last dispatched step ends 0.1 s from now
    batches = DevicePrefetch(iter(range(1)), slow, depth=1)
    assert batches.get(lambda: time.perf_counter() < busy_until) == 0
    assert 0.12 < batches.wait_s < 0.29  # ~0.2 s idle of the ~0.3 s waited
    batches.close()
    batches = DevicePrefetch(iter(range(1)), slow, depth=1)
    assert batches.get(lambda: True) == 0 and batches.wait_s == 0.0  # busy throughout
    with pytest.raises(StopIteration):
        batches.get(lambda: False)
    batches.close()


def test_prefetch_raises_the_producers_error_and_closes_while_blocked():
    from spjax.prefetch import DevicePrefetch

    def bad(i):
        if i == 2:
            raise ValueError("render failed at 2")
        return i

    batches = DevicePrefetch(iter(range(5)), bad, depth=1)
    assert next(batches) == 0 and next(batches) == 1
    with pytest.raises(ValueError, match="render failed at 2"):
        next(batches)

    batches = DevicePrefetch(iter(range(10**6)), lambda i: i, depth=1)
    assert next(batches) == 0
    before = threading.active_count()
    batches.close()  # the producer is blocked on a full queue: close must still end it
    assert threading.active_count() <= before - 1
    with pytest.raises(ValueError, match="depth"):
        DevicePrefetch(iter(()), lambda i: i, depth=0)


# -- HealthCheck -----------------------------------------------------------------------------


def _metrics(**bad):
    import jax.numpy as jnp

    from spjax.training.loop import WATCHED

    return {k: jnp.float32(bad.get(k, 1.0)) for k in WATCHED} | {"other": jnp.float32(np.nan)}


def test_health_check_names_the_first_bad_step_and_term(tmp_path):
    from spjax.training.loop import HealthCheck, TrainingError
    from spjax.training.sharding import make_data_mesh

    health = HealthCheck(40, make_data_mesh(), tmp_path / "checkpoints")
    health.update(_metrics())
    health.check(41)  # all finite; unwatched scalars do not count
    health.update(_metrics(task_loss=np.nan))
    health.update(_metrics(grad_norm=np.inf, task_loss=np.nan))
    health.update(_metrics())  # a later finite step does not clear it
    with pytest.raises(TrainingError) as err:
        health.check(44)
    msg = str(err.value)
    assert "non-finite task_loss at step 42" in msg and "grad_norm" not in msg
    assert "nothing after step 41 was saved" in msg and str(tmp_path / "checkpoints") in msg
    with pytest.raises(RuntimeError, match="health record at step 44, loop at 45"):
        health.check(45)


# -- metrics.jsonl on resume -----------------------------------------------------------------


def test_resumed_logger_keeps_each_step_once(tmp_path):
    from spjax.training.logging import RunLogger, read_metrics, truncate_after

    log = RunLogger(tmp_path)
    for step in range(5, 55, 5):
        log.log("train", step, loss=float(step))
        if step % 20 == 0:
            log.log("val", step, accuracy=0.5)
    log.close()
    with (tmp_path / "metrics.jsonl").open("a") as f:
        f.write('{"kind": "train", "step": 5')  # a line cut by the kill
    # Killed at step 50, resumed from the step-40 checkpoint: 45 and 50 are run again.
    log = RunLogger(tmp_path, keep_until=40)
    for step in (45, 50):
        log.log("train", step, loss=float(step))
    log.close()
    rows = read_metrics(tmp_path)
    train = [r["step"] for r in rows if r["kind"] == "train"]
    assert train == list(range(5, 55, 5))
    assert [r["step"] for r in rows if r["kind"] == "val"] == [20, 40]
    assert all(json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines())
    assert truncate_after(tmp_path / "metrics.jsonl", 50) == 0  # nothing to drop: untouched
    assert truncate_after(tmp_path / "absent.jsonl", 0) == 0


# -- compilation ------------------------------------------------------------------------------


def test_compile_clock_counts_overlapping_spans_once():
    import jax
    import jax.numpy as jnp

    from spjax.training import compilation as C

    C.watch_compiles()
    t0 = time.time()

    @jax.jit
    def f(x):
        return jnp.sin(x) @ x.T + 1.0

    f(jnp.ones((7, 13))).block_until_ready()  # new shape: traced and compiled now
    t1 = time.time()
    seconds = C.compile_seconds(t0, t1)
    assert 0 < seconds <= t1 - t0
    f(jnp.ones((7, 13))).block_until_ready()  # cached in memory: no compile
    assert C.compile_seconds(t1) == pytest.approx(0.0, abs=1e-3)
    # The union of spans: nested and overlapping spans count once, clipped to the window.
    saved = list(C._spans)
    try:
        C._spans[:] = [(10.0, 14.0), (11.0, 12.0), (13.0, 16.0), (20.0, 21.0)]
        assert C.compile_seconds(0.0, 100.0) == pytest.approx(7.0)
        assert C.compile_seconds(15.0, 20.5) == pytest.approx(1.5)
    finally:
        C._spans[:] = saved


_CACHE_PROBE = textwrap.dedent("""
    import jax, jax.numpy as jnp
    from spjax.training.compilation import enable_compilation_cache
    path = enable_compilation_cache()
    jax.jit(lambda x: jnp.cumsum(jnp.sin(x) * 3.0))(jnp.ones(1000)).block_until_ready()
    print(path)
""")


def _probe(tmp_path, value):
    env = {k: v for k, v in os.environ.items() if not k.startswith("JAX_COMPILATION_CACHE")}
    env["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0"
    env["JAX_PLATFORMS"] = "cpu"
    if value is not None:
        env["SPJAX_COMPILATION_CACHE"] = value
    else:
        env.pop("SPJAX_COMPILATION_CACHE", None)
    out = subprocess.run(
        [sys.executable, "-c", _CACHE_PROBE],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip().splitlines()[-1]


def test_persistent_compilation_cache_default_folder_env_and_off_switch(tmp_path):
    default = tmp_path / "default"
    default.mkdir()
    assert Path(_probe(default, None)) == default / ".cache" / "jax"
    assert any((default / ".cache" / "jax").iterdir())  # the program was written
    elsewhere = tmp_path / "elsewhere"
    assert Path(_probe(tmp_path, str(elsewhere))) == elsewhere
    assert any(elsewhere.iterdir())
    off = tmp_path / "off"
    off.mkdir()
    assert _probe(off, "off") == "None"
    assert not (off / ".cache").exists()
