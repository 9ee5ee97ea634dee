"""Utility metrics against hand-computed cases."""

import math

import numpy as np
import pytest

from spjax.eval import metrics as M


def test_accuracy_and_balanced_accuracy_by_hand():
    true = [0, 0, 0, 1]
    pred = [0, 0, 1, 1]
    assert M.accuracy(pred, true) == pytest.approx(0.75)
    # recall(0) = 2/3, recall(1) = 1 -> mean 5/6
    assert M.balanced_accuracy(pred, true) == pytest.approx(5 / 6)


def test_auroc_by_hand_with_ties_and_missing_class():
    # Pairs (pos, neg): (0.35, 0.1) win, (0.35, 0.4) lose, (0.8, *) win twice -> 3/4.
    assert M.auroc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) == pytest.approx(0.75)
    # A tie counts one half.
    assert M.auroc([1.0, 1.0], [0, 1]) == pytest.approx(0.5)
    assert M.auroc([0.2, 0.5, 0.5, 0.9], [0, 1, 0, 1]) == pytest.approx((1 + 0.5 + 1 + 1) / 4)
    assert math.isnan(M.auroc([0.1, 0.2], [1, 1]))
    with pytest.raises(ValueError, match="same length"):
        M.auroc([0.1, 0.2, 0.3], [0, 1])


def test_count_metrics_by_hand():
    assert M.count_mae([1, 2, 3], [1, 4, 0]) == pytest.approx(5 / 3)
    assert M.exact_accuracy([1, 2, 3], [1, 4, 0]) == pytest.approx(1 / 3)


def test_rouge_l_by_hand_and_best_reference():
    # LCS("the cat sat on the mat", "the cat is on the mat") = 5 tokens; P = R = 5/6.
    assert M.rouge_l("The cat sat on the mat.", "the cat is on the mat") == pytest.approx(5 / 6)
    assert M.rouge_l("the cat sat on the mat", ["a dog", "the cat sat on the mat"]) == 1.0
    # P = 2/2, R = 2/4 -> F = 2/3
    assert M.rouge_l("two people", "two people are walking") == pytest.approx(2 / 3)
    assert M.rouge_l("", ["anything"]) == 0.0


def test_bleu4_by_hand():
    # Clipped n-gram precisions 5/6, 3/5, 2/4, 1/3; equal lengths so no brevity penalty.
    got = M.bleu4(["the cat sat on the mat"], [["the cat sat on a mat"]])
    assert got == pytest.approx((5 / 6 * 3 / 5 * 2 / 4 * 1 / 3) ** 0.25)
    assert M.bleu4(["a b c d e"], [["x y", "a b c d e"]]) == pytest.approx(1.0)
    # Candidate shorter than the reference: BP = exp(1 - 6/5); precisions 1.
    got = M.bleu4(["a b c d e"], [["a b c d e f"]])
    assert got == pytest.approx(math.exp(1 - 6 / 5))
    assert M.bleu4(["x y z w"], [["a b c d"]]) == 0.0
    with pytest.raises(TypeError, match="candidates"):
        M.bleu4("a b", [["a b"]])


def _toy_parser(qtype, text):
    t = text.strip().lower()
    if qtype == "count":
        return {"count": int(t)} if t.isdigit() else None
    if qtype == "anomaly":
        return {"anomaly": t.startswith("yes")} if t.startswith(("yes", "no")) else None
    if qtype == "activity":
        return {"activity": t} if t in ("walking", "running") else None
    return None


def test_utility_from_answers_counts_unparseable_as_wrong():
    qtypes = ["count", "count", "count", "anomaly", "anomaly", "anomaly", "activity", "describe"]
    gen = ["2", "3", "many", "yes", "garbled", "no", "walking", "a person walks left"]
    refs = [2, "4", 1, True, False, "no", "walking", ["a person walks left", "someone walks"]]
    out = M.utility_from_answers(
        qtypes, gen, refs, anomaly_scores=[2.0, 0.0, -1.0], parser=_toy_parser
    )
    assert out["count"] == {
        "n": 3,
        "unparseable": 1,
        "exact_accuracy": pytest.approx(1 / 3),
        "mae": pytest.approx(0.5),
        "answered": pytest.approx(2 / 3),
    }
    # "garbled" is wrong: 2 of 3 right; recall(anomaly)=1, recall(normal)=1/2.
    assert out["anomaly"]["accuracy"] == pytest.approx(2 / 3)
    assert out["anomaly"]["balanced_accuracy"] == pytest.approx(0.75)
    assert out["anomaly"]["auroc"] == pytest.approx(1.0)
    assert out["activity"]["accuracy"] == 1.0
    assert out["describe"]["rouge_l"] == pytest.approx(1.0)
    assert out["unparseable"] == 2


