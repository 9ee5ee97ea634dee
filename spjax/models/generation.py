"""Jit-compiled batched generation for `Llama`: greedy, temperature/top-k sampling, and beam
search, with a KV cache (or, for comparison, full recomputation at every step).

Prompts in a batch must be *left*-padded (`attention_mask` 0 on the left) so that every row's
last slot is a real token; positions skip the padding, so the padding does not change results.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from flax import nnx

from spjax.models.llama import Llama, init_cache


def _check(model, tokens, prefix, attention_mask, max_new_tokens):
    if not isinstance(model, Llama):
        raise TypeError(f"generate model: expected Llama, got {type(model).__name__}")
    tokens = jnp.asarray(tokens, jnp.int32)
    if tokens.ndim != 2 or tokens.shape[1] < 1:
        raise ValueError(f"generate tokens: expected shape (B, S>=1), got {tokens.shape}")
    if not isinstance(max_new_tokens, int) or max_new_tokens < 1:
        raise ValueError(f"generate max_new_tokens: expected an int >= 1, got {max_new_tokens!r}")
    if attention_mask is None:
        attention_mask = jnp.ones(tokens.shape, jnp.int32)
    attention_mask = jnp.asarray(attention_mask, jnp.int32)
    if attention_mask.shape != tokens.shape:
        raise ValueError(
            f"generate attention_mask: expected shape {tokens.shape}, got {attention_mask.shape}"
        )
    total = tokens.shape[1] + max_new_tokens + (0 if prefix is None else prefix.shape[1])
    if total > model.config.max_seq_len:
        raise ValueError(
            f"generate: prefix + prompt + max_new_tokens = {total} exceeds the "
            f"model's max_seq_len {model.config.max_seq_len}"
        )
    return tokens, attention_mask


def _pick(logits, key, temperature, top_k, greedy):
    if greedy:
        return jnp.argmax(logits, axis=-1).astype(jnp.int32)
    logits = logits / temperature
    if top_k is not None:
        kth = jax.lax.top_k(logits, top_k)[0][..., -1:]
        logits = jnp.where(logits < kth, -jnp.inf, logits)
    return jax.random.categorical(key, logits, axis=-1).astype(jnp.int32)


def _finish(tok, done, eos_id, pad_id):
    tok = jnp.where(done, pad_id, tok)
    if eos_id is not None:
        done = done | (tok == eos_id)
    return tok, done


@functools.partial(
    jax.jit,
    static_argnames=(
        "graphdef",
        "max_new_tokens",
        "top_k",
        "greedy",
        "eos_id",
        "pad_id",
        "use_cache",
        "cache_dtype",
    ),
)
def _generate(
    graphdef,
    state,
    tokens,
    prefix,
    attention_mask,
    key,
    temperature,
    *,
    max_new_tokens,
    top_k,
    greedy,
    eos_id,
    pad_id,
    use_cache,
    cache_dtype,
):
    model = nnx.merge(graphdef, state)
    B, S = tokens.shape
    P = 0 if prefix is None else prefix.shape[1]
    keys = jax.random.split(key, max_new_tokens)
    done0 = jnp.zeros((B,), bool)

    if use_cache:
        cache = init_cache(model.config, B, P + S + max_new_tokens, cache_dtype)
        logits, cache = model(tokens, prefix=prefix, attention_mask=attention_mask, cache=cache)
        tok0, done = _finish(
            _pick(logits[:, -1], keys[0], temperature, top_k, greedy), done0, eos_id, pad_id
        )

        def step(carry, k):
            cache, tok, done = carry
            logits, cache = model(tok[:, None], cache=cache)
            nxt, done = _finish(
                _pick(logits[:, -1], k, temperature, top_k, greedy), done, eos_id, pad_id
            )
            return (cache, nxt, done), nxt

        _, rest = jax.lax.scan(step, (cache, tok0, done), keys[1:])
        return jnp.concatenate([tok0[:, None], rest.T], axis=1)

    # Full recomputation: a fixed buffer, the whole sequence re-run for every new token.
    buf = jnp.concatenate([tokens, jnp.full((B, max_new_tokens), pad_id, jnp.int32)], axis=1)
    valid = jnp.concatenate([attention_mask, jnp.zeros((B, max_new_tokens), jnp.int32)], axis=1)

    def body(i, carry):
        buf, valid, done = carry
        logits = model(buf, prefix=prefix, attention_mask=valid)
        last = jax.lax.dynamic_index_in_dim(logits, P + S - 1 + i, axis=1, keepdims=False)
        tok, done = _finish(_pick(last, keys[i], temperature, top_k, greedy), done, eos_id, pad_id)
        buf = jax.lax.dynamic_update_slice(buf, tok[:, None], (0, S + i))
        valid = jax.lax.dynamic_update_slice(valid, jnp.ones((B, 1), jnp.int32), (0, S + i))
        return buf, valid, done

    buf, _, _ = jax.lax.fori_loop(0, max_new_tokens, body, (buf, valid, done0))
    return buf[:, S:]


def generate(
    model: Llama,
    tokens,
    *,
    prefix=None,
    attention_mask=None,
    max_new_tokens: int = 32,
    temperature: float = 0.0,
    top_k: int | None = None,
    rng=None,
    eos_id: int | None = None,
    pad_id: int = 0,
    use_cache: bool = True,
):
    """Generate `max_new_tokens` ids per row → (B, max_new_tokens) int32.

    temperature 0 is greedy; otherwise sample from softmax(logits / temperature), restricted to
    the `top_k` most likely tokens if given (needs `rng`, a PRNG key). After `eos_id` a row emits
    `pad_id`. `use_cache=False` recomputes the whole sequence for every token (reference path).
    """
    tokens, attention_mask = _check(model, tokens, prefix, attention_mask, max_new_tokens)
    greedy = temperature is None or float(temperature) <= 0.0
    if not greedy and rng is None:
        raise ValueError("generate rng: expected a PRNG key when temperature > 0, got None")
    if top_k is not None and (
        not isinstance(top_k, int) or not 1 <= top_k <= model.config.vocab_size
    ):
        raise ValueError(
            f"generate top_k: expected an int in [1, {model.config.vocab_size}], got {top_k!r}"
        )
    key = jax.random.key(0) if rng is None else rng
    graphdef, state = nnx.split(model)
    cache_dtype = model.dtype or model.embed[...].dtype
    return _generate(
        graphdef,
        state,
        tokens,
        prefix,
        attention_mask,
        key,
        jnp.float32(1.0 if greedy else temperature),
        max_new_tokens=max_new_tokens,
        top_k=top_k,
        greedy=greedy,
        eos_id=eos_id,
        pad_id=pad_id,
        use_cache=use_cache,
        cache_dtype=jnp.dtype(cache_dtype).name,
    )


@functools.partial(
    jax.jit,
    static_argnames=("graphdef", "max_new_tokens", "num_beams", "eos_id", "pad_id", "cache_dtype"),
)
def _beam(
    graphdef,
    state,
    tokens,
    prefix,
    attention_mask,
    *,
    max_new_tokens,
    num_beams,
    eos_id,
    pad_id,
    cache_dtype,
):
    model = nnx.merge(graphdef, state)
    B, S = tokens.shape
    W = num_beams
    P = 0 if prefix is None else prefix.shape[1]
    rep = lambda x: None if x is None else jnp.repeat(x, W, axis=0)  # noqa: E731
    cache = init_cache(model.config, B * W, P + S + max_new_tokens, cache_dtype)
    logits, cache = model(
        rep(tokens), prefix=rep(prefix), attention_mask=rep(attention_mask), cache=cache
    )
    logp = jax.nn.log_softmax(logits[:, -1], axis=-1).reshape(B, W, -1)
    V = logp.shape[-1]
    # Only beam 0 is live at the start (all beams are identical copies).
    score = jnp.where(jnp.arange(W) == 0, 0.0, -jnp.inf)[None].repeat(B, 0)
    seqs = jnp.full((B, W, max_new_tokens), pad_id, jnp.int32)
    done = jnp.zeros((B, W), bool)

    def step(carry, i):
        cache, logp, score, seqs, done = carry
        # A finished beam may only extend with pad at no cost.
        pad_row = jnp.full((V,), -jnp.inf).at[pad_id].set(0.0)
        logp = jnp.where(done[..., None], pad_row, logp)
        cand = (score[..., None] + logp).reshape(B, W * V)
        top, idx = jax.lax.top_k(cand, W)
        beam, tok = idx // V, (idx % V).astype(jnp.int32)
        seqs = jnp.take_along_axis(seqs, beam[..., None], axis=1)
        seqs = jax.lax.dynamic_update_slice(seqs, tok[..., None], (0, 0, i))
        done = jnp.take_along_axis(done, beam, axis=1)
        if eos_id is not None:
            done = done | (tok == eos_id)
        flat = (beam + jnp.arange(B)[:, None] * W).reshape(-1)
        cache = cache._replace(
            k=cache.k[:, flat],
            v=cache.v[:, flat],
            valid=cache.valid[flat],
            next_pos=cache.next_pos[flat],
        )
        logits, cache = model(tok.reshape(-1, 1), cache=cache)
        logp = jax.nn.log_softmax(logits[:, -1], axis=-1).reshape(B, W, V)
        return (cache, logp, top, seqs, done), None

    (_, _, score, seqs, _), _ = jax.lax.scan(
        step, (cache, logp, score, seqs, done), jnp.arange(max_new_tokens)
    )
    best = jnp.argmax(score, axis=1)
    return jnp.take_along_axis(seqs, best[:, None, None], axis=1)[:, 0]


def beam_search(
    model: Llama,
    tokens,
    *,
    prefix=None,
    attention_mask=None,
    max_new_tokens: int = 32,
    num_beams: int = 4,
    eos_id: int | None = None,
    pad_id: int = 0,
):
    """Beam search (sum of log-probabilities, no length penalty) → (B, max_new_tokens) int32."""
    tokens, attention_mask = _check(model, tokens, prefix, attention_mask, max_new_tokens)
    if not isinstance(num_beams, int) or num_beams < 1:
        raise ValueError(f"beam_search num_beams: expected an int >= 1, got {num_beams!r}")
    graphdef, state = nnx.split(model)
    cache_dtype = jnp.dtype(model.dtype or model.embed[...].dtype).name
    return _beam(
        graphdef,
        state,
        tokens,
        prefix,
        attention_mask,
        max_new_tokens=max_new_tokens,
        num_beams=num_beams,
        eos_id=eos_id,
        pad_id=pad_id,
        cache_dtype=cache_dtype,
    )


def trim(ids, eos_id: int | None, pad_id: int | None = None) -> list[list[int]]:
    """Rows of generated ids cut at the first eos (excluded) → lists of ints."""
    out = []
    for row in jax.device_get(ids).tolist():
        if eos_id is not None and eos_id in row:
            row = row[: row.index(eos_id)]
        out.append(row)
    return out
