"""Fixed Hadamard rows as a pattern source of `Sensor`, computed the fast way.

Two paths give the same numbers: two small ±1 matrix products on the rows' 1-D factors
(`SeparablePlan`) or the full O(N log N) FWHT and a gather of K rows. 'auto' picks per backend
and direction from the operation counts, with a CPU constant measured by
`benchmarks/sensing_speed.py`, which times both paths so the rule can be checked anywhere.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from . import patterns as P
from .learnable import Buffer
from .transforms import SeparablePlan, fwht

HADAMARD_PATHS = ("auto", "separable", "fwht")  # how fixed Hadamard rows are computed

# One matmul multiply-add costs about this fraction of one FWHT butterfly add on a CPU (the
# transform is memory-bound, the small ±1 products are not); measured by
# benchmarks/sensing_speed.py. Accelerators have matmul units: there the products always win.
_SEPARABLE_PER_FWHT_ADD = 16


def _prefer_separable(plan: SeparablePlan) -> bool:
    if jax.default_backend() != "cpu":
        return True
    n = plan.h * plan.w
    return plan.cost() <= _SEPARABLE_PER_FWHT_ADD * n * max(1, n.bit_length() - 1)


class FixedHadamard(nnx.Module):
    """Fixed Hadamard rows: two small ±1 matrix products on the rows' 2-D factors (where that
    costs less; `SeparablePlan`), else the full FWHT and a gather. Same numbers either way."""

    kind = "fixed"
    signed = True
    learnable = False

    def __init__(self, h: int, w: int, rows, path: str = "auto"):
        if path not in HADAMARD_PATHS:
            raise ValueError(f"path must be one of {HADAMARD_PATHS}, got {path!r}")
        self.h, self.w = h, w
        rows = np.asarray(rows, np.int32)
        self.row_index = Buffer(jnp.asarray(rows))
        # Static structure derived from the rows (row_index stays their recorded value).
        self.plan = SeparablePlan.build(h, w, rows)
        separable = path == "separable" or (path == "auto" and _prefer_separable(self.plan))
        self.path = "separable" if separable else "fwht"
        # The FWHT adjoint needs a K → N scatter before the transform, which XLA on a CPU fuses
        # badly (≈ 3× the forward); the separable adjoint costs what its forward does, so
        # 'auto' always takes it (benchmarks/sensing_speed.py measures both).
        self.adjoint_path = "fwht" if path == "fwht" else "separable"

    def rows(self):
        return self.row_index[...]

    def hard(self):
        return P.hadamard_patterns(self.h, self.w, self.row_index[...])

    def measure(self, flat):
        """flat (B, N) → signed measurements (B, K) and the total light Σx (B,)."""
        if self.path == "fwht":
            coeffs = fwht(flat)
            return self.plan.gather_rows(coeffs), coeffs[:, 0]
        y = self.plan.measure(flat.reshape(-1, self.h, self.w))
        return y, jnp.sum(flat, axis=-1)

    def adjoint(self, y):
        """y (B, K) → Aᵀy (B, N)."""
        if self.adjoint_path == "fwht":
            return fwht(self.plan.scatter_rows(y))  # H_N is symmetric
        return self.plan.adjoint(y).reshape(y.shape[0], -1)
