"""TemporalEncoder, label heads, SP-VLM loss/generation with the frozen-decoder proof, and
adversaries."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from conftest import backend_tol
from flax import nnx

from spjax.data.text import ONLY_PERSON, POINTERS
from spjax.models import spvlm
from spjax.models.encoder import TemporalEncoder
from spjax.models.heads import (
    LabelHeads,
    activity_targets,
    label_loss,
    label_predictions,
    person_activity_loss,
)
from spjax.models.llama import Llama, LlamaConfig
from spjax.privacy import terms as adv
from spjax.sensing import NoiseModel, Sensor

DCFG = LlamaConfig(
    vocab_size=40, dim=64, n_layers=2, n_heads=4, n_kv_heads=2, hidden_dim=96, max_seq_len=64
)
S, T, M = 16, 6, 4


class _Tok:
    """A stand-in with WordTokenizer's interface: one id per character a–z."""

    pad_id, bos_id, eos_id, vocab_size = 0, 1, 2, 40

    def encode(self, text):
        return [3 + ord(c) - ord("a") for c in text if c.isalpha()]

    def decode(self, ids):
        return "".join(chr(ord("a") + int(i) - 3) for i in ids if int(i) >= 3)


def _encoder(size=S, seed=0, **kw):
    kw = {"channels": 8, "token_width": 16, "heads": 2, "num_queries": M, "grid": 8, **kw}
    return TemporalEncoder(size, size, max_frames=8, out_dim=DCFG.dim, rngs=nnx.Rngs(seed), **kw)


def _model(seed=0, sensor=None):
    sensor = sensor or Sensor.hadamard(S, S, 0.25, order="low_frequency")
    return spvlm.SPVLM(
        sensor,
        _encoder(seed=seed),
        Llama(DCFG, rngs=nnx.Rngs(seed + 1)),
        LabelHeads(M, DCFG.dim, 4, rngs=nnx.Rngs(seed + 2)),
    )


def _clips(B=4, seed=0):
    return jax.random.uniform(jax.random.key(seed), (B, T, S, S))


def _batch(B=4, L=10, seed=0, sensor=None):
    k2 = jax.random.key(seed + 1)
    sensor = sensor or Sensor.hadamard(S, S, 0.25, order="low_frequency")
    loss_mask = np.zeros((B, L), np.int32)
    loss_mask[:, 6:] = 1
    return {
        "y": sensor(_clips(B, seed)),
        "tokens": jax.random.randint(k2, (B, L), 3, DCFG.vocab_size),
        "loss_mask": jnp.asarray(loss_mask),
        "attention_mask": jnp.ones((B, L), jnp.int32),
    }


# ---------------------------------------------------------------------------- encoder ---


@pytest.mark.parametrize(
    "family, rate",
    [
        ("hadamard:low_frequency", 1 / 256),
        ("hadamard:sequency", 0.1),
        ("rademacher", 0.1),
        ("bernoulli", 0.3),
        ("gaussian", 1.0),
    ],
)
def test_encoder_reads_any_sensor_family_and_k(family, rate):
    sensor = Sensor.family(family, S, S, rate)
    enc = _encoder()
    for t in (1, 5):
        out = nnx.jit(lambda e, y: e(y, sensor))(enc, sensor(_clips(2)[:, :t]))
        assert out.shape == (2, M, DCFG.dim) and bool(jnp.isfinite(out).all())


def test_encoder_clip_summary_is_an_ablatable_path_to_every_query():
    x = _clips(2)
    with_summary, plain = _encoder(), _encoder(summary=False)
    for enc in (with_summary, plain):
        assert nnx.jit(lambda e, x: e.encode_frames(x))(enc, x).shape == (2, M, DCFG.dim)
    # The summary adds parameters (one projection of mean+max) and nothing else.
    n = lambda e: sum(v.size for v in jax.tree.leaves(nnx.state(e, nnx.Param)))  # noqa: E731
    assert n(with_summary) - n(plain) == (2 * 16 + 1) * 16


