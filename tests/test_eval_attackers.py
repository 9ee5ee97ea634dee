"""Fresh attackers find planted leakage and report chance when there is none; scoring and
critical-rate logic by hand."""

import math

import numpy as np
import pytest

from spjax.eval import attackers as A
from spjax.eval.audit import critical_sampling_rate, leaks, significance, worst_case

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

    return make(8, centroids, C), make(3, centroids, C), make(4, centroids, C), \
        make(6, held_centroids, 8)


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


def test_worst_case_is_the_strongest_and_significant(planted_results):
    agg = {n: {"top1": A.summarise([r["top1"]]), "top5": A.summarise([r["top5"]])}
           for n, r in planted_results.items()}
    w = worst_case(agg, 0.1, C * 4)
    assert w["top1"] == max(r["top1"] for r in planted_results.values())
    assert w["p_value"] < 1e-6 and leaks(w)


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


def _wc(top1_values, chance=0.1, n=40):
    v = np.asarray(top1_values, float)
    return {"name": "x", "top1": float(v.mean()), "chance": chance,
            "p_value": significance(v, chance, n)}


def test_critical_sampling_rate_picks_smallest_significant_margin():
    results = {
        0.005: {"worst_case": _wc([0.10, 0.12, 0.09])},  # at chance
        0.01: {"worst_case": _wc([0.25, 0.05, 0.30])},  # 2x chance on average, not significant
        0.02: {"worst_case": _wc([0.22, 0.24, 0.23])},  # 2.3x, consistent across seeds
        0.05: {"worst_case": _wc([0.60, 0.62, 0.61])},
    }
    out = critical_sampling_rate(results)
    assert out["rate"] == 0.02
    assert out["monotone"]
    assert [r["leaks"] for r in out["per_rate"]] == [False, False, True, True]
    assert critical_sampling_rate(results, margin=5.0)["rate"] == 0.05
    assert critical_sampling_rate({0.01: results[0.005]})["rate"] is None
    with pytest.raises(ValueError, match="results_by_rate"):
        critical_sampling_rate({})


def test_significance_single_seed_uses_binomial():
    assert significance([0.1], 0.1, 100) > 0.4
    assert significance([0.3], 0.1, 100) < 1e-6
    assert significance([0.3, 0.3], 0.1, 100) == 0.0


def test_leaks_at_exactly_the_margin_despite_rounding():
    # A mean equal to 2 x chance up to float rounding counts as reaching the margin.
    at = {"name": "x", "top1": 0.1 * (1 - 1e-12), "chance": 0.05, "p_value": 0.01}
    assert leaks(at)
    assert not leaks({**at, "top1": 0.099})
    assert not leaks({**at, "p_value": 0.2})
