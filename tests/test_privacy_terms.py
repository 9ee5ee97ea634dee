"""The attacker-free privacy terms `face_snr`, `face_capacity` and `identity_capacity`
(privacy.terms.face_snr_leakage / face_capacity_leakage / identity_capacity_leakage) and
their place in the trainer's config."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from spjax.privacy import terms as adv

# -- the function, on hand-computed cases -------------------------------------------------


def test_face_snr_identical_constant_shots_are_finite():
    # All-zero in both shots: no variation, no noise, no signal → ratio 1 by definition, term 0.
    zeros = jnp.zeros((8, 5))
    assert float(adv.face_snr_leakage(zeros, zeros)) == pytest.approx(0.0, abs=1e-6)
    # Constant non-zero, noiseless: no face variation at all → very negative, but finite.
    const = jnp.full((8, 5), 3.0)
    term = float(adv.face_snr_leakage(const, const))
    assert np.isfinite(term) and term < -20
    # Gradients are finite too (the trainer differentiates through it).
    g1, g2 = jax.grad(lambda a, b: adv.face_snr_leakage(a, b), argnums=(0, 1))(zeros, zeros)
    assert np.isfinite(np.asarray(g1)).all() and np.isfinite(np.asarray(g2)).all()


def test_face_snr_noise_only_is_near_zero():
    rng = np.random.default_rng(0)
    b, k, sigma = 4096, 16, 0.5
    signal = np.full((1, k), 2.0)  # the same "face" in every row
    y1 = signal + sigma * rng.standard_normal((b, k))
    y2 = signal + sigma * rng.standard_normal((b, k))
    assert abs(float(adv.face_snr_leakage(y1, y2))) < 0.3
    assert abs(float(adv.face_snr_leakage(y1, y2))) < 0.05  # in fact much closer


def test_face_snr_planted_signal_is_log_one_plus_snr():
    rng = np.random.default_rng(1)
    b, k, sigma = 4096, 16, 0.5
    faces = 10 * sigma * rng.standard_normal((b, k))  # per-face signal, 10× the noise std
    y1 = faces + sigma * rng.standard_normal((b, k))
    y2 = faces + sigma * rng.standard_normal((b, k))
    np.testing.assert_allclose(float(adv.face_snr_leakage(y1, y2)), np.log(1 + 100), atol=0.1)
    # More noise → lower term; a pure rescale of both shots leaves it unchanged.
    noisier = float(
        adv.face_snr_leakage(
            faces + 5 * sigma * rng.standard_normal((b, k)),
            faces + 5 * sigma * rng.standard_normal((b, k)),
        )
    )
    assert noisier < np.log(101) - 2
    np.testing.assert_allclose(
        float(adv.face_snr_leakage(1e3 * y1, 1e3 * y2)),
        float(adv.face_snr_leakage(y1, y2)),
        rtol=1e-4,
    )


def test_face_capacity_is_the_mean_per_measurement_gaussian_capacity():
    """Measurements with SNR 100, 0 (pure noise) and 3: capacity ½·mean log(1 + SNR); the
    log-of-mean term would instead be dominated by the leakiest one."""
    rng = np.random.default_rng(3)
    b, sigma = 8192, 0.5
    snr = np.array([100.0, 0.0, 3.0])
    faces = np.sqrt(snr) * sigma * rng.standard_normal((b, 3))
    y1 = faces + sigma * rng.standard_normal((b, 3))
    y2 = faces + sigma * rng.standard_normal((b, 3))
    expected = 0.5 * np.mean(np.log1p(snr))
    np.testing.assert_allclose(float(adv.face_capacity_leakage(y1, y2)), expected, atol=0.03)
    np.testing.assert_allclose(
        float(adv.face_snr_leakage(y1, y2)), np.log(np.mean(1 + snr)), atol=0.05
    )
    # Silencing the leakiest measurement lowers both; capacity still charges the SNR-3 one.
    y1[:, 0], y2[:, 0] = y1[:, 1], y2[:, 1]
    np.testing.assert_allclose(
        float(adv.face_capacity_leakage(y1, y2)), 0.5 * np.log(4) / 3, atol=0.03
    )
    g = jax.grad(adv.face_capacity_leakage)(jnp.asarray(y1), jnp.asarray(y2))
    assert np.isfinite(np.asarray(g)).all()
    with pytest.raises(ValueError, match="same shape"):
        adv.face_capacity_leakage(y1, y2[:, :2])


def test_face_snr_noiseless_is_scale_free_coefficient_of_variation():
    rng = np.random.default_rng(2)
    y = 5.0 + rng.standard_normal((256, 4))  # noiseless: y1 == y2
    v = np.var(y, axis=0, ddof=1)
    m = np.mean(y**2, axis=0)
    expected = np.log(np.mean(v / (1e-4 * m)))
    np.testing.assert_allclose(float(adv.face_snr_leakage(y, y)), expected, rtol=1e-4)
    np.testing.assert_allclose(float(adv.face_snr_leakage(7 * y, 7 * y)), expected, rtol=1e-4)


def test_face_snr_on_a_noisy_sensor_sees_the_noise_floor():
    """Through the Sensor: B copies of one image measured twice → term ≈ 0; distinct images
    at a generous photon budget → clearly above 0."""
    from spjax.sensing import sensor as S

    s = S.Sensor.hadamard(8, 8, k=6, noise=S.NoiseModel(1e3))
    rng = np.random.default_rng(3)
    same = jnp.asarray(np.repeat(rng.random((1, 8, 8)), 2048, axis=0), jnp.float32)
    y1 = s(same, key=jax.random.key(0), sampler="reparam")
    y2 = s(same, key=jax.random.key(1), sampler="reparam")
    assert y1.shape == (2048, 6)  # split ± pairs already combined into K measurements
    assert abs(float(adv.face_snr_leakage(y1, y2))) < 0.2
    distinct = jnp.asarray(rng.random((2048, 8, 8)), jnp.float32)
    y1 = s(distinct, key=jax.random.key(0), sampler="reparam")
    y2 = s(distinct, key=jax.random.key(1), sampler="reparam")
    assert float(adv.face_snr_leakage(y1, y2)) > 0.5


@pytest.mark.parametrize(
    "y1, y2, message",
    [
        (np.zeros((4, 3)), np.zeros((4, 2)), "same shape"),
        (np.zeros((4, 3)), np.zeros((5, 3)), "same shape"),
        (np.zeros((4, 2, 3)), np.zeros((4, 2, 3)), "2-D"),
        (np.zeros(4), np.zeros(4), "2-D"),
        (np.zeros((1, 3)), np.zeros((1, 3)), "B ≥ 2"),
    ],
)
def test_face_snr_shape_errors(y1, y2, message):
    with pytest.raises(ValueError, match=message):
        adv.face_snr_leakage(y1, y2)


def test_face_snr_bad_eps_and_privacy_loss_points_to_it():
    with pytest.raises(ValueError, match="eps"):
        adv.face_snr_leakage(np.zeros((4, 3)), np.zeros((4, 3)), eps=-1.0)
    with pytest.raises(ValueError, match="face_snr_leakage"):
        adv.privacy_loss(jnp.zeros((2, 5)), jnp.array([0, 1]), "face_snr")


# -- the trainer ------------------------------------------------------------------------


def test_config_accepts_face_snr():
    from test_training import RECIPE

    from spjax.privacy.terms import PRIVACY_TERMS
    from spjax.training.build import validate_spvlm_config
    from spjax.training.config import apply_overrides, load_recipe

    for term in ("face_snr", "face_capacity", "identity_capacity"):
        assert term in PRIVACY_TERMS
        cfg = apply_overrides(load_recipe(RECIPE), [f"privacy.term={term}"])
        validate_spvlm_config(cfg)
        assert cfg.privacy.term == term


def _identity_faces(signal: float, seed: int = 0, b: int = 64, k: int = 12, ids: int = 30):
    """One shot of b faces of `ids` people: identity means scaled by `signal`, plus noise."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, ids, b)
    y = signal * rng.normal(size=(ids, k))[labels] + rng.normal(size=(b, k)) + 5.0
    return y.astype(np.float32), labels


