"""Compile once: the persistent compilation cache of spjax runs, and a clock of the seconds
spent compiling.

`enable_compilation_cache()` stores every compiled program of a run in `.cache/jax` under the
working directory (beside the decoder cache, `.cache/decoders`), so a second run of a recipe
loads its executables instead of compiling them. `SPJAX_COMPILATION_CACHE=DIR` moves it,
`SPJAX_COMPILATION_CACHE=off` turns it off; a cache folder already given to JAX
(`JAX_COMPILATION_CACHE_DIR`, as the test suite does) is kept. A hit runs the very executable
a miss would build, so results do not change.

`compile_seconds(since, until)` reads JAX's own compile events (tracing, lowering to MLIR, XLA
compilation or the cache load that replaces it) and returns the wall seconds they took within
a window, counting overlapping spans (a jit traced inside another's trace) once.
"""

from __future__ import annotations

import os
import threading
import warnings
from pathlib import Path

CACHE_ENV = "SPJAX_COMPILATION_CACHE"
DEFAULT_CACHE = Path(".cache") / "jax"
_OFF = ("off", "0", "false", "no", "none")
# Programs compiled faster than this are not written (loading costs about as much).
_MIN_COMPILE_SECONDS = 0.1

COMPILE_EVENTS = (
    "/jax/core/compile/jaxpr_trace_duration",
    "/jax/core/compile/jaxpr_to_mlir_module_duration",
    "/jax/core/compile/backend_compile_duration",
)


def compilation_cache_dir() -> Path | None:
    """The cache folder `enable_compilation_cache` uses, or None when it is switched off."""
    value = os.environ.get(CACHE_ENV, "").strip()
    if value.lower() in _OFF:
        return None
    return Path(value or DEFAULT_CACHE).expanduser().absolute()


def enable_compilation_cache() -> Path | None:
    """Turn on JAX's persistent compilation cache for this process (idempotent); returns the
    folder in use, or None when `SPJAX_COMPILATION_CACHE=off`."""
    import jax
    from jax.experimental.compilation_cache import compilation_cache as cc

    given = jax.config.jax_compilation_cache_dir
    if given:
        return Path(given)
    path = compilation_cache_dir()
    if path is None:
        return None
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:  # a read-only checkout still runs, compiling every time
        warnings.warn(
            f"{CACHE_ENV}: cannot create the compilation cache folder {str(path)!r} ({err}); "
            f"running without it (point {CACHE_ENV} at a writable folder, or 'off')",
            stacklevel=2,
        )
        return None
    cc.set_cache_dir(str(path))
    if "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS" not in os.environ:
        jax.config.update("jax_persistent_cache_min_compile_time_secs", _MIN_COMPILE_SECONDS)
    # JAX decides once per process whether it uses a cache; a program compiled before this
    # call would otherwise have settled it to "no".
    cc.reset_cache()
    return path


_spans: list[tuple[float, float]] = []
_lock = threading.Lock()
_watching = False


def _record(event: str, start: float, end: float, **_) -> None:
    if event in COMPILE_EVENTS:
        with _lock:
            _spans.append((start, end))


def watch_compiles() -> None:
    """Start recording compile events (idempotent; `compile_seconds` sees those after it)."""
    global _watching
    with _lock:
        if _watching:
            return
        _watching = True
    import jax.monitoring

    jax.monitoring.register_event_time_span_listener(_record)


def compile_seconds(since: float, until: float | None = None) -> float:
    """Wall seconds between `since` and `until` (`time.time()` values; None: now) in which
    JAX traced, lowered or compiled a program, overlapping spans counted once. Needs
    `watch_compiles()` before the compiles."""
    with _lock:
        spans = sorted(
            (max(s, since), e if until is None else min(e, until))
            for s, e in _spans
            if e > since and (until is None or s < until)
        )
    total, cur_start, cur_end = 0.0, None, None
    for s, e in spans:
        if cur_end is None or s > cur_end:
            if cur_end is not None:
                total += cur_end - cur_start
            cur_start, cur_end = s, e
        else:
            cur_end = max(cur_end, e)
    if cur_end is not None:
        total += cur_end - cur_start
    return total
