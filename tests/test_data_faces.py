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


@pytest.mark.parametrize(
    "kwargs, word",
    [
        (dict(n_identities=0, per_identity=1), "n_identities"),
        (dict(n_identities=1, per_identity=0), "per_identity"),
        (dict(n_identities=1, per_identity=1, size=4), "size"),
        (dict(n_identities=1, per_identity=1, identity_offset=-1), "identity_offset"),
    ],
)
def test_faces_bad_arguments(kwargs, word):
    n, p = kwargs.pop("n_identities"), kwargs.pop("per_identity")
    with pytest.raises(ValueError, match=word):
        generate_faces(n, p, **kwargs)


def lda_accuracy(train: dict, test: dict, shrink: float = 0.1) -> float:
    """Fisher LDA on pixels (nearest class mean under the shared within-class covariance,
    shrunk towards a scaled identity): a small classifier trained here, closed form and fast."""
    x = train["image"].reshape(len(train["image"]), -1).astype(np.float64)
    xt = test["image"].reshape(len(test["image"]), -1).astype(np.float64)
    classes = np.unique(train["identity"])
    means = np.stack([x[train["identity"] == c].mean(0) for c in classes])
    within = x - means[np.searchsorted(classes, train["identity"])]
    cov = within.T @ within / len(x)
    cov = (1 - shrink) * cov + shrink * np.trace(cov) / len(cov) * np.eye(len(cov))
    chol = np.linalg.cholesky(cov)  # Mahalanobis distance = Euclidean after solving with L
    zt = np.linalg.solve(chol, xt.T).T
    zm = np.linalg.solve(chol, means.T).T
    d = (zt**2).sum(1)[:, None] - 2 * zt @ zm.T + (zm**2).sum(1)[None]
    return float((classes[np.argmin(d, 1)] == test["identity"]).mean())


def test_identity_separability_50_identities_32px():
    """Held-out samples of 50 identities at 32×32 are identified >= 90 % of the time (chance 2 %)."""
    tr = generate_faces(50, 40, size=32, seed=1)
    te = generate_faces(50, 10, size=32, seed=2)  # same identities, fresh nuisance
    acc = lda_accuracy(tr, te)
    print(
        f"identity separability: {acc:.3f} held-out accuracy over 50 identities at 32x32 (chance 0.02)"
    )
    assert acc >= 0.90
    # Without identity information (labels shuffled) the same classifier is at chance level,
    # so the accuracy above comes from the identities, not from the protocol.
    rng = np.random.default_rng(0)
    shuffled = {**tr, "identity": rng.permutation(tr["identity"])}
    assert lda_accuracy(shuffled, te) < 0.1
