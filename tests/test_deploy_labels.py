"""`spjax ask --labels`: answers scored against a recording's ground truth, beside the run's
own test numbers. The answers here are written with the caption grammar itself, so the
expected scores are known exactly (tests/test_deploy.py scores a trained run's)."""

from __future__ import annotations

import json

import pytest

from spjax.data.answers import parse_answer
from spjax.data.text import QUESTIONS, activity_answer, anomaly_answer, count_answer
from spjax.deploy.labels import activity_truth, load_labels, run_test_numbers, score, table, wilson

QS = [
    ("count", QUESTIONS["count"][0]),
    ("anomaly", QUESTIONS["anomaly"][0]),
    ("activity", QUESTIONS["activity_one"][0]),
    ("describe", QUESTIONS["describe"][0]),
]
TRUTH = [  # (count, anomaly type, people)
    (1, "none", [["walking", "door"]]),
    (2, "fight", [["fighting", "sink"], ["fighting", "sink"]]),
    (1, "fall", [["fallen", "middle"]]),
    (0, "none", []),
]
SAID = [  # what the run answered: (count, anomaly type, activity)
    (1, "none", "walking"),  # all right
    (3, "fight", "walking"),  # count off by one; activity not asked of two people
    (1, "none", "waiting"),  # missed fall; wrong activity
    (0, "none", "walking"),
]


def labels() -> dict:
    return {
        "clip_frames": 8,
        "ground_truth": [
            {
                "clip": i,
                "frames": [8 * i, 8 * i + 8],
                "count": c,
                "anomaly_type": a,
                "people": p,
                "captions": [f"{c} people."],
            }
            for i, (c, a, p) in enumerate(TRUTH)
        ],
    }


def result(said=SAID) -> dict:
    def answers(c, a, act):
        texts = {
            "count": count_answer(c, 0),
            "anomaly": anomaly_answer(a, None, 0),
            "activity": activity_answer(act, 0, 0),
            "describe": f"{c} people.",
        }
        return [
            {"question": q, "qtype": t, "answer": texts[t], "parsed": parse_answer(t, texts[t])}
            for t, q in QS
        ]

    return {
        "clip_frames": 8,
        "questions": [{"text": q, "qtype": t} for t, q in QS],
        "windows": [
            {
                "window": i,
                "frames": [8 * i, 8 * i + 8],
                "answers": answers(*s),
                "label_heads": {"count": s[0], "anomaly_type": s[1], "anomaly_score": 0.0},
            }
            for i, s in enumerate(said)
        ],
    }


def test_scores_against_the_ground_truth():
    got = score(result(), labels())
    a = got["answers"]
    assert got["clips"] == 4
    assert a["count"]["exact_accuracy"] == 0.75 and a["count"]["mae"] == 0.25
    assert a["count"]["exact_interval_95"] == wilson(3, 4)
    assert a["anomaly"]["accuracy"] == 0.75 and a["anomaly"]["type_accuracy"] == 0.75
    # Activity only where one person can be named: clips 0 and 2 (one right, one wrong).
    assert a["activity"]["n"] == 2 and a["activity"]["accuracy"] == 0.5
    assert a["describe"]["rouge_l"] == pytest.approx((1 + 0.5 + 1 + 1) / 4)  # "3" for "2"
    assert got["label_heads"]["count"]["exact_accuracy"] == 0.75
    lo, hi = wilson(3, 4)
    assert 0.3 < lo < 0.75 < hi <= 1.0


def test_activity_truth_follows_the_question():
    people = [["walking", "door"], ["waiting", "sink"], ["waiting", "sink"]]
    assert activity_truth("What is the person doing?", people[:1]) == "walking"
    assert activity_truth("What is the person doing?", people) is None
    assert activity_truth("What is the person by the door doing?", people) == "walking"
    assert activity_truth("What is the person near the sink doing?", people) is None


def test_side_by_side_with_the_runs_test_numbers(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "report.json").write_text(
        json.dumps(
            {
                "utility": {
                    "split": "test",
                    "count_exact_accuracy": 0.72,
                    "count_mae": 0.301,
                    "anomaly_accuracy": 0.955,
                    "activity_accuracy": 0.8,
                    "rouge_l": 0.691,
                    "details": {"count": {"n": 1000}},
                    "label_heads": {"count_exact_accuracy": 0.7, "anomaly_accuracy": 0.951},
                }
            }
        )
    )
    numbers = run_test_numbers(run)
    assert numbers["clips"] == 1000 and numbers["anomaly_accuracy"] == 0.955
    text = table(score(result(), labels()), numbers)
    lines = {line[:32].strip(): line for line in text.splitlines()}
    assert "this recording (4 clips)" in text and "run's test set (1000 clips" in text
    assert lines["count MAE"].split()[-2:] == ["0.250", "0.301"]
    assert lines["activity accuracy"].split()[-3:] == ["0.500", "(n=2)", "0.800"]
    assert run_test_numbers(tmp_path / "missing") is None
    assert "—" in table(score(result(), labels()), None)


def test_labels_that_do_not_fit_the_answers(tmp_path):
    other = labels()
    other["clip_frames"] = 16
    with pytest.raises(ValueError, match="clips are 16 frames long, the run answers windows of 8"):
        score(result(), other)
    short = labels()
    short["ground_truth"] = short["ground_truth"][:2]
    with pytest.raises(ValueError, match=r"windows \[2, 3\] have no ground-truth clip"):
        score(result(), short)
    (tmp_path / "x.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="expected the ground truth of spjax sensing record"):
        load_labels(tmp_path / "x.json")
    with pytest.raises(FileNotFoundError, match="--labels"):
        load_labels(tmp_path / "nothing.json")
