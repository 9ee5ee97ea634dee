"""spjax.eval: utility metrics of what the SP-VLM answers (privacy lives in `spjax.privacy`).

Accuracy, balanced accuracy, AUROC, count MAE/exact accuracy, ROUGE-L, BLEU-4 and
`utility_from_answers` (`metrics`)."""

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

__all__ = [
    "accuracy",
    "auroc",
    "balanced_accuracy",
    "bleu4",
    "count_mae",
    "exact_accuracy",
    "rouge_l",
    "utility_from_answers",
]
