import numpy as np
import pytest

from spjax.data.faces import TRAIT_NAMES, generate_faces, identity_traits


def test_faces_shape_range_and_determinism():
    a = generate_faces(3, 4, size=32, seed=5)
    b = generate_faces(3, 4, size=32, seed=5)
    assert a["image"].shape == (12, 32, 32) and a["image"].dtype == np.float32
    assert a["image"].min() >= 0 and a["image"].max() <= 1
    assert a["image"].tobytes() == b["image"].tobytes()
    np.testing.assert_array_equal(a["identity"], np.repeat(np.arange(3), 4))
    c = generate_faces(3, 4, size=32, seed=6)
    assert not np.array_equal(a["image"], c["image"])


def test_faces_64_and_offsets():
    d = generate_faces(2, 2, size=64, identity_offset=10)
    assert d["image"].shape == (4, 64, 64)
    np.testing.assert_array_equal(d["identity"], [10, 10, 11, 11])


def test_traits_stable_per_identity():
    full = identity_traits(np.arange(10), seed=3)
    sub = identity_traits(np.array([7, 2]), seed=3)
    assert set(full) == set(TRAIT_NAMES)
    for k in TRAIT_NAMES:
        np.testing.assert_array_equal(sub[k], full[k][[7, 2]])
    other = identity_traits(np.arange(10), seed=4)
    assert not np.array_equal(other["face_w"], full["face_w"])


def test_canonical_faces_of_one_identity_are_identical():
    d = generate_faces(2, 3, nuisance=0.0, seed=1)
    assert np.array_equal(d["image"][0], d["image"][2])
    assert not np.array_equal(d["image"][0], d["image"][3])


@pytest.mark.parametrize("kwargs, word", [
    (dict(n_identities=0, per_identity=1), "n_identities"),
    (dict(n_identities=1, per_identity=0), "per_identity"),
    (dict(n_identities=1, per_identity=1, size=4), "size"),
    (dict(n_identities=1, per_identity=1, identity_offset=-1), "identity_offset"),
])
def test_faces_bad_arguments(kwargs, word):
    n, p = kwargs.pop("n_identities"), kwargs.pop("per_identity")
    with pytest.raises(ValueError, match=word):
        generate_faces(n, p, **kwargs)


def test_identity_separability_50_identities_32px():
    """A small classifier trained here identifies >= 90 % of held-out samples (chance 2 %)."""
    import jax
    import jax.numpy as jnp
    import optax

    tr = generate_faces(50, 40, size=32, seed=1)
    te = generate_faces(50, 10, size=32, seed=2)  # same identities, fresh nuisance
    x, xt = tr["image"].reshape(2000, -1), te["image"].reshape(500, -1)
    mu, sd = x.mean(0), x.std(0) + 1e-3
    x, xt = (x - mu) / sd, (xt - mu) / sd
    _, s, vt = np.linalg.svd(x, full_matrices=False)
    proj = vt[:160].T / s[:160] * np.sqrt(len(x))  # PCA whitening keeps the MLP small and fast
    x, xt = x @ proj, xt @ proj
    k1, k2 = jax.random.split(jax.random.key(0))
    params = {"w1": jax.random.normal(k1, (160, 128)) / np.sqrt(160), "b1": jnp.zeros(128),
              "w2": jax.random.normal(k2, (128, 50)) / np.sqrt(128), "b2": jnp.zeros(50)}

    def logits(p, v):
        return jax.nn.relu(v @ p["w1"] + p["b1"]) @ p["w2"] + p["b2"]

    def loss(p):
        return optax.softmax_cross_entropy_with_integer_labels(logits(p, x), tr["identity"]).mean()

    opt = optax.adam(3e-3)
    state = opt.init(params)

    @jax.jit
    def step(p, st):
        g = jax.grad(loss)(p)
        u, st = opt.update(g, st)
        return optax.apply_updates(p, u), st

    for _ in range(200):
        params, state = step(params, state)
    acc = float((np.argmax(logits(params, xt), 1) == te["identity"]).mean())
    print(f"identity separability: {acc:.3f} held-out accuracy over 50 identities at 32x32")
    assert acc >= 0.90
