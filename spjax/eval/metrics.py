"""Utility metrics, in plain numpy/python so every number can be checked by hand.

Classification: `accuracy`, `balanced_accuracy`, `auroc` (rank statistic with tie handling).
Counting: `count_mae`, `exact_accuracy`. Text: `rouge_l` (LCS F-measure, best over the
references) and `bleu4` (corpus BLEU with clipped counts over multiple references).
`utility_from_answers` turns generated answers into all of these through the project's answer
parser; an unparseable answer is counted as wrong and reported. Caption content:
`caption_content` (precision/recall/F1 of the facts a caption states against the clip's true
facts, `spjax.data.answers.caption_facts`), which wording cannot move, unlike ROUGE-L.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Sequence

import numpy as np

from spjax.data.text import QTYPES, SCORED_QTYPES

_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def tokenize(text: str) -> list[str]:
    """Lower-case word tokens; punctuation is dropped (the metrics compare words)."""
    if not isinstance(text, str):
        raise TypeError(f"text: expected str, got {type(text).__name__}")
    return _TOKEN.findall(text.lower())


def _as_1d(name: str, values) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D array, got shape {arr.shape}")
    return arr


def _same_length(**arrays) -> int:
    lengths = {name: len(a) for name, a in arrays.items()}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"inputs must have the same length, got {lengths}")
    n = next(iter(lengths.values()))
    if n == 0:
        raise ValueError(f"inputs must be non-empty, got lengths {lengths}")
    return n


def accuracy(pred, true) -> float:
    """Fraction of exact matches."""
    pred, true = _as_1d("pred", pred), _as_1d("true", true)
    _same_length(pred=pred, true=true)
    return float(np.mean(pred == true))


def balanced_accuracy(pred, true) -> float:
    """Mean per-class recall over the classes present in `true`."""
    pred, true = _as_1d("pred", pred), _as_1d("true", true)
    _same_length(pred=pred, true=true)
    recalls = [np.mean(pred[true == c] == c) for c in np.unique(true)]
    return float(np.mean(recalls))


def auroc(scores, labels) -> float:
    """Area under the ROC curve = P(score of a random positive > score of a random negative),
    ties counting one half (the Mann-Whitney U statistic). NaN if a class is missing."""
    scores = _as_1d("scores", scores).astype(np.float64)
    labels = _as_1d("labels", labels)
    _same_length(scores=scores, labels=labels)
    if not np.all(np.isfinite(scores)):
        raise ValueError("scores: expected finite values, got NaN or inf")
    pos = labels.astype(bool)
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    # Average ranks handle ties exactly.
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores), dtype=np.float64)
    sorted_scores = scores[order]
    i = 0
    while i < len(scores):
        j = i
        while j + 1 < len(scores) and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i : j + 1]] = 0.5 * (i + j) + 1.0
        i = j + 1
    u = ranks[pos].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


def count_mae(pred, true) -> float:
    """Mean absolute error between predicted and true counts."""
    pred = _as_1d("pred", pred).astype(np.float64)
    true = _as_1d("true", true).astype(np.float64)
    _same_length(pred=pred, true=true)
    return float(np.mean(np.abs(pred - true)))


def exact_accuracy(pred, true) -> float:
    """Fraction of counts predicted exactly."""
    return accuracy(np.asarray(pred).astype(np.int64), np.asarray(true).astype(np.int64))


def anomaly_metrics(pred_types, true_types, scores=None) -> dict:
    """Anomaly detection read off anomaly *types* (names; "none" = normal), per clip.

    → accuracy and balanced accuracy of the yes/no decision, AUROC of `scores` (higher = more
    anomalous; optional), `type_accuracy` (the exact type), and `recall_by_type`: for each
    true type the fraction answered correctly as anomalous or not (for "none": specificity).
    A prediction of None (unparseable) is wrong whatever the truth."""
    true = [str(t) for t in true_types]
    pred = [None if p is None else str(p) for p in pred_types]
    _same_length(pred=pred, true=true)
    t = np.array([v != "none" for v in true], np.int64)
    p = np.array([1 - tv if v is None else int(v != "none") for v, tv in zip(pred, t)])
    out = {
        "n": len(true),
        "accuracy": accuracy(p, t),
        "balanced_accuracy": balanced_accuracy(p, t),
        "type_accuracy": float(np.mean([a == b for a, b in zip(pred, true)])),
        "recall_by_type": {
            name: float(np.mean([p[i] == t[i] for i in range(len(true)) if true[i] == name]))
            for name in sorted(set(true))
        },
    }
    if scores is not None:
        scores = _as_1d("scores", scores)
        if len(scores) != len(true):
            raise ValueError(f"scores: expected {len(true)} scores, got {len(scores)}")
        out["auroc"] = auroc(scores, t)
    return out


def count_metrics(pred, true) -> dict:
    """People counting: MAE over answered clips, exact accuracy over all (None = unanswered)."""
    pred, true = list(pred), [int(v) for v in true]
    _same_length(pred=pred, true=true)
    ok = np.array([v is not None for v in pred])
    p = np.array([int(v) if v is not None else -1 for v in pred])
    t = np.array(true)
    return {
        "n": len(true),
        "exact_accuracy": float(np.mean(ok & (p == t))),
        # MAE over answered clips only; their share is reported beside it.
        "mae": count_mae(p[ok], t[ok]) if ok.any() else float("nan"),
        "answered": float(ok.mean()),
    }


def pointed_activity_metrics(person_activity, clips, questions, answers) -> dict:
    """The per-person activity head on activity questions: for question j about clip
    `clips[j]`, the activity id `person_activity[clips[j], pointer]` at the pointer the
    question names (`router.question_pointer`) against the activity its reference answer
    names. Returns n, accuracy, the majority answer's share (the baseline) and accuracy per
    pointer (`text.POINTERS`)."""
    from spjax.data.answers import parse_answer
    from spjax.data.labels import ACTIVITIES
    from spjax.data.router import question_pointer
    from spjax.data.text import POINTERS

    rows = [
        (int(c), question_pointer(q), ACTIVITIES.index(want["activity"]))
        for c, q, a in zip(clips, questions, answers)
        if (want := parse_answer("activity", a)) is not None
    ]
    if not rows:
        return {"n": 0, "accuracy": None}
    clip, pointer, truth = (np.array(v) for v in zip(*rows))
    hit = np.asarray(person_activity)[clip, pointer] == truth
    return {
        "n": len(rows),
        "accuracy": float(hit.mean()),
        "majority": float(np.bincount(truth).max() / len(truth)),
        "by_pointer": {POINTERS[p]: float(hit[pointer == p].mean()) for p in np.unique(pointer)},
    }


def _lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    # Bit-parallel LCS (Crochemore et al. 2001): one big-int update per token of `a` instead
    # of a row of the DP table, ~30x faster on captions, so caption ceilings are cheap.
    # Bit j of `v` is 0 where the LCS gains at b[j]; the LCS is the count of zero bits.
    masks: dict[str, int] = {}
    for j, y in enumerate(b):
        masks[y] = masks.get(y, 0) | (1 << j)
    full = (1 << len(b)) - 1
    v = full
    for x in a:
        u = v & masks.get(x, 0)
        v = ((v + u) | (v - u)) & full
    return len(b) - bin(v).count("1")


def _references(references) -> list[str]:
    if isinstance(references, str):
        return [references]
    refs = list(references)
    if not refs:
        raise ValueError("references: expected at least one reference string, got none")
    return refs


def rouge_l(candidate: str, references) -> float:
    """ROUGE-L F1 of one candidate: LCS-based precision/recall on word tokens against each
    reference, best F1 over the references (a candidate matching any reference scores 1)."""
    cand = tokenize(candidate)
    best = 0.0
    for ref in _references(references):
        ref_tokens = tokenize(ref)
        lcs = _lcs_length(cand, ref_tokens)
        if lcs == 0:
            continue
        p, r = lcs / len(cand), lcs / len(ref_tokens)
        best = max(best, 2 * p * r / (p + r))
    return best


def _ngrams(tokens: Sequence[str], n: int) -> Counter:
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def bleu4(candidates: Sequence[str], references: Sequence, *, smooth: bool = False) -> float:
    """Corpus BLEU-4 (Papineni et al. 2002): n-gram counts clipped by the maximum count in
    any reference, uniform weights over n = 1..4, brevity penalty against the reference
    length closest to each candidate. `smooth` adds one to numerator and denominator for
    n > 1 (Lin & Och), useful for single sentences."""
    if isinstance(candidates, str):
        raise TypeError("candidates: expected a sequence of strings, got a single str")
    candidates = list(candidates)
    references = list(references)
    _same_length(candidates=candidates, references=references)
    matches, totals = [0] * 4, [0] * 4
    cand_len = ref_len = 0
    for cand, refs in zip(candidates, references):
        c = tokenize(cand)
        rs = [tokenize(r) for r in _references(refs)]
        cand_len += len(c)
        # Closest reference length, the shorter one on ties.
        ref_len += min((abs(len(r) - len(c)), len(r)) for r in rs)[1]
        for n in range(1, 5):
            counts = _ngrams(c, n)
            max_ref = Counter()
            for r in rs:
                for g, k in _ngrams(r, n).items():
                    max_ref[g] = max(max_ref[g], k)
            matches[n - 1] += sum(min(k, max_ref[g]) for g, k in counts.items())
            totals[n - 1] += max(len(c) - n + 1, 0)
    if cand_len == 0:
        return 0.0
    log_p = 0.0
    for n in range(4):
        m, t = matches[n], totals[n]
        if smooth and n > 0:
            m, t = m + 1, t + 1
        if m == 0 or t == 0:
            return 0.0
        log_p += math.log(m / t) / 4.0
    bp = 1.0 if cand_len > ref_len else math.exp(1.0 - ref_len / cand_len)
    return float(bp * math.exp(log_p))


# ------------------------------------------------------------------------ caption content


def caption_content(captions: Sequence[str], labels: Sequence[dict]) -> dict:
    """How many of a caption's facts are true and how many true facts it states.

    Each caption is read into a multiset of facts (`spjax.data.answers.caption_facts`: count,
    anomaly type and place, each person's activity and place; an unreadable sentence is a
    fact that matches nothing) and compared with the clip's true facts (`label_facts` of
    `labels[i]`, grammar labels) *at the detail level the caption chose* (`caption_detail`):
    a terse caption is not asked for activities, as the grammar's own terse references are
    not; any place it states asks for all of them. Facts match as multisets (two people
    sitting on the bench are two facts; one stated sitter matches one). Per caption:
    precision = matched / stated, recall = matched / true, F1; a caption that states nothing
    scores 0 on all three. → means over captions, and `detail` (how many captions chose
    each level, so an all-terse model is visible)."""
    from spjax.data.answers import caption_detail, caption_facts, label_facts

    if isinstance(captions, str):
        raise TypeError("captions: expected a sequence of strings, got a single str")
    captions, labels = list(captions), list(labels)
    _same_length(captions=captions, labels=labels)
    p, r, f, detail = [], [], [], [0, 0, 0]
    unread = 0
    for text, lab in zip(captions, labels):
        said = caption_facts(text)
        level = caption_detail(said)
        true = label_facts(lab, level)
        matched = sum((said & true).values())  # multiset intersection
        stated, n_true = sum(said.values()), sum(true.values())
        prec = matched / stated if stated else 0.0
        rec = matched / n_true
        p.append(prec)
        r.append(rec)
        f.append(2 * prec * rec / (prec + rec) if matched else 0.0)
        detail[level] += 1
        unread += sum(k for fact, k in said.items() if fact[0] == "unread")
    return {
        "n": len(captions),
        "precision": float(np.mean(p)),
        "recall": float(np.mean(r)),
        "f1": float(np.mean(f)),
        "detail": {str(d): k for d, k in enumerate(detail)},
        "unread_sentences": unread,
    }


# --------------------------------------------------------------------------- answers


def _parsed_value(qtype: str, parsed: dict):
    """The value of a parsed answer that is compared: the one under the qtype's own key."""
    key = qtype
    if key in parsed:
        return parsed[key]
    if len(parsed) == 1:
        return next(iter(parsed.values()))
    raise ValueError(f"parsed {qtype} answer: expected a '{key}' field, got keys {sorted(parsed)}")


