import itertools

import numpy as np
import pytest

from spjax.data import text as tx
from spjax.data.answers import parse_answer
from spjax.data.layout import ZONES
from spjax.data.scenes import ANOMALY_TYPES, SceneConfig, clip_labels, generate_scenes
from spjax.data.text import corpus
from spjax.data.word_tokenizer import WordTokenizer


def test_count_round_trip_every_template():
    for n in range(7):
        table = tx.COUNT_ZERO if n == 0 else tx.COUNT_ONE if n == 1 else tx.COUNT_MANY
        for v in range(len(table)):
            a = tx.count_answer(n, v)
            assert parse_answer("count", a) == {"count": n}, a


def test_anomaly_round_trip_every_template():
    for v in range(len(tx.ANOMALY_NONE)):
        assert parse_answer("anomaly", tx.anomaly_answer("none", None, v)) == {
            "anomaly": False,
            "anomaly_type": "none",
            "location": None,
        }
    for atype, phrases in tx.ANOMALY_YES.items():
        for v, loc, lv in itertools.product(range(len(phrases)), [None, *ZONES], range(2)):
            a = tx.anomaly_answer(atype, loc, v, lv)
            assert parse_answer("anomaly", a) == {
                "anomaly": True,
                "anomaly_type": atype,
                "location": loc,
            }, a


def test_activity_round_trip_every_template():
    for act in tx.ACTIVITY_PHRASES:
        for v, pre in itertools.product(range(2), range(len(tx.ACTIVITY_PREFIX))):
            a = tx.activity_answer(act, v, pre)
            assert parse_answer("activity", a) == {"activity": act}, a


def test_describe_round_trip_every_template():
    rng = np.random.default_rng(0)
    labels = [tx.random_labels(rng) for _ in range(60)]
    labels.append({"count": 0, "anomaly_type": "none", "location": None, "people": []})
    for lab in labels:
        n = len(lab["people"])
        for count, detail, loc, phrase, subject, anomaly, alert, first in itertools.product(
            range(2), range(3), range(2), range(2), range(3), range(3), range(2), (False, True)
        ):
            choice = dict(
                count=count,
                detail=detail,
                loc=loc,
                phrase=phrase,
                subject=subject,
                anomaly=anomaly,
                alert=alert,
                anomaly_first=first,
                order=list(rng.permutation(n)),
            )
            c = tx.caption(lab, choice)
            p = parse_answer("describe", c)
            assert p is not None, c
            assert p["count"] == lab["count"] and p["anomaly_type"] == lab["anomaly_type"], c
            assert p["anomaly"] == (lab["anomaly_type"] != "none")
            if detail >= 1 and n:
                want = sorted(
                    ((a, z if detail == 2 else None) for a, z in lab["people"]),
                    key=lambda x: (x[0], x[1] or ""),
                )
                assert p["activities"] == want, c
            if detail == 2 and lab["anomaly_type"] != "none":
                assert p["location"] == lab["location"], c


def test_generated_qa_parses_back_to_clip_labels():
    d = generate_scenes(SceneConfig(anomaly_fraction=0.5), 80, seed=7)
    seen = set()
    for i, qa in enumerate(d["qa"]):
        lab = clip_labels(d, i)
        for qtype, _question, answer in qa:
            seen.add(qtype)
            p = parse_answer(qtype, answer)
            assert p is not None, answer
            if qtype == "count":
                assert p["count"] == d["count"][i]
            elif qtype == "anomaly":
                assert p["anomaly_type"] == ANOMALY_TYPES[d["anomaly_type"][i]]
                assert p["location"] in (None, lab["location"])
            elif qtype == "activity":
                assert p["activity"] in [a for a, _ in lab["people"]]
            else:
                assert p["count"] == d["count"][i] and p["anomaly_type"] == lab["anomaly_type"]
        for c in d["captions"][i]:
            assert parse_answer("describe", c)["count"] == d["count"][i]
    assert seen == set(tx.QTYPES)
    assert np.mean([len(set(c)) for c in d["captions"]]) > 2  # several distinct references


def test_parse_answer_rejects_junk_and_bad_qtype():
    assert parse_answer("count", "banana") is None
    assert parse_answer("anomaly", "maybe") is None
    assert parse_answer("activity", "") is None
    assert parse_answer("describe", "the cat sat") is None
    with pytest.raises(ValueError, match="qtype"):
        parse_answer("colour", "red")


def test_tokenizer_round_trip_save_load(tmp_path):
    tok = WordTokenizer.build(corpus(50, 0))
    assert tok.vocab[:4] == ["<pad>", "<bos>", "<eos>", "<unk>"] and tok.pad_id == 0
    for line in corpus(200, 1):
        ids = tok.encode(line, bos=True, eos=True)
        assert ids[0] == tok.bos_id and ids[-1] == tok.eos_id and tok.unk_id not in ids
        assert tok.decode(ids) == " ".join(tok.tokenize(line)).replace(" .", ".").replace(
            " ?", "?"
        ).replace(" ,", ",").replace(" :", ":")
    a = "Yes, someone has fallen near the sink."
    assert parse_answer("anomaly", tok.decode(tok.encode(a))) == parse_answer("anomaly", a)
    assert tok.encode("zebra") == [tok.unk_id]
    tok.save(tmp_path / "tok.json")
    tok2 = WordTokenizer.load(tmp_path / "tok.json")
    assert tok2.vocab == tok.vocab and tok2.vocab_size == tok.vocab_size
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ValueError, match="bad.json"):
        WordTokenizer.load(tmp_path / "bad.json")
    with pytest.raises(FileNotFoundError, match="missing.json"):
        WordTokenizer.load(tmp_path / "missing.json")


def test_grammar_vocabulary_is_small_and_covers_the_world():
    tok = WordTokenizer.build()
    assert tok.vocab_size < 300
    d = generate_scenes(SceneConfig(anomaly_fraction=0.5), 40, seed=3)
    for qa in d["qa"]:
        for _, q, a in qa:
            assert tok.unk_id not in tok.encode(q + " " + a)


def test_corpus_deterministic_and_varied():
    a, b = corpus(100, 3), corpus(100, 3)
    assert a == b and len(a) == 100
    assert len(set(a)) > 60
    assert corpus(100, 4) != a


def test_activity_questions_point_at_the_person_the_pointer_rule_names():
    # Every generated activity question names a person `activity_pointers` marks with the
    # question's pointer, and that person does the answer's activity.
    from spjax.data.router import question_pointer

    d = generate_scenes(SceneConfig(anomaly_fraction=0.5, max_people=4), 120, seed=3)
    pointers = tx.activity_pointers(d["activity"], d["zone"])
    asked = 0
    for i, qa in enumerate(d["qa"]):
        for qtype, question, answer in qa:
            if qtype != "activity":
                continue
            asked += 1
            p = question_pointer(question)
            slot = np.flatnonzero(pointers[i] == p)
            assert len(slot) == 1, (question, pointers[i])
            name = parse_answer("activity", answer)["activity"]
            assert tx.ACTIVITIES[d["activity"][i, slot[0]]] == name
    assert asked > 60


def test_activity_pointers_rule():
    act = np.array([[3, 0, 0], [1, 2, 4], [1, 2, 0], [0, 0, 0]])
    zone = np.array([[1, 0, 0], [0, 0, 3], [2, 4, 0], [0, 0, 0]])
    np.testing.assert_array_equal(
        tx.activity_pointers(act, zone),
        [[tx.ONLY_PERSON, -1, -1], [-1, -1, 3], [2, 4, -1], [-1, -1, -1]],
    )
