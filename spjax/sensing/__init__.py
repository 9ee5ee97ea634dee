"""spjax.sensing: a differentiable single-pixel camera.

Patterns (`hadamard`, `pattern_family`, `FAMILIES`), the fast Walsh–Hadamard transform
(`fwht`), the detector model (`NoiseModel`), the camera (`Sensor`, an `nnx.Module` with fixed or
learnable patterns), reconstruction (`Sensor.adjoint/pinv/tikhonov`, `reconstruct`, `psnr`),
persistence (`save_sensor`, `load_sensor`) and input checks (`validate_frames`, `checked`).

Quick start::

    import jax
    from flax import nnx
    import spjax.sensing as S
    sensor = S.Sensor.hadamard(32, 32, rate=0.1, noise=S.NoiseModel(photons=1e4))
    y = sensor(frames, key=jax.random.key(0))      # frames (..., 32, 32) in [0, 1] -> (..., 102)
    x_hat = sensor.pinv(y)

    learned = S.Sensor.learned(32, 32, 0.1, parameterization="signed_binary", rngs=nnx.Rngs(0))
    y = learned(frames, key, sampler="reparam")    # differentiable w.r.t. nnx.Param patterns
"""

from .fixed import HADAMARD_PATHS
from .io import load_sensor, save_sensor
from .learnable import PARAMETERIZATIONS, Buffer, Temperature
from .noise import NoiseModel
from .patterns import (
    FAMILIES,
    ORDERS,
    dct_patterns,
    hadamard,
    hadamard_indices,
    hadamard_rows,
    pattern_family,
    resolve_k,
    walsh_sequency,
)
from .recon import RECON_METHODS, psnr, reconstruct
from .sensor import TIMINGS, Sensor
from .transforms import fwht
from .validation import checked, validate_frames

__all__ = [
    "FAMILIES",
    "ORDERS",
    "PARAMETERIZATIONS",
    "RECON_METHODS",
    "HADAMARD_PATHS",
    "TIMINGS",
    "Buffer",
    "NoiseModel",
    "Sensor",
    "Temperature",
    "checked",
    "dct_patterns",
    "fwht",
    "hadamard",
    "hadamard_indices",
    "hadamard_rows",
    "load_sensor",
    "pattern_family",
    "psnr",
    "reconstruct",
    "resolve_k",
    "save_sensor",
    "validate_frames",
    "walsh_sequency",
]
