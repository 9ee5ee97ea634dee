"""The text grammar of the scene world: captions, question–answer pairs, the answer parser,
a word tokenizer for the tiny decoder, and an LM pretraining corpus.

Answers are short and systematic (a tiny LM can learn them) yet varied (synonyms, orderings,
detail levels). Every answer template is invertible by `parse_answer`:

- ``count``    → ``{"count": int}``; "No one.", "There are three people.", "2 people." …
- ``anomaly``  → ``{"anomaly": bool, "anomaly_type": name, "location": zone | None}``;
  "No." / "Nothing unusual." / "Yes, someone has fallen near the sink." …
- ``activity`` → ``{"activity": name}``; "They are washing their hands." …
- ``describe`` → ``{"count", "anomaly", "anomaly_type", "location", "activities"}`` where
  activities is a sorted list of (activity, zone | None); a caption is sentences: a count
  sentence (always says "in the room" or "empty"), person sentences ("Someone is sitting on the
  bench."), and an anomaly sentence ("Alert: …" / "Warning: …" or "Nothing unusual …").
  Fields a short caption leaves out are None.

Reading answers back (`spjax.data.answers.parse_answer`) and the tiny decoder's word tokenizer
(`spjax.data.word_tokenizer`) live beside this module."""

from __future__ import annotations

import random

import numpy as np

from spjax.data.labels import ACTIVITIES, ANOMALY_TYPES
from spjax.data.layout import ZONES

# Version of the text the grammar writes for the world (captions, QA, concept contexts). The
# pretrained decoder's cache is keyed by it: bump it whenever that corpus changes.
# 2: text seeded per clip (the JAX renderer's purity in (seed, split, index)).
GRAMMAR_VERSION = 2
QTYPES = ("count", "anomaly", "activity", "describe")
# Question types with one right value, read off the parsed answer under the qtype's own key;
# `describe` is scored against its references (ROUGE-L, BLEU) instead.
SCORED_QTYPES = QTYPES[:3]
NUMBERS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")

COUNT_ZERO = (
    "No one.",
    "Nobody.",
    "The room is empty.",
    "There is no one in the room.",
    "0 people.",
)
COUNT_ONE = (
    "One person.",
    "There is one person.",
    "1 person.",
    "I see one person.",
    "Just one person.",
)
COUNT_MANY = (
    "{W} people.",
    "There are {w} people.",
    "{d} people.",
    "I see {w} people.",
    "{W} people are in the room.",
)

LOCATIONS = {
    "door": ("by the door", "near the door"),
    "sink": ("near the sink", "by the sink"),
    "stalls": ("by the stalls", "near the stalls"),
    "bench": ("by the bench", "near the bench"),
    "middle": ("in the middle of the room", "in the middle"),
}
ANOMALY_NONE = (
    "No.",
    "No, everything looks normal.",
    "Nothing unusual.",
    "No, nothing unusual is happening.",
)
ANOMALY_YES = {  # phrases after "Yes, " (answers) or "Alert: " / "Warning: " (captions)
    "fall": ("someone has fallen", "a person fell", "a person is lying on the floor"),
    "fight": ("there is a fight", "someone is being bullied", "people are fighting"),
    "loiter": ("someone is loitering", "a person is lingering"),
    "crowding": ("the room is crowded", "a crowd has formed"),
}
ACTIVITY_PHRASES = {
    "walking": ("walking", "walking across the room"),
    "waiting": ("waiting", "standing and waiting"),
    "washing hands": ("washing hands", "washing their hands"),
    "sitting": ("sitting", "sitting down"),
    "entering": ("entering", "coming in"),
    "leaving": ("leaving", "going out"),
    "loitering": ("loitering", "lingering"),
    "fallen": ("lying on the floor", "down after a fall"),
    "fighting": ("fighting", "attacking someone"),
    "being pushed": ("being pushed", "being bullied"),
    "crowding": ("standing in a crowd", "crowding together"),
}
ACTIVITY_PREFIX = ("", "They are ", "The person is ")
SUBJECTS = ("Someone is", "One person is", "A person is")
NORMAL_SENTENCES = ("Nothing unusual is happening.", "Everything looks normal.")
ALERT_PREFIX = ("Alert: ", "Warning: ")

