"""Fast Walsh–Hadamard transform.

`fwht(x, axis)` multiplies `x` along `axis` by the unnormalised Sylvester matrix H_N
(natural order, H_N = H_2 ⊗ H_{N/2}), in O(N log N) additions. Because H_N is symmetric and
H_N H_N = N·I, the same function is its own transpose and (up to 1/N) its own inverse, which the
sensing code uses for fast adjoints and pseudo-inverses.

The butterflies are written as reshapes, slices and sums that XLA fuses on any backend, and
the function is linear, so `jax.linear_transpose`, `vjp` and `vmap` work through it.

`SeparablePlan` measures a subset of 2-D Hadamard rows without the full transform (below).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib

import jax
import jax.numpy as jnp
import numpy as np
import scipy.linalg


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


# -- Separable (2-D) Hadamard sensing ---------------------------------------------------------
#
# Row r of H_N (N = H·W, natural order) reshaped (H, W) is the outer product of 1-D rows
# i = r // W of H_H and j = r % W of H_W, so its measurement is the entry (i, j) of H_H X H_Wᵀ.
# A sensor needs only the distinct i (set I) and j (set J) it uses: two small ±1 matrix products
# (which run at the matmul roofline on any backend) and a gather replace a full N-point transform
# and a K-of-N gather. Where every index in I is a multiple of 2^a, H_H[i] is constant over
# blocks of 2^a pixel rows (H_H = H_{H/2^a} ⊗ H_{2^a}, and row 0 of H_{2^a} is all ones), so the
# frame's rows are first summed in those blocks (contiguous slabs: one cheap pass), halving the
# products per factor of two; the low-frequency orders people sense with use even 1-D indices
# only at low rates. (The same holds for columns, but summing adjacent columns is a strided
# reduction that costs more than the products it saves, so columns stay whole.)


def _power_of_two_block(indices: np.ndarray, n: int) -> int:
    """Largest power of two dividing every index (n when all are 0)."""
    block = n
    for i in indices.tolist():
        while i % block:
            block //= 2
    return block


def _gather_last(x, index: np.ndarray):
    """x[..., index] for a static index known to be in bounds (the plan built it): XLA may then
    skip the bounds handling, which makes the gather ~3× faster on a CPU."""
    return x.at[..., jnp.asarray(index)].get(mode="promise_in_bounds")


def _scatter_by_gather(y, positions: np.ndarray, size: int):
    """(B, size) with y[:, k] at slot positions[k] and zeros elsewhere, for static distinct
    positions, computed as a gather from [y, 0] (an XLA scatter is many times slower on a CPU)."""
    slots = np.full(size, len(positions), np.int32)
    slots[positions] = np.arange(len(positions), dtype=np.int32)
    return _gather_last(jnp.pad(y, ((0, 0), (0, 1))), slots)


@dataclasses.dataclass(frozen=True, eq=False)
class SeparablePlan:
    """The two ±1 factor matrices and the gathers that measure natural Sylvester rows of an
    H×W frame (see above). Immutable and compared by `key`, so a module can hold it as static
    structure (it is derived from, and recorded as, the sensor's row indices)."""

    h: int
    w: int
    row_block: int  # pixel rows summed first
    row_mat: np.ndarray  # (|I|, H / row_block) ±1
    col_mat: np.ndarray  # (|J|, W) ±1
    pair: np.ndarray  # (K,) index into the flattened (|I|, |J|) product
    rows: np.ndarray  # (K,) the natural row indices
    key: str

    @classmethod
    def build(cls, h: int, w: int, rows) -> SeparablePlan:
        rows = np.asarray(rows, np.int64)
        if not (is_power_of_two(h) and is_power_of_two(w)):
            raise ValueError(f"separable Hadamard needs power-of-two sides, got {h}x{w}")
        if rows.ndim != 1 or rows.size == 0 or rows.min() < 0 or rows.max() >= h * w:
            raise ValueError(f"rows must be a non-empty 1-D array of indices in [0, {h * w})")
        if len(np.unique(rows)) != rows.size:
            raise ValueError("rows must be distinct")
        vi, vj = rows // w, rows % w
        ui, pos_i = np.unique(vi, return_inverse=True)
        uj, pos_j = np.unique(vj, return_inverse=True)
        rb = _power_of_two_block(ui, h)
        row_mat = scipy.linalg.hadamard(h // rb).astype(np.float32)[ui // rb]
        col_mat = scipy.linalg.hadamard(w).astype(np.float32)[uj]
        key = hashlib.sha256(np.asarray([h, w, *rows.tolist()], np.int64).tobytes()).hexdigest()
        pair = (pos_i * len(uj) + pos_j).astype(np.int32)
        return cls(h, w, rb, row_mat, col_mat, pair, rows.astype(np.int32), key)

    def __eq__(self, other) -> bool:
        return isinstance(other, SeparablePlan) and other.key == self.key

    def __hash__(self) -> int:
        return hash(self.key)

    @property
    def k(self) -> int:
        return int(self.pair.shape[0])

    def _costs(self) -> tuple[int, int]:
        """Multiply-adds per frame of the two contraction orders: columns first
        (h'·W·|J| + |I|·h'·|J|) and rows first (|I|·h'·W + |I|·W·|J|), h' = H / row_block."""
        (ni, hs), nj = self.row_mat.shape, self.col_mat.shape[0]
        return hs * self.w * nj + ni * hs * nj, ni * hs * self.w + ni * self.w * nj

    def cost(self) -> int:
        """Multiply-adds per frame of `measure` (a row-block sum counted as one pass over N)."""
        return min(self._costs()) + (self.h * self.w if self.row_block > 1 else 0)

    def measure(self, frames, precision=jax.lax.Precision.HIGHEST):
        """frames (B, H, W) → the K row measurements (B, K)."""
        b = frames.shape[0]
        hs = self.h // self.row_block
        x = frames
        if self.row_block > 1:  # sum row blocks: adds of contiguous (W,)-slabs, one pass
            x = x.reshape(b, hs, self.row_block, self.w)
            x = functools.reduce(jnp.add, [x[:, :, i] for i in range(self.row_block)])
        r, c = jnp.asarray(self.row_mat), jnp.asarray(self.col_mat)
        cols_first, rows_first = self._costs()
        if cols_first <= rows_first:
            z = jnp.einsum("bhw,jw->bhj", x, c, precision=precision)
            z = jnp.einsum("ih,bhj->bij", r, z, precision=precision)
        else:
            z = jnp.einsum("ih,bhw->biw", r, x, precision=precision)
            z = jnp.einsum("biw,jw->bij", z, c, precision=precision)
        return _gather_last(z.reshape(b, -1), self.pair)

    def adjoint(self, y, precision=jax.lax.Precision.HIGHEST):
        """y (B, K) → Aᵀy (B, H, W): the transpose of `measure`."""
        b = y.shape[0]
        (ni, hs), nj = self.row_mat.shape, self.col_mat.shape[0]
        z = _scatter_by_gather(y, self.pair, ni * nj).reshape(b, ni, nj)
        r, c = jnp.asarray(self.row_mat), jnp.asarray(self.col_mat)
        # Transpose of measure's cheaper order (columns-first measure → rows-first adjoint); on a
        # tie, columns first, which XLA CPU runs faster (it contracts the trailing axis better).
        cols_first, rows_first = self._costs()
        if cols_first < rows_first:
            x = jnp.einsum("ih,bij->bhj", r, z, precision=precision)
            x = jnp.einsum("bhj,jw->bhw", x, c, precision=precision)
        else:
            x = jnp.einsum("bij,jw->biw", z, c, precision=precision)
            x = jnp.einsum("ih,biw->bhw", r, x, precision=precision)
        if self.row_block > 1:  # each block-summed row fans back out
            x = jnp.broadcast_to(x[:, :, None, :], (b, hs, self.row_block, self.w))
        return x.reshape(b, self.h, self.w)

    def gather_rows(self, coeffs):
        """coeffs (B, N) of the full transform → the K measured ones (B, K)."""
        return _gather_last(coeffs, self.rows)

    def scatter_rows(self, y):
        """y (B, K) → (B, N) with y[:, k] at natural row rows[k] and zeros elsewhere (a gather)."""
        return _scatter_by_gather(y, self.rows, self.h * self.w)
