"""The separable Hadamard path (`SeparablePlan`) against the dense definition and the FWHT path."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from hypothesis import given, settings
from hypothesis import strategies as st

import spjax.sensing as S
from spjax.sensing.patterns import hadamard_rows
from spjax.sensing.transforms import SeparablePlan


def _dense(h, w, rows):
    return hadamard_rows(h, w, rows).reshape(len(rows), -1).astype(np.float64)


@st.composite
def _plans(draw):
    h = 2 ** draw(st.integers(0, 5))
    w = 2 ** draw(st.integers(0, 5))
    n = h * w
    k = draw(st.integers(1, n))
    step = 2 ** draw(st.integers(0, 3))  # multiples of a power of two exercise the block sums
    pool = np.arange(0, n, step) if n > step else np.arange(n)
    rows = draw(st.permutations(pool.tolist()))[: min(k, len(pool))]
    return h, w, np.asarray(rows)


@settings(max_examples=15, deadline=None)  # each example compiles its own shapes
@given(_plans(), st.integers(0, 2**31 - 1))
def test_plan_measures_and_adjoints_like_the_dense_rows(case, seed):
    h, w, rows = case
    plan = SeparablePlan.build(h, w, rows)
    a = _dense(h, w, rows)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((3, h, w)).astype(np.float32)
    y = rng.standard_normal((3, len(rows))).astype(np.float32)
    np.testing.assert_allclose(plan.measure(jnp.asarray(x)), x.reshape(3, -1) @ a.T, atol=1e-3)
    np.testing.assert_allclose(
        np.asarray(plan.adjoint(jnp.asarray(y))).reshape(3, -1), y @ a, atol=1e-3
    )


def test_block_sums_are_used_where_the_rows_allow():
    plan = SeparablePlan.build(64, 64, S.Sensor.hadamard(64, 64, 0.1).hadamard_rows())
    assert plan.row_block == 2  # low frequency at 10 %: even 1-D rows
    only_first = SeparablePlan.build(8, 8, np.arange(8))  # one vertical row (i = 0)
    assert only_first.row_block == 8 and only_first.row_mat.shape == (1, 1)


@pytest.mark.parametrize("side, rate", [(8, 1.0), (32, 0.1), (64, 0.01), (16, 0.3)])
def test_separable_and_fwht_paths_agree_through_the_sensor(side, rate):
    x = jax.random.uniform(jax.random.key(1), (4, side, side))
    sep = S.Sensor.hadamard(side, side, rate, path="separable")
    fw = S.Sensor.hadamard(side, side, rate, path="fwht")
    assert (sep.source.path, fw.source.path) == ("separable", "fwht")
    scale = float(side * side)
    np.testing.assert_allclose(sep(x), fw(x), atol=1e-5 * scale)
    y = sep(x)
    np.testing.assert_allclose(sep.adjoint(y), fw.adjoint(y), atol=1e-5 * scale * sep.k)
    np.testing.assert_allclose(sep.pinv(y), fw.pinv(y), atol=1e-4)
    # The split ± frames and pattern-synchronous timing go through the same measurement.
    clip = jax.random.uniform(jax.random.key(2), (2, 3, side, side))
    timed_fw = S.Sensor.hadamard(side, side, rate, timing="pattern", path="fwht")
    timed_sep = S.Sensor.hadamard(side, side, rate, timing="pattern", path="separable")
    np.testing.assert_allclose(timed_sep(clip), timed_fw(clip), atol=1e-5 * scale)


def test_gradient_of_the_separable_measurement_is_the_adjoint():
    s = S.Sensor.hadamard(16, 32, 0.2)
    assert s.source.path == "separable"
    x = jax.random.uniform(jax.random.key(0), (2, 16, 32))
    v = jax.random.normal(jax.random.key(1), (2, s.k))
    hi = jax.lax.Precision.HIGHEST  # the reference product exact on every backend
    g = jax.grad(lambda f: jnp.vdot(s(f, check=False), v, precision=hi))(x)
    np.testing.assert_allclose(g, s.adjoint(v), atol=1e-3)


def test_the_plan_is_static_structure_of_the_module():
    a, b = S.Sensor.hadamard(32, 32, 0.1), S.Sensor.hadamard(32, 32, 0.1)
    assert nnx.graphdef(a) == nnx.graphdef(b)  # equal plans: one jit cache entry
    state = nnx.state(a)
    assert [type(v).__name__ for v in jax.tree.leaves(state)] == ["ArrayImpl"]  # row_index only
    c = S.Sensor.hadamard(32, 32, 0.2)
    assert nnx.graphdef(a) != nnx.graphdef(c)


def test_auto_path_and_a_bad_path_name():
    assert S.Sensor.hadamard(64, 64, 0.1).source.path == "separable"  # 10 %: products are cheaper
    with pytest.raises(ValueError, match="path must be one of"):
        S.Sensor.hadamard(8, 8, 0.5, path="dense")


def test_plan_rejects_bad_sizes_and_rows():
    with pytest.raises(ValueError, match="power-of-two"):
        SeparablePlan.build(12, 16, [0, 1])
    with pytest.raises(ValueError, match="indices"):
        SeparablePlan.build(8, 8, [0, 64])
    with pytest.raises(ValueError, match="indices"):
        SeparablePlan.build(8, 8, [])
    with pytest.raises(ValueError, match="distinct"):
        SeparablePlan.build(8, 8, [3, 3])
