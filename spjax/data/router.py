"""Questions in a user's own words → the answer kind they ask for, and the grammar question
the SP-VLM is then asked.

The router is a small learned text classifier: multinomial logistic regression over tf-idf
word (1–2, with sentence-start/end marks) and character (2–5, within words) n-grams, trained
on `spjax.data.paraphrases.training_questions` (the grammar's questions plus composed
paraphrases) into the kinds `count`, `anomaly`, `activity` (of one person), `describe`, and
`none`: a question the sensor does not answer (who someone is, what they look like, the room's
fixtures, other domains). Training is deterministic (L-BFGS from zeros, a few seconds on one
core); the weights are cached under `.cache/router/` (`SPJAX_ROUTER_CACHE=DIR` moves it,
`=off` keeps them in memory only), keyed by a hash of the training set and the settings, so a
changed training set never reuses stale weights.

`route_question(text) -> Route`: a question the grammar itself asks is routed by exact match
and asked unchanged; any other is classified, and the SP-VLM is asked the grammar's
canonical question of that kind (`CANONICAL`); an activity question that names a place
(`question_place`: "the guy at the washbasin" → sink) keeps it ("What is the person near the
sink doing?"). A question routed to `none`, or one the router is unsure of (its best kind
below `MIN_CONFIDENCE`), is not put to the model: it gets `OUTSIDE_ANSWER` and a reason.

Text is normalised before features: lower case, contractions expanded ("what's" → "what
is", "don't" → "do not"), possessive "'s" dropped, and a few chat spellings ("u", "r", "pls",
"rn") written out."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import tempfile
from collections import Counter
from functools import lru_cache
from pathlib import Path

import numpy as np

from spjax.data.layout import ZONES
from spjax.data.paraphrases import KINDS, grammar_questions, training_questions
from spjax.data.text import LOCATIONS, ONLY_PERSON, QUESTIONS

ROUTER_VERSION = 2
CACHE_ENV = "SPJAX_ROUTER_CACHE"
DEFAULT_CACHE = Path(".cache") / "router"
# The training set, the features and the fit; all of it goes into the cache key.
SETTINGS = {"per_kind": 700, "seed": 0, "min_df": 2, "l2": 3e-5, "max_iter": 200}
# Below this probability of its best kind a question is not answered (routed to none).
MIN_CONFIDENCE = 0.4

# The grammar question the SP-VLM is asked for each answer kind.
CANONICAL = {
    "count": QUESTIONS["count"][0],
    "anomaly": QUESTIONS["anomaly"][0],
    "activity": QUESTIONS["activity_one"][0],
    "describe": QUESTIONS["describe"][0],
}
OUTSIDE_ANSWER = (
    "I can't answer that: this sensor only tells how many people are in the room, whether "
    "anything unusual is happening, what a person is doing, or what the scene looks like. It "
    "never says who anyone is or what they look like."
)
# What an answer says when the decoder generated no words (an answer is never empty).
NO_WORDS = "No answer: the model generated no words for this question."
NONE_REASON = (
    "the question asks for none of the answers the sensor gives (how many people, anything "
    "unusual, what a person is doing, a description of the scene)"
)

# The world's zones (`layout.ZONES`) in the words a user may name them with.
ZONE_WORDS = {
    "door": ("door", "doors", "doorway", "entrance", "entry", "exit"),
    "sink": ("sink", "sinks", "washbasin", "washbasins", "basin", "basins", "tap", "taps"),
    "stalls": ("stall", "stalls", "cubicle", "cubicles"),
    "bench": ("bench", "benches", "seat", "seats"),
    "middle": ("middle", "centre", "center"),
}
_ZONE_OF = {w: z for z, words in ZONE_WORDS.items() for w in words}

# --- text -------------------------------------------------------------------------------

_IS_BEFORE = (
    "what|who|where|how|when|why|that|there|here|it|he|she|everyone|everybody|someone|"
    "somebody|nobody|anyone|anybody|nothing|something|everything|this"
)
_CHAT = {"u": "you", "r": "are", "ur": "your", "pls": "please", "plz": "please", "rn": "right now"}


def normalize(text: str) -> list[str]:
    """The words of a question, lower case, contractions expanded, possessives dropped."""
    t = str(text).lower().replace("\u2019", "'").replace("\u2018", "'")
    t = re.sub(r"\bcan't\b", "can not", t)
    t = re.sub(r"\bwon't\b", "will not", t)
    t = re.sub(r"n't\b", " not", t)
    for short, full in (("'re", " are"), ("'m", " am"), ("'ll", " will"), ("'ve", " have")):
        t = re.sub(short + r"\b", full, t)
    t = re.sub(r"'d\b", " would", t)
    t = re.sub(r"\b(" + _IS_BEFORE + r")'s\b", r"\1 is", t)
    t = re.sub(r"\b(what|who|where|how|that|there)s\b", r"\1 is", t)  # typed without the '
    t = re.sub(r"'s\b", "", t)  # possessive
    words = re.findall(r"[a-z0-9]+", t)
    return " ".join(_CHAT.get(w, w) for w in words).split()


def _features(words: list[str]) -> tuple[Counter, Counter]:
    """(word n-grams, character n-grams) of a normalised question."""
    marked = ["<s>", *words, "</s>"]
    word = Counter("w:" + w for w in words)
    word.update("b:" + a + "_" + b for a, b in zip(marked, marked[1:]))
    char: Counter = Counter()
    for w in words:
        p = f"<{w}>"
        for n in range(2, 6):
            char.update(p[i : i + n] for i in range(len(p) - n + 1))
    return word, char


# --- the model --------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, eq=False)
class Router:
    """tf-idf n-gram features → softmax over `kinds`. `probabilities(questions)` → (N, C)."""

    vocab: dict  # feature → column
    idf: np.ndarray  # (D,)
    weights: np.ndarray  # (D, C)
    bias: np.ndarray  # (C,)
    kinds: tuple[str, ...]
    key: str  # hash of the training set and settings

    def features(self, questions):
        """(N, D) scipy CSR rows: per block (words, characters) sublinear tf × idf, each
        block L2-normalised and weighted 1/√2, so a question's row has unit norm."""
        from scipy import sparse

        rows, cols, vals = [], [], []
        for i, q in enumerate(questions):
            for block in _features(normalize(q)):
                items = [(self.vocab[f], c) for f, c in block.items() if f in self.vocab]
                if not items:
                    continue
                j = np.array([c for c, _ in items])
                v = (1.0 + np.log([n for _, n in items])) * self.idf[j]
                v = v / np.linalg.norm(v) / np.sqrt(2.0)
                rows += [i] * len(j)
                cols += j.tolist()
                vals += v.tolist()
        return sparse.csr_matrix((vals, (rows, cols)), shape=(len(questions), len(self.idf)))

    def probabilities(self, questions) -> np.ndarray:
        z = self.features(list(questions)) @ self.weights + self.bias
        z = np.exp(z - z.max(axis=1, keepdims=True))
        return z / z.sum(axis=1, keepdims=True)

    def predict(self, questions) -> list[str]:
        return [self.kinds[i] for i in self.probabilities(questions).argmax(axis=1)]

    def save(self, path) -> None:
        feats = sorted(self.vocab, key=self.vocab.get)
        np.savez(
            path,
            features=np.array(feats, dtype=str),
            idf=self.idf,
            weights=self.weights,
            bias=self.bias,
            kinds=np.array(self.kinds, dtype=str),
            key=np.array(self.key),
        )

    @classmethod
    def load(cls, path) -> Router:
        with np.load(path, allow_pickle=False) as z:
            feats = [str(f) for f in z["features"]]
            return cls(
                vocab={f: i for i, f in enumerate(feats)},
                idf=z["idf"],
                weights=z["weights"],
                bias=z["bias"],
                kinds=tuple(str(k) for k in z["kinds"]),
                key=str(z["key"]),
            )


