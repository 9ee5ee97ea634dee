"""Photon-counting detector model (docs/conventions.md): Poisson shot noise, dark counts, Gaussian read
noise and an ADC with clipping.

Mean counts for a physical pattern P and scene x:  λ = photons · mean_ij(P ⊙ x) + dark.

Two samplers share one model:
- `sample_exact`: Poisson(λ) + N(0, σ²), then the ADC. For evaluation; not differentiable in λ.
- `sample_reparam`: λ + √λ·ε₁ + σ·ε₂ (Gaussian approximation of the Poisson), then the ADC
  with straight-through rounding. Differentiable; for training.
Both take an explicit PRNG key. Where no light falls and there are no dark counts or read
noise, both return exactly zero.
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp


def _num(name, value, *, positive: bool, allow_none: bool = False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"NoiseModel.{name} must be a number, got {type(value).__name__} {value!r}")
    value = float(value)
    if not math.isfinite(value) or (value <= 0 if positive else value < 0):
        need = "> 0" if positive else ">= 0"
        raise ValueError(f"NoiseModel.{name} must be finite and {need}, got {value}")
    return value


@dataclasses.dataclass(frozen=True)
class NoiseModel:
    """Detector configuration (hashable, so it can sit in static pytree metadata).

    photons: counts for a fully-on pattern on a full-scale scene (the photon budget α).
    dark: mean dark counts per measurement. read_std: Gaussian read noise σ in counts.
    adc_bits: ADC resolution (None: no quantisation). full_scale: count mapped to the top ADC
    code, and the saturation level (None: photons + dark when adc_bits is set, else no clip).
    """

    photons: float
    dark: float = 0.0
    read_std: float = 0.0
    adc_bits: int | None = None
    full_scale: float | None = None

    def __post_init__(self):
        object.__setattr__(self, "photons", _num("photons", self.photons, positive=True))
        object.__setattr__(self, "dark", _num("dark", self.dark, positive=False))
        object.__setattr__(self, "read_std", _num("read_std", self.read_std, positive=False))
        if self.adc_bits is not None:
            b = self.adc_bits
            if isinstance(b, bool) or not isinstance(b, int):
                raise TypeError(f"NoiseModel.adc_bits must be an int or None, got {b!r}")
            if not 1 <= b <= 32:
                raise ValueError(f"NoiseModel.adc_bits must be in [1, 32], got {b}")
        fs = _num("full_scale", self.full_scale, positive=True, allow_none=True)
        if fs is None and self.adc_bits is not None:
            fs = self.photons + self.dark
        object.__setattr__(self, "full_scale", fs)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> NoiseModel:
        if not isinstance(d, dict):
            raise TypeError(f"noise must be a dict, got {type(d).__name__}")
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - fields
        if unknown:
            raise ValueError(
                f"noise has unknown fields {sorted(unknown)}; expected {sorted(fields)}"
            )
        return cls(**d)

    # --- physics --------------------------------------------------------------------------
    def mean_counts(self, inner, n_pixels: int):
        """λ from inner products ⟨P, x⟩ (so mean_ij = inner / n_pixels)."""
        return self.photons * inner / n_pixels + self.dark

    def to_inner(self, counts, n_pixels: int):
        """Map counts back to inner-product units: an unbiased estimate of ⟨P, x⟩."""
        return (counts - self.dark) * (n_pixels / self.photons)

    def adc(self, counts, straight_through: bool = False):
        """Clip to [0, full_scale] and quantise to adc_bits (straight-through if asked)."""
        if self.full_scale is None:
            return counts
        c = jnp.clip(counts, 0.0, self.full_scale)
        if self.adc_bits is None:
            return c
        levels = 2.0**self.adc_bits - 1.0
        scaled = c * (levels / self.full_scale)
        q = jnp.round(scaled)
        if straight_through:
            q = scaled + jax.lax.stop_gradient(q - scaled)
        return q * (self.full_scale / levels)

    def sample_exact(self, key, lam):
        """Poisson(λ) + read noise, then the ADC."""
        k1, k2 = jax.random.split(key)
        counts = jax.random.poisson(k1, lam, dtype=jnp.int32).astype(lam.dtype)
        if self.read_std > 0:
            counts = counts + self.read_std * jax.random.normal(k2, lam.shape, lam.dtype)
        return self.adc(counts)

    def sample_reparam(self, key, lam):
        """Differentiable λ + √λ·ε₁ + σ·ε₂, then the ADC with straight-through rounding."""
        k1, k2 = jax.random.split(key)
        # Guarded sqrt: finite gradient at λ = 0 (no light) and exactly zero noise there.
        safe = jnp.where(lam > 0, lam, 1.0)
        std = jnp.where(lam > 0, jnp.sqrt(safe), 0.0)
        counts = lam + std * jax.random.normal(k1, lam.shape, lam.dtype)
        if self.read_std > 0:
            counts = counts + self.read_std * jax.random.normal(k2, lam.shape, lam.dtype)
        return self.adc(counts, straight_through=True)

    def sample(self, key, lam, sampler: str = "exact"):
        if sampler == "exact":
            return self.sample_exact(key, lam)
        if sampler == "reparam":
            return self.sample_reparam(key, lam)
        raise ValueError(f"sampler must be 'exact' or 'reparam', got {sampler!r}")
