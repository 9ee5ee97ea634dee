"""Fresh attackers find planted leakage and report chance when there is none; scoring, the
pooled-binomial leak rule and critical-rate logic by hand."""

import math

import numpy as np
import pytest

from spjax.privacy import attackers as A
from spjax.privacy import leakage as L
from spjax.privacy.leakage import critical_sampling_rate, leaks, worst_case

C, D = 10, 32


def _splits(planted: bool, seed: int = 0):
    rng = np.random.default_rng(seed)
    centroids = rng.normal(size=(C, D))
    held_centroids = rng.normal(size=(8, D))

    def make(per, cents, n_classes):
        ids = np.repeat(np.arange(n_classes), per)
        x = rng.normal(size=(len(ids), D))
        if planted:
            x = x + cents[ids]
        return A.Split(x, ids)

    return (
        make(8, centroids, C),
        make(3, centroids, C),
        make(4, centroids, C),
        make(6, held_centroids, 8),
    )


@pytest.fixture(scope="module")
def planted_results():
    tr, va, te, ho = _splits(True)
    return {n: A.run_attacker(n, tr, va, te, ho, seed=0, quick=True) for n in A.ATTACKERS}


@pytest.fixture(scope="module")
def null_results():
    tr, va, te, ho = _splits(False, seed=1)
    return {n: A.run_attacker(n, tr, va, te, ho, seed=0, quick=True) for n in A.ATTACKERS}


@pytest.mark.parametrize("name", A.ATTACKERS)
def test_attacker_finds_planted_leakage(planted_results, name):
    r = planted_results[name]
    # chance is 0.1; class means differ by ~1.4 noise-std per dimension over 32 dims.
    assert r["top1"] >= 0.5, r
    assert r["top5"] >= r["top1"]
    # Held-out identities, never trained on: far above the 1 % of a blind verifier.
    assert r["tar@far=0.01"] >= 0.15, r


@pytest.mark.parametrize("name", A.ATTACKERS)
def test_attacker_reports_chance_without_leakage(null_results, name):
    r = null_results[name]
    n_test = C * 4
    sigma = math.sqrt(0.1 * 0.9 / n_test)
    assert r["top1"] <= 0.1 + 4 * sigma, r
    assert r["tar@far=0.01"] <= 0.1, r


def test_worst_case_is_the_strongest_and_leaks(planted_results):
    agg = {n: A.aggregate([r]) for n, r in planted_results.items()}
    w = worst_case(agg, 0.1)
    assert w["top1"] == max(r["top1"] for r in planted_results.values())
    assert w["pooled"] == {"correct": round(w["top1"] * C * 4), "n": C * 4}
    lk = L.leak_test({n: a["pooled"] for n, a in agg.items()}, 0.1)
    assert lk["comparisons"] == len(A.ATTACKERS) and lk["leaks"] and leaks({"leak": lk})
    assert lk["lower_bound"] >= 0.2 and lk["p_value"] < 1e-6


def test_aggregate_pools_predictions_over_seeds():
    runs = [
        {"top1": 0.5, "n_correct": 10, "n_test": 20, "hparams": {}},
        {"top1": 0.25, "n_correct": 5, "n_test": 20, "hparams": {}},
    ]
    out = A.aggregate(runs)
    assert out["pooled"] == {"correct": 15, "n": 40}
    assert out["top1"]["mean"] == pytest.approx(0.375) and out["top1"]["values"] == [0.5, 0.25]


def test_closed_form_attackers_are_exact_under_an_orthogonal_sensor():
    """In the unstandardised ("global") basis, LDA and ridge decide exactly alike on the inputs
    and on any orthogonal map of them: a full-rate Hadamard sensor gives them the pixel result."""
    tr, va, te, _ = _splits(True, seed=3)
    q, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(D, D)))
    pred = {}
    for tag, m in (("plain", np.eye(D)), ("rotated", q.T)):
        xtr, xte = A._global_scale(tr.x @ m, te.x @ m)
        lda = A._ShrinkageLDA(xtr, tr.y, C)
        ridge = A._Ridge(xtr, tr.y, C)
        pred[tag] = (lda.scores(xte, 0.1).argmax(1), (xte @ ridge.weights(1.0)).argmax(1))
    for a, b in zip(pred["plain"], pred["rotated"]):
        np.testing.assert_array_equal(a, b)
    assert (pred["plain"][0] == te.y).mean() >= 0.5  # and they do identify


def test_topk_and_constant_scores_give_chance():
    scores = np.array([[0.1, 0.9, 0.0], [0.5, 0.2, 0.3], [0.2, 0.3, 0.5]])
    labels = np.array([1, 2, 0])
    assert A.topk_accuracy(scores, labels, 1) == pytest.approx(1 / 3)
    assert A.topk_accuracy(scores, labels, 2) == pytest.approx(2 / 3)
    flat = np.zeros((30, 3))
    assert A.topk_accuracy(flat, np.arange(30) % 3, 1) == pytest.approx(1 / 3)


