"""The single-pixel camera: `Sensor` maps frames (..., H, W) to measurements (..., K).

    >>> s = Sensor.hadamard(32, 32, rate=0.1, noise=NoiseModel(photons=1e4))
    >>> y = s(frames, key=jax.random.key(0))          # (..., 102)
    >>> x_hat = s.pinv(y)                             # (..., 32, 32)

Units: noiseless measurements are inner products, y[..., k] = Σ frames · patterns()[k]. With a
NoiseModel the photon counts of each *physical* frame are drawn (split pairs separately) and
mapped back to inner-product units, so noisy y is an unbiased estimate of the noiseless y.

Paths: fixed Hadamard sensors take the fast paths of `spjax.sensing.fixed`;
`hadamard_select` uses the FWHT; everything else is a dense contraction. A split pair of a ±1
row S is P± = (1 ± S)/2, so its two measurements are (Σx ± ⟨S, x⟩)/2: both come from ⟨S, x⟩
and the total light Σx.

Timing: ``frame`` (every pattern sees the same frame) or ``pattern`` (clips (..., T, H, W);
physical slot j of frame t sees x_t + (j/F)(x_{t+1} − x_t), the last frame held). Because the
model is linear, this is computed by mixing the per-frame measurements, on either path.

Why one long file: `Sensor` is the area's one public class, and its constructors, forward
model (split pairs, timing, noise) and reconstructions share the same private state; the
pattern sources it holds live in `fixed` and `learnable`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from . import patterns as P
from . import validation as V
from .fixed import FixedHadamard
from .learnable import PARAMETERIZATIONS, DensePatterns, HadamardSelect, init_dense
from .noise import NoiseModel
from .transforms import fwht

TIMINGS = ("frame", "pattern")
_HIGHEST = jax.lax.Precision.HIGHEST


def _check_noise(noise):
    if noise is not None and not isinstance(noise, NoiseModel):
        raise TypeError(f"noise must be a NoiseModel or None, got {type(noise).__name__}")
    return noise


def _check_timing(timing):
    if timing not in TIMINGS:
        raise ValueError(f"timing must be one of {TIMINGS}, got {timing!r}")
    return timing


class Sensor(nnx.Module):
    """A single-pixel camera. Build it with `hadamard`, `family`, `from_patterns` or `learned`."""

    def __init__(
        self,
        source,
        h: int,
        w: int,
        *,
        split: bool,
        noise,
        timing: str,
        kind: str,
        family: str | None = None,
        order: str | None = None,
    ):
        self.source = source
        self.h, self.w = int(h), int(w)
        self.n_pixels = self.h * self.w
        self.signed = bool(source.signed)
        self.noise = _check_noise(noise)
        self.timing = _check_timing(timing)
        if split is None:
            split = self.signed
        if not isinstance(split, bool):
            raise TypeError(f"split must be a bool or None, got {split!r}")
        if split and not self.signed:
            raise ValueError(
                "split=True needs signed patterns; these patterns are "
                "non-negative and are displayed once (use split=False or None)"
            )
        if self.signed and not split and noise is not None:
            raise ValueError(
                "signed patterns cannot be displayed without split acquisition "
                "when a NoiseModel is simulated (negative light); use split=True"
            )
        self.split = split
        self.kind, self.family, self.order = kind, family, order
        self.fast = isinstance(source, (FixedHadamard, HadamardSelect))
        self.k = int(
            source.k
            if isinstance(source, HadamardSelect)
            else (source.row_index.shape[0] if self.fast else source.values.shape[0])
        )

    # --- constructors --------------------------------------------------------------------------
    @classmethod
    def hadamard(
        cls,
        h,
        w,
        rate=None,
        *,
        k=None,
        order=P.DEFAULT_HADAMARD_ORDER,
        split=True,
        noise=None,
        timing="frame",
        frames=None,
        path="auto",
    ):
        """Fixed Hadamard sensor on the fast path: the first K rows of `order`.

        `path`: 'separable' (two small ±1 matrix products on the rows' 1-D factors), 'fwht'
        (full transform, then a gather) or 'auto' (the cheaper on this backend). Both give the
        same numbers up to float rounding."""
        k = P.resolve_k(P.check_size("h", h), P.check_size("w", w), rate, k)
        rows = P.hadamard_indices(h, w, order, frames)[:k]
        return cls.from_hadamard_rows(
            h, w, rows, split=split, noise=noise, timing=timing, order=order, path=path
        )

    @classmethod
    def from_hadamard_rows(
        cls, h, w, rows, *, split=True, noise=None, timing="frame", order=None, path="auto"
    ):
        """Fixed Hadamard sensor measuring the given natural Sylvester rows (fast path)."""
        h, w = P.check_size("h", h), P.check_size("w", w)
        P.check_pow2(h, w)
        rows = np.asarray(rows)
        n = h * w
        if rows.ndim != 1 or not np.issubdtype(rows.dtype, np.integer) or rows.size == 0:
            raise ValueError(
                f"rows must be a non-empty 1-D integer array, got {rows.dtype} shape {rows.shape}"
            )
        if rows.min() < 0 or rows.max() >= n or len(np.unique(rows)) != rows.size:
            raise ValueError(
                f"rows must be distinct indices in [0, {n}), got "
                f"min {rows.min()} max {rows.max()} ({rows.size} rows)"
            )
        return cls(
            FixedHadamard(h, w, rows, path),
            h,
            w,
            split=split,
            noise=noise,
            timing=timing,
            kind="hadamard",
            family="hadamard:rows" if order is None else f"hadamard:{order}",
            order=order,
        )

    @classmethod
    def family(
        cls,
        name,
        h,
        w,
        rate=None,
        *,
        k=None,
        seed=0,
        split=None,
        noise=None,
        timing="frame",
        frames=None,
    ):
        """Any family of `FAMILIES`; Hadamard families take the fast path."""
        if isinstance(name, str) and name.startswith("hadamard") and name in P.FAMILIES:
            return cls.hadamard(
                h,
                w,
                rate,
                k=k,
                order=P.hadamard_order(name),
                noise=noise,
                timing=timing,
                split=True if split is None else split,
                frames=frames,
            )
        k = P.resolve_k(P.check_size("h", h), P.check_size("w", w), rate, k)
        pats, signed = P.pattern_family(name, h, w, k, seed=seed, frames=frames)
        src = DensePatterns("fixed", pats, signed)
        return cls(src, h, w, split=split, noise=noise, timing=timing, kind="family", family=name)

    @classmethod
    def from_patterns(cls, patterns, *, split=None, noise=None, timing="frame"):
        """Dense sensor for arbitrary (K, H, W) patterns in [−1, 1] (signed ⇔ any value < 0)."""
        if not hasattr(patterns, "shape"):
            raise TypeError(f"patterns must be an array (K, H, W), got {type(patterns).__name__}")
        p = np.asarray(patterns, np.float32)
        if p.ndim != 3 or 0 in p.shape:
            raise ValueError(f"patterns must have shape (K, H, W), got {p.shape}")
        if not np.isfinite(p).all() or p.min() < -1 or p.max() > 1:
            raise ValueError(
                f"patterns must be finite values in [-1, 1] (a DMD shows [0, 1] "
                f"per physical frame), got range [{p.min()}, {p.max()}]"
            )
        src = DensePatterns("fixed", p, bool((p < 0).any()))
        return cls(
            src, p.shape[1], p.shape[2], split=split, noise=noise, timing=timing, kind="patterns"
        )

    @classmethod
    def learned(
        cls,
        h,
        w,
        rate=None,
        *,
        k=None,
        parameterization="signed_binary",
        init="hadamard",
        split=None,
        noise=None,
        timing="frame",
        temperature=1.0,
        frames=None,
        rngs: nnx.Rngs | None = None,
    ):
        """Learnable sensor (patterns are `nnx.Param`), initialised from a family or an array.

        `rngs` seeds random initial families (rademacher, bernoulli, gaussian).
        """
        if parameterization not in PARAMETERIZATIONS:
            raise ValueError(
                f"parameterization must be one of {PARAMETERIZATIONS}, got {parameterization!r}"
            )
        h, w = P.check_size("h", h), P.check_size("w", w)
        k = P.resolve_k(h, w, rate, k)
        if parameterization == "hadamard_select":
            if not (isinstance(init, str) and init.startswith("hadamard") and init in P.FAMILIES):
                raise ValueError(
                    "hadamard_select needs init='hadamard' or 'hadamard:<order>', "
                    f"got {init if isinstance(init, str) else type(init).__name__!r}"
                )
            order = P.hadamard_order(init)
            src = HadamardSelect(h, w, k, order, frames, temperature)
            return cls(
                src,
                h,
                w,
                split=True if split is None else split,
                noise=noise,
                timing=timing,
                kind="learned",
                family=init,
                order=order,
            )
        if isinstance(init, str):
            seed = 0 if rngs is None else int(jax.random.randint(rngs.params(), (), 0, 2**31 - 1))
            p0, _ = P.pattern_family(init, h, w, k, seed=seed, frames=frames)
            fam = init
        else:
            p0 = np.asarray(init, np.float32)
            if p0.shape != (k, h, w):
                raise ValueError(
                    f"init array must have shape (K, H, W) = ({k}, {h}, {w}), got {p0.shape}"
                )
            fam = "array"
        signed = parameterization == "signed_binary"
        src = DensePatterns(parameterization, init_dense(parameterization, p0), signed, temperature)
        return cls(src, h, w, split=split, noise=noise, timing=timing, kind="learned", family=fam)

    # --- properties ------------------------------------------------------------------------------
    @property
    def sampling_rate(self) -> float:
        return self.k / self.n_pixels

    @property
    def physical_frames(self) -> int:
        return 2 * self.k if self.split else self.k

    @property
    def learnable(self) -> bool:
        return bool(self.source.learnable)

    @property
    def parameterization(self) -> str | None:
        return self.source.kind if self.learnable else None

    def patterns(self):
        """The (K, H, W) patterns applied (hard, hardware-realisable values)."""
        return self.source.hard()

    def physical_patterns(self):
        """(F, H, W) in [0, 1] as displayed; split pairs interleaved P+ even, P− odd."""
        p = self.patterns()
        if not self.split:
            return p
        return jnp.stack([jnp.maximum(p, 0), jnp.maximum(-p, 0)], 1).reshape(-1, self.h, self.w)

    def hadamard_rows(self):
        """Natural Sylvester row indices (K,) on the fast path, else None."""
        return self.source.rows() if self.fast else None

    def set_temperature(self, t) -> None:
        """Set the relaxation temperature of a learnable parameterisation (may be traced).

        Fixed patterns have no relaxation: the value is checked and has no effect, so one
        training loop can anneal any sensor."""
        from .learnable import validate_temperature

        t = validate_temperature(t)
        if self.learnable:
            self.source.temperature[...] = t

    # --- forward -------------------------------------------------------------------------------
    def _flat(self, frames, check: bool):
        min_rank = 3 if self.timing == "pattern" else 2
        V.check_frames_shape(frames, self.h, self.w, min_rank=min_rank)
        if check:
            V.check_values(frames)
        frames = jnp.asarray(frames)
        return frames.reshape(-1, self.n_pixels), frames.shape[:-2]

    def _signed(self, flat):
        """(B, K) measurements with the signed/non-negative patterns (straight-through)."""
        if self.fast:
            return self.source.measure(flat)[0]
        return jnp.einsum(
            "bn,kn->bk", flat, self.source.train().reshape(self.k, -1), precision=_HIGHEST
        )

    def _physical(self, flat):
        """(B, F) inner products with the physical patterns."""
        if not self.split:
            return self._signed(flat)
        if self.fast:
            y, total = self.source.measure(flat)
            plus, minus = (total[:, None] + y) / 2, (total[:, None] - y) / 2
        elif self.source.plus_minus_one:
            # ±1 patterns: P± = (1 ± S)/2, so both halves come from K + 1 inner products (half
            # the work); the relaxed S ∈ (−1, 1) then stands for a gray-level pair.
            y = self._signed(flat)
            total = jnp.sum(flat, axis=-1, keepdims=True)
            plus, minus = (total + y) / 2, (total - y) / 2
        else:
            s = self.source.train().reshape(self.k, -1)
            pm = jnp.stack([jnp.maximum(s, 0), jnp.maximum(-s, 0)], 1).reshape(2 * self.k, -1)
            return jnp.einsum("bn,fn->bf", flat, pm, precision=_HIGHEST)
        return jnp.stack([plus, minus], -1).reshape(flat.shape[0], -1)

    def _mix_time(self, m):
        """Pattern-synchronous timing on (..., T, F) per-frame measurements."""
        f = m.shape[-1]
        a = jnp.arange(f, dtype=m.dtype) / f
        nxt = jnp.concatenate([m[..., 1:, :], m[..., -1:, :]], axis=-2)
        return (1 - a) * m + a * nxt

    def _physical_timed(self, frames, check):
        flat, lead = self._flat(frames, check)
        m = self._physical(flat).reshape(*lead, -1)
        return self._mix_time(m) if self.timing == "pattern" else m

    def _noise_key(self, key):
        if key is None:
            raise ValueError(
                "key: this sensor simulates noise and needs an explicit PRNG key "
                "(key=jax.random.key(0)), or pass noiseless=True"
            )
        return key

    def counts(self, frames, key, *, sampler: str = "exact", check: bool = True):
        """Raw photon counts (..., F) of the physical frames (split pairs interleaved)."""
        if self.noise is None:
            raise ValueError("counts: this sensor has no NoiseModel (noise=None)")
        m = self._physical_timed(frames, check)
        return self.noise.sample(
            self._noise_key(key), self.noise.mean_counts(m, self.n_pixels), sampler
        )

    def __call__(
        self,
        frames,
        key=None,
        *,
        sampler: str = "exact",
        noiseless: bool = False,
        check: bool = True,
    ):
        """Measurements (..., K). `sampler`: 'exact' (Poisson, evaluation) or 'reparam'
        (differentiable, training). `check=False` skips the eager value checks."""
        noisy = self.noise is not None and not noiseless
        if not noisy and self.timing == "frame":
            flat, lead = self._flat(frames, check)
            return self._signed(flat).reshape(*lead, self.k)
        m = self._physical_timed(frames, check)
        if noisy:
            lam = self.noise.mean_counts(m, self.n_pixels)
            c = self.noise.sample(self._noise_key(key), lam, sampler)
            m = self.noise.to_inner(c, self.n_pixels)
        return m[..., 0::2] - m[..., 1::2] if self.split else m

    # --- reconstruction ------------------------------------------------------------------------
    def adjoint(self, y):
        """Aᵀy (..., H, W) with A the (K, N) matrix of `patterns()`."""
        V.check_measurements(y, self.k)
        y = jnp.asarray(y)
        lead = y.shape[:-1]
        y2 = y.reshape(-1, self.k)
        if isinstance(self.source, FixedHadamard):
            x = self.source.adjoint(y2)
        elif self.fast:
            rows = jax.lax.stop_gradient(self.source.rows())
            full = jnp.zeros((y2.shape[0], self.n_pixels), y2.dtype).at[:, rows].set(y2)
            x = fwht(full)  # H_N is symmetric: Aᵀy = H_N · scatter(y)
        else:
            x = jnp.einsum("bk,kn->bn", y2, self.patterns().reshape(self.k, -1), precision=_HIGHEST)
        return x.reshape(*lead, self.h, self.w)

    def gram(self):
        """AAᵀ (K, K) of `patterns()` (N·I on the Hadamard fast path)."""
        if self.fast:
            return self.n_pixels * jnp.eye(self.k, dtype=jnp.float32)
        a = self.patterns().reshape(self.k, -1)
        return jnp.matmul(a, a.T, precision=_HIGHEST)

    def lift(self, y, rel: float = 1e-4):
        """Image-domain view of measurements for learning (..., H, W), traceable and
        differentiable w.r.t. learned patterns (it follows them as they change).

        Exact A⁺y on the Hadamard fast path (orthogonal rows); for fixed dense patterns the
        ridge-stabilised pseudo-inverse Aᵀ(AAᵀ + ε·I)⁻¹y, ε = rel · mean diag(AAᵀ), finite
        where AAᵀ is (nearly) singular; for learned dense patterns the row-normalised
        adjoint (see below)."""
        V.check_measurements(y, self.k)
        if self.fast:
            return self.adjoint(y) / self.n_pixels
        y = jnp.asarray(y)
        # The straight-through patterns: equal to patterns() forward, with gradients.
        a = self.source.train().reshape(self.k, -1)
        if self.learnable:
            # Learned patterns: the row-normalised adjoint AᵀD⁻¹y (D = diag AAᵀ), which is the
            # pseudo-inverse while the rows stay orthogonal (as Hadamard-initialised ones
            # start) and costs one matmul forward and back, where a K×K solve and its
            # gradient cost ~5× the whole measurement on a CPU. The encoder absorbs the rest.
            z = y.reshape(-1, self.k) / (jnp.sum(a * a, axis=1) + 1e-12)
        else:
            g = jnp.matmul(a, a.T, precision=_HIGHEST)
            eps = rel * jnp.trace(g) / self.k + 1e-12
            z = jnp.linalg.solve(
                g + eps * jnp.eye(self.k, dtype=g.dtype), y.reshape(-1, self.k).T
            ).T
        x = jnp.einsum("bk,kn->bn", z, a, precision=_HIGHEST)
        return x.reshape(*y.shape[:-1], self.h, self.w)

    def pinv(self, y):
        """Minimum-norm least-squares reconstruction A⁺y (..., H, W)."""
        V.check_measurements(y, self.k)
        if self.fast:  # rows are orthogonal with squared norm N
            return self.adjoint(y) / self.n_pixels
        g_pinv = jnp.linalg.pinv(self.gram(), hermitian=True)
        return self.adjoint(jnp.einsum("...k,jk->...j", jnp.asarray(y), g_pinv, precision=_HIGHEST))

    def tikhonov(self, y, lam: float):
        """argmin ‖Ax − y‖² + lam‖x‖²  =  Aᵀ(AAᵀ + lam·I)⁻¹y  (..., H, W)."""
        V.check_measurements(y, self.k)
        if isinstance(lam, bool) or not isinstance(lam, (int, float)) or not lam > 0:
            raise ValueError(f"lam must be a float > 0, got {lam!r}")
        if self.fast:
            return self.adjoint(y) / (self.n_pixels + lam)
        g = self.gram() + lam * jnp.eye(self.k, dtype=jnp.float32)
        y = jnp.asarray(y)
        z = jnp.linalg.solve(g, y.reshape(-1, self.k).T).T
        return self.adjoint(z.reshape(y.shape))

    # --- description ---------------------------------------------------------------------------
    def describe(self) -> dict:
        """JSON-able description (reports, checkpoints, export)."""
        d = {
            "kind": self.kind,
            "family": self.family,
            "order": self.order,
            "parameterization": self.parameterization,
            "fast_path": self.fast,
            "k": self.k,
            "h": self.h,
            "w": self.w,
            "split": self.split,
            "signed": self.signed,
            "sampling_rate": self.sampling_rate,
            "physical_frames": self.physical_frames,
            "timing": self.timing,
            "noise": None if self.noise is None else self.noise.to_dict(),
        }
        if self.fast:
            d["hadamard_rows"] = [int(r) for r in np.asarray(self.hadamard_rows())]
        return d