QUESTIONS = {
    "count": (
        "How many people are in the room?",
        "How many people are there?",
        "How many people do you see?",
        "Count the people.",
    ),
    "anomaly": (
        "Is anything unusual happening?",
        "Is anything wrong?",
        "Is anyone in trouble?",
        "Any problem here?",
    ),
    "activity": ("What is the person {loc} doing?", "What is the person {loc} up to?"),
    "activity_one": ("What is the person doing?", "What is that person doing?"),
    "describe": ("Describe the scene.", "What is happening?", "What do you see?"),
}


# One word of the grammar per label value, as captions say it: the words an SP-VLM's label heads
# "speak" into its prefix (`spjax.models.spvlm`), in the order of the label indices
# (counts 0 … 9, `labels.ANOMALY_TYPES`, `labels.ACTIVITIES[1:]`).
CONCEPT_WORDS = {
    "count": ("empty", *NUMBERS[1:]),
    "anomaly_type": ("normal", "fallen", "fight", "loitering", "crowded"),
    "activities": (
        "walking",
        "waiting",
        "washing",
        "sitting",
        "entering",
        "leaving",
        "loitering",
        "lying",
        "fighting",
        "pushed",
        "crowd",
    ),
}
ABSENT_WORD = "none"  # an activity slot of a concept context where nobody does that activity


def concept_context(labels: dict) -> str:
    """The labels as a fixed-layout word list, the text twin of an SP-VLM's concept tokens:
    count word, anomaly-type word, then one slot per activity (its word if someone does it,
    else `ABSENT_WORD`). The tiny decoder is pretrained to answer from such contexts too."""
    present = {a for a, _ in labels["people"]}
    acts = [
        w if a in present else ABSENT_WORD
        for a, w in zip(ACTIVITIES[1:], CONCEPT_WORDS["activities"])
    ]
    return " ".join(
        [
            CONCEPT_WORDS["count"][labels["count"]],
            CONCEPT_WORDS["anomaly_type"][ANOMALY_TYPES.index(labels["anomaly_type"])],
            *acts,
        ]
    )


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


# --- rendering ---------------------------------------------------------------------------


def count_answer(n: int, variant: int) -> str:
    """Count answer `variant` (index into COUNT_ZERO / COUNT_ONE / COUNT_MANY by n)."""
    table = COUNT_ZERO if n == 0 else COUNT_ONE if n == 1 else COUNT_MANY
    w = NUMBERS[n]
    return table[variant % len(table)].format(w=w, W=_cap(w), d=n)


def location_phrase(zone: str | None, variant: int) -> str:
    return "" if zone is None else " " + LOCATIONS[zone][variant % 2]


def anomaly_answer(atype: str, location: str | None, variant: int, loc_variant: int = 0) -> str:
    if atype == "none":
        return ANOMALY_NONE[variant % len(ANOMALY_NONE)]
    phrase = ANOMALY_YES[atype][variant % len(ANOMALY_YES[atype])]
    return f"Yes, {phrase}{location_phrase(location, loc_variant)}."


def activity_answer(activity: str, variant: int, prefix: int) -> str:
    phrase = ACTIVITY_PHRASES[activity][variant % 2]
    pre = ACTIVITY_PREFIX[prefix % len(ACTIVITY_PREFIX)]
    return _cap(pre + phrase) + "."


