"""The tiny decoder's word tokenizer: lower-case words and punctuation over the fixed
vocabulary of the scene grammar (`spjax.data.text.grammar_texts`)."""

from __future__ import annotations

import json
import os
import re

from spjax.data.text import grammar_texts

_TOKEN_RE = re.compile(r"[a-z0-9]+|[^\sa-z0-9]")


class WordTokenizer:
    """Lower-case word/punctuation tokenizer with a fixed vocabulary.

    Ids 0–3 are <pad>, <bos>, <eos>, <unk>. `decode` joins words with spaces and glues
    punctuation to the previous word, so `parse_answer(decode(encode(a)))` == `parse_answer(a)`."""

    SPECIALS = ("<pad>", "<bos>", "<eos>", "<unk>")

    def __init__(self, vocab: list[str]):
        if list(vocab[:4]) != list(self.SPECIALS):
            raise ValueError(f"vocab: expected to start with {self.SPECIALS}, got {vocab[:4]}")
        if len(set(vocab)) != len(vocab):
            raise ValueError("vocab: expected unique tokens, got duplicates")
        self.vocab = list(vocab)
        self._ids = {w: i for i, w in enumerate(self.vocab)}
        self.pad_id, self.bos_id, self.eos_id, self.unk_id = 0, 1, 2, 3

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    @staticmethod
    def tokenize(text: str) -> list[str]:
        return _TOKEN_RE.findall(str(text).lower())

    @classmethod
    def build(cls, texts=None) -> WordTokenizer:
        """Vocabulary = the grammar's words plus every word in `texts` (sorted, deterministic)."""
        words = set()
        for t in [*grammar_texts(), *(texts or [])]:
            words.update(cls.tokenize(t))
        return cls([*cls.SPECIALS, *sorted(words)])

    def encode(self, text: str, *, bos: bool = False, eos: bool = False) -> list[int]:
        ids = [self._ids.get(w, self.unk_id) for w in self.tokenize(text)]
        return [self.bos_id] * bos + ids + [self.eos_id] * eos

    def decode(self, ids) -> str:
        words = []
        for i in ids:
            i = int(i)
            if i == self.eos_id:
                break
            if i in (self.pad_id, self.bos_id):
                continue
            if not 0 <= i < len(self.vocab):
                raise ValueError(f"ids: expected ids in [0, {len(self.vocab)}), got {i}")
            words.append(self.vocab[i])
        s = " ".join(words)
        return re.sub(r" ([.,?!:;])", r"\1", s)

    def save(self, path) -> None:
        with open(path, "w") as f:
            json.dump({"format": "spjax.WordTokenizer/1", "vocab": self.vocab}, f)

    @classmethod
    def load(cls, path) -> WordTokenizer:
        if not os.path.exists(path):
            raise FileNotFoundError(f"tokenizer file not found: {path}")
        try:
            with open(path) as f:
                data = json.load(f)
            vocab = data["vocab"]
        except (json.JSONDecodeError, KeyError, TypeError) as err:
            raise ValueError(f"{path}: not a WordTokenizer file ({err})") from None
        return cls(vocab)
