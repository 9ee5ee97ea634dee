"""Input checks for the sensing code.

Shape/dtype checks are static (they read only `.shape`/`.dtype`), so they run on every call,
also under `jit`, at no cost. Value checks (NaN/inf, negative radiance) need the data: they run
eagerly when the input is concrete and are skipped under tracing. For traced code use
`checked(sensor, frames, key)`, which runs the sensor under `jax.experimental.checkify`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import checkify


def is_concrete(x) -> bool:
    return not isinstance(x, jax.core.Tracer)


def check_frames_shape(frames, h: int, w: int, *, name: str = "frames", min_rank: int = 2):
    """Static checks: an array of floats with shape (..., H, W) and at least `min_rank` axes."""
    if not hasattr(frames, "shape") or not hasattr(frames, "dtype"):
        raise TypeError(
            f"{name} must be an array of shape (..., {h}, {w}), got {type(frames).__name__}"
        )
    if not jnp.issubdtype(frames.dtype, jnp.floating):
        raise TypeError(
            f"{name} must be floating-point radiance in [0, 1], got dtype "
            f"{frames.dtype} (convert images with x.astype('float32') / 255)"
        )
    shape = tuple(frames.shape)
    if len(shape) < min_rank:
        want = "(..., T, H, W)" if min_rank >= 3 else "(..., H, W)"
        raise ValueError(
            f"{name} must have shape {want} with at least {min_rank} axes, got shape {shape}"
        )
    if shape[-2:] != (h, w):
        raise ValueError(f"{name} must have trailing shape (H, W) = ({h}, {w}), got shape {shape}")


def check_values(frames, *, name: str = "frames") -> None:
    """Eager value checks (no-op on tracers): finite and non-negative radiance."""
    if not is_concrete(frames):
        return
    x = np.asarray(frames)
    finite = np.isfinite(x)
    if not finite.all():
        n_bad = int(x.size - finite.sum())
        raise ValueError(f"{name} must be finite radiance, got {n_bad} NaN/inf values of {x.size}")
    if x.size and x.min() < 0:
        raise ValueError(
            f"{name} must be non-negative radiance (light cannot be negative), "
            f"got minimum {float(x.min())}"
        )


def validate_frames(frames, h: int, w: int, *, name: str = "frames", min_rank: int = 2) -> None:
    """Static shape/dtype checks, then eager value checks when `frames` is concrete."""
    check_frames_shape(frames, h, w, name=name, min_rank=min_rank)
    check_values(frames, name=name)


def check_measurements(y, k: int, *, name: str = "y") -> None:
    if not hasattr(y, "shape"):
        raise TypeError(f"{name} must be an array of shape (..., {k}), got {type(y).__name__}")
    if len(y.shape) < 1 or y.shape[-1] != k:
        raise ValueError(
            f"{name} must have shape (..., K) with K = {k}, got shape {tuple(y.shape)}"
        )


def checkify_values(frames, name: str = "frames") -> None:
    """checkify assertions for traced code (functionalised by `checkify.checkify`)."""
    checkify.check(jnp.all(jnp.isfinite(frames)), f"{name} contains NaN or inf")
    checkify.check(jnp.all(frames >= 0), f"{name} contains negative radiance")


def checked(sensor, frames, key=None, **kwargs):
    """Run `sensor(frames, key, **kwargs)` jitted with checkify value checks; raise on failure.

    Use this instead of the eager checks when frames come from traced code or when the check
    must happen on the device.
    """
    from flax import nnx

    graphdef, state = nnx.split(sensor)

    @jax.jit
    @checkify.checkify
    def run(state, frames, key):
        checkify_values(frames)
        return nnx.merge(graphdef, state)(frames, key, check=False, **kwargs)

    err, y = run(state, frames, key)
    try:
        err.throw()
    except checkify.JaxRuntimeError as e:
        raise ValueError(str(e).split("\n")[0]) from None
    return y
