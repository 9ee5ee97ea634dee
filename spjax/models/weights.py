"""The llama decoder's weights in spjax's layout: `assemble` (every loader's last step: names,
shapes and dtypes checked against the model's own abstract state), the per-layer tensor names
of the GGUF and Hugging Face formats, and orbax save/load of a decoder (config JSON + params).
No pickle anywhere. The file formats themselves are read in `spjax.models.hf_weights`.
"""

from __future__ import annotations

import json
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from spjax.models.llama import Llama, LlamaConfig

DECODER_CONFIG = "decoder_config.json"
DECODER_PARAMS = "params"
WORD_TOKENIZER = "word_tokenizer.json"
FORMAT_VERSION = 1


def _abstract(config: LlamaConfig, param_dtype):
    return nnx.eval_shape(lambda: Llama(config, rngs=nnx.Rngs(0), param_dtype=param_dtype))


def assemble(
    config: LlamaConfig,
    arrays: dict[str, np.ndarray],
    *,
    param_dtype=jnp.float32,
    source: str = "weights",
) -> Llama:
    """Build a `Llama` from a flat dict of spjax-layout arrays, checking names and shapes."""
    model = _abstract(config, param_dtype)
    graphdef, state = nnx.split(model)
    pure = state.to_pure_dict()
    expected = {k: v for k, v in pure.items() if v is not None}
    missing = sorted(set(expected) - set(arrays))
    extra = sorted(set(arrays) - set(expected))
    if missing or extra:
        raise ValueError(
            f"{source}: tensors do not match the llama config; missing {missing}, "
            f"unexpected {extra}"
        )
    out = {}
    for name, spec in expected.items():
        arr = np.asarray(arrays[name])
        if not np.issubdtype(arr.dtype, np.floating) and arr.dtype.name != "bfloat16":
            raise TypeError(f"{source}: tensor {name!r} expected a floating dtype, got {arr.dtype}")
        if tuple(arr.shape) != tuple(spec.shape):
            raise ValueError(
                f"{source}: tensor {name!r} expected shape {tuple(spec.shape)}, "
                f"got {tuple(arr.shape)}"
            )
        out[name] = jnp.asarray(arr, dtype=spec.dtype)
    nnx.replace_by_pure_dict(state, out)
    return nnx.merge(graphdef, state)


def _layer_shapes(c: LlamaConfig) -> dict[str, tuple[int, ...]]:
    d, q, kv, f = c.dim, c.n_heads * c.hd, c.n_kv_heads * c.hd, c.hidden_dim
    return {
        "attn_norm": (d,),
        "wq": (d, q),
        "wk": (d, kv),
        "wv": (d, kv),
        "wo": (q, d),
        "ffn_norm": (d,),
        "w_gate": (d, f),
        "w_up": (d, f),
        "w_down": (f, d),
    }


def stack_layers(
    config: LlamaConfig,
    per_layer: list[dict[str, np.ndarray]],
    rest: dict[str, np.ndarray],
    source: str,
    names: dict[str, str],
) -> dict:
    """Stack per-layer arrays along a new layer axis, checking each layer's shapes first.

    names maps spjax names to the file's tensor name pattern (with {i}) for error messages."""
    arrays = dict(rest)
    shapes = _layer_shapes(config)
    for name, want in shapes.items():
        for i, layer in enumerate(per_layer):
            got = tuple(np.shape(layer[name]))
            if got != want:
                raise ValueError(
                    f"{source}: tensor {names[name].format(i=i)!r} expected shape "
                    f"{want} (spjax layout) for the config, got {got}"
                )
        arrays[name] = np.stack([layer[name] for layer in per_layer])
    return arrays


# Per-layer tensor names of each file format, by our parameter name ({i}: the layer).
GGUF_LAYER_NAMES = {
    k: "blk.{i}." + v + ".weight"
    for k, v in {
        "attn_norm": "attn_norm",
        "wq": "attn_q",
        "wk": "attn_k",
        "wv": "attn_v",
        "wo": "attn_output",
        "ffn_norm": "ffn_norm",
        "w_gate": "ffn_gate",
        "w_up": "ffn_up",
        "w_down": "ffn_down",
    }.items()
}
HF_LAYER_NAMES = {
    k: "layers.{i}." + v + ".weight"
    for k, v in {
        "attn_norm": "input_layernorm",
        "wq": "self_attn.q_proj",
        "wk": "self_attn.k_proj",
        "wv": "self_attn.v_proj",
        "wo": "self_attn.o_proj",
        "ffn_norm": "post_attention_layernorm",
        "w_gate": "mlp.gate_proj",
        "w_up": "mlp.up_proj",
        "w_down": "mlp.down_proj",
    }.items()
}


