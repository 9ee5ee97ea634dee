"""spjax.eval: utility metrics and the honest privacy audit (the design sweep is `spjax.bench`).

Metrics (`metrics`): accuracy, balanced accuracy, AUROC, count MAE/exact accuracy, ROUGE-L,
BLEU-4 and `utility_from_answers`. Audit: fresh attackers (`attackers`, `identifier`), the
leak rule (`leakage`), the reconstruction attack (`reconstruction`), scene re-identification
(`scene_reid`), dlib's face recognizer on real photos (`recognizer`), the attacker suite
(`suite`), its calibration against the clean-face ceiling (`calibration`) and `privacy_audit`
(`audit`). Heavy modules import lazily."""

from spjax.eval.metrics import (
    accuracy,
    auroc,
    balanced_accuracy,
    bleu4,
    count_mae,
    exact_accuracy,
    rouge_l,
    utility_from_answers,
)

_LAZY = {
    "privacy_audit": "spjax.eval.audit",
    "critical_sampling_rate": "spjax.eval.leakage",
    "calibration": "spjax.eval.calibration",
    "canonical_family": "spjax.sensing.patterns",
    "worst_case": "spjax.eval.leakage",
    "leak_test": "spjax.eval.leakage",
    "scene_reid": "spjax.eval.scene_reid",
    "identifier_attack": "spjax.eval.identifier",
    "ATTACKERS": "spjax.eval.attackers",
    "Split": "spjax.eval.attackers",
    "run_attacker": "spjax.eval.attackers",
    "run_attackers": "spjax.eval.attackers",
    "reconstruction_attack": "spjax.eval.reconstruction",
    "recognizer_attack": "spjax.eval.recognizer",
    "load_lfw_folder": "spjax.eval.recognizer",
    "builtin_photos": "spjax.eval.recognizer",
    "audit_figure": "spjax.eval.figures",
}


def __getattr__(name):
    # Attackers/audit pull in jax and flax; metrics stay importable without that cost.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'spjax.eval' has no attribute {name!r}")


__all__ = [
    "accuracy",
    "auroc",
    "balanced_accuracy",
    "bleu4",
    "count_mae",
    "exact_accuracy",
    "rouge_l",
    "utility_from_answers",
    *sorted(_LAZY),
]