def test_identity_capacity_grows_with_identity_signal_only():
    values = [
        float(adv.identity_capacity_leakage(*_identity_faces(s))) for s in (0.0, 0.3, 1.0, 3.0)
    ]
    assert values[0] < 0.02 and values == sorted(values) and values[-1] > 0.5
    # Variation shared by everyone (lighting, pose) is not identity: it costs nothing.
    y, labels = _identity_faces(0.0)
    common = np.random.default_rng(1).normal(size=(len(y), 1)) * np.linspace(1, 3, y.shape[1])
    assert float(adv.identity_capacity_leakage(y + 10 * common, labels)) < 0.02


def test_identity_capacity_ignores_linear_maps_and_has_gradients():
    y, labels = _identity_faces(1.0)
    mix = np.random.default_rng(2).normal(size=(y.shape[1], y.shape[1])).astype(np.float32)
    base = float(adv.identity_capacity_leakage(y, labels))
    np.testing.assert_allclose(
        float(adv.identity_capacity_leakage(40.0 * y @ mix - 3.0, labels)), base, rtol=0.1
    )
    g = jax.jit(jax.grad(adv.identity_capacity_leakage))(jnp.asarray(y), jnp.asarray(labels))
    assert np.all(np.isfinite(np.asarray(g))) and float(jnp.abs(g).max()) > 0
    with pytest.raises(ValueError, match="labels"):
        adv.identity_capacity_leakage(y, labels[:-1])
    with pytest.raises(ValueError, match="identity_capacity_leakage"):
        adv.privacy_loss(jnp.zeros((4, 3)), jnp.zeros(4, jnp.int32), "identity_capacity")


@pytest.mark.slow
@pytest.mark.parametrize("term", ["face_snr", "identity_capacity"])
def test_tiny_private_run_is_finite_and_logs_the_term(tmp_path, term):
    from test_training import TINY_DECODER, tiny_config

    from spjax.training.trainer import SPVLMTrainer

    recipe = tmp_path / "decoder_recipe.py"
    recipe.write_text(TINY_DECODER)
    cfg = tiny_config(
        (str(recipe), str(tmp_path / "cache")),
        f"privacy.term={term}",
        "train.steps=3",
        "train.eval_every=3",
        "train.checkpoint_every=3",
    )
    metrics = SPVLMTrainer(cfg, tmp_path / "run").train()
    for key in ("task_loss", "privacy_loss", term, "adversary_accuracy_worst", "grad_norm"):
        assert np.isfinite(metrics[key]), key
    assert metrics["privacy_loss"] == metrics[term]
    assert metrics["privacy_weight"] > 0
