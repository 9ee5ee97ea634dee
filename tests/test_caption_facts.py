"""The caption content score: captions read into facts, scored against the clip's true facts,
and the ROUGE-L ceilings reported beside it."""

import itertools
import random
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spjax.data import text as tx
from spjax.data.answers import caption_facts, label_facts
from spjax.data.labels import ACTIVITIES, ANOMALY_TYPES
from spjax.data.layout import ZONES
from spjax.eval import metrics as M
from spjax.eval.caption_ceiling import TERSE_WORDINGS, caption_ceilings, fixed_choice

# Every template choice `text.caption` takes (the person order is added per clip).
CHOICES = [
    dict(zip(("count", "detail", "loc", "phrase", "subject", "anomaly", "alert", "first"), c))
    for c in itertools.product(
        range(2), range(3), range(2), range(2), range(3), range(3), range(2), (False, True)
    )
]


def _labels_covering_the_grammar(n=40):
    rng = random.Random("caption-facts-test")
    out = [tx.random_labels(rng, max_people=6) for _ in range(n)]
    # Two people doing the same thing in the same place: a repeated fact.
    out.append(
        {
            "count": 3,
            "anomaly_type": "none",
            "location": None,
            "people": [("sitting", "bench"), ("sitting", "bench"), ("walking", "middle")],
        }
    )
    return out


def _caption(labels, c, order=None):
    n = len(labels["people"])
    choice = {**c, "anomaly_first": c["first"], "order": order or list(range(n))}
    return tx.caption(labels, choice)


def _one(caption, labels) -> dict:
    return M.caption_content([caption], [labels])


def test_every_wording_of_the_grammar_scores_one():
    labels = _labels_covering_the_grammar()
    # The labels reach every anomaly type, activity and zone, so every phrase is read.
    assert {lab["anomaly_type"] for lab in labels} == set(ANOMALY_TYPES)
    assert {a for lab in labels for a, _ in lab["people"]} == set(ACTIVITIES[1:])
    assert {z for lab in labels for _, z in lab["people"]} == set(ZONES)
    caps, labs = [], []
    for lab in labels:
        order = list(reversed(range(len(lab["people"]))))
        for c in CHOICES:
            caps.append(_caption(lab, c, order))
            labs.append(lab)
    out = M.caption_content(caps, labs)
    assert (out["precision"], out["recall"], out["f1"]) == (1.0, 1.0, 1.0)
    assert out["unread_sentences"] == 0
    assert all(out["detail"][d] > 0 for d in ("0", "1", "2"))


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_random_references_of_random_clips_score_one(seed):
    rng = random.Random(seed)
    lab = tx.random_labels(rng, max_people=8)
    caps = tx.captions(lab, rng, 3)
    assert M.caption_content(caps, [lab] * len(caps))["f1"] == 1.0


def _normal_clip():
    return {
        "count": 2,
        "anomaly_type": "none",
        "location": None,
        "people": [("sitting", "bench"), ("washing hands", "sink")],
    }


def test_a_wrong_count_lowers_precision_and_recall():
    lab = _normal_clip()
    right = "There are two people in the room. Everything looks normal."
    wrong = "There are three people in the room. Everything looks normal."
    assert _one(right, lab)["f1"] == 1.0
    out = _one(wrong, lab)
    # Facts {count, anomaly}: one of two stated facts is true, one of two true facts said.
    assert (out["precision"], out["recall"], out["f1"]) == (0.5, 0.5, 0.5)


def test_a_missing_person_lowers_recall_only():
    lab = _normal_clip()
    full = "Two people are in the room. Someone is sitting. A person is washing hands. " + (
        "Nothing unusual is happening."
    )
    missing = "Two people are in the room. Someone is sitting. Nothing unusual is happening."
    assert _one(full, lab)["f1"] == 1.0
    out = _one(missing, lab)
    assert out["precision"] == 1.0 and out["recall"] == pytest.approx(3 / 4)


def test_a_wrong_place_or_activity_is_a_wrong_fact():
    lab = _normal_clip()
    text = (
        "Two people are in the room. Someone is sitting near the door. "
        "A person is washing hands near the sink. Everything looks normal."
    )
    out = _one(text, lab)
    assert out["precision"] == pytest.approx(3 / 4) and out["recall"] == pytest.approx(3 / 4)
    assert out["detail"] == {"0": 0, "1": 0, "2": 1}
    fall = {**lab, "anomaly_type": "fall", "location": "sink"}
    fall["people"] = [("fallen", "sink"), ("sitting", "bench")]
    said = "Two people are in the room. Alert: someone has fallen by the door."
    # A place anywhere asks for every place: the anomaly at the door is wrong.
    assert _one(said, fall)["recall"] == pytest.approx(1 / 4)


def test_repeated_facts_match_as_a_multiset():
    lab = {
        "count": 2,
        "anomaly_type": "none",
        "location": None,
        "people": [("sitting", "bench"), ("sitting", "bench")],
    }
    one = "Two people are in the room. Someone is sitting by the bench. Everything looks normal."
    out = _one(one, lab)
    assert out["precision"] == 1.0 and out["recall"] == pytest.approx(3 / 4)
    sitters = [f"{s} is sitting by the bench." for s in ("Someone", "A person", "One person")]
    three = " ".join(["Two people are in the room.", *sitters, "Everything looks normal."])
    out = _one(three, lab)
    # Two of the three stated sitters are true: 4 of 5 stated facts, all 4 true facts.
    assert out["recall"] == 1.0 and out["precision"] == pytest.approx(4 / 5)
    assert caption_facts(three)[("person", "sitting", "bench")] == 3


