"""Fast Walsh–Hadamard transform.

`fwht(x, axis)` multiplies `x` along `axis` by the unnormalised Sylvester matrix H_N
(natural order, H_N = H_2 ⊗ H_{N/2}), in O(N log N) additions. Because H_N is symmetric and
H_N H_N = N·I, the same function is its own transpose and (up to 1/N) its own inverse, which the
sensing code uses for fast adjoints and pseudo-inverses.

The butterflies are written as reshapes and sums so that XLA fuses them on any backend, and
the function is linear, so `jax.linear_transpose`, `vjp` and `vmap` work through it.
"""

from __future__ import annotations

import jax.numpy as jnp


def is_power_of_two(n: int) -> bool:
    return isinstance(n, (int,)) and n > 0 and (n & (n - 1)) == 0


def fwht(x, axis: int = -1):
    """Unnormalised Walsh–Hadamard transform of `x` along `axis` (length a power of two)."""
    x = jnp.asarray(x)
    if not jnp.issubdtype(x.dtype, jnp.inexact):
        x = x.astype(jnp.float32)
    axis = axis % x.ndim if x.ndim else 0
    if x.ndim == 0:
        raise ValueError("fwht: x must have at least one axis, got a scalar")
    n = x.shape[axis]
    if not is_power_of_two(n):
        raise ValueError(
            f"fwht: length along axis {axis} must be a power of two, got {n}; "
            "zero-pad the signal or use a dense transform")
    moved = jnp.moveaxis(x, axis, -1)
    lead = moved.shape[:-1]
    y = moved.reshape(-1, n)
    b = y.shape[0]
    h = n // 2
    # Stage s pairs elements h apart (the H_2 ⊗ I_h step), then recurses on both halves.
    outer = 1
    while h >= 1:
        z = y.reshape(b, outer, 2, h)
        a, c = z[:, :, 0, :], z[:, :, 1, :]
        y = jnp.stack([a + c, a - c], axis=2).reshape(b, n)
        outer *= 2
        h //= 2
    return jnp.moveaxis(y.reshape(*lead, n), -1, axis)