def caption(labels: dict, choice: dict) -> str:
    """One caption from labels and explicit template choices (see `captions`)."""
    count_s = {
        0: ("The room is empty.", "There is no one in the room."),
        1: ("One person is in the room.", "There is one person in the room."),
    }.get(labels["count"], ("There are {w} people in the room.", "{W} people are in the room."))
    w = NUMBERS[labels["count"]]
    parts = [count_s[choice["count"] % 2].format(w=w, W=_cap(w))]
    people = []
    if choice["detail"] >= 1:
        for k, (act, zone) in enumerate(labels["people"]):
            loc = location_phrase(zone if choice["detail"] >= 2 else None, choice["loc"] + k)
            phrase = ACTIVITY_PHRASES[act][(choice["phrase"] + k) % 2]
            people.append(f"{SUBJECTS[(choice['subject'] + k) % 3]} {phrase}{loc}.")
        order = choice.get("order")
        if order is not None:
            people = [people[i] for i in order]
    atype = labels["anomaly_type"]
    if atype == "none":
        anomaly_s = NORMAL_SENTENCES[choice["anomaly"] % 2]
    else:
        loc = location_phrase(
            labels.get("location") if choice["detail"] >= 2 else None, choice["loc"]
        )
        phrase = ANOMALY_YES[atype][choice["anomaly"] % len(ANOMALY_YES[atype])]
        anomaly_s = f"{ALERT_PREFIX[choice['alert'] % 2]}{phrase}{loc}."
    if choice["anomaly_first"] and atype != "none":
        return " ".join([anomaly_s, *parts, *people])
    return " ".join([*parts, *people, anomaly_s])


def _py_rng(rng) -> random.Random:
    """Text choices are many tiny draws: Python's RNG is ~10× cheaper per draw than NumPy's,
    so a NumPy generator passed in seeds one (one draw), keeping everything deterministic."""
    if isinstance(rng, random.Random):
        return rng
    if isinstance(rng, np.random.Generator):
        return random.Random(int(rng.integers(2**63)))
    raise TypeError(
        f"rng: expected numpy.random.Generator or random.Random, got {type(rng).__name__}"
    )


def _random_choice(rng: random.Random, n_people: int) -> dict:
    r = rng.randrange
    order = list(range(n_people))
    rng.shuffle(order)
    return {
        "count": r(2),
        "detail": r(3),
        "loc": r(2),
        "phrase": r(2),
        "subject": r(3),
        "anomaly": r(3),
        "alert": r(2),
        "anomaly_first": rng.random() < 0.5,
        "order": order,
    }


def captions(labels: dict, rng, k: int = 3) -> list[str]:
    """`k` reference captions (distinct where the grammar allows) with varied detail and order."""
    rng = _py_rng(rng)
    out: list[str] = []
    for _ in range(8 * k):
        c = caption(labels, _random_choice(rng, len(labels["people"])))
        if c not in out:
            out.append(c)
        if len(out) == k:
            break
    while len(out) < k:
        out.append(out[len(out) % max(len(out), 1)])
    return out


# Who an activity question can point at: a zone (`ZONES[i]` → i) when the person is the only
# one there, or `ONLY_PERSON` ("the person") when the clip holds one person.
ONLY_PERSON = len(ZONES)
POINTERS = (*ZONES, "the person")


def named_people(zones: list) -> list[int]:
    """Indices of the people an activity question can name unambiguously: the only person,
    or each person alone in their zone (`zones`: each present person's zone)."""
    return [i for i, z in enumerate(zones) if zones.count(z) == 1]  # a lone person included


def activity_pointers(activity, zone) -> np.ndarray:
    """(…, P) activity ids (0 = absent) and zone ids → (…, P) int32: the pointer of each
    person an activity question can name (`named_people`: the zone id, or `ONLY_PERSON` for a
    lone person), −1 for people it cannot name and for empty slots."""
    activity, zone = np.asarray(activity), np.asarray(zone)
    present = activity > 0
    same_zone = (present[..., None, :] & (zone[..., None, :] == zone[..., :, None])).sum(-1)
    alone = present.sum(-1, keepdims=True) == 1
    pointer = np.where(alone, ONLY_PERSON, np.where(same_zone == 1, zone, -1))
    return np.where(present, pointer, -1).astype(np.int32)