def test_empty_or_unreadable_captions_score_zero():
    lab = _normal_clip()
    for text in ("", "   ", "the cat sat on the mat.", "Blah. Blah."):
        out = _one(text, lab)
        assert (out["precision"], out["recall"], out["f1"]) == (0.0, 0.0, 0.0), text
    assert _one("Blah. Blah.", lab)["unread_sentences"] == 2
    # Unreadable sentences cost precision beside readable ones.
    out = _one("There are two people in the room. Everything looks normal. Blah.", lab)
    assert out["recall"] == 1.0 and out["precision"] == pytest.approx(2 / 3)


def test_bad_input_raises_clear_errors():
    lab = _normal_clip()
    with pytest.raises(ValueError, match="same length"):
        M.caption_content(["No one."], [lab, lab])
    with pytest.raises(TypeError, match="single str"):
        M.caption_content("The room is empty.", [lab])
    with pytest.raises(TypeError, match="expected str"):
        M.caption_content([None], [lab])
    with pytest.raises(ValueError, match="missing"):
        M.caption_content(["No one."], [{"count": 0}])
    with pytest.raises(ValueError, match="count 3 but 2 people"):
        M.caption_content(["No one."], [{**lab, "count": 3}])
    with pytest.raises(ValueError, match="not in the grammar"):
        M.caption_content(["No one."], [{**lab, "people": [("dancing", "sink"), lab["people"][1]]}])
    with pytest.raises(ValueError, match="anomaly_type"):
        M.caption_content(["No one."], [{**lab, "anomaly_type": "fire"}])
    with pytest.raises(ValueError, match="detail"):
        label_facts(lab, 3)


def test_utility_from_answers_adds_the_content_score_to_describe():
    lab = _normal_clip()
    refs = tx.captions(lab, random.Random(0), 3)
    qtypes = ["count", "describe", "describe"]
    gen = ["Two people.", refs[0], "There are three people in the room. Everything looks normal."]
    out = M.utility_from_answers(qtypes, gen, ["2 people.", refs, refs], caption_labels=[lab, lab])
    assert out["describe"]["content"]["f1"] == pytest.approx((1.0 + 0.5) / 2)
    assert "rouge_l" in out["describe"] and "bleu4" in out["describe"]
    assert (
        "content" not in M.utility_from_answers(qtypes, gen, ["2 people.", refs, refs])["describe"]
    )
    with pytest.raises(ValueError, match="one per describe question"):
        M.utility_from_answers(qtypes, gen, ["2 people.", refs, refs], caption_labels=[lab])
    with pytest.raises(ValueError, match="no describe question"):
        M.utility_from_answers(["count"], ["2 people."], ["2 people."], caption_labels=[lab])


def test_evaluation_truth_needs_every_person_labelled():
    from spjax.training.evaluate import caption_truth

    labels = {
        "count": np.array([2, 1]),
        "anomaly_type": np.array([0, 1]),
        "activity": np.array([[4, 3, 0], [8, 0, 0]]),
        "zone": np.array([[3, 1, 0], [1, 0, 0]]),
    }
    split = SimpleNamespace(labels=labels, clip=np.array([1, 0, 1]))
    truth = caption_truth(split, [0, 1])
    assert truth[0] == {
        "count": 1,
        "anomaly_type": "fall",
        "location": "sink",
        "people": [("fallen", "sink")],
    }
    assert truth[1]["people"] == [("sitting", "bench"), ("washing hands", "sink")]
    assert caption_truth(split, []) is None
    # Local videos carry counts but no per-person activity: no content score.
    blind = SimpleNamespace(labels={**labels, "activity": np.zeros((2, 3), int)}, clip=split.clip)
    assert caption_truth(blind, [0, 1]) is None


# --- the ROUGE-L ceilings --------------------------------------------------------------------


def test_ceilings_find_the_references_own_terse_wording():
    rng = random.Random(3)
    labels = [tx.random_labels(rng) for _ in range(30)]
    wording = TERSE_WORDINGS[7]
    refs = [[tx.caption(lab, fixed_choice(0, len(lab["people"]), *wording))] for lab in labels]
    out = caption_ceilings(labels, refs, candidates=4)
    assert out["rouge_l"]["oracle_best_terse"] == 1.0
    assert out["best_terse_wording"] == dict(
        zip(("count", "anomaly", "alert", "anomaly_first"), wording)
    )
    assert out["rouge_l"]["oracle_fixed_detail2"] < 1.0
    assert out["content_f1"] == {"oracle_random": 1.0}
    assert out["n_clips"] == 30


def test_ceilings_of_random_references_are_below_one_and_deterministic():
    rng = random.Random(4)
    labels = [tx.random_labels(rng) for _ in range(40)]
    refs = [tx.captions(lab, rng, 3) for lab in labels]
    out = caption_ceilings(labels, refs)
    assert 0.3 < out["rouge_l"]["oracle_random"] < out["rouge_l"]["oracle_best_terse"] < 1.0
    assert caption_ceilings(labels, refs) == out
    with pytest.raises(ValueError, match="same non-zero length"):
        caption_ceilings(labels, refs[:-1])
    with pytest.raises(ValueError, match="candidates"):
        caption_ceilings(labels, refs, candidates=1)


def _lcs_dp(a, b):
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b):
            cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from("abcde"), max_size=40),
    st.lists(st.sampled_from("abcde"), min_size=1, max_size=70),
)
def test_rouge_l_equals_the_textbook_lcs(a, b):
    lcs = _lcs_dp(a, b)
    want = 0.0 if lcs == 0 else 2 * lcs / (len(a) + len(b))  # F1 of P = lcs/|a|, R = lcs/|b|
    assert M.rouge_l(" ".join(a), " ".join(b)) == pytest.approx(want)
