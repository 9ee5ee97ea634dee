"""The leak decision: pooled test predictions, an exact binomial bound, a stated rule.

Every attack's test predictions of all seeds are pooled (`correct` of `n`). Its accuracy's
one-sided Clopper–Pearson lower confidence bound at confidence 1 − alpha/m (Bonferroni over
the m attacks compared, since the strongest of them is the one that counts) is compared with
`margin` × chance. A sensor leaks when any attack's bound reaches it. Unlike a t-test over
two or three seed means, the bound tightens with every test prediction, so a large leak is
always called one: e.g. 32 of 80 pooled predictions (4× a 10 % chance) give a bound of ≈ 0.26
even at m = 8, far above 2 × chance.
"""

from __future__ import annotations

import math

import numpy as np

MARGIN = 2.0  # leakage = an attack's accuracy bound reaches MARGIN x chance ...
ALPHA = 0.05  # ... at confidence 1 - ALPHA (family-wise over the attacks compared)
# Relative tolerance for comparing an accuracy with margin x chance, so that a value equal to
# it (e.g. 0.1 vs 2 x 0.05) does not flip on float rounding; it counts as reaching the margin.
MARGIN_RTOL = 1e-9

RULE = (
    "leaks iff some attack's one-sided Clopper-Pearson lower confidence bound on its top-1 "
    "accuracy, from its test predictions pooled over all seeds, at confidence 1 - alpha/m "
    "(Bonferroni over the m attacks compared), is >= margin x chance"
)


def _check_counts(correct, n):
    if isinstance(correct, bool) or isinstance(n, bool) or int(correct) != correct or int(n) != n:
        raise ValueError(f"correct/n: expected integer counts, got {correct!r} of {n!r}")
    correct, n = int(correct), int(n)
    if n < 1 or not 0 <= correct <= n:
        raise ValueError(f"correct/n: expected 0 <= correct <= n and n >= 1, got {correct} of {n}")
    return correct, n


def _log_terms(k: int, n: int):
    i = np.arange(k, n + 1)
    lc = np.array([math.lgamma(n + 1) - math.lgamma(j + 1) - math.lgamma(n - j + 1) for j in i])
    return i, lc