def test_encoder_lift_is_the_pseudo_inverse_and_follows_learned_patterns():
    x = _clips(2)
    fast = Sensor.hadamard(S, S, 1.0, order="low_frequency")
    np.testing.assert_allclose(fast.lift(fast(x)), x, atol=1e-4)  # full rate: exact
    for family in ("gaussian", "rademacher", "bernoulli"):  # dense: the ridge barely moves it
        dense = Sensor.family(family, S, S, 0.3)
        np.testing.assert_allclose(dense.lift(dense(x)), dense.pinv(dense(x)), atol=1e-3)
    learned = Sensor.learned(S, S, 0.25, init="hadamard:low_frequency", rngs=nnx.Rngs(0))
    enc = _encoder()

    def loss(sensor):
        return jnp.mean(enc(sensor(x, sampler="reparam"), sensor) ** 2)

    grads = nnx.grad(loss)(learned)
    g = jax.tree.leaves(nnx.state(grads, nnx.Param))
    assert (
        g
        and all(bool(jnp.isfinite(v).all()) for v in g)
        and any(float(jnp.abs(v).max()) > 0 for v in g)
    )


def test_encoder_photon_scale_invariance_and_errors():
    enc = _encoder()
    x = _clips(2)
    run = nnx.jit(lambda e, x: e.encode_frames(x))
    scale_free = backend_tol(2e-4, 1e-2)
    np.testing.assert_allclose(run(enc, x), run(enc, 40.0 * x), atol=scale_free)
    assert float(jnp.abs(run(enc, x) - run(enc, x.at[:, 0, 3, 3].add(0.5))).max()) > 1e-4
    assert bool(jnp.isfinite(run(enc, jnp.zeros_like(x))).all())  # a black clip is finite
    sensor = Sensor.hadamard(S, S, 0.25)
    with pytest.raises(ValueError, match=r"T<=8"):
        enc.encode_frames(jnp.zeros((1, 9, S, S)))
    with pytest.raises(ValueError, match=r"y: expected shape \(B, T, 64\)"):
        enc(jnp.zeros((1, 4, 65)), sensor)
    with pytest.raises(ValueError, match="sensor: built for 16×16"):
        enc(jnp.zeros((1, 4, 256)), Sensor.hadamard(32, 32, 0.25))
    with pytest.raises(ValueError, match="token_width"):
        _encoder(token_width=10, heads=4)
    with pytest.raises(ValueError, match="num_queries"):
        _encoder(num_queries=0)
    with pytest.raises(ValueError, match="multiples of"):
        _encoder(size=20)


def test_label_heads_loss_predictions_and_activity_targets():
    heads = LabelHeads(M, 8, 4, rngs=nnx.Rngs(0))
    logits = heads(jnp.ones((3, M, 8)))
    assert logits["count"].shape == (3, 5) and logits["anomaly_type"].shape == (3, 5)
    targets = activity_targets(np.array([[1, 3, 0], [0, 0, 0], [2, 2, 11]]))
    assert targets.shape == (3, 11)
    np.testing.assert_array_equal(targets[:, :3], [[1, 0, 1], [0, 0, 0], [0, 1, 0]])
    assert float(targets[2, 10]) == 1.0
    total, parts = label_loss(
        logits, jnp.array([0, 1, 2]), jnp.array([0, 1, 3]), np.zeros((3, 3), np.int32)
    )
    np.testing.assert_allclose(float(total), sum(float(v) for v in parts.values()), rtol=1e-6)
    pred = label_predictions(logits)
    assert pred["count"].shape == (3,) and bool(
        ((pred["anomaly_score"] >= 0) & (pred["anomaly_score"] <= 1)).all()
    )
    assert pred["person_activity"].shape == (3, len(POINTERS))