def _fit(x, y: np.ndarray, n_classes: int, l2: float, max_iter: int):
    """Class-balanced multinomial logistic regression, L2 on the weights, from zeros."""
    n, d = x.shape
    onehot = np.eye(n_classes)[y]
    counts = np.bincount(y, minlength=n_classes)
    sw = (1.0 / counts)[y]
    sw = sw / sw.sum()
    xt = x.T.tocsr()

    def loss(theta):
        w, b = theta[: d * n_classes].reshape(d, n_classes), theta[d * n_classes :]
        z = x @ w + b
        z = z - z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        value = -(sw * logp[np.arange(n), y]).sum() + 0.5 * l2 * (w * w).sum()
        g = (np.exp(logp) - onehot) * sw[:, None]
        grad = np.concatenate([(xt @ g + l2 * w).ravel(), g.sum(axis=0)])
        return value, grad

    from scipy.optimize import minimize

    theta = minimize(
        loss,
        np.zeros(d * n_classes + n_classes),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": max_iter},
    ).x
    return theta[: d * n_classes].reshape(d, n_classes), theta[d * n_classes :]


def training_key(data: list[tuple[str, str]], settings: dict) -> str:
    blob = json.dumps({"version": ROUTER_VERSION, "settings": settings, "data": data})
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def train_router(data: list[tuple[str, str]] | None = None, settings: dict | None = None):
    """A router fitted on `data` ((question, kind) pairs; default `training_questions`)."""
    settings = {**SETTINGS, **(settings or {})}
    if data is None:
        data = training_questions(settings["per_kind"], settings["seed"])
    bad = sorted({k for _, k in data} - set(KINDS))
    if bad:
        raise ValueError(f"data: unknown kinds {bad}; expected some of {KINDS}")
    blocks = [_features(normalize(q)) for q, _ in data]
    df: Counter = Counter()
    for word, char in blocks:
        df.update(word.keys())
        df.update(char.keys())
    feats = sorted(f for f, c in df.items() if c >= settings["min_df"])
    n = len(data)
    idf = np.array([np.log((1 + n) / (1 + df[f])) + 1.0 for f in feats])
    proto = Router(
        vocab={f: i for i, f in enumerate(feats)},
        idf=idf,
        weights=np.zeros((len(feats), len(KINDS))),
        bias=np.zeros(len(KINDS)),
        kinds=KINDS,
        key=training_key(data, settings),
    )
    x = proto.features([q for q, _ in data])
    y = np.array([KINDS.index(k) for _, k in data])
    w, b = _fit(x, y, len(KINDS), settings["l2"], settings["max_iter"])
    return dataclasses.replace(proto, weights=w, bias=b)