def test_utility_rejects_bad_input():
    with pytest.raises(ValueError, match="qtypes"):
        M.utility_from_answers(["weather"], ["x"], ["y"], parser=_toy_parser)
    with pytest.raises(ValueError, match="anomaly_scores"):
        M.utility_from_answers(
            ["anomaly"], ["yes"], [True], anomaly_scores=[1.0, 2.0], parser=_toy_parser
        )


def test_utility_with_the_project_parser():
    text = pytest.importorskip("spjax.data.answers")
    qtypes = ["count", "anomaly", "count"]
    gen = ["There are 2 people.", "No, nothing unusual happens.", "I cannot tell."]
    refs = ["There are 2 people.", "No, nothing unusual happens.", "There is 1 person."]
    parsed = [text.parse_answer(q, r) for q, r in zip(qtypes, refs)]
    if any(p is None for p in parsed):
        pytest.skip(f"reference phrasing not in the parser's grammar: {parsed}")
    out = M.utility_from_answers(qtypes, gen, refs)
    assert out["count"]["n"] == 2
    assert out["count"]["unparseable"] == (text.parse_answer("count", gen[2]) is None)
    assert out["anomaly"]["accuracy"] == (1.0 if text.parse_answer("anomaly", gen[1]) else 0.0)


def test_tokenize_lowercases_and_drops_punctuation():
    assert M.tokenize("Two people, one FALLS!") == ["two", "people", "one", "falls"]
    assert np.array_equal(np.array(M.tokenize("")), np.array([]))


def test_anomaly_metrics_recall_by_type_and_unparseable():
    true = ["none", "none", "fall", "fall", "loiter"]
    pred = ["none", "fight", "fall", None, "fall"]  # None: unparseable, wrong either way
    out = M.anomaly_metrics(pred, true, scores=[0.1, 0.9, 0.8, 0.2, 0.7])
    assert out["accuracy"] == pytest.approx(3 / 5)
    assert out["recall_by_type"] == {"fall": 0.5, "loiter": 1.0, "none": 0.5}
    assert out["type_accuracy"] == pytest.approx(2 / 5)
    assert out["auroc"] == pytest.approx(0.5)  # each positive beats 0.1, loses to 0.9


def test_utility_from_answers_reads_types_from_real_answers():
    qtypes = ["anomaly"] * 3
    gen = ["Yes, someone has fallen.", "No.", "Yes, there is a fight."]
    refs = ["Yes, a person fell near the sink.", "Yes, someone is loitering.", "Nothing unusual."]
    out = M.utility_from_answers(qtypes, gen, refs)["anomaly"]
    assert out["recall_by_type"] == {"fall": 1.0, "loiter": 0.0, "none": 0.0}
    assert out["type_accuracy"] == pytest.approx(1 / 3)


def test_pointed_activity_metrics_reads_the_pointed_persons_activity():
    from spjax.data.labels import ACTIVITIES
    from spjax.data.text import ONLY_PERSON
    from spjax.eval.metrics import pointed_activity_metrics

    sitting, washing = ACTIVITIES.index("sitting"), ACTIVITIES.index("washing hands")
    pred = np.zeros((2, ONLY_PERSON + 1), int)
    pred[0, 3] = sitting  # bench
    pred[1, ONLY_PERSON] = washing
    questions = ["What is the person by the bench doing?", "What is the person doing?"]
    right = ["They are sitting.", "They are washing their hands."]
    out = pointed_activity_metrics(pred, [0, 1], questions, right)
    assert out["n"] == 2 and out["accuracy"] == 1.0
    assert out["by_pointer"] == {"bench": 1.0, "the person": 1.0}
    # The same predictions read at another pointer (the sink) are wrong.
    out = pointed_activity_metrics(
        pred, [0, 1], ["What is the person by the sink doing?"] * 2, right
    )
    assert out["accuracy"] == 0.0
    assert pointed_activity_metrics(pred, [], [], [])["n"] == 0