# --------------------------------------------------------------------------------- orbax ---


def save_decoder(model: Llama, directory, *, tokenizer=None) -> Path:
    """Save a decoder as `decoder_config.json` + orbax `params/` (+ `word_tokenizer.json`).

    `tokenizer` may be any object with `save(path)` (the data area's WordTokenizer)."""
    import orbax.checkpoint as ocp

    if not isinstance(model, Llama):
        raise TypeError(f"save_decoder model: expected Llama, got {type(model).__name__}")
    directory = Path(directory).absolute()
    directory.mkdir(parents=True, exist_ok=True)
    if (directory / DECODER_PARAMS).exists():
        raise FileExistsError(
            f"save_decoder directory: {str(directory / DECODER_PARAMS)!r} already exists"
        )
    pure = nnx.state(model, nnx.Param).to_pure_dict()
    dtype = jnp.dtype(model.embed[...].dtype).name
    meta = {
        "format": "spjax-decoder",
        "version": FORMAT_VERSION,
        "arch": "llama",
        "param_dtype": dtype,
        "config": model.config.to_dict(),
    }
    if tokenizer is not None:
        tokenizer.save(str(directory / WORD_TOKENIZER))
        meta["tokenizer"] = WORD_TOKENIZER
    with ocp.StandardCheckpointer() as ckpt:
        ckpt.save(directory / DECODER_PARAMS, pure)
        ckpt.wait_until_finished()
    (directory / DECODER_CONFIG).write_text(json.dumps(meta, indent=2))
    return directory


def read_decoder_meta(directory) -> dict:
    path = Path(directory) / DECODER_CONFIG
    if not path.is_file():
        raise FileNotFoundError(f"load_decoder_checkpoint directory: expected {str(path)!r}")
    try:
        meta = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON ({err})") from err
    if meta.get("format") != "spjax-decoder" or meta.get("arch") != "llama":
        raise ValueError(
            f"{path}: expected format 'spjax-decoder' arch 'llama', got "
            f"{meta.get('format')!r} / {meta.get('arch')!r}"
        )
    if meta.get("version") != FORMAT_VERSION:
        raise ValueError(f"{path}: expected version {FORMAT_VERSION}, got {meta.get('version')!r}")
    return meta


def load_decoder_checkpoint(directory) -> Llama:
    """Inverse of `save_decoder` (params only; see `registry.load_decoder` for the tokenizer)."""
    import orbax.checkpoint as ocp

    directory = Path(directory).absolute()
    meta = read_decoder_meta(directory)
    config = LlamaConfig.from_dict(meta["config"])
    dtype = jnp.dtype(meta.get("param_dtype", "float32"))
    abstract = _abstract(config, dtype)
    # Restore onto this process's first device: the saved sharding names the saving
    # process's devices, which other processes of a multi-host run do not have.
    local = jax.sharding.SingleDeviceSharding(jax.local_devices()[0])
    target = jax.tree.map(
        lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=local),
        nnx.state(abstract, nnx.Param).to_pure_dict(),
    )
    params_dir = directory / DECODER_PARAMS
    if not params_dir.is_dir():
        raise FileNotFoundError(f"load_decoder_checkpoint directory: expected {str(params_dir)!r}")
    with ocp.StandardCheckpointer() as ckpt:
        # Compare the stored shapes with the config first: a clear error, and no half-run restore.
        stored = ckpt.metadata(params_dir).item_metadata
        stored = {k: (tuple(v.shape), np.dtype(v.dtype)) for k, v in stored.items()}
        wanted = {k: (tuple(v.shape), np.dtype(v.dtype)) for k, v in target.items()}
        if stored != wanted:
            diff = sorted(k for k in set(stored) | set(wanted) if stored.get(k) != wanted.get(k))
            raise ValueError(
                f"load_decoder_checkpoint {directory}: params do not match decoder_config.json; "
                + "; ".join(
                    f"{k}: config {wanted.get(k)}, stored {stored.get(k)}" for k in diff[:4]
                )
            )
        restored = ckpt.restore(params_dir, target)
    flat = {k: np.asarray(v) for k, v in restored.items() if v is not None}
    return assemble(config, flat, param_dtype=dtype, source=f"orbax {directory.name}")


def is_decoder_checkpoint(path) -> bool:
    return (Path(path) / DECODER_CONFIG).is_file()


__all__ = [
    "assemble",
    "GGUF_LAYER_NAMES",
    "HF_LAYER_NAMES",
    "save_decoder",
    "load_decoder_checkpoint",
    "is_decoder_checkpoint",
]