def cache_dir() -> Path | None:
    value = os.environ.get(CACHE_ENV, "")
    if value.lower() == "off":
        return None
    return Path(value) if value else DEFAULT_CACHE


@lru_cache(maxsize=1)
def default_router() -> Router:
    """The router of `SETTINGS`: loaded from the cache, else trained (and cached, atomically;
    an unwritable cache folder only means training again next time)."""
    data = training_questions(SETTINGS["per_kind"], SETTINGS["seed"])
    key = training_key(data, SETTINGS)
    folder = cache_dir()
    path = None if folder is None else folder / f"router-{key}.npz"
    if path is not None and path.is_file():
        try:
            router = Router.load(path)
            if router.key == key:
                return router
        except (OSError, ValueError, KeyError):
            pass  # a damaged cache file: train again and replace it
    router = train_router(data)
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(suffix=".npz", dir=path.parent)
            os.close(fd)
            router.save(tmp)
            os.replace(tmp, path)
        except OSError:
            pass
    return router


# --- routing ----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Route:
    """Where a question goes. `qtype` is the parser's question type (None: not answered),
    `asked` the question the SP-VLM is asked (None: not asked), `confidence` the router's
    probability of `kind` (1.0 for a grammar question), `source` "grammar" or "router"."""

    question: str
    kind: str
    qtype: str | None
    asked: str | None
    place: str | None
    confidence: float
    source: str
    reason: str | None = None

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@lru_cache(maxsize=1)
def _grammar_table() -> dict[str, str]:
    return {" ".join(q.lower().split()): kind for q, kind in grammar_questions()}