def _default_parser() -> Callable[[str, str], dict | None]:
    from spjax.data.answers import parse_answer

    return parse_answer


def _label(qtype: str, reference, parse) -> object:
    """A reference is a label (int/str/bool), a dict from the parser, or reference text."""
    if isinstance(reference, dict):
        return _parsed_value(qtype, reference)
    if isinstance(reference, str) and qtype != "activity":
        parsed = parse(qtype, reference)
        if parsed is None:
            raise ValueError(f"references: the {qtype} reference {reference!r} does not parse")
        return _parsed_value(qtype, parsed)
    if isinstance(reference, (list, tuple)):
        if not reference:
            raise ValueError(f"references: empty reference list for a {qtype} question")
        return _label(qtype, reference[0], parse)
    if isinstance(reference, str):  # activity: parse when possible, else the word itself
        parsed = parse(qtype, reference)
        return _parsed_value(qtype, parsed) if parsed is not None else reference.strip().lower()
    return reference


def _anomaly_type(reference, parse) -> str:
    """The anomaly type a reference names ("none" for a normal clip; "anomaly" if unnamed)."""
    if isinstance(reference, (list, tuple)):
        return _anomaly_type(reference[0], parse)
    if isinstance(reference, dict):
        if reference.get("anomaly_type"):
            return str(reference["anomaly_type"])
        return "anomaly" if _as_binary(reference.get("anomaly")) else "none"
    if isinstance(reference, str):
        parsed = parse("anomaly", reference)
        if parsed is not None:
            return _anomaly_type(parsed, parse)
    return "anomaly" if _as_binary(reference) else "none"


