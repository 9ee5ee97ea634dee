"""Identity-null patterns: removing the directions in which people differ."""

import numpy as np
import pytest

from spjax.sensing.identity_null import IdentityBasis

H = W = 8
N = H * W


def _people(n_people, per, seed, signal=8.0, dims=4):
    """Images whose identity lives in a fixed `dims`-dimensional pixel subspace (the same for
    every person of this world), plus isotropic within-person variation."""
    world = np.random.default_rng(123)
    subspace = np.linalg.qr(world.normal(size=(N, dims)))[0]
    rng = np.random.default_rng(seed)
    traits = rng.normal(size=(n_people, dims)) * signal
    ids = np.repeat(np.arange(n_people), per)
    x = traits[ids] @ subspace.T + rng.normal(size=(len(ids), N)) + 0.5
    return x.reshape(-1, H, W), ids


def _between_over_within(y, ids):
    labels = np.unique(ids)
    means = np.stack([y[ids == c].mean(0) for c in labels])
    within = np.mean([y[ids == c].var(0) for c in labels], 0)
    return float((means.var(0) / within).max())


def test_removing_the_identity_directions_hides_new_people():
    x, ids = _people(60, 6, seed=0)
    basis = IdentityBasis.estimate(x, ids)
    assert basis.identities == 60 and basis.directions.shape == (N, 59)
    assert np.all(np.diff(basis.ratios) <= 1e-6) and basis.ratios[0] > 5
    patterns = np.random.default_rng(1).choice([-1.0, 1.0], size=(10, H, W))
    # People the basis never saw, with many images each.
    x_new, ids_new = _people(20, 40, seed=7)
    before = _between_over_within(
        x_new.reshape(len(x_new), -1) @ patterns.reshape(10, -1).T, ids_new
    )
    q = basis.remove(patterns, 4)
    after = _between_over_within(x_new.reshape(len(x_new), -1) @ q.reshape(10, -1).T, ids_new)
    assert before > 2 and after < 0.15
    assert basis.ratio_left(4) < 0.5 * basis.ratios[3]
    # Within the DMD's range, peak 1 per pattern, and the rest of the pattern is kept.
    assert q.dtype == np.float32 and np.allclose(np.abs(q).max((1, 2)), 1.0)
    corr = [np.corrcoef(a.ravel(), b.ravel())[0, 1] for a, b in zip(patterns, q)]
    assert min(corr) > 0.8


def test_removing_nothing_only_rescales():
    x, ids = _people(10, 4, seed=0)
    basis = IdentityBasis.estimate(x, ids)
    p = np.random.default_rng(0).uniform(-0.5, 0.5, size=(3, H, W))
    np.testing.assert_allclose(
        basis.remove(p, 0), p / np.abs(p).max((1, 2), keepdims=True), rtol=1e-5
    )


def test_bad_input_is_a_clear_error():
    x, ids = _people(10, 4, seed=0)
    with pytest.raises(ValueError, match="images"):
        IdentityBasis.estimate(x[0], ids)
    with pytest.raises(ValueError, match="identities"):
        IdentityBasis.estimate(x, ids[:-1])
    bad = x.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="finite"):
        IdentityBasis.estimate(bad, ids)
    with pytest.raises(ValueError, match=">= 2 people"):
        IdentityBasis.estimate(x[:4], ids[:4])
    basis = IdentityBasis.estimate(x, ids)
    with pytest.raises(ValueError, match="m: expected"):
        basis.remove(np.ones((2, H, W)), 10)
    with pytest.raises(ValueError, match="patterns"):
        basis.remove(np.ones((2, H, W + 1)), 1)
    # A pattern that is nothing but identity directions leaves nothing to measure.
    only_identity = (basis.directions[:, :1].T).reshape(1, H, W)
    with pytest.raises(ValueError, match="nothing is left"):
        basis.remove(only_identity, 9)


def test_trainer_config_checks_identity_null():
    from test_training import RECIPE

    from spjax.training.build import validate_spvlm_config
    from spjax.training.config import apply_overrides, load_recipe

    cfg = apply_overrides(load_recipe(RECIPE), ["sensor.identity_null=10", "data.source=tfds"])
    with pytest.raises(ValueError, match="synthetic"):
        validate_spvlm_config(cfg)
    cfg = apply_overrides(
        load_recipe(RECIPE), ["sensor.family=hadamard", "sensor.identity_null=5000"]
    )
    with pytest.raises(ValueError, match="identity_null"):
        validate_spvlm_config(cfg)
    cfg = apply_overrides(
        load_recipe(RECIPE), ["sensor.family=hadamard", "sensor.identity_null=10"]
    )
    validate_spvlm_config(cfg)


def test_trainer_builds_an_identity_null_sensor():
    from flax import nnx
    from test_training import RECIPE

    from spjax.training.build import build_sensor
    from spjax.training.config import apply_overrides, load_recipe

    cfg = apply_overrides(
        load_recipe(RECIPE),
        [
            "data.size=16",
            "sensor.family=hadamard",
            "sensor.rate=0.1",
            "sensor.identity_null=20",
            "sensor.identity_null_identities=60",
        ],
    )
    a = np.asarray(build_sensor(cfg, nnx.Rngs(0)).patterns())
    plain = apply_overrides(cfg, ["sensor.identity_null=0"])
    b = np.asarray(build_sensor(plain, nnx.Rngs(0)).patterns())
    assert a.shape == b.shape == (26, 16, 16)
    assert np.abs(a).max() == pytest.approx(1.0) and not np.allclose(a, b)


def test_learned_identity_null_patterns_never_leave_the_null_space():
    import jax
    import jax.numpy as jnp
    from flax import nnx

    from spjax.sensing import NoiseModel
    from spjax.sensing.identity_null import identity_null_sensor

    x, ids = _people(30, 5, seed=0)
    basis = IdentityBasis.estimate(x, ids)
    init = np.random.default_rng(0).choice([-1.0, 1.0], size=(6, H, W))
    sensor = identity_null_sensor(basis, 4, init, noise=NoiseModel(photons=1e4))
    assert sensor.learnable and sensor.k == 6 and sensor.describe()["family"] == "identity_null:4"
    np.testing.assert_allclose(sensor.patterns(), basis.remove(init, 4), atol=1e-5)
    frames = jnp.asarray(np.clip(x[:8] / x.max(), 0, 1), jnp.float32)

    def loss(model):
        return jnp.sum(model(frames, jax.random.key(0), sampler="reparam") ** 2)

    grads = nnx.grad(loss)(sensor)
    assert sum(float(jnp.abs(g).sum()) for g in jax.tree.leaves(grads)) > 0
    # Any update of the raw values: the patterns shown still have no identity component.
    sensor.source.values[...] = sensor.source.values[...] + 3.0 * jnp.asarray(
        np.random.default_rng(1).normal(size=(6, H, W)), jnp.float32
    )
    p = np.asarray(sensor.patterns(), np.float64).reshape(6, -1)  # float64: an exact check
    assert np.abs(p @ basis.dual[:, :4]).max() < 1e-4 and np.allclose(np.abs(p).max(1), 1.0)
