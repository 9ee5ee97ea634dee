"""Learnable pattern parameterisations (flax.nnx).

Trainable values are `nnx.Param`; everything else (the temperature, fixed patterns, Hadamard
row tables) lives in non-`Param` variables, so `nnx.Optimizer(..., wrt=nnx.Param)` and
`nnx.grad` never touch it.

- ``continuous``: P = sigmoid(w / τ), gray levels in [0, 1] (non-negative).
- ``binary``: forward P = [w > 0] ∈ {0, 1}; backward d sigmoid(w/τ) (straight-through).
- ``signed_binary``: forward S = sign(w) ∈ {−1, +1} (0 → +1); backward d tanh(w/τ).
- ``hadamard_select``: logits θ over the N natural Hadamard rows; forward keeps the hard top-K
  rows (measured with the fast transform); backward uses a relaxed top-K (K successive softmaxes
  at temperature τ, each excluding the mass already taken), so unselected rows get gradients.

Lowering τ during training (``Sensor.set_temperature``) makes the relaxation sharper.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from . import patterns as P
from .transforms import fwht

PARAMETERIZATIONS = ("continuous", "binary", "signed_binary", "hadamard_select")


class Buffer(nnx.Variable):
    """A fixed (never trained) array: fixed patterns, Hadamard row indices."""


class Temperature(nnx.Variable):
    """Relaxation temperature τ of straight-through parameterisations (not trained)."""


def validate_temperature(t) -> jax.Array:
    if (
        isinstance(t, bool)
        or not isinstance(t, (int, float, np.floating))
        and not (hasattr(t, "shape") and np.shape(t) == ())
    ):
        raise TypeError(f"temperature must be a positive float, got {type(t).__name__} {t!r}")
    if not isinstance(t, jax.core.Tracer) and not float(t) > 0:
        raise ValueError(f"temperature must be > 0, got {float(t)}")
    return jnp.asarray(t, jnp.float32)


def _straight_through(hard, soft):
    return soft + jax.lax.stop_gradient(hard - soft)


class DensePatterns(nnx.Module):
    """Patterns measured by dense contraction: fixed (Buffer) or one of the ST parameterisations."""

    def __init__(self, kind: str, values, signed: bool, temperature: float = 1.0):
        self.kind = kind  # "fixed", "continuous", "binary", "signed_binary"
        self.signed = bool(signed)
        values = jnp.asarray(values, jnp.float32)
        # ±1 patterns split as P± = (1 ± S)/2 take K + 1 inner products instead of 2K. Fixed
        # patterns qualify when every entry is ±1, so an imported export of a learned
        # signed_binary sensor simulates bit-identically to the sensor it came from.
        self.plus_minus_one = kind == "signed_binary" or (
            kind == "fixed"
            and not isinstance(values, jax.core.Tracer)
            and bool(np.all(np.abs(np.asarray(values)) == 1.0))
        )
        self.values = Buffer(values) if kind == "fixed" else nnx.Param(values)
        self.temperature = Temperature(validate_temperature(temperature))

    @property
    def learnable(self) -> bool:
        return self.kind != "fixed"

    def hard(self):
        """Hardware-realisable patterns (K, H, W)."""
        v, t = self.values[...], self.temperature[...]
        if self.kind == "fixed":
            return v
        if self.kind == "continuous":
            return jax.nn.sigmoid(v / t)
        if self.kind == "binary":
            return (v > 0).astype(v.dtype)
        return jnp.where(v >= 0, 1.0, -1.0).astype(v.dtype)

    def train(self):
        """Patterns with straight-through gradients (equal to `hard()` in the forward pass)."""
        v, t = self.values[...], self.temperature[...]
        if self.kind in ("fixed", "continuous"):
            return self.hard()
        soft = jax.nn.sigmoid(v / t) if self.kind == "binary" else jnp.tanh(v / t)
        return _straight_through(self.hard(), soft)


def init_dense(parameterization: str, init) -> jax.Array:
    """Raw parameter values whose hard patterns reproduce `init` (K, H, W) as well as possible."""
    p = np.asarray(init, np.float32)
    signed = bool((p < 0).any())
    if parameterization == "continuous":
        q = (p + 1) / 2 if signed else p  # gray level in [0, 1]
        q = np.clip(q, 0.05, 0.95)
        return jnp.asarray(np.log(q) - np.log1p(-q))
    if parameterization == "binary":
        thr = 0.0 if signed else 0.5  # signed → (S > 0), {0,1} kept, gray levels thresholded
        return jnp.asarray(np.where(p > thr, 1.0, -1.0) * (0.5 + np.abs(p - thr)))
    if parameterization == "signed_binary":
        q = p if signed else 2 * p - 1
        return jnp.asarray(np.where(q >= 0, 1.0, -1.0) * (0.5 + np.abs(q)))
    raise ValueError(
        f"parameterization must be one of {PARAMETERIZATIONS}, got {parameterization!r}"
    )


def _relaxed_topk(logits, k: int, t):
    """(K, N) relaxed top-K selection: row j is a softmax over rows not yet taken."""

    def step(taken, _):
        p = jax.nn.softmax((logits + jnp.log1p(-jnp.minimum(taken, 1 - 1e-6))) / t)
        return taken + p, p

    _, soft = jax.lax.scan(step, jnp.zeros_like(logits), None, length=k)
    return soft


@jax.custom_vjp
def _select_rows(coeffs, logits, t, rows):
    """coeffs (B, N) → coeffs[:, rows] (B, K); logit gradients through the relaxed top-K."""
    return jnp.take(coeffs, rows, axis=-1)


def _select_fwd(coeffs, logits, t, rows):
    return jnp.take(coeffs, rows, axis=-1), (coeffs, logits, t, rows)


def _select_bwd(res, g):
    coeffs, logits, t, rows = res
    n = coeffs.shape[-1]
    d_coeffs = jnp.zeros_like(coeffs).at[..., rows].add(g)
    # y_j ≈ Σ_n soft[j, n] coeffs_n  ⇒  dL/dsoft = gᵀ coeffs (K, N), pulled back to the logits.
    _, pull = jax.vjp(lambda lg: _relaxed_topk(lg, rows.shape[0], t), logits)
    dsoft = jnp.einsum(
        "bk,bn->kn",
        g.reshape(-1, rows.shape[0]),
        coeffs.reshape(-1, n),
        precision=jax.lax.Precision.HIGHEST,
    )
    (d_logits,) = pull(dsoft)
    return d_coeffs, d_logits, jnp.zeros_like(t), np.zeros(rows.shape, jax.dtypes.float0)


_select_rows.defvjp(_select_fwd, _select_bwd)


class HadamardSelect(nnx.Module):
    """Learn which K of the N = H·W Hadamard rows to measure (fast path, exactly realisable)."""

    kind = "hadamard_select"
    signed = True
    learnable = True

    def __init__(
        self,
        h: int,
        w: int,
        k: int,
        order: str = P.DEFAULT_HADAMARD_ORDER,
        frames=None,
        temperature: float = 1.0,
    ):
        self.h, self.w, self.k = h, w, k
        perm = P.hadamard_indices(h, w, order, frames)
        n = h * w
        logits = np.empty(n, np.float32)
        logits[perm] = -np.arange(n, dtype=np.float32) / n * 4.0  # the order's rank, top first
        self.logits = nnx.Param(jnp.asarray(logits))
        self.temperature = Temperature(validate_temperature(temperature))

    def rows(self):
        """Selected natural row indices (K,), highest logit first."""
        return jax.lax.top_k(self.logits[...], self.k)[1]

    def hard(self):
        return P.hadamard_patterns(self.h, self.w, self.rows())

    def measure(self, flat):
        """flat (B, N) → signed measurements (B, K) and the total light (B,)."""
        coeffs = fwht(flat)
        logits = self.logits[...]
        rows = jax.lax.stop_gradient(self.rows())
        return _select_rows(coeffs, logits, self.temperature[...], rows), coeffs[:, 0]