def test_person_activity_loss_reads_the_pointed_persons_logits():
    # Logits that put all mass on the true activity under each named person's pointer give a
    # near-zero loss; moving that mass to another pointer (or activity) raises it.
    activity = np.array([[3, 5, 0], [2, 0, 0]])
    pointer = np.array([[1, 4, -1], [ONLY_PERSON, -1, -1]])
    good = np.zeros((2, len(POINTERS), 11), np.float32)
    good[0, 1, 2] = good[0, 4, 4] = good[1, ONLY_PERSON, 1] = 50.0
    assert float(person_activity_loss(good, activity, pointer)) < 1e-6
    wrong_place = np.roll(good, 1, axis=1)
    assert float(person_activity_loss(wrong_place, activity, pointer)) > 2.0  # ≈ log 11
    # Slots nobody can name never count.
    masked = good.copy()
    masked[0, 0] = 99.0
    assert float(person_activity_loss(masked, activity, pointer)) < 1e-6
    heads = LabelHeads(M, 8, 4, rngs=nnx.Rngs(0))
    logits = heads(jnp.ones((2, M, 8)))
    _, parts = label_loss(
        logits, jnp.array([1, 2]), jnp.array([0, 0]), activity, activity_pointer=pointer
    )
    assert set(parts) == {"count", "anomaly_type", "activities", "person_activity"}
    # person_weight scales the per-person term in the total and never the reported part.
    args = (logits, jnp.array([1, 2]), jnp.array([0, 0]), activity, pointer)
    off, parts_off = label_loss(*args, person_weight=0.0)
    double, _ = label_loss(*args, person_weight=2.0)
    others = parts["count"] + parts["anomaly_type"] + parts["activities"]
    np.testing.assert_allclose(off, others, rtol=1e-6)
    np.testing.assert_allclose(double, others + 2 * parts["person_activity"], rtol=1e-6)
    np.testing.assert_allclose(parts_off["person_activity"], parts["person_activity"])


# ------------------------------------------------------------------------------ SP-VLM ---


def test_loss_counts_answer_tokens_only():
    model = _model()
    b = _batch()

    @nnx.jit
    def run(model, b):
        loss, metrics = spvlm.loss_fn(
            model, b["y"], b["tokens"], b["loss_mask"], b["attention_mask"]
        )
        return loss, metrics, model(b["y"], b["tokens"], b["attention_mask"])

    loss, metrics, logits = run(model, b)
    assert logits.shape == (4, M + 10, DCFG.vocab_size)
    # Manual: token s is predicted from slot M + s - 1; answer slots are 6..9.
    logp = np.asarray(jax.nn.log_softmax(logits, -1))
    tokens = np.asarray(b["tokens"])
    manual = -np.mean([logp[i, M + s - 1, tokens[i, s]] for i in range(4) for s in range(6, 10)])
    np.testing.assert_allclose(float(loss), manual, rtol=1e-5)
    assert float(metrics["answer_tokens"]) == 16
    # Answer tokens change the loss; question-only loss masks are ignored.
    loss2, _, _ = run(model, {**b, "tokens": b["tokens"].at[:, 7:].set(3)})
    assert abs(float(loss2) - float(loss)) > 1e-4
    # Per-row averaging weighs a one-token answer like a long one.
    short = np.asarray(b["loss_mask"]).copy()
    short[0, 7:] = 0
    per_row = spvlm.answer_metrics(logits, b["tokens"], jnp.asarray(short), M, per_row=True)
    rows = [
        -np.mean([logp[i, M + s - 1, tokens[i, s]] for s in range(6, 10) if short[i, s]])
        for i in range(4)
    ]
    np.testing.assert_allclose(float(per_row["loss"]), np.mean(rows), rtol=1e-5)
    sensor = Sensor.hadamard(S, S, 0.25)
    with pytest.raises(ValueError, match="out_dim"):
        spvlm.SPVLM(
            sensor,
            _encoder(),
            Llama(
                LlamaConfig(
                    vocab_size=40, dim=32, n_layers=1, n_heads=2, n_kv_heads=1, hidden_dim=64
                ),
                rngs=nnx.Rngs(0),
            ),
        )
    with pytest.raises(ValueError, match="sensor"):
        spvlm.SPVLM(Sensor.hadamard(32, 32, 0.25), _encoder(), Llama(DCFG, rngs=nnx.Rngs(0)))


