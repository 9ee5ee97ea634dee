"""Pattern families, Hadamard orderings and the fast Walsh–Hadamard transform."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg
import scipy.ndimage
from hypothesis import given, settings
from hypothesis import strategies as st

import spjax.sensing as S

FRAMES = np.random.default_rng(0).random((16, 8, 8)).astype(np.float32)


@settings(max_examples=10, deadline=None)
@given(bits=st.integers(0, 7), batch=st.integers(1, 3), seed=st.integers(0, 2**16))
def test_fwht_matches_sylvester_matrix(bits, batch, seed):
    n = 2**bits
    x = np.random.default_rng(seed).standard_normal((batch, n)).astype(np.float32)
    np.testing.assert_allclose(
        np.asarray(S.fwht(x)), x @ scipy.linalg.hadamard(n).T, rtol=1e-4, atol=1e-4 * n
    )


def test_fwht_axis_involution_and_transpose():
    x = jnp.asarray(np.random.default_rng(1).standard_normal((4, 16, 3)), jnp.float32)
    y = S.fwht(x, axis=1)
    np.testing.assert_allclose(np.asarray(S.fwht(y, axis=1)) / 16, np.asarray(x), atol=1e-5)
    (xt,) = jax.linear_transpose(lambda v: S.fwht(v, axis=1), x)(y)
    np.testing.assert_allclose(np.asarray(xt), np.asarray(S.fwht(y, axis=1)), atol=1e-4)
    with pytest.raises(ValueError, match="power of two"):
        S.fwht(jnp.ones((3, 12)))


def test_walsh_sequency_counts_sign_changes():
    for n in (1, 2, 8, 64):
        h = scipy.linalg.hadamard(n)
        np.testing.assert_array_equal(S.walsh_sequency(n), (np.diff(h, axis=1) != 0).sum(1))


def test_natural_order_is_sylvester_rows():
    p = S.hadamard(4, 8, order="natural")
    np.testing.assert_array_equal(p.reshape(32, 32), scipy.linalg.hadamard(32))


@pytest.mark.parametrize("order", S.ORDERS)
def test_orders_are_permutations_with_their_key_sorted(order):
    h, w = 8, 8
    fr = FRAMES if order == "variance" else None
    perm = S.hadamard_indices(h, w, order, frames=fr)
    assert sorted(perm.tolist()) == list(range(h * w))
    p = S.hadamard(h, w, order=order, frames=fr)
    flat = p.reshape(len(p), -1)
    if order == "sequency":
        key = (np.diff(flat, axis=1) != 0).sum(1)
    elif order == "cake_cutting":
        key = [scipy.ndimage.label(q > 0)[1] + scipy.ndimage.label(q < 0)[1] for q in p]
    elif order == "low_frequency":
        key = (np.diff(p, axis=1) != 0).sum((1, 2)) // w + (np.diff(p, axis=2) != 0).sum(
            (1, 2)
        ) // h
    elif order == "variance":
        key = -np.var(FRAMES.reshape(16, -1) @ flat.T, axis=0)
    else:
        key = perm
    assert np.all(np.diff(np.asarray(key, np.float64)) >= -1e-6), order
    assert np.all(p[0] == 1) or order == "variance"  # DC first for the structured orders


def test_k_and_rate():
    assert S.hadamard(8, 8, k=5).shape == (5, 8, 8)
    assert S.resolve_k(8, 8, rate=0.1) == 6
    assert S.resolve_k(8, 8) == 64


@pytest.mark.parametrize("name", S.FAMILIES)
def test_families_shape_range_sign(name):
    fr = FRAMES if name == "hadamard:variance" else None
    p, signed = S.pattern_family(name, 8, 8, 12, seed=3, frames=fr)
    assert p.shape == (12, 8, 8) and p.dtype == np.float32
    assert p.min() >= -1 and p.max() <= 1
    assert signed == bool((p < 0).any())
    if name == "bernoulli":
        assert set(np.unique(p)) <= {0.0, 1.0}
    if name == "rademacher" or name.startswith("hadamard"):
        assert set(np.unique(p)) == {-1.0, 1.0}
    p2, _ = S.pattern_family(name, 8, 8, 12, seed=3, frames=fr)
    np.testing.assert_array_equal(p, p2)  # deterministic in the seed


def test_dct_low_frequency_first_and_orthogonal():
    p = S.dct_patterns(8, 8)
    np.testing.assert_allclose(p[0], 1.0)
    g = p.reshape(64, 64) @ p.reshape(64, 64).T
    np.testing.assert_allclose(g - np.diag(np.diag(g)), 0, atol=1e-4)
