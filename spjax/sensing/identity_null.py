"""Identity-null patterns: measure only directions in which different people look alike.

A linear measurement y = ⟨p, x⟩ of faces tells who someone is through the between-identity
scatter S_b it passes, against the within-identity scatter S_w (pose, light, expression).
The generalised eigenvectors v of S_b v = μ (S_w + εI) v, normalised so that vᵀ(S_w + εI)v = 1,
sort pixel space by that ratio μ. Writing a pattern as p = Σ aᵢ vᵢ with aᵢ = vᵢᵀ(S_w + εI)p,
`IdentityBasis.remove` drops the m components of largest μ, so every measurement of the
result passes at most μ_m of identity per unit of within-identity variation, whatever the
rest of the pattern does. The scatters come from labelled faces of *many* people (not the
people a privacy audit tests on): the between-identity scatter of n people has rank n − 1.

This is linear and second-order: it removes what a linear discriminant reads, not every
nonlinear cue, so a design built with it is still judged by the privacy audit's fresh
attackers. The projected patterns are real-valued; a DMD shows them as bit-planes
(`spjax export … --bit-depth`).
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from .learnable import Buffer, DensePatterns


def project_out(flat, dual, directions):
    """Rows of `flat` (K, N) without their components along `directions` (N, m), whose
    coefficients are read with `dual` (N, m) = Σ·directions. NumPy or JAX arrays alike, so the
    fixed projection and the learned forward pass share it."""
    if all(isinstance(a, np.ndarray) for a in (flat, dual, directions)):
        return flat - (flat @ dual) @ directions.T
    # Full float32 products: at the default precision a GPU multiplies in TF32 (~1e-3
    # relative), which leaves identity components a learned pattern must not measure.
    hi = jax.lax.Precision.HIGHEST
    return flat - jnp.matmul(jnp.matmul(flat, dual, precision=hi), directions.T, precision=hi)


@dataclass(frozen=True)
class IdentityBasis:
    """Directions of pixel space sorted by how much more people differ along them than one
    person's images do (see the module doc). Build with `IdentityBasis.estimate`."""

    directions: np.ndarray  # (N, R) vᵢ, Σ-orthonormal, by decreasing ratio
    dual: np.ndarray  # (N, R) Σ vᵢ: the coefficient of vᵢ in p is p · Σvᵢ
    ratios: np.ndarray  # (R,) μᵢ, decreasing
    shape: tuple[int, int]
    identities: int

    @classmethod
    def estimate(cls, images, identities, *, shrinkage: float = 1e-2) -> IdentityBasis:
        """From faces `images` (n, H, W) labelled with `identities` (n,). `shrinkage` adds
        shrinkage × mean within-identity variance to S_w's diagonal (S_w of n images has at
        most n − #people degrees of freedom)."""
        from scipy.linalg import eigh

        x = np.asarray(images, np.float64)
        ids = np.asarray(identities)
        if x.ndim != 3 or len(x) == 0:
            raise ValueError(f"images: expected (n, H, W), got shape {x.shape}")
        if ids.shape != (len(x),):
            raise ValueError(f"identities: expected shape ({len(x)},), got {ids.shape}")
        if not np.isfinite(x).all():
            raise ValueError("images: expected finite values, got NaN or inf")
        if not shrinkage > 0:
            raise ValueError(f"shrinkage: expected > 0, got {shrinkage}")
        labels, inv, counts = np.unique(ids, return_inverse=True, return_counts=True)
        if len(labels) < 2 or counts.min() < 2:
            raise ValueError(
                f"identities: expected >= 2 people with >= 2 images each, got {len(labels)} "
                f"people with at least {counts.min()} images"
            )
        flat = x.reshape(len(x), -1)
        n_pix = flat.shape[1]
        means = np.zeros((len(labels), n_pix))
        np.add.at(means, inv, flat)
        means /= counts[:, None]
        within = flat - means[inv]
        s_w = within.T @ within / (len(flat) - len(labels))
        between = means - flat.mean(0)
        s_b = between.T @ between / len(labels)
        sigma = s_w + shrinkage * np.trace(s_w) / n_pix * np.eye(n_pix)
        rank = min(len(labels) - 1, n_pix)
        mu, vecs = eigh(s_b, sigma, subset_by_index=(n_pix - rank, n_pix - 1))
        vecs = vecs[:, ::-1]
        return cls(
            directions=vecs.astype(np.float32),
            dual=(sigma @ vecs).astype(np.float32),
            ratios=mu[::-1].astype(np.float32),
            shape=(x.shape[1], x.shape[2]),
            identities=len(labels),
        )

    def remove(self, patterns, m: int) -> np.ndarray:
        """`patterns` (K, H, W) without their components along the m most identifying
        directions, each rescaled to peak |value| 1 (the DMD's [−1, 1] range): (K, H, W)
        float32."""
        p = np.asarray(patterns, np.float64)
        if p.ndim != 3 or p.shape[1:] != self.shape:
            raise ValueError(
                f"patterns: expected (K, {self.shape[0]}, {self.shape[1]}), got {p.shape}"
            )
        if (
            isinstance(m, bool)
            or not isinstance(m, (int, np.integer))
            or not 0 <= m <= len(self.ratios)
        ):
            raise ValueError(
                f"m: expected an int in [0, {len(self.ratios)}] (the basis of {self.identities} "
                f"people has {len(self.ratios)} directions), got {m!r}"
            )
        flat = p.reshape(len(p), -1)
        before = np.abs(flat).max(1, keepdims=True)
        flat = project_out(flat, self.dual[:, :m], self.directions[:, :m])
        peak = np.abs(flat).max(1, keepdims=True)
        empty = peak[:, 0] <= 1e-4 * before[:, 0]  # float32 basis: a removed pattern leaves ~1e-7
        if empty.any():
            raise ValueError(
                f"patterns {np.flatnonzero(empty).tolist()} lie entirely in the removed "
                f"identity directions (nothing is left to measure)"
            )
        return (flat / peak).reshape(p.shape).astype(np.float32)

    def ratio_left(self, m: int) -> float:
        """The largest between/within ratio any pattern keeps after `remove(…, m)`."""
        return float(self.ratios[m]) if m < len(self.ratios) else 0.0


