"""Reading generated text back into labels: `parse_answer(qtype, text)` inverts every answer
template of the grammar (`spjax.data.text`), tolerating the free variations a decoder may
produce; it returns None when the text cannot be read as an answer of that type.
`caption_facts(text)` reads a caption sentence by sentence into the facts it states, and
`label_facts(labels, detail)` gives the clip's true facts, for the caption content score
(`spjax.eval.metrics.caption_content`)."""

from __future__ import annotations

import re
from collections import Counter

from spjax.data.labels import ANOMALY_TYPES
from spjax.data.layout import ZONES
from spjax.data.text import (
    ACTIVITY_PHRASES,
    ALERT_PREFIX,
    ANOMALY_NONE,
    ANOMALY_YES,
    LOCATIONS,
    NORMAL_SENTENCES,
    NUMBERS,
    QTYPES,
    SUBJECTS,
)

# --- parsing ----------------------------------------------------------------------------


def _norm(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+|[.:]", str(text).lower()))


_NUM_RE = re.compile(r"\b(" + "|".join(NUMBERS) + r"|\d+)\b")


def _parse_count(t: str):
    if re.search(r"\b(no one|nobody|empty)\b", t):
        return 0
    m = _NUM_RE.search(t)
    if not m or not re.search(r"\b(people|person)\b", t):
        return None
    return NUMBERS.index(m.group(1)) if m.group(1) in NUMBERS else int(m.group(1))


def _parse_location(t: str):
    for zone in ZONES:
        for phrase in LOCATIONS[zone]:
            if re.search(r"\b" + phrase + r"\b", t):
                return zone
    return None


_ANOMALY_KEYS = (
    ("fall", ("fallen", "fell", "lying on the floor")),
    ("fight", ("fight", "bullied", "fighting")),
    ("loiter", ("loitering", "lingering")),
    ("crowding", ("crowded", "crowd has formed")),
)


def _parse_anomaly_type(t: str):
    for name, keys in _ANOMALY_KEYS:
        if any(re.search(r"\b" + k + r"\b", t) for k in keys):
            return name
    return None


_ACTIVITY_KEYS = (
    ("being pushed", ("being pushed", "being bullied")),
    ("fallen", ("lying on the floor", "after a fall")),
    ("crowding", ("in a crowd", "crowding")),
    ("loitering", ("loitering", "lingering")),
    ("washing hands", ("washing",)),
    ("sitting", ("sitting",)),
    ("entering", ("entering", "coming in")),
    ("leaving", ("leaving", "going out")),
    ("fighting", ("fighting", "attacking")),
    ("walking", ("walking",)),
    ("waiting", ("waiting",)),
)


def _parse_activity(t: str):
    for name, keys in _ACTIVITY_KEYS:
        if any(re.search(r"\b" + k + r"\b", t) for k in keys):
            return name
    return None


def _parse_describe(t: str):
    out = {
        "count": None,
        "anomaly": None,
        "anomaly_type": None,
        "location": None,
        "activities": None,
    }
    acts = []
    for s in (x.strip() for x in t.split(".")):
        if not s:
            continue
        if s.startswith(("alert", "warning")):
            out["anomaly_type"] = _parse_anomaly_type(s)
            out["anomaly"] = out["anomaly_type"] is not None
            out["location"] = _parse_location(s)
        elif "unusual" in s or "normal" in s:
            out["anomaly"], out["anomaly_type"] = False, "none"
        elif "in the room" in s or "empty" in s:
            out["count"] = _parse_count(s)
        elif s.startswith(("someone is", "one person is", "a person is")):
            a = _parse_activity(s)
            if a is None:
                return None
            acts.append((a, _parse_location(s)))
        else:
            return None
    if out["count"] is None and out["anomaly"] is None:
        return None
    if acts:
        out["activities"] = sorted(acts, key=lambda x: (x[0], x[1] or ""))
    return out


def parse_answer(qtype: str, text: str) -> dict | None:
    """Read an answer of question type `qtype` back into labels (None = unparseable)."""
    if qtype not in QTYPES:
        raise ValueError(f"qtype: expected one of {QTYPES}, got {qtype!r}")
    t = _norm(text)
    if not t:
        return None
    if qtype == "count":
        n = _parse_count(t)
        return None if n is None else {"count": n}
    if qtype == "anomaly":
        if re.match(r"(no|nothing)\b", t):
            return {"anomaly": False, "anomaly_type": "none", "location": None}
        if re.match(r"yes\b", t):
            a = _parse_anomaly_type(t)
            return (
                None
                if a is None
                else {"anomaly": True, "anomaly_type": a, "location": _parse_location(t)}
            )
        return None
    if qtype == "activity":
        a = _parse_activity(t)
        return None if a is None else {"activity": a}
    return _parse_describe(t)


# --- caption facts ----------------------------------------------------------------------
# A caption's content as a multiset of facts, read with the grammar's own phrase tables (so
# every wording the grammar can write reads back): ("count", n); ("anomaly", type, place)
# with type "none" for a normal clip; ("person", activity, place) per person; place is None
# where the caption does not say it. A sentence that cannot be read is ("unread", sentence):
# it matches no true fact, so it costs precision instead of being silently dropped.


def _phrases(table: dict) -> list[tuple[str, str]]:
    # Longest first, so "walking across the room" wins over "walking".
    pairs = [(_norm(p), key) for key, phrases in table.items() for p in phrases]
    return sorted(pairs, key=lambda kv: -len(kv[0]))


_ACTIVITY_PHRASES = _phrases(ACTIVITY_PHRASES)
_ANOMALY_PHRASES = _phrases(ANOMALY_YES)
_PLACE_PHRASES = _phrases(LOCATIONS)
_ALERTS = tuple(_norm(p) for p in ALERT_PREFIX)
_SUBJECTS = tuple(_norm(s) + " " for s in SUBJECTS)
_NORMAL = tuple(_norm(s).rstrip(" .") for s in NORMAL_SENTENCES)
_NO_ANOMALY = tuple(_norm(s).rstrip(" .") for s in ANOMALY_NONE)


def _find(sentence: str, phrases: list[tuple[str, str]]):
    padded = f" {sentence} "
    return next((key for phrase, key in phrases if f" {phrase} " in padded), None)


def _sentence_fact(s: str) -> tuple:
    place = _find(s, _PLACE_PHRASES)
    if s.startswith(_ALERTS):
        atype = _find(s, _ANOMALY_PHRASES)
        return ("unread", s) if atype is None else ("anomaly", atype, place)
    if any(p in s for p in _NORMAL) or s in _NO_ANOMALY:
        return ("anomaly", "none", None)
    if s.startswith(_SUBJECTS):
        activity = _find(s, _ACTIVITY_PHRASES)
        if activity is not None:
            return ("person", activity, place)
    n = _parse_count(s)  # "One person is in the room." starts like a person sentence
    return ("unread", s) if n is None else ("count", n)


def caption_facts(text: str) -> Counter:
    """The facts a caption states, as a multiset (Counter of fact tuples; see above).
    Empty or blank text states no facts."""
    if not isinstance(text, str):
        raise TypeError(f"text: expected str, got {type(text).__name__}")
    sentences = (s.strip() for s in _norm(text).split("."))
    return Counter(_sentence_fact(s) for s in sentences if s)


def caption_detail(facts: Counter) -> int:
    """The detail level a caption chose, as the grammar's `detail`: 0 = count and anomaly
    only, 1 = + each person's activity, 2 = + places (any place stated anywhere)."""
    if any(f[0] in ("anomaly", "person") and f[2] is not None for f in facts):
        return 2
    return int(any(f[0] == "person" for f in facts))


def label_facts(labels: dict, detail: int = 2) -> Counter:
    """The true facts of a clip's grammar labels (`spjax.data.text.random_labels`,
    `spjax.data.scenes.clip_labels`: count, anomaly_type, location, people) as a caption at
    `detail` would state them: places only at 2, people from 1."""
    missing = {"count", "anomaly_type", "people"} - set(labels)
    if missing:
        raise ValueError(f"labels: missing {sorted(missing)}, got keys {sorted(labels)}")
    if detail not in (0, 1, 2):
        raise ValueError(f"detail: expected 0, 1 or 2, got {detail!r}")
    count, atype, people = labels["count"], labels["anomaly_type"], list(labels["people"])
    if atype not in ANOMALY_TYPES:
        raise ValueError(f"labels: anomaly_type {atype!r} is not one of {ANOMALY_TYPES}")
    if len(people) != count:
        raise ValueError(
            f"labels: count {count} but {len(people)} people with an activity; the content "
            "score needs every person's activity and place"
        )
    for act, zone in people:
        if act not in ACTIVITY_PHRASES or zone not in (*ZONES, None):
            raise ValueError(f"labels: person ({act!r}, {zone!r}) is not in the grammar")
    where = labels.get("location") if detail == 2 and atype != "none" else None
    facts = Counter([("count", int(count)), ("anomaly", atype, where)])
    if detail >= 1:
        facts.update(("person", a, z if detail == 2 else None) for a, z in people)
    return facts
