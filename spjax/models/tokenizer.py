"""Tokenizers for pretrained decoders, built with `tokenizers` from GGUF metadata or a local
`tokenizer.json`. They expose the same minimal interface as `spjax.data.word_tokenizer.WordTokenizer`:
`encode(text) -> list[int]`, `decode(ids) -> str`, `pad_id`, `bos_id`, `eos_id`, `vocab_size`,
plus `chat(prompt)` for ChatML-style chat templates.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

_CONTROL = 3  # gguf TokenType.CONTROL
_USER_DEFINED = 4


class LMTokenizer:
    """A `tokenizers.Tokenizer` plus the special ids and the chat format of one model."""

    def __init__(
        self,
        tokenizer,
        *,
        bos_id: int | None,
        eos_id: int | None,
        pad_id: int | None = None,
        add_bos: bool = False,
        chat_template: str | None = None,
    ):
        self._tok = tokenizer
        self.bos_id = bos_id
        self.eos_id = eos_id
        self.pad_id = pad_id if pad_id is not None else (eos_id if eos_id is not None else 0)
        self.add_bos = add_bos
        self.chat_template = chat_template

    @property
    def vocab_size(self) -> int:
        return self._tok.get_vocab_size(with_added_tokens=True)

    def encode(self, text: str, *, add_bos: bool | None = None) -> list[int]:
        if not isinstance(text, str):
            raise TypeError(f"encode text: expected str, got {type(text).__name__}")
        ids = self._tok.encode(text, add_special_tokens=False).ids
        if (self.add_bos if add_bos is None else add_bos) and self.bos_id is not None:
            ids = [self.bos_id] + ids
        return ids

    def decode(self, ids, *, skip_special: bool = True) -> str:
        return self._tok.decode([int(i) for i in ids], skip_special_tokens=skip_special)

    def token_id(self, token: str) -> int | None:
        return self._tok.token_to_id(token)

    def chat(self, prompt: str, *, system: str | None = None) -> str:
        """The prompt wrapped as one user turn plus the assistant header (ChatML).

        The default system message is taken from the model's chat template when it has one."""
        if self.token_id("<|im_start|>") is None or self.token_id("<|im_end|>") is None:
            raise ValueError(
                "chat: this tokenizer has no <|im_start|>/<|im_end|> tokens "
                "(only ChatML chat templates are supported)"
            )
        if system is None and self.chat_template:
            m = re.search(r"<\|im_start\|>system\n(.*?)<\|im_end\|>", self.chat_template, re.S)
            system = m.group(1) if m else None
        head = f"<|im_start|>system\n{system}<|im_end|>\n" if system else ""
        return f"{head}<|im_start|>user\n{prompt}<|im_end|>\n<|im_start|>assistant\n"

    def __repr__(self):
        return (
            f"LMTokenizer(vocab_size={self.vocab_size}, bos_id={self.bos_id}, "
            f"eos_id={self.eos_id}, pad_id={self.pad_id})"
        )


def tokenizer_from_gguf(path_or_reader) -> LMTokenizer:
    """Byte-level BPE tokenizer (GGUF `tokenizer.ggml.model == 'gpt2'`) from GGUF metadata."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers

    from spjax.models.hf_weights import gguf_field, read_gguf

    if isinstance(path_or_reader, (str, Path)):
        reader = read_gguf(path_or_reader)
    else:
        reader = path_or_reader
    kind = gguf_field(reader, "tokenizer.ggml.model")
    if kind != "gpt2":
        raise ValueError(
            f"GGUF tokenizer.ggml.model: expected 'gpt2' (byte-level BPE), got {kind!r}"
        )
    tokens = gguf_field(reader, "tokenizer.ggml.tokens")
    merges = gguf_field(reader, "tokenizer.ggml.merges")
    if not tokens or merges is None:
        raise ValueError("GGUF tokenizer.ggml.tokens/merges: expected both in the metadata")
    types = gguf_field(reader, "tokenizer.ggml.token_type") or [1] * len(tokens)
    vocab = {t: i for i, t in enumerate(tokens)}
    bpe = models.BPE(
        vocab=vocab, merges=[tuple(m.split(" ", 1)) for m in merges], unk_token=None, fuse_unk=False
    )
    tok = Tokenizer(bpe)
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    pre = gguf_field(reader, "tokenizer.ggml.pre", "default")
    if pre in ("smollm", "starcoder"):
        # These split every digit on its own before the GPT-2 byte-level regex.
        tok.pre_tokenizer = pre_tokenizers.Sequence(
            [pre_tokenizers.Digits(individual_digits=True), byte_level]
        )
    else:
        tok.pre_tokenizer = byte_level
    tok.decoder = decoders.ByteLevel()
    specials = [
        AddedToken(t, special=True, normalized=False)
        for t, ty in zip(tokens, types)
        if ty in (_CONTROL, _USER_DEFINED)
    ]
    tok.add_special_tokens(specials)

    def opt_int(key):
        v = gguf_field(reader, key)
        return None if v is None else int(v)

    return LMTokenizer(
        tok,
        bos_id=opt_int("tokenizer.ggml.bos_token_id"),
        eos_id=opt_int("tokenizer.ggml.eos_token_id"),
        pad_id=opt_int("tokenizer.ggml.padding_token_id"),
        add_bos=bool(gguf_field(reader, "tokenizer.ggml.add_bos_token", False)),
        chat_template=gguf_field(reader, "tokenizer.chat_template"),
    )


def tokenizer_from_file(path) -> LMTokenizer:
    """From a Hugging Face `tokenizer.json` (+ `tokenizer_config.json` beside it if present)."""
    from tokenizers import Tokenizer

    path = Path(path)
    if path.is_dir():
        path = path / "tokenizer.json"
    if not path.is_file():
        raise FileNotFoundError(f"tokenizer path: expected a tokenizer.json, got {str(path)!r}")
    tok = Tokenizer.from_file(str(path))
    cfg_path = path.parent / "tokenizer_config.json"
    cfg = json.loads(cfg_path.read_text()) if cfg_path.is_file() else {}

    def special(name):
        value = cfg.get(name)
        if isinstance(value, dict):
            value = value.get("content")
        return None if value is None else tok.token_to_id(value)

    bos, eos, pad = special("bos_token"), special("eos_token"), special("pad_token")
    if eos is None:
        for cand in ("<|im_end|>", "<|endoftext|>", "</s>", "<|eot_id|>"):
            if tok.token_to_id(cand) is not None:
                eos = tok.token_to_id(cand)
                break
    return LMTokenizer(
        tok,
        bos_id=bos,
        eos_id=eos,
        pad_id=pad,
        add_bos=bool(cfg.get("add_bos_token", False)),
        chat_template=cfg.get("chat_template"),
    )