def grammar_type(text: str) -> str | None:
    """The grammar's question type of `text` when the grammar asks exactly it, else None."""
    return _grammar_table().get(" ".join(str(text).lower().split()))


def question_place(text: str) -> str | None:
    """The zone a question names (the first one, in `ZONE_WORDS`' words), or None."""
    for w in normalize(text):
        if w in _ZONE_OF:
            return _ZONE_OF[w]
    return None


def question_pointer(text: str) -> int:
    """Who an activity question points at (`text.POINTERS`): the zone it names, else
    `ONLY_PERSON` ("the person")."""
    place = question_place(text)
    return ONLY_PERSON if place is None else ZONES.index(place)


def activity_question(place: str | None) -> str:
    """The grammar's activity question about the person at `place` (None: "the person")."""
    if place is None:
        return CANONICAL["activity"]
    return QUESTIONS["activity"][0].format(loc=LOCATIONS[place][0])


def route_questions(questions, router: Router | None = None) -> list[Route]:
    questions = [str(q) for q in questions]
    out: list[Route | None] = [None] * len(questions)
    todo = []
    for i, q in enumerate(questions):
        kind = grammar_type(q)
        if kind is not None:
            place = question_place(q) if kind == "activity" else None
            out[i] = Route(q, kind, kind, q, place, 1.0, "grammar")
        else:
            todo.append(i)
    if todo:
        router = default_router() if router is None else router
        probs = router.probabilities([questions[i] for i in todo])
        for i, p in zip(todo, probs):
            best = int(p.argmax())
            kind, conf = router.kinds[best], float(p[best])
            q = questions[i]
            if kind == "none":
                out[i] = Route(q, "none", None, None, None, conf, "router", NONE_REASON)
            elif conf < MIN_CONFIDENCE:
                reason = (
                    f"the router is unsure which answer the question asks for (best guess "
                    f"{kind}, probability {conf:.2f} < {MIN_CONFIDENCE})"
                )
                out[i] = Route(q, "none", None, None, None, conf, "router", reason)
            elif kind == "activity":
                place = question_place(q)
                out[i] = Route(q, kind, kind, activity_question(place), place, conf, "router")
            else:
                out[i] = Route(q, kind, kind, CANONICAL[kind], None, conf, "router")
    return out  # type: ignore[return-value]


def route_question(text: str, router: Router | None = None) -> Route:
    """Where one question goes (see the module docstring)."""
    return route_questions([text], router)[0]


def answer_entry(route: Route, text: str | None) -> dict:
    """The answer to one routed question, as `spjax ask` reports it: the model's `text`
    parsed as the route's qtype; for a question not put to the model (`route.asked` None)
    `OUTSIDE_ANSWER` and the route's reason; for an empty generation `NO_WORDS` and that
    reason. The answer is never empty."""
    from spjax.data.answers import parse_answer

    entry = {
        "question": route.question,
        "qtype": route.qtype,
        "kind": route.kind,
        "asked": route.asked,
        "place": route.place,
    }
    if route.asked is None:
        return {**entry, "answer": OUTSIDE_ANSWER, "parsed": None, "reason": route.reason}
    if text is None or not text.strip():
        reason = "the decoder generated no words"
        return {**entry, "answer": NO_WORDS, "parsed": None, "reason": reason}
    return {**entry, "answer": text, "parsed": parse_answer(route.qtype, text)}