def test_frozen_decoder_proof_and_training_reduces_loss():
    sensor = Sensor.learned(
        S, S, 0.25, init="hadamard:low_frequency", noise=NoiseModel(1e5), rngs=nnx.Rngs(3)
    )
    model = _model(sensor=sensor)
    before = jax.tree.map(lambda x: np.asarray(x).tobytes(), nnx.state(model.decoder))
    enc_before = jax.tree.map(np.array, nnx.state(model.encoder, nnx.Param))
    opt = nnx.Optimizer(model, optax.adam(3e-3), wrt=spvlm.TRAINABLE)
    # No optimiser state is created for any decoder parameter.
    opt_paths = [
        "/".join(map(str, p))
        for p, _ in jax.tree_util.tree_flatten_with_path(nnx.state(opt, nnx.OptState))[0]
    ]
    assert opt_paths and not any("decoder" in p for p in opt_paths)
    b = _batch(sensor=Sensor.hadamard(S, S, 0.25, order="low_frequency"))

    @nnx.jit
    def train_step(model, opt, b):
        grad_fn = nnx.value_and_grad(
            spvlm.loss_fn, argnums=nnx.DiffState(0, spvlm.TRAINABLE), has_aux=True
        )
        (loss, _), grads = grad_fn(model, b["y"], b["tokens"], b["loss_mask"])
        opt.update(model, grads)
        return loss

    losses = [float(train_step(model, opt, b)) for _ in range(8)]
    assert losses[-1] < losses[0]
    after = jax.tree.map(lambda x: np.asarray(x).tobytes(), nnx.state(model.decoder))
    assert after == before  # byte-identical decoder after optimiser steps
    enc_after = nnx.state(model.encoder, nnx.Param)
    assert any(
        not np.array_equal(a, np.asarray(c))
        for a, c in zip(jax.tree.leaves(enc_before), jax.tree.leaves(enc_after))
    )
    # Even a gradient w.r.t. *all* parameters is exactly zero for the decoder (stop_gradient),
    # and the learned patterns receive one through the lift.
    grads = nnx.jit(nnx.grad(lambda m: spvlm.loss_fn(m, b["y"], b["tokens"], b["loss_mask"])[0]))(
        model
    )
    dec = jax.tree.leaves(grads["decoder"])
    assert dec and all(float(jnp.abs(g).max()) == 0.0 for g in dec)
    assert any(float(jnp.abs(g).max()) > 0 for g in jax.tree.leaves(grads["encoder"]))
    assert any(float(jnp.abs(g).max()) > 0 for g in jax.tree.leaves(grads["sensor"]))


def test_batches_prompts_and_generation_text():
    tok = _Tok()
    rows = spvlm.make_batch(tok, ["how many", "who"], ["two", "nobody"], max_len=12)
    assert rows["tokens"][0].tolist()[:9] == [1, *tok.encode("howmany"), *tok.encode("two"), 2][:9]
    assert rows["loss_mask"][0].tolist() == [0] * 8 + [1] * 4
    assert rows["attention_mask"][1].tolist() == [1] * 11 + [0]
    prompts, pmask = spvlm.make_prompts(tok, ["how many", "who"])
    assert prompts.shape == (2, 8) and pmask[1].tolist() == [0] * 4 + [1] * 4
    assert prompts[1, -4:].tolist() == [1, *tok.encode("who")]
    model = _model()
    y = _batch(B=2)["y"]
    texts = spvlm.generate_text(model, tok, y, ["how many", "who"], max_new_tokens=5)
    assert len(texts) == 2 and all(isinstance(t, str) for t in texts)
    ids = spvlm.generate(
        model, y, jnp.asarray(prompts), attention_mask=jnp.asarray(pmask), max_new_tokens=5
    )
    beams = spvlm.generate(
        model,
        y,
        jnp.asarray(prompts),
        attention_mask=jnp.asarray(pmask),
        max_new_tokens=5,
        num_beams=1,
    )
    np.testing.assert_array_equal(ids, beams)
    assert texts[0] == tok.decode(
        [i for i in np.asarray(ids[0]).tolist() if i != tok.eos_id][
            : (list(ids[0]).index(2) if 2 in list(ids[0]) else 5)
        ]
    )