class NullSpacePatterns(DensePatterns):
    """Learnable patterns that stay identity-null: the forward pass removes the basis'
    top-m directions from the raw values (`IdentityBasis.remove`, differentiably), so no
    training step can move a pattern back into them."""

    def __init__(self, basis: IdentityBasis, m: int, init):
        p = basis.remove(init, m)  # validates m and the shape
        super().__init__("identity_null", p, signed=True)
        self.directions = Buffer(jnp.asarray(basis.directions[:, :m]))
        self.dual = Buffer(jnp.asarray(basis.dual[:, :m]))

    def hard(self):
        v = self.values[...]
        flat = project_out(v.reshape(v.shape[0], -1), self.dual[...], self.directions[...])
        return (flat / jnp.max(jnp.abs(flat), axis=1, keepdims=True)).reshape(v.shape)

    def train(self):
        return self.hard()


def identity_null_sensor(
    basis: IdentityBasis, m: int, init, *, split=True, noise=None, timing="frame"
):
    """A learnable `Sensor` whose patterns, initialised from `init` (K, H, W), never leave the
    complement of the basis' m most identifying directions (gray levels in [−1, 1]: a DMD
    shows them as bit-planes)."""
    from .sensor import Sensor

    h, w = basis.shape
    return Sensor(
        NullSpacePatterns(basis, m, init),
        h,
        w,
        split=split,
        noise=noise,
        timing=timing,
        kind="learned",
        family=f"identity_null:{m}",
    )
