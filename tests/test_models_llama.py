"""Llama decoder: masks, prefix-LM, KV cache, generation, and a plain NumPy reference forward
pass (tiny config here; the real SmolLM2 weights in the slow tests at the end)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import backend_tol
from flax import nnx

from spjax.models import generation, registry
from spjax.models.hf_weights import to_hf_tensors
from spjax.models.llama import Llama, LlamaConfig, init_cache, prefix_lm_mask

CFG = LlamaConfig(
    vocab_size=61,
    dim=64,
    n_layers=2,
    n_heads=4,
    n_kv_heads=2,
    hidden_dim=96,
    rope_theta=10000.0,
    max_seq_len=64,
)


def _spread(model: Llama, seed: int = 0, std: float = 0.25) -> Llama:
    """Re-draw weights with a larger spread so greedy outputs are not one repeated token."""
    state = nnx.state(model, nnx.Param)
    leaves, treedef = jax.tree.flatten(state)
    keys = jax.random.split(jax.random.key(seed), len(leaves))
    new = [x + std * jax.random.normal(k, x.shape, x.dtype) for x, k in zip(leaves, keys)]
    nnx.update(model, jax.tree.unflatten(treedef, new))
    return model


@pytest.fixture(scope="module")
def model():
    return _spread(Llama(CFG, rngs=nnx.Rngs(0)))


# ------------------------------------------------------------------ NumPy reference ---


def _np_rms(x, w, eps):
    return x / np.sqrt(np.mean(x * x, -1, keepdims=True) + eps) * w


def _np_rope(x, pos, theta, interleaved):
    """x (S, H, hd). rotate-half (HF) or adjacent pairs (llama.cpp / GGUF native)."""
    hd = x.shape[-1]
    inv = 1.0 / theta ** (np.arange(0, hd, 2) / hd)
    ang = pos[:, None] * inv[None]
    c, s = np.cos(ang)[:, None], np.sin(ang)[:, None]
    if interleaved:
        a, b = x[..., 0::2], x[..., 1::2]
        out = np.empty_like(x)
        out[..., 0::2], out[..., 1::2] = a * c - b * s, a * s + b * c
        return out
    a, b = x[..., : hd // 2], x[..., hd // 2 :]
    return np.concatenate([a * c - b * s, b * c + a * s], -1)


def numpy_forward(
    w,
    tokens,
    *,
    n_layers,
    n_heads,
    n_kv,
    theta,
    eps,
    interleaved=False,
    layer_fmt="model.layers.{i}.",
    names=None,
):
    """Logits (S, V) of a llama model for one token sequence, float64, weights as (out, in)."""
    names = names or {
        "embed": "model.embed_tokens.weight",
        "norm": "model.norm.weight",
        "head": "lm_head.weight",
        "attn_norm": "input_layernorm.weight",
        "q": "self_attn.q_proj.weight",
        "k": "self_attn.k_proj.weight",
        "v": "self_attn.v_proj.weight",
        "o": "self_attn.o_proj.weight",
        "ffn_norm": "post_attention_layernorm.weight",
        "gate": "mlp.gate_proj.weight",
        "up": "mlp.up_proj.weight",
        "down": "mlp.down_proj.weight",
    }
    g = lambda n: np.asarray(w[n], np.float64)  # noqa: E731
    emb = g(names["embed"])
    h = emb[np.asarray(tokens)]
    S = h.shape[0]
    pos = np.arange(S, dtype=np.float64)
    causal = np.tril(np.ones((S, S), bool))
    for i in range(n_layers):
        p = layer_fmt.format(i=i)
        x = _np_rms(h, g(p + names["attn_norm"]), eps)
        q = (x @ g(p + names["q"]).T).reshape(S, n_heads, -1)
        k = (x @ g(p + names["k"]).T).reshape(S, n_kv, -1)
        v = (x @ g(p + names["v"]).T).reshape(S, n_kv, -1)
        hd = q.shape[-1]
        q, k = _np_rope(q, pos, theta, interleaved), _np_rope(k, pos, theta, interleaved)
        rep = n_heads // n_kv
        k, v = np.repeat(k, rep, axis=1), np.repeat(v, rep, axis=1)
        sc = np.einsum("qhd,khd->hqk", q, k) / np.sqrt(hd)
        sc = np.where(causal[None], sc, -np.inf)
        pr = np.exp(sc - sc.max(-1, keepdims=True))
        pr /= pr.sum(-1, keepdims=True)
        att = np.einsum("hqk,khd->qhd", pr, v).reshape(S, -1)
        h = h + att @ g(p + names["o"]).T
        x = _np_rms(h, g(p + names["ffn_norm"]), eps)
        gate = x @ g(p + names["gate"]).T
        h = h + ((gate / (1 + np.exp(-gate))) * (x @ g(p + names["up"]).T)) @ g(p + names["down"]).T
    h = _np_rms(h, g(names["norm"]), eps)
    head = g(names["head"]) if names["head"] in w else emb
    return h @ head.T


# ------------------------------------------------------------------------- tests ---


def test_config_errors():
    with pytest.raises(ValueError, match="n_kv_heads"):
        LlamaConfig(vocab_size=10, dim=64, n_layers=1, n_heads=4, n_kv_heads=3, hidden_dim=8)
    with pytest.raises(ValueError, match="dim"):
        LlamaConfig(vocab_size=10, dim=66, n_layers=1, n_heads=4, n_kv_heads=2, hidden_dim=8)
    with pytest.raises(ValueError, match="vocab_size"):
        LlamaConfig(vocab_size=0, dim=64, n_layers=1, n_heads=4, n_kv_heads=2, hidden_dim=8)
    with pytest.raises(ValueError, match="unknown fields"):
        LlamaConfig.from_dict({**CFG.to_dict(), "bogus": 1})
    assert LlamaConfig.from_dict(CFG.to_dict()) == CFG


def test_prefix_lm_mask_values():
    # 2 prefix slots, 3 token slots, last key padded.
    valid = jnp.array([[1, 1, 1, 1, 0]], bool)
    m = np.asarray(prefix_lm_mask(jnp.arange(5), jnp.arange(5), valid, 2))[0]
    expected = np.array(
        [[1, 1, 0, 0, 0], [1, 1, 0, 0, 0], [1, 1, 1, 0, 0], [1, 1, 1, 1, 0], [1, 1, 1, 1, 0]], bool
    )
    np.testing.assert_array_equal(m, expected)


def test_matches_numpy_reference(model):
    tokens = np.array([[3, 17, 42, 5, 60, 1, 9]])
    ours = np.asarray(model(jnp.asarray(tokens)))[0]
    ref = numpy_forward(
        to_hf_tensors(model),
        tokens[0],
        n_layers=CFG.n_layers,
        n_heads=CFG.n_heads,
        n_kv=CFG.n_kv_heads,
        theta=CFG.rope_theta,
        eps=CFG.norm_eps,
    )
    np.testing.assert_allclose(
        ours, ref, atol=backend_tol(2e-4, 3e-2), rtol=backend_tol(1e-4, 1e-2)
    )


def test_shapes_and_prefix_is_bidirectional_rest_causal(model):
    B, P, S = 2, 3, 5
    tokens = jax.random.randint(jax.random.key(1), (B, S), 0, CFG.vocab_size)
    prefix = jax.random.normal(jax.random.key(2), (B, P, CFG.dim))
    logits = model(tokens, prefix=prefix)
    assert logits.shape == (B, P + S, CFG.vocab_size) and logits.dtype == jnp.float32
    # Changing the last prefix embedding changes the first prefix slot's output (bidirectional).
    logits2 = model(tokens, prefix=prefix.at[:, -1].add(1.0))
    assert float(jnp.abs(logits2[:, 0] - logits[:, 0]).max()) > 1e-3
    # Changing a later token leaves every earlier slot unchanged (causal), later ones change.
    logits3 = model(tokens.at[:, 3].set((tokens[:, 3] + 1) % CFG.vocab_size), prefix=prefix)
    tol = backend_tol(1e-5, 5e-3)
    np.testing.assert_allclose(logits3[:, : P + 3], logits[:, : P + 3], atol=tol)
    assert float(jnp.abs(logits3[:, P + 3 :] - logits[:, P + 3 :]).max()) > 1e-3


def test_left_padding_does_not_change_outputs(model):
    tokens = jnp.array([[7, 8, 9, 10]])
    plain = model(tokens)
    padded = model(jnp.array([[0, 0, 7, 8, 9, 10]]), attention_mask=jnp.array([[0, 0, 1, 1, 1, 1]]))
    np.testing.assert_allclose(padded[:, 2:], plain, atol=backend_tol(1e-5, 5e-3))


def test_kv_cache_incremental_equals_full(model):
    B, P, S = 2, 2, 6
    tokens = jax.random.randint(jax.random.key(3), (B, S), 0, CFG.vocab_size)
    prefix = jax.random.normal(jax.random.key(4), (B, P, CFG.dim))
    full = model(tokens, prefix=prefix)
    cache = init_cache(CFG, B, P + S)
    first, cache = model(tokens[:, :3], prefix=prefix, cache=cache)
    steps = [first]
    for t in range(3, S):
        out, cache = model(tokens[:, t : t + 1], cache=cache)
        steps.append(out)
    tol = backend_tol(1e-4, 5e-3)
    np.testing.assert_allclose(jnp.concatenate(steps, axis=1), full, atol=tol)
    assert int(cache.index) == P + S
    np.testing.assert_array_equal(cache.next_pos, [P + S] * B)


def test_generate_cache_equals_recomputation(model):
    tokens = jnp.array([[0, 0, 11, 12, 13], [21, 22, 23, 24, 25]])
    mask = jnp.array([[0, 0, 1, 1, 1], [1, 1, 1, 1, 1]])
    prefix = jax.random.normal(jax.random.key(5), (2, 3, CFG.dim))
    kw = dict(prefix=prefix, attention_mask=mask, max_new_tokens=12)
    cached = generation.generate(model, tokens, **kw)
    recomputed = generation.generate(model, tokens, use_cache=False, **kw)
    assert cached.shape == (2, 12)
    np.testing.assert_array_equal(cached, recomputed)
    assert len(np.unique(np.asarray(cached))) > 2  # a real sequence, not one repeated id
    # Row 0 (left-padded) equals the same prompt generated alone.
    alone = generation.generate(model, tokens[:1, 2:], prefix=prefix[:1], max_new_tokens=12)
    np.testing.assert_array_equal(alone[0], cached[0])
    # The greedy ids are the argmax of a plain forward pass over the generated sequence.
    seq = jnp.concatenate([tokens[1:], cached[1:]], axis=1)
    logits = model(seq, prefix=prefix[1:])
    np.testing.assert_array_equal(jnp.argmax(logits[0, 3 + 4 : -1], -1), cached[1])


def test_sampling_and_eos(model):
    tokens = jnp.array([[4, 5, 6]])
    greedy = generation.generate(model, tokens, max_new_tokens=8)
    top1 = generation.generate(
        model, tokens, max_new_tokens=8, temperature=0.7, top_k=1, rng=jax.random.key(0)
    )
    np.testing.assert_array_equal(top1, greedy)
    s1 = generation.generate(
        model, tokens, max_new_tokens=8, temperature=1.5, rng=jax.random.key(1)
    )
    s2 = generation.generate(
        model, tokens, max_new_tokens=8, temperature=1.5, rng=jax.random.key(1)
    )
    np.testing.assert_array_equal(s1, s2)
    eos = int(greedy[0, 2])
    cut = generation.generate(model, tokens, max_new_tokens=8, eos_id=eos, pad_id=0)
    first = list(np.asarray(greedy[0])).index(eos)
    np.testing.assert_array_equal(cut[0, : first + 1], greedy[0, : first + 1])
    assert (np.asarray(cut[0, first + 1 :]) == 0).all()
    assert generation.trim(cut, eos)[0] == list(np.asarray(greedy[0, :first]))
    with pytest.raises(ValueError, match="rng"):
        generation.generate(model, tokens, temperature=1.0)
    with pytest.raises(ValueError, match="max_seq_len"):
        generation.generate(model, tokens, max_new_tokens=CFG.max_seq_len)


def test_beam_search_beats_or_equals_greedy(model):
    tokens = jnp.array([[4, 5, 6]])
    greedy = generation.generate(model, tokens, max_new_tokens=8)

    def seq_logprob(ids):
        seq = jnp.concatenate([tokens, ids], axis=1)
        logp = jax.nn.log_softmax(model(seq)[0, 2:-1], -1)
        return float(jnp.take_along_axis(logp, ids[0][:, None], -1).sum())

    np.testing.assert_array_equal(
        generation.beam_search(model, tokens, max_new_tokens=8, num_beams=1), greedy
    )
    beam = generation.beam_search(model, tokens, max_new_tokens=8, num_beams=4)
    assert seq_logprob(beam) >= seq_logprob(greedy) - 1e-4


def test_input_errors(model):
    with pytest.raises(ValueError, match="tokens"):
        model(jnp.zeros((3,), jnp.int32))
    with pytest.raises(ValueError, match="prefix"):
        model(jnp.zeros((1, 3), jnp.int32), prefix=jnp.zeros((1, 2, CFG.dim + 1)))
    with pytest.raises(ValueError, match="attention_mask"):
        model(jnp.zeros((1, 3), jnp.int32), attention_mask=jnp.ones((1, 4)))


def test_forward_backward_under_jit(model):
    tokens = jax.random.randint(jax.random.key(6), (2, 8), 0, CFG.vocab_size)

    @nnx.jit
    def step(m, t):
        def loss(m):
            logits = m(t[:, :-1])
            return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), t[:, 1:, None], -1))

        return nnx.value_and_grad(loss)(m)

    value, grads = step(model, tokens)
    assert np.isfinite(float(value))
    norms = [float(jnp.linalg.norm(g)) for g in jax.tree.leaves(grads)]
    assert all(np.isfinite(norms)) and all(n > 0 for n in norms)


# ------------------------------------------------------------- real SmolLM2 (slow) ---


def _smollm2_path():
    try:
        return registry.locate("smollm2-135m")
    except FileNotFoundError as err:
        pytest.skip(f"the `lm` extra is absent: {err}")


@pytest.fixture(scope="module")
def smollm2():
    _smollm2_path()
    return registry.load_decoder("smollm2-135m")


@pytest.mark.slow
def test_smollm2_capital_of_france(smollm2):
    model, tok = smollm2
    ids = tok.encode("The capital of France is")
    out = generation.generate(
        model, jnp.asarray([ids]), max_new_tokens=6, eos_id=tok.eos_id, pad_id=tok.pad_id
    )
    assert "Paris" in tok.decode(out[0])


@pytest.mark.slow
def test_smollm2_logits_match_numpy_reference(smollm2):
    """Independent check of GGUF loading: the reference reads the raw GGUF tensors and uses
    llama.cpp's interleaved RoPE, so the q/k un-permutation is verified, not assumed."""
    from gguf import GGUFReader, quants

    model, tok = smollm2
    reader = GGUFReader(str(_smollm2_path()))
    w = {}
    for t in reader.tensors:
        shape = tuple(int(s) for s in reversed(t.shape))
        w[t.name] = quants.dequantize(t.data, t.tensor_type).reshape(shape)
    names = {
        "embed": "token_embd.weight",
        "norm": "output_norm.weight",
        "head": "output.weight",
        "attn_norm": "attn_norm.weight",
        "q": "attn_q.weight",
        "k": "attn_k.weight",
        "v": "attn_v.weight",
        "o": "attn_output.weight",
        "ffn_norm": "ffn_norm.weight",
        "gate": "ffn_gate.weight",
        "up": "ffn_up.weight",
        "down": "ffn_down.weight",
    }
    ids = tok.encode("A single-pixel camera measures light")
    c = model.config
    ref = numpy_forward(
        w,
        ids,
        n_layers=c.n_layers,
        n_heads=c.n_heads,
        n_kv=c.n_kv_heads,
        theta=c.rope_theta,
        eps=c.norm_eps,
        interleaved=True,
        layer_fmt="blk.{i}.",
        names=names,
    )
    ours = np.asarray(model(jnp.asarray([ids])))[0]
    np.testing.assert_allclose(ours[-1], ref[-1], atol=1e-3, rtol=0)
    np.testing.assert_allclose(ours, ref, atol=1e-3, rtol=0)
