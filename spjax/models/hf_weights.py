"""Llama weights from the Hugging Face hub's file formats: GGUF (via `gguf`, any quantisation
it can dequantise) and safetensors directories in the `LlamaForCausalLM` layout, both ways for
safetensors. Every loader ends in `weights.assemble`, which checks the result.
"""

from __future__ import annotations

import json
from pathlib import Path

import jax.numpy as jnp
import numpy as np

from spjax.models.llama import Llama, LlamaConfig
from spjax.models.weights import GGUF_LAYER_NAMES, HF_LAYER_NAMES, assemble, stack_layers

# ---------------------------------------------------------------------------------- GGUF ---


def gguf_unpermute(w: np.ndarray, n_heads: int) -> np.ndarray:
    """Undo llama.cpp's q/k row permutation (HF rotate-half → interleaved pairs).

    w: (n_heads * head_dim, in) rows as stored in GGUF; returns the Hugging Face row order."""
    rows = w.shape[0]
    return w.reshape(n_heads, rows // n_heads // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def gguf_permute(w: np.ndarray, n_heads: int) -> np.ndarray:
    """llama.cpp's conversion permutation (HF row order → GGUF); inverse of `gguf_unpermute`."""
    rows = w.shape[0]
    return w.reshape(n_heads, 2, rows // n_heads // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def gguf_field(reader, key, default=None):
    """A GGUF metadata value, or `default` where the file lacks the key."""
    field = reader.fields.get(key)
    if field is None:
        return default
    return field.contents()


def _f32(value) -> float:
    """GGUF stores float32: 1e-5 comes back as 9.99999974e-06; keep the intended decimal."""
    return float(f"{float(value):.7g}")


def gguf_config(reader, *, max_seq_len: int | None = None) -> LlamaConfig:
    """LlamaConfig from GGUF metadata; non-llama architectures are rejected."""
    arch = gguf_field(reader, "general.architecture")
    if arch != "llama":
        raise ValueError(f"GGUF general.architecture: expected 'llama', got {arch!r}")
    names = {t.name for t in reader.tensors}
    embd = next(t for t in reader.tensors if t.name == "token_embd.weight")
    dim = int(gguf_field(reader, "llama.embedding_length"))
    n_heads = int(gguf_field(reader, "llama.attention.head_count"))
    head_dim = int(gguf_field(reader, "llama.attention.key_length", dim // n_heads))
    rope_dims = gguf_field(reader, "llama.rope.dimension_count")
    if rope_dims is not None and int(rope_dims) != head_dim:
        raise ValueError(
            f"GGUF llama.rope.dimension_count: expected the head dim {head_dim} "
            f"(partial RoPE is not supported), got {rope_dims}"
        )
    ctx = int(gguf_field(reader, "llama.context_length", 2048))
    return LlamaConfig(
        vocab_size=int(gguf_field(reader, "llama.vocab_size", int(embd.shape[1]))),
        dim=dim,
        n_layers=int(gguf_field(reader, "llama.block_count")),
        n_heads=n_heads,
        n_kv_heads=int(gguf_field(reader, "llama.attention.head_count_kv", n_heads)),
        hidden_dim=int(gguf_field(reader, "llama.feed_forward_length")),
        head_dim=None if head_dim == dim // n_heads else head_dim,
        rope_theta=_f32(gguf_field(reader, "llama.rope.freq_base", 10000.0)),
        norm_eps=_f32(gguf_field(reader, "llama.attention.layer_norm_rms_epsilon", 1e-5)),
        tie_embeddings="output.weight" not in names,
        max_seq_len=min(ctx, max_seq_len) if max_seq_len else ctx,
    )


def _dequant(tensor) -> np.ndarray:
    from gguf import quants

    try:
        arr = quants.dequantize(tensor.data, tensor.tensor_type)
    except NotImplementedError as err:
        raise ValueError(
            f"GGUF tensor {tensor.name!r}: quantisation {tensor.tensor_type.name} is "
            f"not supported by gguf.quants ({err})"
        ) from err
    # GGUF shapes list the fastest axis first; rows are the output features.
    shape = tuple(int(s) for s in reversed(tensor.shape))
    return np.asarray(arr, np.float32).reshape(shape)


def read_gguf(path):
    """A `gguf.GGUFReader` for path, with clear errors for missing or unreadable files."""
    from gguf import GGUFReader

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"load_gguf path: expected a GGUF file, got {str(path)!r}")
    try:
        return GGUFReader(str(path))
    except Exception as err:  # the gguf package raises bare ValueErrors etc. on junk
        raise ValueError(
            f"load_gguf path: {str(path)!r} is not a readable GGUF file ({err})"
        ) from err


def _read_layers(config: LlamaConfig, names: dict, read) -> list[dict]:
    """Per layer {our name: array}: `read(file name, our name)`, matrices transposed from the
    files' (out, in) layout to ours (in, out); norms are vectors and stay as they are."""
    layers = []
    for i in range(config.n_layers):
        layer = {}
        for ours, theirs in names.items():
            w = read(theirs.format(i=i), ours)
            layer[ours] = w.T if w.ndim == 2 else w
        layers.append(layer)
    return layers


def load_gguf(
    path, *, param_dtype=jnp.float32, max_seq_len: int | None = None, reader=None
) -> Llama:
    """A `Llama` from a llama-architecture GGUF file (F32/F16/BF16/Q4_x/Q5_x/Q8_0 tensors).

    `reader`: an already open `gguf.GGUFReader` of the same file (saves re-reading it)."""
    path = Path(path)
    reader = read_gguf(path) if reader is None else reader
    config = gguf_config(reader, max_seq_len=max_seq_len)
    tensors = {t.name: t for t in reader.tensors}

    def get(name):
        if name not in tensors:
            raise ValueError(f"GGUF {path.name}: missing tensor {name!r}")
        return _dequant(tensors[name])

    heads = {"wq": config.n_heads, "wk": config.n_kv_heads}  # GGUF permutes q/k rows for RoPE

    def layer_weight(name, ours):
        w = get(name)
        return gguf_unpermute(w, heads[ours]) if ours in heads else w

    per_layer = _read_layers(config, GGUF_LAYER_NAMES, layer_weight)
    rest = {"embed": get("token_embd.weight"), "norm": get("output_norm.weight")}
    if not config.tie_embeddings:
        rest["head"] = get("output.weight").T
    src = f"GGUF {path.name}"
    return assemble(
        config,
        stack_layers(config, per_layer, rest, src, GGUF_LAYER_NAMES),
        param_dtype=param_dtype,
        source=src,
    )


# --------------------------------------------------------------------------- safetensors ---

_HF_ARCHS = ("LlamaForCausalLM",)


def hf_config(d: dict, *, max_seq_len: int | None = None) -> LlamaConfig:
    """LlamaConfig from a Hugging Face `config.json` dict (llama only)."""
    archs = d.get("architectures") or []
    if d.get("model_type") != "llama" and not any(a in _HF_ARCHS for a in archs):
        raise ValueError(
            f"config.json model_type: expected 'llama' (LlamaForCausalLM), got "
            f"{d.get('model_type')!r} / {archs}"
        )
    if d.get("attention_bias") or d.get("mlp_bias"):
        raise ValueError(
            "config.json attention_bias/mlp_bias: expected false (no biases), got true"
        )
    if d.get("rope_scaling"):
        raise ValueError(f"config.json rope_scaling: expected null, got {d['rope_scaling']!r}")
    dim, n_heads = int(d["hidden_size"]), int(d["num_attention_heads"])
    head_dim = d.get("head_dim")
    ctx = int(d.get("max_position_embeddings", 2048))
    return LlamaConfig(
        vocab_size=int(d["vocab_size"]),
        dim=dim,
        n_layers=int(d["num_hidden_layers"]),
        n_heads=n_heads,
        n_kv_heads=int(d.get("num_key_value_heads") or n_heads),
        hidden_dim=int(d["intermediate_size"]),
        head_dim=None if head_dim in (None, dim // n_heads) else int(head_dim),
        rope_theta=float(d.get("rope_theta", 10000.0)),
        norm_eps=float(d.get("rms_norm_eps", 1e-6)),
        tie_embeddings=bool(d.get("tie_word_embeddings", False)),
        max_seq_len=min(ctx, max_seq_len) if max_seq_len else ctx,
    )


def _read_safetensors(directory: Path) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    index = directory / "model.safetensors.index.json"
    if index.is_file():
        files = sorted(set(json.loads(index.read_text())["weight_map"].values()))
    else:
        files = sorted(p.name for p in directory.glob("*.safetensors"))
    if not files:
        raise FileNotFoundError(f"load_safetensors path: no *.safetensors in {str(directory)!r}")
    out: dict[str, np.ndarray] = {}
    for name in files:
        out.update(load_file(str(directory / name)))
    return out


def load_safetensors(path, *, param_dtype=jnp.float32, max_seq_len: int | None = None) -> Llama:
    """A `Llama` from a Hugging Face llama directory: `config.json` + `*.safetensors`."""
    directory = Path(path)
    if directory.is_file():
        directory = directory.parent
    cfg_path = directory / "config.json"
    if not cfg_path.is_file():
        raise FileNotFoundError(f"load_safetensors path: expected {str(cfg_path)!r} to exist")
    config = hf_config(json.loads(cfg_path.read_text()), max_seq_len=max_seq_len)
    raw = _read_safetensors(directory)
    raw = {k[len("model.") :] if k.startswith("model.") else k: v for k, v in raw.items()}
    used = set()

    def get(name):
        if name not in raw:
            raise ValueError(f"safetensors {directory.name}: missing tensor {name!r}")
        used.add(name)
        return np.asarray(raw[name], np.float32)

    per_layer = _read_layers(config, HF_LAYER_NAMES, lambda name, ours: get(name))
    rest = {"embed": get("embed_tokens.weight"), "norm": get("norm.weight")}
    if not config.tie_embeddings:
        rest["head"] = get("lm_head.weight").T
    unused = sorted(
        k
        for k in set(raw) - used
        if not (config.tie_embeddings and k == "lm_head.weight")
        and not k.endswith("rotary_emb.inv_freq")
    )
    if unused:
        raise ValueError(
            f"safetensors {directory.name}: tensors not used by a llama model: "
            f"{unused[:8]}{' ...' if len(unused) > 8 else ''}"
        )
    src = f"safetensors {directory.name}"
    return assemble(
        config,
        stack_layers(config, per_layer, rest, src, HF_LAYER_NAMES),
        param_dtype=param_dtype,
        source=src,
    )


def to_hf_tensors(model: Llama) -> dict[str, np.ndarray]:
    """The model's weights in the Hugging Face llama naming/layout (for export and tests)."""
    from spjax.models.llama import param_arrays

    a = param_arrays(model)
    out = {"model.embed_tokens.weight": a["embed"], "model.norm.weight": a["norm"]}
    for i in range(model.config.n_layers):
        for ours, theirs in HF_LAYER_NAMES.items():
            w = a[ours][i]
            out["model." + theirs.format(i=i)] = np.ascontiguousarray(w.T if w.ndim == 2 else w)
    if "head" in a:
        out["lm_head.weight"] = np.ascontiguousarray(a["head"].T)
    return out


def hf_config_dict(config: LlamaConfig) -> dict:
    return {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "vocab_size": config.vocab_size,
        "hidden_size": config.dim,
        "num_hidden_layers": config.n_layers,
        "num_attention_heads": config.n_heads,
        "num_key_value_heads": config.n_kv_heads,
        "intermediate_size": config.hidden_dim,
        "head_dim": config.hd,
        "rope_theta": config.rope_theta,
        "rms_norm_eps": config.norm_eps,
        "tie_word_embeddings": config.tie_embeddings,
        "max_position_embeddings": config.max_seq_len,
    }


def save_safetensors(model: Llama, directory) -> Path:
    """Write `config.json` + `model.safetensors` in the Hugging Face llama layout."""
    from safetensors.numpy import save_file

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.json").write_text(json.dumps(hf_config_dict(model.config), indent=2))
    save_file(to_hf_tensors(model), str(directory / "model.safetensors"))
    return directory


__all__ = [
    "load_gguf",
    "read_gguf",
    "gguf_config",
    "gguf_permute",
    "gguf_unpermute",
    "load_safetensors",
    "save_safetensors",
    "to_hf_tensors",
    "hf_config",
    "hf_config_dict",
]
