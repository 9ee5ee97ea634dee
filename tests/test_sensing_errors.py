"""Every bad input raises a clear error naming the argument."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import spjax.sensing as S

X = jnp.full((2, 8, 8), 0.5)


@pytest.mark.parametrize(
    "frames, exc, match",
    [
        (jnp.ones((64,)), ValueError, r"frames must have shape \(\.\.\., H, W\)"),
        (jnp.ones((2, 8, 4)), ValueError, r"trailing shape \(H, W\) = \(8, 8\)"),
        (jnp.ones((2, 8, 8), jnp.int32), TypeError, "floating-point"),
        ([[0.0]], TypeError, "must be an array"),
        (X.at[0, 1, 1].set(jnp.nan), ValueError, "NaN/inf"),
        (X.at[0, 1, 1].set(jnp.inf), ValueError, "NaN/inf"),
        (X.at[0, 1, 1].set(-0.5), ValueError, "non-negative radiance"),
    ],
)
def test_bad_frames(frames, exc, match):
    with pytest.raises(exc, match=match):
        S.Sensor.hadamard(8, 8, 0.25)(frames)


def test_value_checks_opt_out_and_skipped_under_jit():
    s = S.Sensor.hadamard(8, 8, 0.25)
    bad = X.at[0, 0, 0].set(-1.0)
    s(bad, check=False)
    jax.jit(lambda f: s(f))(bad)  # tracing: no host round-trip, no error
    with pytest.raises(ValueError, match="negative"):
        S.validate_frames(bad, 8, 8)


def test_non_power_of_two_hadamard():
    with pytest.raises(ValueError, match="power-of-two.*h=12.*pad"):
        S.Sensor.hadamard(12, 8, 0.1)
    with pytest.raises(ValueError, match="power-of-two"):
        S.hadamard(8, 6)
    S.Sensor.family("dct", 12, 6, 0.1)  # the dense path works for any size


def test_k_out_of_range():
    with pytest.raises(ValueError, match=r"k must be <= H\*W = 64.*k=65"):
        S.Sensor.hadamard(8, 8, k=65)
    with pytest.raises(ValueError, match=r"k must be <= H\*W"):
        S.pattern_family("gaussian", 4, 4, 17)
    with pytest.raises(ValueError, match=r"rate must be in \(0, 1\]"):
        S.Sensor.hadamard(8, 8, 1.5)
    with pytest.raises(ValueError, match="either rate or k"):
        S.Sensor.hadamard(8, 8, 0.5, k=3)
    with pytest.raises(TypeError, match="k must be an int"):
        S.Sensor.hadamard(8, 8, k=2.5)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(photons=0.0), "photons must be finite and > 0"),
        (dict(photons=-5), "photons must be finite and > 0"),
        (dict(photons=float("nan")), "photons"),
        (dict(photons=10, dark=-1), "dark must be finite and >= 0"),
        (dict(photons=10, read_std=-1), "read_std"),
        (dict(photons=10, adc_bits=0), "adc_bits must be in"),
        (dict(photons=10, full_scale=0), "full_scale"),
    ],
)
def test_bad_noise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        S.NoiseModel(**kwargs)


def test_bad_noise_types():
    with pytest.raises(TypeError, match="photons must be a number"):
        S.NoiseModel("100")
    with pytest.raises(TypeError, match="noise must be a NoiseModel"):
        S.Sensor.hadamard(8, 8, 0.5, noise={"photons": 10})


def test_bad_names():
    with pytest.raises(ValueError, match="order must be one of"):
        S.hadamard(8, 8, order="zigzag")
    with pytest.raises(ValueError, match="order must be one of"):
        S.Sensor.hadamard(8, 8, 0.5, order="bogus")
    with pytest.raises(ValueError, match="family name must be one of"):
        S.Sensor.family("walsh", 8, 8, 0.5)
    with pytest.raises(ValueError, match="parameterization must be one of"):
        S.Sensor.learned(8, 8, 0.5, parameterization="ternary")
    with pytest.raises(ValueError, match="timing must be one of"):
        S.Sensor.hadamard(8, 8, 0.5, timing="rolling")
    with pytest.raises(ValueError, match="sampler must be"):
        S.Sensor.hadamard(8, 8, 0.5, noise=S.NoiseModel(10.0))(
            X, jax.random.key(0), sampler="gauss"
        )
    with pytest.raises(ValueError, match="needs frames"):
        S.hadamard(8, 8, order="variance")
    with pytest.raises(ValueError, match="hadamard_select needs init"):
        S.Sensor.learned(8, 8, 0.5, parameterization="hadamard_select", init="dct")


def test_bad_sensor_configs():
    with pytest.raises(ValueError, match="split=True needs signed"):
        S.Sensor.family("bernoulli", 8, 8, 0.5, split=True)
    with pytest.raises(ValueError, match="negative light"):
        S.Sensor.hadamard(8, 8, 0.5, split=False, noise=S.NoiseModel(10.0))
    with pytest.raises(ValueError, match=r"values in \[-1, 1\]"):
        S.Sensor.from_patterns(np.full((2, 4, 4), 2.0))
    with pytest.raises(ValueError, match=r"shape \(K, H, W\)"):
        S.Sensor.from_patterns(np.ones((4, 4)))
    with pytest.raises(ValueError, match=r"init array must have shape"):
        S.Sensor.learned(4, 4, k=2, parameterization="binary", init=np.ones((3, 4, 4)))
    with pytest.raises(ValueError, match="temperature must be > 0"):
        S.Sensor.learned(4, 4, k=2, parameterization="binary").set_temperature(0.0)


def test_bad_call_arguments():
    s = S.Sensor.hadamard(8, 8, k=4, noise=S.NoiseModel(10.0))
    with pytest.raises(ValueError, match="explicit PRNG key"):
        s(X)
    with pytest.raises(ValueError, match=r"y must have shape \(\.\.\., K\) with K = 4"):
        s.adjoint(jnp.ones((2, 5)))
    with pytest.raises(ValueError, match=r"y must have shape"):
        s.pinv(jnp.ones((2, 3)))
    with pytest.raises(ValueError, match="lam must be a float > 0"):
        s.tikhonov(jnp.ones((2, 4)), -1.0)
    with pytest.raises(ValueError, match="no NoiseModel"):
        S.Sensor.hadamard(8, 8, k=4).counts(X, jax.random.key(0))
    with pytest.raises(ValueError, match=r"\(\.\.\., T, H, W\)"):
        S.Sensor.hadamard(8, 8, k=4, timing="pattern")(X[0])