def test_tar_at_far_by_hand():
    # Two identities, two images each, orthogonal identity directions plus a small wobble.
    e = np.array([[1, 0.0], [1, 0.1], [0.0, 1], [0.2, 1]])
    labels = np.array([0, 0, 1, 1])
    # 2 genuine pairs, 4 impostor pairs: FAR=0.25 allows 1 impostor above the threshold.
    out = A.tar_at_far(e, labels, fars=(0.25, 0.01))
    assert out["tar@far=0.25"] == 1.0
    assert math.isnan(out["tar@far=0.01"])  # fewer than 1/FAR impostor pairs


def test_split_validates_shapes():
    with pytest.raises(ValueError, match="Split.x"):
        A.Split(np.zeros(3), np.zeros(3))
    with pytest.raises(ValueError, match="Split.y"):
        A.Split(np.zeros((3, 2)), np.zeros(2))
    with pytest.raises(ValueError, match="name"):
        tr, va, te, _ = _splits(True)
        A.run_attacker("svm", tr, va, te)


def _leak(correct, n=80, chance=0.1, attacks=1):
    pooled = {f"a{i}": {"correct": correct if i == 0 else 0, "n": n} for i in range(attacks)}
    return {"leak": {"by_attack": pooled, "chance": chance}}


def test_critical_sampling_rate_picks_smallest_leaking_rate():
    results = {
        0.005: _leak(9),  # at chance
        0.01: _leak(18),  # 2.25x chance: the bound is below 2x chance
        0.02: _leak(32),  # 4x chance: a leak
        0.05: _leak(60),
    }
    out = critical_sampling_rate(results)
    assert out["rate"] == 0.02 and out["monotone"] and out["rule"] == L.RULE
    assert [r["leaks"] for r in out["per_rate"]] == [False, False, True, True]
    assert critical_sampling_rate(results, margin=5.0)["rate"] == 0.05
    assert critical_sampling_rate({0.01: results[0.005]})["rate"] is None
    with pytest.raises(ValueError, match="results_by_rate"):
        critical_sampling_rate({})
    with pytest.raises(ValueError, match="leak"):
        critical_sampling_rate({0.01: {"worst_case": {"top1": 0.5, "chance": 0.1}}})


def test_binomial_bound_by_hand():
    # All n correct: P(X >= n | p) = p^n = 1 - conf  ->  p = (1 - conf)^(1/n).
    assert L.binomial_lower_bound(10, 10, 0.95) == pytest.approx(0.05**0.1, rel=1e-9)
    assert L.binomial_lower_bound(0, 10, 0.95) == 0.0
    # One trial, one success: p = 1 - conf.
    assert L.binomial_lower_bound(1, 1, 0.9) == pytest.approx(0.1, rel=1e-9)
    assert L.binomial_sf(0, 5, 0.3) == 1.0
    assert L.binomial_sf(5, 5, 0.5) == pytest.approx(1 / 32)
    # P(X >= 1) = 1 - (1 - p)^n
    assert L.binomial_sf(1, 20, 0.1) == pytest.approx(1 - 0.9**20)
    # Large n stays finite (log space).
    assert 0.45 < L.binomial_lower_bound(600, 1200, 0.99) < 0.5
    with pytest.raises(ValueError, match="correct/n"):
        L.binomial_lower_bound(11, 10, 0.95)
    with pytest.raises(ValueError, match="confidence"):
        L.binomial_lower_bound(1, 10, 1.0)


def test_leak_rule_calls_every_4x_chance_a_leak_and_adjusts_for_many_attacks():
    # 80 pooled predictions, chance 0.1 (the quick benchmark's size): every accuracy from
    # 4x chance up is a leak, even when 8 attacks are compared.
    for k in range(32, 81):
        assert L.leak_test(
            {"a": {"correct": k, "n": 80}, **{f"b{i}": {"correct": 0, "n": 80} for i in range(7)}},
            0.1,
        )["leaks"]
    one = L.leak_test({"a": {"correct": 25, "n": 80}}, 0.1)
    many = L.leak_test(
        {"a": {"correct": 25, "n": 80}, **{f"b{i}": {"correct": 0, "n": 80} for i in range(7)}}, 0.1
    )
    assert many["confidence"] > one["confidence"] and many["lower_bound"] < one["lower_bound"]
    assert not L.leak_test({"a": {"correct": 16, "n": 80}}, 0.1)["leaks"]  # exactly 2x: not sure
    with pytest.raises(ValueError, match="pooled"):
        L.leak_test({}, 0.1)
    with pytest.raises(ValueError, match="chance"):
        L.leak_test({"a": {"correct": 1, "n": 2}}, 0.0)