# ------------------------------------------------------------------------- adversaries ---


def test_adversary_shapes():
    rngs = nnx.Rngs(0)
    faces = jax.random.uniform(jax.random.key(0), (5, 20))
    clips = jax.random.uniform(jax.random.key(1), (5, 3, 20))
    both = nnx.jit(lambda m, y: (m(y), m(40.0 * y + 2.0)))  # one compile per model
    for m in (
        adv.make_adversary("linear", 20, 7, rngs=rngs),
        adv.make_adversary("mlp", 20, 7, hidden=(16,), rngs=rngs),
        adv.make_adversary("attention", 20, 7, width=16, heads=2, tokens=6, rngs=rngs),
    ):
        plain, scaled = both(m, faces)
        assert plain.shape == (5, 7)
        # robust to the photon scale
        np.testing.assert_allclose(plain, scaled, atol=backend_tol(1e-4, 1e-2))
    att_clip = adv.make_adversary("attention", 20, 7, width=16, heads=2, max_frames=4, rngs=rngs)
    assert both(att_clip, clips)[0].shape == (5, 7)
    assert both(adv.make_adversary("linear", 20, 7, rngs=rngs), clips)[0].shape == (5, 7)
    assert both(adv.make_adversary("attention", 1, 3, width=8, heads=2, rngs=rngs), faces[:, :1])[
        0
    ].shape == (5, 3)
    with pytest.raises(ValueError, match=r"expected shape \(B, 20\) or \(B, T, 20\)"):
        att_clip(clips[:, :, :19])
    with pytest.raises(ValueError, match="max_frames"):
        adv.make_adversary("attention", 20, 7, width=16, heads=2, rngs=rngs)(clips)
    with pytest.raises(ValueError, match="n_classes"):
        adv.make_adversary("linear", 20, 0, rngs=rngs)


def test_ensemble_worst_restart_and_training():
    rngs = nnx.Rngs(0)
    ens = adv.AdversaryEnsemble.build(
        ["linear", "mlp", "attention"],
        16,
        4,
        rngs=rngs,
        mlp={"hidden": (32,)},
        attention={"width": 16, "heads": 2},
    )
    ids = jnp.arange(64) % 4
    protos = jax.random.normal(jax.random.key(0), (4, 16))
    y = protos[ids] + 0.1 * jax.random.normal(jax.random.key(1), (64, 16))
    losses = nnx.jit(lambda e: e.losses(y, ids))
    assert nnx.jit(lambda e: e(y))(ens).shape == (3, 64, 4)
    opt = nnx.Optimizer(ens, optax.adam(1e-2), wrt=nnx.Param)

    @nnx.jit
    def step(ens, opt):
        loss, grads = nnx.value_and_grad(lambda e: e.losses(y, ids).sum())(ens)
        opt.update(ens, grads)
        return loss

    start = losses(ens)
    for _ in range(30):
        step(ens, opt)
    trained = losses(ens)
    assert bool((trained < start).all())
    i, worst = nnx.jit(lambda e: e.worst(y, ids))(ens)
    assert float(worst) == float(trained.min()) and int(i) == int(jnp.argmin(trained))
    kept = jax.tree.map(np.array, nnx.state(ens.members[1]))
    ens.restart(0, nnx.Rngs(123))
    restarted = losses(ens)
    assert float(restarted[0]) > float(trained[0]) + 0.1  # fresh weights: back near chance
    np.testing.assert_allclose(restarted[1:], trained[1:], rtol=1e-6)
    assert jax.tree.all(
        jax.tree.map(np.array_equal, kept, jax.tree.map(np.array, nnx.state(ens.members[1])))
    )
    step(ens, opt)  # the optimiser still drives the restarted member
    with pytest.raises(ValueError, match="restart i"):
        ens.restart(3, nnx.Rngs(0))
    with pytest.raises(ValueError, match="n_classes"):
        adv.AdversaryEnsemble(
            [
                adv.make_adversary("linear", 4, 2, rngs=rngs),
                adv.make_adversary("linear", 4, 3, rngs=rngs),
            ]
        )


