"""The sweep's grid: pattern families, sampling rates, photon budgets, the preset grids and
the learned designs (each a set of recipe overrides)."""

from __future__ import annotations

FAMILIES = (
    "hadamard:low_frequency",
    "hadamard:sequency",
    "hadamard:cake_cutting",
    "rademacher",
    "dct",
)


RATES = (0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0)


PHOTONS = (None, 1e4)


# Sized for the wall clock on 2 CPU cores: the quick sweep (12 cells, closed-form scene
# attackers) takes minutes; the default one (70 cells, conv identifier, temporal scene
# attacker) hours. Utility cells add one training run each.
GRIDS = {
    "default": dict(
        families=FAMILIES,
        rates=RATES,
        photons=PHOTONS,
        identities=20,
        per_identity=20,
        seeds=3,
        attackers=("lda", "ridge", "linear", "mlp", "attention", "knn"),
        conv=True,
        augment=2,
        shots=8,
        scenes=dict(
            n_train=8000,
            n_val=1000,
            n_test=2000,
            n_link=1500,
            attackers=("ridge:stats", "lda:stats", "temporal", "crop:lift"),
        ),
        t1=True,
        utility_rates=(0.01, 0.05),
    ),
    "quick": dict(
        families=("hadamard:low_frequency", "rademacher", "dct"),
        rates=(0.005, 0.02, 0.1, 0.5),
        photons=(None,),
        identities=10,
        per_identity=20,
        seeds=2,
        attackers=("lda", "ridge", "linear", "knn"),
        conv=False,
        augment=2,
        shots=8,
        scenes=dict(
            n_train=3000, n_val=500, n_test=1000, n_link=600, attackers=("ridge:stats", "lda:stats")
        ),
        t1=False,
        utility_rates=(0.05,),
    ),
}


SCENE_IDENTITIES = 50  # T3: closed-set people (and as many unseen ones for linkage)


# Learned designs: name -> overrides of the recipe's config. `learned:utility` has no privacy
# term; `learned:private` keeps the recipe's own privacy term and weight; `learned:adversarial`
# is the classic adversarial game (KL-to-uniform against the training adversaries).
LEARNED_DESIGNS = {
    "learned:utility": {"sensor.family": "learned", "privacy.weight": 0.0},
    "learned:private": {"sensor.family": "learned"},
    "learned:adversarial": {
        "sensor.family": "learned",
        "privacy.term": "kl_uniform",
        "privacy.weight": 2.0,
    },
}


UTILITY_REFERENCE = "learned:utility"


def design_overrides(design: str) -> dict:
    """Recipe overrides that train `design`: a learned design, or a fixed family whose
    patterns stay frozen (no privacy term: nothing it could change)."""
    if design in LEARNED_DESIGNS:
        return dict(LEARNED_DESIGNS[design])
    return {"sensor.family": design, "privacy.weight": 0.0}


def budget_label(ph) -> str:
    return "none" if ph is None else f"{ph:g}"
