"""Test-session settings shared by every test file.

JIT compilation dominates this suite's time, and many tests (and the training subprocesses
they start) compile the same programs. JAX's persistent compilation cache lets them share
executables; it is set through the environment *before* jax is imported so that subprocesses
inherit it. Results are unaffected: a cache hit runs the very executable a miss would build.
"""

import os
from pathlib import Path

_CACHE = Path(__file__).resolve().parents[1] / ".cache" / "jax-tests"
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", str(_CACHE))
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0.2")
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "0")


def backend_tol(cpu: float, accelerator: float) -> float:
    """The tolerance a model test accepts on the backend it runs on.

    Model code (the decoder, encoder, heads) multiplies at XLA's default precision, which is
    exact float32 on a CPU but TF32 on NVIDIA GPUs (≈ 1e-3 relative) and bfloat16 passes on
    TPUs; a test comparing two computations of the same numbers states both bounds. Physics
    (`spjax.sensing`) is HIGHEST everywhere and keeps its tight tolerances
    (tests/test_sensing_precision.py)."""
    import jax

    return cpu if jax.default_backend() == "cpu" else accelerator