def binomial_sf(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p), summed exactly in log space."""
    k, n = _check_counts(k, n)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p: expected a probability in [0, 1], got {p}")
    if k == 0:
        return 1.0
    if p <= 0.0:
        return 0.0
    if p >= 1.0:
        return 1.0
    i, lc = _log_terms(k, n)
    logs = lc + i * math.log(p) + (n - i) * math.log1p(-p)
    top = logs.max()
    return float(min(1.0, math.exp(top) * np.exp(logs - top).sum()))


def binomial_lower_bound(k: int, n: int, confidence: float) -> float:
    """One-sided Clopper–Pearson lower bound: the p at which P(X >= k | p) = 1 − confidence
    (0 when k = 0). Bisection; P(X >= k | p) increases with p."""
    k, n = _check_counts(k, n)
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence: expected a value in (0, 1), got {confidence}")
    if k == 0:
        return 0.0
    tail = 1.0 - confidence
    i, lc = _log_terms(k, n)

    def sf(p):
        logs = lc + i * math.log(p) + (n - i) * math.log1p(-p)
        top = logs.max()
        return math.exp(top) * np.exp(logs - top).sum()

    lo, hi = 0.0, 1.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if mid <= 0.0 or sf(mid) < tail:
            lo = mid
        else:
            hi = mid
    return lo


def leak_test(pooled: dict, chance: float, *, margin: float = MARGIN, alpha: float = ALPHA) -> dict:
    """Apply `RULE` to `pooled` = {attack: {"correct": int, "n": int}} at `chance`.

    Returns the rule, its parameters, per attack the pooled accuracy and its bound, the
    attack with the highest bound (`evidence`), that bound, the Bonferroni-adjusted one-sided
    p-value of "accuracy <= margin x chance" for it, and `leaks`."""
    if not pooled:
        raise ValueError("pooled: expected at least one attack's pooled predictions, got none")
    if not 0.0 < chance < 1.0:
        raise ValueError(f"chance: expected a value in (0, 1), got {chance}")
    m = len(pooled)
    confidence = 1.0 - alpha / m
    threshold = margin * chance
    by_attack = {}
    for name, c in pooled.items():
        k, n = _check_counts(c["correct"], c["n"])
        by_attack[name] = {
            "correct": k,
            "n": n,
            "top1_pooled": k / n,
            "lower_bound": binomial_lower_bound(k, n, confidence),
        }
    evidence = max(by_attack, key=lambda a: by_attack[a]["lower_bound"])
    e = by_attack[evidence]
    p = 1.0 if threshold >= 1.0 else binomial_sf(e["correct"], e["n"], threshold)
    return {
        "rule": RULE,
        "margin": margin,
        "alpha": alpha,
        "comparisons": m,
        "confidence": confidence,
        "chance": chance,
        "threshold": threshold,
        "by_attack": by_attack,
        "evidence": evidence,
        "lower_bound": e["lower_bound"],
        "p_value": min(1.0, m * p),
        "leaks": bool(e["lower_bound"] >= threshold * (1 - MARGIN_RTOL)),
    }


# --------------------------------------------------------------------------- decisions


def worst_case(attacks: dict, chance: float) -> dict:
    """The strongest attack by mean top-1 among `attacks` (name -> metrics with `top1:
    {mean, std, values}` and `pooled: {correct, n}`), with its pooled predictions."""
    if not attacks:
        raise ValueError("attacks: expected at least one attack result, got none")
    name = max(attacks, key=lambda k: attacks[k]["top1"]["mean"])
    t1 = attacks[name]["top1"]
    out = {
        "name": name,
        "top1": t1["mean"],
        "top1_std": t1["std"],
        "top1_values": t1["values"],
        "chance": chance,
        "ratio_to_chance": t1["mean"] / chance,
        "pooled": dict(attacks[name]["pooled"]),
    }
    for key in ("top5", "tar@far=0.01", "tar@far=0.001"):
        if key in attacks[name]:
            out[key] = attacks[name][key]["mean"]
    return out


def leaks(report: dict) -> bool:
    """The leak decision of an audit report (or of its `leak` entry)."""
    leak = report.get("leak", report)
    if "leaks" not in leak:
        raise ValueError("report: expected an audit report or its 'leak' entry")
    return bool(leak["leaks"])


def critical_sampling_rate(
    results_by_rate: dict, *, margin: float = MARGIN, alpha: float = ALPHA
) -> dict:
    """Smallest sampling rate r at which the sensor leaks under `leakage.RULE` with `margin`
    and `alpha`. `results_by_rate` maps r -> an audit report, a benchmark row, or any dict
    with a `leak` entry holding `by_attack` pooled counts and `chance` (the decision is
    recomputed from the counts). `rate` is None when no rate leaks; `monotone` says whether
    every rate above the critical one leaks too."""
    if not results_by_rate:
        raise ValueError("results_by_rate: expected at least one rate, got none")
    rows = []
    for r in sorted(results_by_rate, key=float):
        rep = results_by_rate[r]
        leak = rep.get("leak") if isinstance(rep, dict) else None
        if not isinstance(leak, dict) or "by_attack" not in leak or "chance" not in leak:
            raise ValueError(
                f"results_by_rate[{r}]: expected a 'leak' entry with pooled counts "
                f"per attack ('by_attack') and 'chance'"
            )
        test = leak_test(leak["by_attack"], leak["chance"], margin=margin, alpha=alpha)
        w = rep.get("worst_case", {})
        top1 = w.get("top1", rep.get("worst_top1"))
        rows.append(
            {
                "rate": float(r),
                "worst": w.get("name", rep.get("worst")),
                "top1": top1,
                "chance": leak["chance"],
                "ratio": None if top1 is None else top1 / leak["chance"],
                "evidence": test["evidence"],
                "lower_bound": test["lower_bound"],
                "leaks": test["leaks"],
            }
        )
    crit = next((row["rate"] for row in rows if row["leaks"]), None)
    monotone = crit is None or all(row["leaks"] for row in rows if row["rate"] >= crit)
    return {
        "rate": crit,
        "margin": margin,
        "alpha": alpha,
        "rule": RULE,
        "monotone": monotone,
        "per_rate": rows,
    }
