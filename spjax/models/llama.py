"""One llama-family causal LM in flax.nnx: RMSNorm, RoPE, grouped-query attention, SwiGLU.

The layer weights are stored stacked along a leading layer axis and the blocks run under
`jax.lax.scan`, so a 30-layer model compiles as fast as a 1-layer one. Weights use the
`x @ W` orientation (`(in, out)`), q/k in the Hugging Face "rotate half" RoPE layout; loaders
convert other layouts (GGUF's interleaved q/k rows) to this one.

Optional `prefix` embeddings `(B, P, D)` are prepended to the token embeddings and form a
prefix-LM: prefix positions attend to each other bidirectionally, everything after is causal.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

_NEG_INF = -1e30


@dataclasses.dataclass(frozen=True)
class LlamaConfig:
    vocab_size: int
    dim: int
    n_layers: int
    n_heads: int
    n_kv_heads: int
    hidden_dim: int
    head_dim: int | None = None  # None: dim // n_heads
    rope_theta: float = 10000.0
    norm_eps: float = 1e-5
    tie_embeddings: bool = True
    max_seq_len: int = 2048

    def __post_init__(self):
        for name in ("vocab_size", "dim", "n_layers", "n_heads", "n_kv_heads", "hidden_dim"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"LlamaConfig.{name}: expected a positive int, got {value!r}")
        if self.n_heads % self.n_kv_heads:
            raise ValueError(
                f"LlamaConfig.n_heads: expected a multiple of n_kv_heads={self.n_kv_heads}, "
                f"got {self.n_heads}"
            )
        if self.head_dim is None and self.dim % self.n_heads:
            raise ValueError(
                f"LlamaConfig.dim: expected a multiple of n_heads={self.n_heads} when head_dim "
                f"is not given, got {self.dim}"
            )
        if self.hd % 2:
            raise ValueError(
                f"LlamaConfig.head_dim: expected an even number for RoPE, got {self.hd}"
            )

    @property
    def hd(self) -> int:
        return self.head_dim if self.head_dim is not None else self.dim // self.n_heads

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> LlamaConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(
                f"LlamaConfig: unknown fields {sorted(unknown)}; expected some of {sorted(names)}"
            )
        return cls(**d)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def num_params(self) -> int:
        d, hd, L = self.dim, self.hd, self.n_layers
        attn = d * hd * (2 * self.n_heads + 2 * self.n_kv_heads)
        per_layer = attn + 3 * d * self.hidden_dim + 2 * d
        head = 0 if self.tie_embeddings else d * self.vocab_size
        return self.vocab_size * d + L * per_layer + d + head


class KVCache(NamedTuple):
    """Keys/values of every layer for `max_len` slots, filled from slot 0.

    k, v: (L, B, max_len, n_kv_heads, head_dim); valid: (B, max_len) bool (slot holds a real
    token); next_pos: (B,) int32, RoPE position of the next token; index: () int32, next slot.
    """

    k: jax.Array
    v: jax.Array
    valid: jax.Array
    next_pos: jax.Array
    index: jax.Array

    @property
    def max_len(self) -> int:
        return self.k.shape[2]


def init_cache(config: LlamaConfig, batch: int, max_len: int, dtype=jnp.float32) -> KVCache:
    shape = (config.n_layers, batch, max_len, config.n_kv_heads, config.hd)
    return KVCache(
        k=jnp.zeros(shape, dtype),
        v=jnp.zeros(shape, dtype),
        valid=jnp.zeros((batch, max_len), bool),
        next_pos=jnp.zeros((batch,), jnp.int32),
        index=jnp.zeros((), jnp.int32),
    )


def rms_norm(x, weight, eps):
    x32 = x.astype(jnp.float32)
    y = x32 * jax.lax.rsqrt(jnp.mean(x32 * x32, axis=-1, keepdims=True) + eps)
    return (y * weight.astype(jnp.float32)).astype(x.dtype)


def rope(x, positions, theta):
    """Rotate-half RoPE. x: (B, S, H, hd); positions: (B, S) int."""
    hd = x.shape[-1]
    inv_freq = 1.0 / (theta ** (jnp.arange(0, hd, 2, dtype=jnp.float32) / hd))
    ang = positions[..., None].astype(jnp.float32) * inv_freq  # (B, S, hd/2)
    cos = jnp.cos(ang)[:, :, None, :]
    sin = jnp.sin(ang)[:, :, None, :]
    x32 = x.astype(jnp.float32)
    x1, x2 = x32[..., : hd // 2], x32[..., hd // 2 :]
    out = jnp.concatenate([x1 * cos - x2 * sin, x2 * cos + x1 * sin], axis=-1)
    return out.astype(x.dtype)


def prefix_lm_mask(q_slots, k_slots, k_valid, prefix_len):
    """Prefix-LM mask (B, Sq, Sk): key valid and (causal or both in the prefix).

    q_slots (Sq,), k_slots (Sk,) are sequence slots; keys in slots < prefix_len are visible to
    every query (the prefix is bidirectional, later queries see it causally anyway)."""
    causal = k_slots[None, :] <= q_slots[:, None]
    in_prefix = (k_slots[None, :] < prefix_len) & (q_slots[:, None] < prefix_len)
    return (causal | in_prefix)[None] & k_valid[:, None, :]


class Llama(nnx.Module):
    """Llama-family causal LM. See the module docstring for layouts and the prefix-LM."""

    def __init__(self, config: LlamaConfig, *, rngs: nnx.Rngs, param_dtype=jnp.float32, dtype=None):
        if not isinstance(config, LlamaConfig):
            raise TypeError(f"Llama config: expected LlamaConfig, got {type(config).__name__}")
        self.config = config
        self.dtype = dtype  # compute dtype; None = param dtype
        c = config
        L, d, hd, f = c.n_layers, c.dim, c.hd, c.hidden_dim
        init = nnx.initializers.normal(0.02)

        def w(*shape):
            return nnx.Param(init(rngs.params(), shape, param_dtype))

        self.embed = w(c.vocab_size, d)
        self.attn_norm = nnx.Param(jnp.ones((L, d), param_dtype))
        self.wq = w(L, d, c.n_heads * hd)
        self.wk = w(L, d, c.n_kv_heads * hd)
        self.wv = w(L, d, c.n_kv_heads * hd)
        self.wo = w(L, c.n_heads * hd, d)
        self.ffn_norm = nnx.Param(jnp.ones((L, d), param_dtype))
        self.w_gate = w(L, d, f)
        self.w_up = w(L, d, f)
        self.w_down = w(L, f, d)
        self.norm = nnx.Param(jnp.ones((d,), param_dtype))
        self.head = None if c.tie_embeddings else w(d, c.vocab_size)

    # -- pieces ------------------------------------------------------------------------
    def embed_tokens(self, tokens):
        table = self.embed[...]
        emb = jnp.take(table, tokens, axis=0)
        return emb.astype(self.dtype or table.dtype)

    def logits(self, h):
        h = rms_norm(h, self.norm[...], self.config.norm_eps)
        if self.head is None:  # tied: contract with the (V, D) table directly, no transpose
            return jnp.einsum(
                "bsd,vd->bsv",
                h,
                self.embed[...].astype(h.dtype),
                preferred_element_type=jnp.float32,
            )
        return jnp.einsum(
            "bsd,dv->bsv", h, self.head[...].astype(h.dtype), preferred_element_type=jnp.float32
        )

    def _block(self, h, lw, positions, mask, cache_kv, index):
        c = self.config
        B, S, _ = h.shape
        dt = h.dtype
        x = rms_norm(h, lw["attn_norm"], c.norm_eps)
        q = (x @ lw["wq"].astype(dt)).reshape(B, S, c.n_heads, c.hd)
        k = (x @ lw["wk"].astype(dt)).reshape(B, S, c.n_kv_heads, c.hd)
        v = (x @ lw["wv"].astype(dt)).reshape(B, S, c.n_kv_heads, c.hd)
        q = rope(q, positions, c.rope_theta)
        k = rope(k, positions, c.rope_theta)
        if cache_kv is not None:
            ck, cv = cache_kv
            ck = jax.lax.dynamic_update_slice(ck, k.astype(ck.dtype), (0, index, 0, 0))
            cv = jax.lax.dynamic_update_slice(cv, v.astype(cv.dtype), (0, index, 0, 0))
            k_all, v_all, new_kv = ck.astype(dt), cv.astype(dt), (ck, cv)
        else:
            k_all, v_all, new_kv = k, v, None
        g = c.n_heads // c.n_kv_heads
        qg = q.reshape(B, S, c.n_kv_heads, g, c.hd)
        scores = jnp.einsum(
            "bqhgd,bkhd->bhgqk", qg, k_all, preferred_element_type=jnp.float32
        ) / np.sqrt(c.hd)
        scores = jnp.where(mask[:, None, None], scores, _NEG_INF)
        probs = jax.nn.softmax(scores, axis=-1).astype(dt)
        att = jnp.einsum("bhgqk,bkhd->bqhgd", probs, v_all).reshape(B, S, c.n_heads * c.hd)
        h = h + att @ lw["wo"].astype(dt)
        x = rms_norm(h, lw["ffn_norm"], c.norm_eps)
        mlp = jax.nn.silu(x @ lw["w_gate"].astype(dt)) * (x @ lw["w_up"].astype(dt))
        h = h + mlp @ lw["w_down"].astype(dt)
        return h, new_kv

    def layer_weights(self) -> dict:
        names = ("attn_norm", "wq", "wk", "wv", "wo", "ffn_norm", "w_gate", "w_up", "w_down")
        return {n: getattr(self, n)[...] for n in names}

    # -- forward -----------------------------------------------------------------------
    def __call__(
        self,
        tokens,
        *,
        prefix=None,
        attention_mask=None,
        cache: KVCache | None = None,
        positions=None,
    ):
        """tokens (B, S) int → logits (B, P + S, V) float32, or (logits, cache) with a cache.

        prefix: (B, P, D) embeddings placed before the tokens (bidirectional among themselves).
        attention_mask: (B, S) 1 for real tokens, 0 for padding (prefix slots are always real).
        cache: a `KVCache`; the new slots are written at `cache.index` and attend to all valid
        earlier slots. positions: (B, P + S) RoPE positions; default counts real tokens only,
        so left padding does not shift positions.
        """
        tokens = jnp.asarray(tokens)
        if tokens.ndim != 2:
            raise ValueError(f"Llama tokens: expected shape (B, S), got {tokens.shape}")
        B, S = tokens.shape
        h = self.embed_tokens(tokens)
        P = 0
        if prefix is not None:
            if prefix.ndim != 3 or prefix.shape[0] != B or prefix.shape[2] != self.config.dim:
                raise ValueError(
                    f"Llama prefix: expected shape ({B}, P, {self.config.dim}), got {prefix.shape}"
                )
            P = prefix.shape[1]
            h = jnp.concatenate([prefix.astype(h.dtype), h], axis=1)
        if attention_mask is None:
            tok_valid = jnp.ones((B, S), bool)
        else:
            if attention_mask.shape != (B, S):
                raise ValueError(
                    f"Llama attention_mask: expected shape {(B, S)}, got {attention_mask.shape}"
                )
            tok_valid = attention_mask.astype(bool)
        new_valid = jnp.concatenate([jnp.ones((B, P), bool), tok_valid], axis=1)
        n_new = P + S
        start_pos = jnp.zeros((B,), jnp.int32) if cache is None else cache.next_pos
        if positions is None:
            positions = start_pos[:, None] + jnp.cumsum(new_valid, axis=1, dtype=jnp.int32) - 1
            positions = jnp.maximum(positions, 0)

        if cache is None:
            index = jnp.zeros((), jnp.int32)
            k_valid = new_valid
            k_slots = jnp.arange(n_new)
        else:
            if cache.k.shape[1] != B:
                raise ValueError(f"Llama cache: expected batch {B}, got {cache.k.shape[1]}")
            index = cache.index
            k_valid = jax.lax.dynamic_update_slice(cache.valid, new_valid, (0, index))
            k_slots = jnp.arange(cache.max_len)
        q_slots = index + jnp.arange(n_new)
        mask = prefix_lm_mask(q_slots, k_slots, k_valid, index + P if P else 0)

        lw = self.layer_weights()
        if cache is None:

            def body(h, lw_i):
                h, _ = self._block(h, lw_i, positions, mask, None, index)
                return h, None

            h, _ = jax.lax.scan(body, h, lw)
            return self.logits(h)

        def body_c(h, xs):
            lw_i, ck, cv = xs
            h, (ck, cv) = self._block(h, lw_i, positions, mask, (ck, cv), index)
            return h, (ck, cv)

        h, (ks, vs) = jax.lax.scan(body_c, h, (lw, cache.k, cache.v))
        last_pos = jnp.max(jnp.where(new_valid, positions, -1), axis=1)
        next_pos = jnp.maximum(start_pos, last_pos + 1)
        new_cache = KVCache(
            k=ks,
            v=vs,
            valid=k_valid,
            next_pos=next_pos.astype(jnp.int32),
            index=(index + n_new).astype(jnp.int32),
        )
        return self.logits(h), new_cache


def param_arrays(model: Llama) -> dict[str, np.ndarray]:
    """The model's weights as a flat dict of NumPy arrays in spjax layout (for tests/export)."""
    out = {n: np.asarray(v) for n, v in model.layer_weights().items()}
    out["embed"] = np.asarray(model.embed[...])
    out["norm"] = np.asarray(model.norm[...])
    if model.head is not None:
        out["head"] = np.asarray(model.head[...])
    return out


def describe(config: LlamaConfig) -> dict[str, Any]:
    d = config.to_dict()
    d["head_dim"] = config.hd
    d["num_params"] = config.num_params()
    return d
