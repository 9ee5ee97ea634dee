"""Every contraction of `spjax.sensing` asks for full float32 precision.

XLA on NVIDIA GPUs multiplies float32 matrices in TF32 by default (≈ 1e-3 relative) and TPUs
in bfloat16 passes, so a physics contraction that leaves `precision` unset is silently
inexact there while every CPU test passes. This test runs on the CPU: it traces each public
path (forward with and without noise, split and pattern timing, counts, adjoint, pinv,
Tikhonov, lift, Gram, the identity-null projection, and their gradients) to a jaxpr and fails
on any dot_general or convolution without `Precision.HIGHEST` on both operands.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import spjax.sensing as S
from spjax.sensing.identity_null import IdentityBasis, identity_null_sensor

H = W = 8
CONTRACTIONS = ("dot_general", "conv_general_dilated", "ragged_dot", "ragged_dot_general")
HIGHEST = jax.lax.Precision.HIGHEST
ADDS_ONLY = {"hadamard/fwht"}  # the full transform's butterflies add; nothing multiplies


def _subjaxprs(value):
    """Jaxprs held in an equation parameter (closed or open, alone or in tuples: cond)."""
    if isinstance(value, jax.extend.core.ClosedJaxpr):
        yield value.jaxpr
    elif isinstance(value, jax.extend.core.Jaxpr):
        yield value
    elif isinstance(value, (tuple, list)):
        for v in value:
            yield from _subjaxprs(v)


def contractions(jaxpr):
    """(primitive name, precision) of every contraction in `jaxpr` and its sub-jaxprs."""
    found = []
    for eqn in jaxpr.eqns:
        if eqn.primitive.name in CONTRACTIONS:
            found.append((eqn.primitive.name, eqn.params.get("precision")))
        for value in eqn.params.values():
            for sub in _subjaxprs(value):
                found += contractions(sub)
    return found


def _is_highest(precision) -> bool:
    if precision is None:
        return False
    parts = precision if isinstance(precision, tuple) else (precision,)
    return all(p == HIGHEST for p in parts)


def imprecise(fn, *args):
    """(all contractions, the ones without HIGHEST) of `fn(*args)`."""
    found = contractions(jax.make_jaxpr(fn)(*args).jaxpr)
    return found, [c for c in found if not _is_highest(c[1])]


def _basis():
    rng = np.random.default_rng(0)
    ids = np.repeat(np.arange(12), 4)
    x = rng.normal(size=(12, H * W))[ids] * 3 + rng.normal(size=(len(ids), H * W)) + 0.5
    return IdentityBasis.estimate(x.reshape(-1, H, W), ids)


def sensors():
    """One sensor per contraction path (name, sensor)."""
    noise = S.NoiseModel(100.0, dark=1.0, read_std=0.5, adc_bits=12)
    out = []
    for fam in S.FAMILIES:  # dense families and the fast Hadamard paths
        frames = np.random.default_rng(1).random((8, H, W)) if fam == "hadamard:variance" else None
        out.append((fam, S.Sensor.family(fam, H, W, 0.25, noise=noise, frames=frames)))
    for path in S.HADAMARD_PATHS:
        out.append((f"hadamard/{path}", S.Sensor.hadamard(H, W, 0.25, noise=noise, path=path)))
    out.append(("hadamard/pattern-timing", S.Sensor.hadamard(H, W, 0.25, timing="pattern")))
    for par in S.PARAMETERIZATIONS:
        init = "hadamard" if par == "hadamard_select" else "rademacher"
        s = S.Sensor.learned(
            H, W, 0.25, parameterization=par, init=init, noise=noise, rngs=nnx.Rngs(0)
        )
        out.append((f"learned:{par}", s))
    gray = np.random.default_rng(2).uniform(-1, 1, (16, H, W)).astype(np.float32)
    out.append(("patterns/gray-split", S.Sensor.from_patterns(gray, noise=noise)))
    out.append(("patterns/signed-unsplit", S.Sensor.from_patterns(gray, split=False)))
    out.append(("patterns/pattern-timing", S.Sensor.from_patterns(gray, timing="pattern")))
    init = np.random.default_rng(3).choice([-1.0, 1.0], size=(16, H, W))
    out.append(("identity_null", identity_null_sensor(_basis(), 4, init, noise=noise)))
    return out


SENSORS = sensors()


def paths(sensor):
    """(name, function, args) of every traceable operation of `sensor`."""
    x = jnp.asarray(np.random.default_rng(4).random((2, 3, H, W)), jnp.float32)
    y = jnp.asarray(np.random.default_rng(5).standard_normal((2, 3, sensor.k)), jnp.float32)
    key = jax.random.key(0)
    noisy = sensor.noise is not None

    def forward(f):
        if noisy:
            return sensor(f, key, sampler="reparam", check=False)
        return sensor(f, check=False)

    ops = [
        ("forward", forward, (x,)),
        ("forward/noiseless", lambda f: sensor(f, noiseless=True, check=False), (x,)),
        ("adjoint", sensor.adjoint, (y,)),
        ("pinv", sensor.pinv, (y,)),
        ("tikhonov", lambda v: sensor.tikhonov(v, 0.5), (y,)),
        ("lift", sensor.lift, (y,)),
        ("gram", sensor.gram, ()),
        ("patterns", sensor.patterns, ()),
        ("physical_patterns", sensor.physical_patterns, ()),
        ("grad/frames", jax.grad(lambda f: jnp.sum(forward(f) ** 2)), (x,)),
        ("grad/lift", jax.grad(lambda v: jnp.sum(sensor.lift(v) ** 2)), (y,)),
    ]
    for method in S.RECON_METHODS:
        ops.append((f"reconstruct/{method}", lambda v, m=method: S.reconstruct(sensor, v, m), (y,)))
    if noisy:
        ops.append(("counts", lambda f: sensor.counts(f, key, check=False), (x,)))
        ops.append(("counts/exact", lambda f: sensor.counts(f, key, sampler="exact"), (x,)))
    if sensor.learnable:
        graphdef, params, rest = nnx.split(sensor, nnx.Param, ...)

        def loss(p):  # the training gradient: forward and lift, back to the patterns
            s = nnx.merge(graphdef, p, rest)
            m = s(x, key, sampler="reparam", check=False) if noisy else s(x, check=False)
            return jnp.sum(m**2) + jnp.sum(s.lift(m) ** 2)

        ops.append(("grad/params", jax.grad(loss), (params,)))
    return ops


@pytest.mark.parametrize("name, sensor", SENSORS, ids=[n for n, _ in SENSORS])
def test_every_sensing_contraction_states_highest_precision(name, sensor):
    seen = 0
    for op, fn, args in paths(sensor):
        found, bad = imprecise(fn, *args)
        seen += len(found)
        assert not bad, f"{name}.{op}: contractions without Precision.HIGHEST: {bad}"
    if name in ADDS_ONLY:
        assert seen == 0, f"{name}: expected additions only (the FWHT), found {seen} products"
    else:
        assert seen > 0, f"{name}: no contraction traced (the check would be vacuous)"


def test_identity_null_projection_of_jax_arrays_is_highest():
    basis = _basis()
    flat = jnp.ones((3, H * W))
    found, bad = imprecise(
        lambda f: S.identity_null.project_out(
            f, jnp.asarray(basis.dual[:, :4]), jnp.asarray(basis.directions[:, :4])
        ),
        flat,
    )
    assert len(found) == 2 and not bad


def test_the_check_catches_a_default_precision_contraction():
    x = jnp.ones((2, 4))
    found, bad = imprecise(lambda a: jnp.einsum("bn,kn->bk", a, a), x)
    assert found and bad  # the detector is not vacuous
    found, bad = imprecise(lambda a: jnp.einsum("bn,kn->bk", a, a, precision=HIGHEST), x)
    assert found and not bad
    # Sub-jaxprs (jit, cond, scan) are searched too.
    nested = jax.jit(lambda a: jax.lax.cond(True, lambda b: b @ b.T, lambda b: b @ b.T, a))
    assert imprecise(nested, x)[1]