def test_privacy_losses():
    labels = jnp.array([0, 1])
    uniform = jnp.zeros((2, 5))
    confident = jnp.array([[9.0, 0, 0, 0, 0], [0, 9.0, 0, 0, 0]])
    np.testing.assert_allclose(adv.privacy_loss(uniform, labels, "kl_uniform"), 0.0, atol=1e-6)
    np.testing.assert_allclose(
        adv.privacy_loss(uniform, labels, "neg_entropy"), -np.log(5), rtol=1e-6
    )
    np.testing.assert_allclose(adv.privacy_loss(uniform, labels, "neg_ce"), -np.log(5), rtol=1e-6)
    assert float(adv.privacy_loss(confident, labels, "neg_ce")) > float(
        adv.privacy_loss(uniform, labels, "neg_ce")
    )
    assert float(adv.privacy_loss(confident, labels, "kl_uniform")) > 1.0
    with pytest.raises(ValueError, match="kind"):
        adv.privacy_loss(uniform, labels, "bogus")


def test_concept_tokens_are_the_decoders_word_embeddings_of_the_heads_decisions():
    from spjax.data.text import ABSENT_WORD, CONCEPT_WORDS, concept_context
    from spjax.data.word_tokenizer import WordTokenizer

    tok = WordTokenizer.build()
    cfg = LlamaConfig(
        vocab_size=tok.vocab_size,
        dim=DCFG.dim,
        n_layers=1,
        n_heads=4,
        n_kv_heads=2,
        hidden_dim=96,
        max_seq_len=64,
    )
    sensor = Sensor.hadamard(S, S, 0.25, order="low_frequency")
    decoder = Llama(cfg, rngs=nnx.Rngs(1))
    ids = spvlm.concept_ids(tok)
    assert ids["absent"] == tok.encode(ABSENT_WORD)[0]
    model = spvlm.SPVLM(
        sensor, _encoder(), decoder, LabelHeads(M, DCFG.dim, 4, rngs=nnx.Rngs(2)), ids
    )
    y = sensor(_clips(3))
    prefix, logits = nnx.jit(lambda m, y: m.prefix_and_labels(y))(model, y)
    n_act = len(CONCEPT_WORDS["activities"])
    assert prefix.shape == (3, M + 2 + n_act, DCFG.dim) and model.prefix_length == prefix.shape[1]
    table = np.asarray(decoder.embed[...])
    count = np.asarray(logits["count"]).argmax(-1)
    atype = np.asarray(logits["anomaly_type"]).argmax(-1)
    acts = np.asarray(logits["activities"]) > 0
    tol = backend_tol(1e-6, 1e-5)  # the straight-through one-hot is 1 up to rounding
    for b in range(3):
        np.testing.assert_allclose(prefix[b, M], table[ids["count"][count[b]]], atol=tol)
        np.testing.assert_allclose(prefix[b, M + 1], table[ids["anomaly_type"][atype[b]]], atol=tol)
        for j in range(n_act):
            word = ids["activities"][j] if acts[b, j] else ids["absent"]
            np.testing.assert_allclose(prefix[b, M + 2 + j], table[word], atol=tol)
    # The same layout in text is what the decoder is pretrained on.
    text = concept_context(
        {
            "count": 2,
            "anomaly_type": "fall",
            "location": "sink",
            "people": [("fallen", "sink"), ("walking", None)],
        }
    )
    words = text.split()
    assert words[:2] == ["two", "fallen"] and len(words) == 2 + n_act
    assert (
        words[2] == "walking" and words[2 + 7] == "lying" and words.count(ABSENT_WORD) == n_act - 2
    )
    with pytest.raises(ValueError, match="concept tokens need label heads"):
        spvlm.SPVLM(sensor, _encoder(), decoder, None, ids)
    with pytest.raises(ValueError, match="concept_mode"):
        spvlm.SPVLM(
            sensor,
            _encoder(),
            decoder,
            LabelHeads(M, DCFG.dim, 4, rngs=nnx.Rngs(2)),
            ids,
            concept_mode="loud",
        )