def _checked_scores(scores, n: int) -> np.ndarray:
    scores = _as_1d("anomaly_scores", scores)
    if len(scores) != n:
        raise ValueError(
            f"anomaly_scores: expected {n} scores (one per anomaly question), got {len(scores)}"
        )
    return scores


def _as_binary(value) -> int:
    if isinstance(value, str):
        return int(value.strip().lower() in ("yes", "true", "1", "anomaly", "abnormal"))
    return int(bool(value))


def utility_from_answers(
    qtypes: Sequence[str],
    generated_texts: Sequence[str],
    references: Sequence,
    *,
    anomaly_scores: Sequence[float] | None = None,
    parser: Callable[[str, str], dict | None] | None = None,
    caption_labels: Sequence[dict] | None = None,
) -> dict:
    """Score generated answers per question type.

    `references[i]` is the reference answer text (or a list of them), a parsed dict, or a
    bare label (count int, anomaly bool/int, activity str). For `describe` questions it is
    the list of reference captions. `anomaly_scores` (optional, one per anomaly question, in
    order) are the decoder's answer likelihood scores (e.g. log p(yes) - log p(no)) for AUROC.
    Every generated answer goes through `parser` (default `spjax.data.answers.parse_answer`);
    an unparseable answer counts as wrong and is counted in `unparseable`. `caption_labels`
    (optional, one grammar labels dict per describe question, in order) adds the caption
    content score (`caption_content`) to `describe` as `content`.
    """
    qtypes, generated_texts, references = list(qtypes), list(generated_texts), list(references)
    _same_length(qtypes=qtypes, generated_texts=generated_texts, references=references)
    parse = parser or _default_parser()
    unknown = sorted(set(qtypes) - set(QTYPES))
    if unknown:
        raise ValueError(f"qtypes: expected one of {QTYPES}, got {unknown}")
    out: dict = {}
    for qt in SCORED_QTYPES:
        idx = [i for i, q in enumerate(qtypes) if q == qt]
        if not idx:
            continue
        truth, pred, bad = [], [], 0
        for i in idx:
            label = _label(qt, references[i], parse)
            parsed = parse(qt, generated_texts[i])
            value = None if parsed is None else _parsed_value(qt, parsed)
            if value is None:
                bad += 1
            truth.append(label)
            pred.append(value)
        section = {"n": len(idx), "unparseable": bad}
        if qt == "count":
            section.update({k: v for k, v in count_metrics(pred, truth).items() if k != "n"})
        elif qt == "anomaly":
            types = [_anomaly_type(references[i], parse) for i in idx]
            said = [
                None if v is None else _anomaly_type(parse(qt, generated_texts[i]), parse)
                for i, v in zip(idx, pred)
            ]
            m = anomaly_metrics(
                said,
                types,
                None if anomaly_scores is None else _checked_scores(anomaly_scores, len(idx)),
            )
            section.update({k: v for k, v in m.items() if k != "n"})
        else:
            t = np.array([str(v).strip().lower() for v in truth], dtype=object)
            p = np.array(
                [str(v).strip().lower() if v is not None else None for v in pred], dtype=object
            )
            section["accuracy"] = float(np.mean([a is not None and a == b for a, b in zip(p, t)]))
        out[qt] = section
    idx = [i for i, q in enumerate(qtypes) if q == "describe"]
    if idx:
        cands = [generated_texts[i] for i in idx]
        refs = [_references(references[i]) for i in idx]
        out["describe"] = {
            "n": len(idx),
            "rouge_l": float(np.mean([rouge_l(c, r) for c, r in zip(cands, refs)])),
            "bleu4": bleu4(cands, refs),
        }
        if caption_labels is not None:
            caption_labels = list(caption_labels)
            if len(caption_labels) != len(idx):
                raise ValueError(
                    f"caption_labels: expected {len(idx)} (one per describe question), "
                    f"got {len(caption_labels)}"
                )
            out["describe"]["content"] = caption_content(cands, caption_labels)
    elif caption_labels is not None and len(caption_labels):
        raise ValueError(f"caption_labels: {len(caption_labels)} given but no describe question")
    out["unparseable"] = sum(s.get("unparseable", 0) for s in out.values() if isinstance(s, dict))
    return out
