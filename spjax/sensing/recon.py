"""Reconstruction helpers for attacks and pictures (thin wrappers over `Sensor` methods, plus
image metrics). `reconstruct(sensor, y, method)` picks adjoint / pinv / tikhonov by name."""

from __future__ import annotations

import jax.numpy as jnp

RECON_METHODS = ("adjoint", "pinv", "tikhonov")


def reconstruct(sensor, y, method: str = "pinv", lam: float = 1.0):
    """Frames (..., H, W) from measurements (..., K)."""
    if method == "adjoint":
        return sensor.adjoint(y)
    if method == "pinv":
        return sensor.pinv(y)
    if method == "tikhonov":
        return sensor.tikhonov(y, lam)
    raise ValueError(f"method must be one of {RECON_METHODS}, got {method!r}")


def psnr(x, ref, peak: float = 1.0):
    """PSNR in dB over the last two axes (frames clipped to [0, peak] first)."""
    x = jnp.clip(jnp.asarray(x), 0.0, peak)
    mse = jnp.mean((x - jnp.asarray(ref)) ** 2, axis=(-2, -1))
    return 10.0 * jnp.log10(peak**2 / jnp.maximum(mse, 1e-12))