def qa_pairs(labels: dict, rng) -> list[tuple[str, str, str]]:
    """(qtype, question, answer) for count, anomaly, describe, and activity when a person can be
    named unambiguously (`named_people`)."""
    rng = _py_rng(rng)
    r = rng.randrange
    qa = [
        ("count", QUESTIONS["count"][r(4)], count_answer(labels["count"], r(5))),
        (
            "anomaly",
            QUESTIONS["anomaly"][r(4)],
            anomaly_answer(
                labels["anomaly_type"], labels.get("location") if r(3) else None, r(3), r(2)
            ),
        ),
    ]
    people = labels["people"]
    zones = [z for _, z in people]
    unique = named_people(zones)
    if len(people) == 1:
        qa.append(
            ("activity", QUESTIONS["activity_one"][r(2)], activity_answer(people[0][0], r(2), r(3)))
        )
    elif unique:
        i = unique[r(len(unique))]
        q = QUESTIONS["activity"][r(2)].format(loc=LOCATIONS[zones[i]][r(2)])
        qa.append(("activity", q, activity_answer(people[i][0], r(2), r(3))))
    qa.append(
        ("describe", QUESTIONS["describe"][r(3)], caption(labels, _random_choice(rng, len(people))))
    )
    return qa


# --- labels and corpus -----------------------------------------------------------------


def random_labels(rng, max_people: int = 4) -> dict:
    """Labels drawn from the grammar alone (no rendering), for corpora and tests."""
    rng = _py_rng(rng)
    atype = ("none", "none", "fall", "fight", "loiter", "crowding")[rng.randrange(6)]
    need = {"none": 0, "fall": 1, "fight": 2, "loiter": 1, "crowding": 3}[atype]
    count = rng.randrange(need, max(need, max_people) + 1)
    normal = ("walking", "waiting", "washing hands", "sitting", "entering", "leaving")
    acts = [rng.choice(normal) for _ in range(count)]
    if atype == "fall":
        acts[0] = "fallen"
    elif atype == "loiter":
        acts[0] = "loitering"
    elif atype == "fight":
        acts[:2] = ["fighting", "being pushed"]
    elif atype == "crowding":
        acts = ["crowding"] * count
    fixed = {
        "washing hands": ("sink",),
        "sitting": ("bench",),
        "entering": ("door", "middle", "stalls"),
        "leaving": ("door",),
        "loitering": ("stalls", "door"),
    }  # where the scene world puts them
    people = [(a, rng.choice(fixed.get(a, ZONES))) for a in acts]
    loc = people[1 if atype == "fight" else 0][1] if atype != "none" else None
    return {"count": count, "anomaly_type": atype, "location": loc, "people": people}


def corpus(n: int, seed: int = 0) -> list[str]:
    """`n` lines of world text for pretraining the tiny decoder: captions and
    "question answer" lines in the exact formats the SP-VLM is trained and evaluated on."""
    if not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n: expected an int >= 0, got {n!r}")
    rng = random.Random(f"spjax-corpus-{int(seed)}")
    out: list[str] = []
    while len(out) < n:
        lab = random_labels(rng)
        if rng.random() < 0.3:
            out.append(captions(lab, rng, 1)[0])
        else:
            qa = qa_pairs(lab, rng)
            _, q, a = rng.choice(qa)
            out.append(f"{q} {a}")
    return out


def grammar_texts() -> list[str]:
    """Every fixed string and phrase the grammar can produce (vocabulary source)."""
    texts = [
        *COUNT_ZERO,
        *COUNT_ONE,
        *COUNT_MANY,
        *ANOMALY_NONE,
        *NORMAL_SENTENCES,
        *ALERT_PREFIX,
        *SUBJECTS,
        *ACTIVITY_PREFIX,
        "yes in the room there are is people person",
        *NUMBERS,
        *[str(i) for i in range(10)],
        *[w for words in CONCEPT_WORDS.values() for w in words],
        ABSENT_WORD,
    ]
    for table in (LOCATIONS, ANOMALY_YES, ACTIVITY_PHRASES, QUESTIONS):
        for v in table.values():
            texts.extend(v)
    return texts
