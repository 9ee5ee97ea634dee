"""Fast Walsh–Hadamard transform.

`fwht(x, axis)` multiplies `x` along `axis` by the unnormalised Sylvester matrix H_N
(natural order, H_N = H_2 ⊗ H_{N/2}), in O(N log N) additions. Because H_N is symmetric and
H_N H_N = N·I, the same function is its own transpose and (up to 1/N) its own inverse, which the
sensing code uses for fast adjoints and pseudo-inverses.

The butterflies are written as reshapes, slices and sums that XLA fuses on any backend, and
the function is linear, so `jax.linear_transpose`, `vjp` and `vmap` work through it.
"""

from __future__ import annotations

import jax.numpy as jnp


def is_power_of_two(n: int) -> bool:
    return isinstance(n, (int,)) and n > 0 and (n & (n - 1)) == 0


def _radix_stage(z, r: int):
    """H_r along axis 2 of z (b, outer, r, inner), as one fused elementwise pass over r slices."""
    parts = [z[:, :, i, :] for i in range(r)]
    half = 1
    while half < r:  # in-register butterflies: log2(r) levels per memory pass
        new = list(parts)
        for s in range(0, r, 2 * half):
            for i in range(s, s + half):
                new[i], new[i + half] = parts[i] + parts[i + half], parts[i] - parts[i + half]
        parts, half = new, half * 2
    return jnp.stack(parts, axis=2)


def fwht(x, axis: int = -1, radix_bits: int = 3):
    """Unnormalised Walsh–Hadamard transform of `x` along `axis` (length a power of two).

    Bits are processed `radix_bits` at a time (H_N = ⊗ of H_8 factors): each memory pass does
    three butterfly levels, which matters because the transform is memory-bound.
    """
    x = jnp.asarray(x)
    if x.ndim == 0:
        raise ValueError("fwht: x must have at least one axis, got a scalar")
    if not jnp.issubdtype(x.dtype, jnp.inexact):
        x = x.astype(jnp.float32)
    axis = axis % x.ndim
    n = x.shape[axis]
    if not is_power_of_two(n):
        raise ValueError(
            f"fwht: length along axis {axis} must be a power of two, got {n}; "
            "zero-pad the signal or use a dense transform"
        )
    moved = jnp.moveaxis(x, axis, -1)
    lead = moved.shape[:-1]
    y = moved.reshape(-1, n)
    b, inner, outer = y.shape[0], n, 1
    while inner > 1:
        r = 1 << min(radix_bits, inner.bit_length() - 1)
        inner //= r
        y = _radix_stage(y.reshape(b, outer, r, inner), r).reshape(b, n)
        outer *= r
    return jnp.moveaxis(y.reshape(*lead, n), -1, axis)
