"""`Pipeline.answer` with questions in a user's own words: each is routed to its answer kind,
the model is asked the grammar's question of that kind and the answer parsed as that kind; a
question of no kind gets a plain statement; no answer is empty. The model here is a stand-in
that answers by the question it is asked (tests/test_deploy.py asks a trained run)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from spjax.data.router import NO_WORDS, OUTSIDE_ANSWER
from spjax.data.text import QUESTIONS
from spjax.deploy import pipeline as pl
from spjax.deploy.labels import score

T, K = 4, 6
SAYS = {  # what the stand-in model answers to each grammar question it is asked
    QUESTIONS["count"][0]: "Two people.",
    QUESTIONS["anomaly"][0]: "Yes, someone has fallen near the sink.",
    "What is the person near the sink doing?": "They are washing their hands.",
    QUESTIONS["describe"][0]: "",  # the decoder says nothing
}


def stand_in(monkeypatch):
    asked = []

    def generate(self, prefix, question, qtype):
        asked.append((question, qtype))
        return [SAYS[question]] * prefix.shape[0]

    monkeypatch.setattr(pl, "_read", lambda model, y: (np.zeros((len(y), 1, 1)), None))
    monkeypatch.setattr(pl.Pipeline, "_generate", generate)
    model = SimpleNamespace(sensor=SimpleNamespace(k=K))
    cfg = SimpleNamespace(data=SimpleNamespace(frames=T), eval=SimpleNamespace(batch_size=2))
    return pl.Pipeline(model, None, cfg), asked


def test_free_form_questions_are_routed_asked_and_parsed(monkeypatch):
    pipe, asked = stand_in(monkeypatch)
    questions = [
        "Tell me how many people are here.",
        "Has anybody collapsed in there?",
        "what's the guy at the washbasin doing",
        "Who is this person?",
        "Give me a quick summary of the room.",
        "How many people are in the room?",  # the grammar's own: asked once with the first
    ]
    got = pipe.answer(np.zeros((3 * T + 1, K)), questions)
    # each grammar question the model is asked once per batch, whatever the wordings
    assert sorted(set(asked)) == sorted(
        {
            (QUESTIONS["count"][0], "count"),
            (QUESTIONS["anomaly"][0], "anomaly"),
            ("What is the person near the sink doing?", "activity"),
            (QUESTIONS["describe"][0], "describe"),
        }
    )
    assert len(asked) == 2 * 4  # two batches (windows 0–1, 2)
    info = got["questions"]
    assert [q["qtype"] for q in info] == ["count", "anomaly", "activity", None, "describe", "count"]
    assert info[2]["place"] == "sink" and info[3]["reason"] and info[5]["source"] == "grammar"
    assert len(got["windows"]) == 3 and got["partial_window"]["n_frames"] == 1
    for w in got["windows"]:
        count, anomaly, activity, who, describe, grammar = w["answers"]
        assert count["parsed"] == {"count": 2} and count["asked"] == QUESTIONS["count"][0]
        assert count["answer"] == grammar["answer"] == "Two people."
        assert anomaly["parsed"]["anomaly_type"] == "fall"
        assert activity["parsed"] == {"activity": "washing hands"}
        assert who["answer"] == OUTSIDE_ANSWER and who["qtype"] is None and who["parsed"] is None
        assert describe["answer"] == NO_WORDS and describe["parsed"] is None
        assert all(a["answer"].strip() for a in w["answers"])


def test_activity_is_scored_on_the_person_the_question_names(monkeypatch):
    pipe, _ = stand_in(monkeypatch)
    got = pipe.answer(np.zeros((2 * T, K)), ["What's the guy at the washbasin up to right now?"])
    people = {0: [["washing hands", "sink"], ["walking", "door"]], 1: [["sitting", "sink"]]}
    labels = {
        "clip_frames": T,
        "ground_truth": [
            {"frames": [T * i, T * i + T], "count": 2, "anomaly_type": "none", "people": p}
            for i, p in people.items()
        ],
    }
    act = score(got, labels)["answers"]["activity"]
    # the free-form wording names no grammar place phrase; the question asked does
    assert act["n"] == 2 and act["accuracy"] == 0.5
