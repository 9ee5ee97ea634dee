"""Operator properties of every sensor kind (deepinv-style physics suite): adjointness,
autodiff transpose, pinv, fast == dense, split == signed, timing, noise, gradients, jit/vmap."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

import spjax.sensing as S

H = W = 4
N = H * W
TRAIN = np.random.default_rng(1).random((8, H, W)).astype(np.float32)
FIXED = [f for f in S.FAMILIES if f != "hadamard"]  # "hadamard" aliases hadamard:sequency
LEARNED = [f"learned:{p}" for p in S.PARAMETERIZATIONS]
ALL = FIXED + LEARNED


def make(name, rate=None, k=None, **kw):
    if name.startswith("learned:"):
        par = name.split(":", 1)[1]
        init = "hadamard" if par in ("hadamard_select", "binary") else "rademacher"
        return S.Sensor.learned(
            H, W, rate, k=k, parameterization=par, init=init, rngs=nnx.Rngs(0), **kw
        )
    frames = TRAIN if name == "hadamard:variance" else None
    return S.Sensor.family(name, H, W, rate, k=k, frames=frames, **kw)


def frames(seed=0, shape=(3,)):
    return jnp.asarray(np.random.default_rng(seed).random(shape + (H, W)), jnp.float32)


def close(a, b, tol=1e-4):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol * max(1.0, np.abs(b).max()))


def exact(subscripts, *operands):
    """A reference contraction in float64 NumPy: exact on every backend (a default-precision
    jnp.einsum runs in TF32 on NVIDIA GPUs, ~1e-3 relative)."""
    return np.einsum(subscripts, *(np.asarray(o, np.float64) for o in operands))


@pytest.mark.parametrize("name", ALL)
def test_noiseless_is_inner_product(name):
    s, x = make(name, 0.5), frames()
    close(s(x), exact("bhw,khw->bk", x, s.patterns()))
    assert s(x).shape == (3, s.k) and s.k == N // 2 and s.sampling_rate == 0.5


@pytest.mark.parametrize("name", ALL)
def test_adjointness(name):
    s, x = make(name, 0.5), frames()
    y = jnp.asarray(np.random.default_rng(2).standard_normal((3, s.k)), jnp.float32)
    close(exact("bk,bk->", s(x), y), exact("bhw,bhw->", x, s.adjoint(y)))


@pytest.mark.parametrize("name", ALL)
def test_adjoint_is_autodiff_transpose(name):
    s, x = make(name, 0.5), frames()
    y = jnp.asarray(np.random.default_rng(3).standard_normal((3, s.k)), jnp.float32)
    _, pull = jax.vjp(lambda f: s(f, check=False), x)
    close(pull(y)[0], s.adjoint(y))
    if name != "learned:hadamard_select":  # custom_vjp rules cannot be linearly transposed
        (xt,) = jax.linear_transpose(lambda f: s(f, check=False), x)(y)
        close(xt, s.adjoint(y))


@pytest.mark.parametrize("order", S.ORDERS)
def test_hadamard_rows_orthogonal(order):
    p = S.hadamard(H, W, order=order, frames=TRAIN if order == "variance" else None)
    a = p.reshape(N, N).astype(np.float64)
    np.testing.assert_array_equal(a @ a.T, N * np.eye(N))
    assert set(np.unique(p)) == {-1.0, 1.0}


@pytest.mark.parametrize("name", ALL)
def test_full_rate_pinv_recovers(name):
    s, x = make(name), frames()
    assert s.k == N
    close(s.pinv(s(x)), x, tol=2e-3)
    close(s.tikhonov(s(x), 1e-6), x, tol=2e-3)


@pytest.mark.parametrize("name", ALL)
def test_pinv_is_least_squares(name):
    s, x = make(name, 0.25), frames()
    xh = s.pinv(s(x))
    close(s(xh, check=False), s(x), tol=2e-3)  # consistent with the measurements
    a = np.asarray(s.patterns()).reshape(s.k, N).astype(np.float64)
    ref = (np.linalg.pinv(a) @ np.asarray(s(x), np.float64).T).T.reshape(xh.shape)
    close(xh, ref, tol=2e-3)


@pytest.mark.parametrize("name", [f for f in ALL if "hadamard" in f])
def test_fast_equals_dense(name):
    s = make(name, 0.5, noise=S.NoiseModel(50.0, dark=1.0, read_std=0.5))
    assert s.fast
    d = S.Sensor.from_patterns(s.patterns(), noise=s.noise)
    assert not d.fast and d.split == s.split
    x, key = frames(), jax.random.key(4)
    close(s(x, noiseless=True), d(x, noiseless=True))
    close(s.counts(x, key), d.counts(x, key), tol=1e-3)
    close(s.adjoint(s(x, noiseless=True)), d.adjoint(d(x, noiseless=True)))
    close(s.pinv(s(x, noiseless=True)), d.pinv(d(x, noiseless=True)), tol=1e-3)


@pytest.mark.parametrize(
    "name", [f for f in ALL if f not in ("bernoulli", "learned:binary", "learned:continuous")]
)
def test_split_equals_signed_without_noise(name):
    s, x = make(name, 0.5), frames()
    assert s.signed and s.split and s.physical_frames == 2 * s.k
    unsplit = S.Sensor.from_patterns(s.patterns(), split=False)
    close(s(x), unsplit(x))
    pp = s.physical_patterns()
    assert pp.shape == (2 * s.k, H, W) and float(pp.min()) >= 0 and float(pp.max()) <= 1
    close(pp[0::2] - pp[1::2], s.patterns())
    # the physical inner products, combined, give the signed measurement
    ph = exact("bhw,fhw->bf", x, pp)
    close(ph[:, 0::2] - ph[:, 1::2], s(x))


@pytest.mark.parametrize("name", ["hadamard:natural", "dct", "learned:hadamard_select"])
def test_pattern_timing(name):
    s_frame = make(name, 0.25)
    s_pat = make(name, 0.25, timing="pattern")
    static = jnp.broadcast_to(frames(5, (1,)), (2, 3, H, W))
    close(s_pat(static), s_frame(static))  # no motion: identical
    clip = frames(6, (2, 3))
    pp = np.asarray(s_pat.physical_patterns())
    f = pp.shape[0]
    c = np.asarray(clip, np.float64)
    nxt = np.concatenate([c[:, 1:], c[:, -1:]], axis=1)
    want = np.zeros((2, 3, f))
    for j in range(f):  # slot j sees the scene interpolated at t + j/F
        scene = (1 - j / f) * c + (j / f) * nxt
        want[..., j] = np.einsum("bthw,hw->bt", scene, pp[j])
    y_want = want[..., 0::2] - want[..., 1::2] if s_pat.split else want
    close(s_pat(clip), y_want)
    assert not np.allclose(np.asarray(s_pat(clip)), np.asarray(s_frame(clip)))


@pytest.mark.parametrize("sampler", ["exact", "reparam"])
def test_noise_statistics(sampler):
    nm = S.NoiseModel(photons=200.0, dark=3.0, read_std=2.0)
    s = S.Sensor.hadamard(H, W, k=4, noise=nm)
    x = jnp.broadcast_to(frames(7, (1,)), (20000, H, W))
    c = np.asarray(s.counts(x, jax.random.key(8), sampler=sampler), np.float64)
    lam = nm.photons * exact("hw,fhw->f", x[0], s.physical_patterns()) / N + nm.dark
    m = c.shape[0]
    var_want = lam + nm.read_std**2
    assert np.all(np.abs(c.mean(0) - lam) < 5 * np.sqrt(var_want / m))
    # var of the sample variance ≈ 2σ⁴/m (+ Poisson excess kurtosis, small here)
    assert np.all(np.abs(c.var(0) - var_want) < 6 * var_want * np.sqrt(2 / m))
    y = np.asarray(s(x, jax.random.key(9), sampler=sampler), np.float64)
    y0 = np.asarray(s(x[:1], noiseless=True))[0]
    y_var = 2 * var_want.mean() * (N / nm.photons) ** 2
    assert np.all(np.abs(y.mean(0) - y0) < 5 * np.sqrt(y_var / m))  # unbiased


@pytest.mark.parametrize("sampler", ["exact", "reparam"])
def test_zero_noise_where_no_light(sampler):
    s = S.Sensor.hadamard(H, W, k=8, noise=S.NoiseModel(1e4, adc_bits=10))
    x = jnp.zeros((5, H, W))
    np.testing.assert_array_equal(np.asarray(s.counts(x, jax.random.key(0), sampler=sampler)), 0)
    np.testing.assert_array_equal(np.asarray(s(x, jax.random.key(1), sampler=sampler)), 0)


def test_exact_counts_are_integers_and_poisson():
    s = S.Sensor.hadamard(H, W, k=3, noise=S.NoiseModel(30.0))
    c = np.asarray(s.counts(frames(), jax.random.key(5)))
    np.testing.assert_array_equal(c, np.round(c))  # photon counts, no read noise or ADC
    r = np.asarray(s.counts(frames(), jax.random.key(5), sampler="reparam"))
    assert not np.array_equal(r, np.round(r))  # the relaxation is continuous


def test_adc_quantises_and_clips():
    nm = S.NoiseModel(100.0, adc_bits=3, full_scale=50.0)
    s = S.Sensor.family("bernoulli", H, W, k=6, noise=nm)
    x = jnp.ones((64, H, W))  # bright: many counts saturate at 50
    c = np.asarray(s.counts(x, jax.random.key(0)))
    step = 50.0 / 7
    np.testing.assert_allclose(c / step, np.round(c / step), atol=1e-4)
    assert c.max() <= 50.0 + 1e-4 and c.min() >= 0
    assert np.isclose(c, 50.0).any()


@pytest.mark.parametrize("name", ALL)
def test_gradients_finite(name):
    s = make(name, 0.5, noise=S.NoiseModel(100.0, read_std=1.0, adc_bits=12))
    x, key = frames(), jax.random.key(0)
    gx = jax.grad(lambda f: jnp.sum(s(f, key, sampler="reparam", check=False) ** 2))(x)
    assert gx.shape == x.shape and np.isfinite(np.asarray(gx)).all() and np.any(gx != 0)
    gx0 = jax.grad(lambda f: jnp.sum(s(f, key, sampler="reparam", check=False)))(jnp.zeros_like(x))
    assert np.isfinite(np.asarray(gx0)).all()  # no light: still finite
    if s.learnable:
        g = nnx.grad(lambda m: jnp.mean(m(x, key, sampler="reparam") ** 2))(s)
        leaves = jax.tree.leaves(g)
        assert len(leaves) == 1  # only the Param; temperature is not differentiated
        assert np.isfinite(np.asarray(leaves[0])).all() and np.any(np.asarray(leaves[0]) != 0)


def test_hadamard_select_gradient_reaches_unselected_rows():
    s = S.Sensor.learned(H, W, k=4, parameterization="hadamard_select")
    x = frames()
    g = nnx.grad(lambda m: jnp.sum(m(x) ** 2))(s)
    gl = np.asarray(g.source.logits[...])
    sel = np.asarray(s.hadamard_rows())
    rest = np.setdiff1d(np.arange(N), sel)
    assert np.any(gl[rest] != 0) and np.isfinite(gl).all()


@pytest.mark.parametrize(
    "name",
    ["hadamard:cake_cutting", "gaussian", "learned:signed_binary", "learned:hadamard_select"],
)
def test_jit_and_vmap(name):
    s = make(name, 0.5, noise=S.NoiseModel(1e3, dark=1.0))
    x, key = frames(), jax.random.key(3)

    @nnx.jit
    def run(m, f, k):
        return m(f, k, sampler="reparam")

    close(run(s, x, key), s(x, key, sampler="reparam"))
    v = jax.vmap(lambda f: s(f, noiseless=True, check=False))(x)
    close(v, s(x, noiseless=True))
    vv = jax.vmap(lambda f, k: s(f, k, check=False))(x, jax.random.split(key, 3))
    assert vv.shape == (3, s.k)
    clips = frames(2, (2, 5))
    assert s(clips, noiseless=True).shape == (2, 5, s.k)  # (..., T, H, W) -> (..., T, K)


def test_optimizer_never_trains_fixed_patterns_or_temperature():
    fixed = S.Sensor.hadamard(H, W, 0.5)
    assert nnx.state(fixed, nnx.Param) == nnx.State({})
    learned = S.Sensor.learned(H, W, 0.5, parameterization="binary")
    opt = nnx.Optimizer(learned, optax.sgd(1.0), wrt=nnx.Param)
    t0 = float(learned.source.temperature[...])
    x = frames()
    grads = nnx.grad(lambda m: jnp.sum(m(x)))(learned)
    opt.update(learned, grads)
    assert float(learned.source.temperature[...]) == t0
    assert set(np.unique(np.asarray(learned.patterns()))) <= {0.0, 1.0}
    learned.set_temperature(0.1)
    assert np.isclose(float(learned.source.temperature[...]), 0.1)
    fixed.set_temperature(0.5)  # no relaxation on fixed patterns: checked, no effect
    with pytest.raises(ValueError, match="temperature must be > 0"):
        fixed.set_temperature(-1.0)

    @nnx.jit
    def anneal(m, t):
        m.set_temperature(t)

    anneal(learned, jnp.float32(0.25))  # traced temperature inside a jitted step
    assert np.isclose(float(learned.source.temperature[...]), 0.25)


def test_checked_call_under_jit():
    s = S.Sensor.hadamard(H, W, 0.5)
    close(S.checked(s, frames()), s(frames()))
    with pytest.raises(ValueError, match="NaN"):
        S.checked(s, frames().at[0, 0, 0].set(jnp.nan))
    with pytest.raises(ValueError, match="negative"):
        S.checked(s, frames().at[0, 0, 0].set(-0.1))


def test_describe_is_json():
    import json

    for name in ALL:
        d = make(name, 0.25, noise=S.NoiseModel(10.0)).describe()
        json.dumps(d)
        assert {"k", "h", "w", "split", "signed", "sampling_rate", "timing", "noise"} <= set(d)


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra.numpy import arrays  # noqa: E402


@settings(max_examples=15, deadline=None)
@given(
    raw=arrays(np.float32, (3, H, W), elements=st.floats(-5, 5, width=32)),
    par=st.sampled_from(["binary", "signed_binary"]),
    temp=st.floats(0.01, 10.0),
)
def test_binary_parameterizations_output_binary(raw, par, temp):
    s = S.Sensor.learned(H, W, k=3, parameterization=par, temperature=temp)
    s.source.values[...] = jnp.asarray(raw)
    want = {0.0, 1.0} if par == "binary" else {-1.0, 1.0}
    assert set(np.unique(np.asarray(s.patterns()))) <= want
    assert set(np.unique(np.asarray(s.source.train()))) <= want  # straight-through forward
    assert set(np.unique(np.asarray(s.physical_patterns()))) <= {0.0, 1.0}


def test_hadamard_select_outputs_hadamard_rows():
    s = S.Sensor.learned(H, W, k=5, parameterization="hadamard_select")
    s.source.logits[...] = jnp.asarray(np.random.default_rng(0).standard_normal(N), jnp.float32)
    rows = np.asarray(s.hadamard_rows())
    assert len(set(rows.tolist())) == 5
    np.testing.assert_array_equal(np.asarray(s.patterns()), S.hadamard_rows(H, W, rows))


@pytest.mark.parametrize(
    "name", ["hadamard:sequency", "dct", "learned:hadamard_select", "learned:signed_binary"]
)
def test_patterns_and_reconstruction_under_jit(name):
    s = make(name, 0.5)
    x = frames()

    @nnx.jit
    def run(m, f):
        y = m(f)
        return m.patterns(), m.physical_patterns(), m.pinv(y), m.tikhonov(y, 0.1)

    p, pp, xp, xt = run(s, x)
    close(p, s.patterns())
    close(pp, s.physical_patterns())
    close(xp, s.pinv(s(x)), tol=1e-3)
    close(xt, s.tikhonov(s(x), 0.1), tol=1e-3)
