"""Reading generated text back into labels: `parse_answer(qtype, text)` inverts every answer
template of the grammar (`spjax.data.text`), tolerating the free variations a decoder may
produce; it returns None when the text cannot be read as an answer of that type."""

from __future__ import annotations

import re

from spjax.data.layout import ZONES
from spjax.data.text import LOCATIONS, NUMBERS, QTYPES

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
