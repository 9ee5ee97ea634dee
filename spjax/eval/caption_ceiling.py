"""How high can a `describe` answer score at all? ROUGE-L of perfectly informed captions.

Each clip has reference captions drawn from the caption grammar with random wording, detail
and sentence order; an answer scores its best ROUGE-L F1 over them. An answerer that knows
the clip's labels *exactly* still cannot know which wording the references drew, so ROUGE-L
has a ceiling well under 1 that depends on the wording alone. `caption_ceilings` measures
these perfectly informed answerers on the same references:

- `oracle_random`: one fresh caption of the true labels with random wording (what a model
  that has learned the grammar's distribution says on average);
- `oracle_mbr`: of `candidates` fresh captions of the true labels, the one with the highest
  mean ROUGE-L against the others (minimum Bayes risk: the best guess of the wording);
- `oracle_fixed_detail<d>`: one fixed wording per detail level (0: count + anomaly only,
  1: + each person's activity, 2: + where);
- `oracle_best_terse`: the best of all 24 detail-0 wordings (chosen on these same
  references, so an upper bound of any single terse style).

The caption content F1 (`spjax.eval.metrics.caption_content`) of `oracle_random` is given
beside them: the same informed captions score 1.0 there. No model is involved.
`benchmarks/caption_ceiling.py` runs this on a recipe's test split; `spjax.training.evaluate`
on every evaluated split (the same seed, so the default run's report repeats the benchmark).
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence

import numpy as np

from spjax.data import text as tx
from spjax.eval.metrics import caption_content, rouge_l

# Every detail-0 wording: count sentence × anomaly phrase × alert prefix × sentence order.
TERSE_WORDINGS = list(itertools.product(range(2), range(3), range(2), (False, True)))


def fixed_choice(
    detail: int,
    n_people: int,
    count: int = 0,
    anomaly: int = 0,
    alert: int = 0,
    anomaly_first: bool = False,
) -> dict:
    """Template choices of `spjax.data.text.caption` for one fixed wording."""
    return {
        "count": count,
        "detail": detail,
        "loc": 0,
        "phrase": 0,
        "subject": 0,
        "anomaly": anomaly,
        "alert": alert,
        "anomaly_first": anomaly_first,
        "order": list(range(n_people)),
    }


def caption_ceilings(
    labels: Sequence[dict],
    references: Sequence[Sequence[str]],
    *,
    candidates: int = 12,
    seed: str = "caption-ceiling",
) -> dict:
    """ROUGE-L of perfectly informed captions of clips with grammar `labels` against their
    `references` (see the module docstring) → {n_clips, candidates, rouge_l: {answerer:
    mean}, best_terse_wording, content_f1: {oracle_random}}. Deterministic in `seed`."""
    labels, references = list(labels), [list(r) for r in references]
    if len(labels) != len(references) or not labels:
        raise ValueError(
            f"labels and references: expected the same non-zero length, got "
            f"{len(labels)} and {len(references)}"
        )
    if not isinstance(candidates, int) or candidates < 2:
        raise ValueError(f"candidates: expected an int >= 2, got {candidates!r}")
    rng = random.Random(seed)
    scores: dict[str, list[float]] = {}
    terse_scores: dict[tuple, list[float]] = {}
    randoms = []
    for lab, refs in zip(labels, references):
        n_people = len(lab["people"])
        cands = tx.captions(lab, rng, candidates)  # the first is a plain random draw
        randoms.append(cands[0])
        mbr = max(cands, key=lambda c: np.mean([rouge_l(c, [o]) for o in cands if o is not c]))
        scores.setdefault("oracle_random", []).append(rouge_l(cands[0], refs))
        scores.setdefault("oracle_mbr", []).append(rouge_l(mbr, refs))
        for detail in range(3):
            fixed = tx.caption(lab, fixed_choice(detail, n_people))
            scores.setdefault(f"oracle_fixed_detail{detail}", []).append(rouge_l(fixed, refs))
        for w in TERSE_WORDINGS:
            terse = tx.caption(lab, fixed_choice(0, n_people, *w))
            terse_scores.setdefault(w, []).append(rouge_l(terse, refs))
    best = max(terse_scores, key=lambda w: np.mean(terse_scores[w]))
    scores["oracle_best_terse"] = terse_scores[best]
    return {
        "n_clips": len(labels),
        "candidates": candidates,
        "rouge_l": {k: float(np.mean(v)) for k, v in scores.items()},
        "best_terse_wording": dict(zip(("count", "anomaly", "alert", "anomaly_first"), best)),
        "content_f1": {"oracle_random": caption_content(randoms, labels)["f1"]},
    }
