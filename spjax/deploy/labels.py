"""`spjax ask --labels FILE`: score a recording's answers against the ground truth that
`spjax sensing record` wrote (`<out stem>.labels.json`), beside the run's own test numbers
(its report.json), so a user sees at once whether the hardware loop answers as well as the
run does in simulation.

Window w of the answers is the clip whose ground-truth `frames` span it ([w·T, (w+1)·T]).
Scores: count (exact accuracy, MAE), anomaly (yes/no accuracy, type accuracy), activity
(accuracy, on the windows where the question names one person unambiguously), describe
(ROUGE-L against the clip's captions) and the label heads' count and anomaly. Accuracies come
with a Wilson 95 % interval: ten clips say little, and the interval says how little.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

Z95 = 1.959963984540054


def load_labels(path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"--labels: {path} does not exist (spjax sensing record writes it)")
    try:
        labels = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"--labels: {path} is not valid JSON ({err})") from None
    if not isinstance(labels, dict) or not isinstance(labels.get("ground_truth"), list):
        raise ValueError(
            f"--labels: expected the ground truth of spjax sensing record (an object with "
            f"'ground_truth' and 'clip_frames'), got {path}"
        )
    return labels


def wilson(k: int, n: int) -> list[float] | None:
    """Wilson score 95 % interval of a proportion k/n."""
    if n == 0:
        return None
    p = k / n
    centre = (p + Z95**2 / (2 * n)) / (1 + Z95**2 / n)
    half = Z95 * np.sqrt(p * (1 - p) / n + Z95**2 / (4 * n * n)) / (1 + Z95**2 / n)
    return [float(centre - half), float(centre + half)]


def _accuracy(hits: list[bool]) -> dict:
    n = len(hits)
    k = int(sum(hits))
    return {"n": n, "accuracy": k / n if n else None, "interval_95": wilson(k, n)}


def activity_truth(question: str, people: list) -> str | None:
    """The activity a question asks about: the only person's ("What is the person doing?"),
    or the only one in the zone it names; None when the clip does not answer it."""
    from spjax.data.text import LOCATIONS

    text = " ".join(question.lower().split())
    named = [z for z, phrases in LOCATIONS.items() if any(ph in text for ph in phrases)]
    if not named:
        return str(people[0][0]) if len(people) == 1 else None
    zone = max(named, key=lambda z: max(len(ph) for ph in LOCATIONS[z] if ph in text))
    there = [p for p in people if p[1] == zone]
    return str(there[0][0]) if len(there) == 1 else None


def _matched(result: dict, labels: dict) -> list[tuple[dict, dict]]:
    t = int(result["clip_frames"])
    if labels.get("clip_frames") != t:
        raise ValueError(
            f"--labels: the recorded clips are {labels.get('clip_frames')} frames long, the run "
            f"answers windows of {t}: windows and clips do not line up (record with --run or "
            f"--frames {t})"
        )
    by_span = {tuple(g["frames"]): g for g in labels["ground_truth"]}
    pairs = [(w, by_span.get(tuple(w["frames"]))) for w in result["windows"]]
    missing = [w["window"] for w, g in pairs if g is None]
    if missing:
        raise ValueError(
            f"--labels: windows {missing[:5]} have no ground-truth clip in the labels file "
            f"(it covers {len(labels['ground_truth'])} clips of {t} frames)"
        )
    return pairs


def score(result: dict, labels: dict) -> dict:
    """Scores of `result` (the `ask` schema) against `labels` (a record side file)."""
    from spjax.eval.metrics import anomaly_metrics, count_metrics, rouge_l

    pairs = _matched(result, labels)
    answers: dict = {}
    per_type: dict = {}
    for j, q in enumerate(result["questions"]):
        per_type.setdefault(q["qtype"], []).append(j)

    def parsed_vs_true(qtype, field, truth):
        """The parsed `field` of every `qtype` answer (None when unparsed) and the truth."""
        pred, true = [], []
        for j in per_type[qtype]:
            for w, g in pairs:
                parsed = w["answers"][j]["parsed"]
                pred.append(None if parsed is None else parsed.get(field))
                true.append(g[truth])
        return pred, true

    if "count" in per_type:
        pred, true = parsed_vs_true("count", "count", "count")
        hits = sum(p is not None and p == t for p, t in zip(pred, true))
        answers["count"] = {
            **count_metrics(pred, true),
            "exact_interval_95": wilson(int(hits), len(true)),
        }
    if "anomaly" in per_type:
        pred, true = parsed_vs_true("anomaly", "anomaly_type", "anomaly_type")
        a = anomaly_metrics(pred, true)
        decided = [(p is not None) and ((p != "none") == (t != "none")) for p, t in zip(pred, true)]
        answers["anomaly"] = {**a, "interval_95": _accuracy(decided)["interval_95"]}
    if "activity" in per_type:
        hits = []
        for j in per_type["activity"]:
            for w, g in pairs:
                a = w["answers"][j]
                # the question the model was asked names the person ("by the sink")
                want = activity_truth(a.get("asked") or a["question"], g["people"])
                if want is None:
                    continue
                parsed = a["parsed"]
                hits.append(parsed is not None and parsed.get("activity") == want)
        answers["activity"] = {
            **_accuracy(hits),
            "note": "windows whose clip has one person the question can name",
        }
    if "describe" in per_type:
        scores = [
            rouge_l(w["answers"][j]["answer"], g["captions"])
            for j in per_type["describe"]
            for w, g in pairs
        ]
        answers["describe"] = {"n": len(scores), "rouge_l": float(np.mean(scores))}
    out = {"clips": len(pairs), "answers": answers}
    if pairs and "label_heads" in pairs[0][0]:
        heads = [(w["label_heads"], g) for w, g in pairs]
        out["label_heads"] = {
            "count": count_metrics([h["count"] for h, _ in heads], [g["count"] for _, g in heads]),
            "anomaly": anomaly_metrics(
                [h["anomaly_type"] for h, _ in heads], [g["anomaly_type"] for _, g in heads]
            ),
        }
    return out


# (label, the scores' path, the report's utility key) of the side-by-side table.
ROWS = (
    ("count exact accuracy", ("answers", "count", "exact_accuracy"), "count_exact_accuracy"),
    ("count MAE", ("answers", "count", "mae"), "count_mae"),
    ("anomaly accuracy", ("answers", "anomaly", "accuracy"), "anomaly_accuracy"),
    ("anomaly balanced accuracy", ("answers", "anomaly", "balanced_accuracy"), None),
    ("activity accuracy", ("answers", "activity", "accuracy"), "activity_accuracy"),
    ("describe ROUGE-L", ("answers", "describe", "rouge_l"), "rouge_l"),
    (
        "label heads: count exact",
        ("label_heads", "count", "exact_accuracy"),
        "heads.count_exact_accuracy",
    ),
    (
        "label heads: anomaly accuracy",
        ("label_heads", "anomaly", "accuracy"),
        "heads.anomaly_accuracy",
    ),
)


def run_test_numbers(run_dir) -> dict | None:
    """The run's own test-set utility (report.json), or None if it has no report."""
    if run_dir is None:
        return None
    path = Path(run_dir) / "report.json"
    if not path.is_file():
        return None
    try:
        utility = json.loads(path.read_text()).get("utility")
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(utility, dict):
        return None
    heads = utility.get("label_heads") or {}
    details = utility.get("details") or {}
    out = {key: utility.get(key) for _, _, key in ROWS if key and not key.startswith("heads.")}
    out.update(
        {
            "heads.count_exact_accuracy": heads.get("count_exact_accuracy"),
            "heads.anomaly_accuracy": heads.get("anomaly_accuracy"),
            "split": utility.get("split"),
            "clips": (details.get("count") or {}).get("n"),
            "source": str(path),
        }
    )
    return out


def table(scores: dict, run: dict | None) -> str:
    """The scores beside the run's test numbers, one metric a line."""

    def get(d, path):
        for key in path:
            d = d.get(key) if isinstance(d, dict) else None
        return d

    def fmt(v):
        return "—" if v is None or not np.isfinite(v) else f"{v:.3f}"

    test = "run's test set" + (
        f" ({run.get('clips')} clips, report.json)" if run and run.get("clips") else ""
    )
    lines = [f"{'':32}{'this recording (' + str(scores['clips']) + ' clips)':>28}  {test}"]
    for label, path, key in ROWS:
        mine = get(scores, path)
        if mine is None:
            continue
        n = get(scores, path[:-1] + ("n",))
        note = f" (n={n})" if n is not None and n != scores["clips"] else ""
        theirs = None if run is None or key is None else run.get(key)
        lines.append(f"{label:32}{fmt(mine) + note:>28}  {fmt(theirs)}")
    return "\n".join(lines)
