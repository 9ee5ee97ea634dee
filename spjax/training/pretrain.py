"""Pretrain the tiny decoder on synthetic scene descriptions (recipe `pretrain_decoder_tiny.py`).

Each document is `caption question answer`: the decoder learns to answer from a description
that precedes the question. In SP-VLM the description is replaced by the temporal encoder's
prefix tokens and the decoder is frozen, so pretraining decides how much language the frozen
half brings; the encoder only has to learn to "describe" the measurements in its input space.
"""

from __future__ import annotations

import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from spjax.prefetch import device_batches
from spjax.training import optim
from spjax.training.config import ConfigDict, config_hash, to_json
from spjax.training.logging import RunLogger, progress

EXCLUDE_FROM_HASH = ("run.", "train.log_every", "train.eval_every")


def corpus_documents(cfg: ConfigDict) -> list[tuple[str, str, str]]:
    """(context, question, answer) triples rendered from the procedural scene world.

    The context is one of the clip's captions, or (a `corpus.concept_fraction` of documents)
    its concept context (`spjax.data.text.concept_context`: count, anomaly and activity words
    in fixed slots) — the text twin of an SP-VLM's concept tokens, so the frozen decoder
    already knows how to answer from them."""
    from spjax.data import scenes
    from spjax.data.text import concept_context

    scene_cfg = scenes.SceneConfig(frames=cfg.corpus.frames, size=cfg.corpus.size)
    clips = scenes.generate_scenes(scene_cfg, cfg.corpus.n_documents, seed=cfg.corpus.seed)
    rng = np.random.default_rng(cfg.corpus.seed)
    fraction = cfg.corpus.get("concept_fraction", 0.0)
    docs = []
    for i, (captions, qa) in enumerate(zip(clips["captions"], clips["qa"])):
        concepts = concept_context(scenes.clip_labels(clips, i))
        for _, question, answer in qa:
            context = concepts if rng.random() < fraction else captions[rng.integers(len(captions))]
            docs.append((context, question, answer))
    return docs


def encode_documents(
    docs, tokenizer, seq_len: int, *, no_context_fraction: float = 0.2, seed: int = 0
) -> np.ndarray:
    """Token ids `(N, seq_len)`: `[bos] caption [bos] question answer [eos]`, right-padded.

    The second `[bos]` opens the question exactly as in SP-VLM sequences, where the prefix
    tokens stand where the caption stands here. A fraction of documents drops the caption so
    the decoder also keeps a prior over answers."""
    rng = np.random.default_rng(seed)
    out = np.full((len(docs), seq_len), tokenizer.pad_id, np.int32)
    for i, (caption, question, answer) in enumerate(docs):
        context = (
            []
            if rng.random() < no_context_fraction
            else [tokenizer.bos_id] + tokenizer.encode(caption)
        )
        ids = (
            context
            + [tokenizer.bos_id]
            + tokenizer.encode(question)
            + tokenizer.encode(answer)
            + [tokenizer.eos_id]
        )
        if len(ids) > seq_len:
            raise ValueError(
                f"pretraining document {i} has {len(ids)} tokens > "
                f"train.seq_len={seq_len}; raise train.seq_len"
            )
        out[i, : len(ids)] = ids
    return out


def length_buckets(tokens: np.ndarray, pad_id: int, multiple: int = 32) -> dict[int, np.ndarray]:
    """Row indices grouped by their length rounded up to `multiple` (capped at the width)."""
    lengths = (tokens != pad_id).sum(1)
    widths = np.minimum(-(-lengths // multiple) * multiple, tokens.shape[1])
    return {int(w): np.flatnonzero(widths == w) for w in np.unique(widths)}


def lm_loss(model, tokens, pad_id):
    logits = model(tokens[:, :-1], attention_mask=tokens[:, :-1] != pad_id)
    targets = tokens[:, 1:]
    mask = (targets != pad_id).astype(jnp.float32)
    ce = optax.softmax_cross_entropy_with_integer_labels(logits, targets)
    loss = jnp.sum(ce * mask) / jnp.maximum(mask.sum(), 1.0)
    acc = jnp.sum((logits.argmax(-1) == targets) * mask) / jnp.maximum(mask.sum(), 1.0)
    return loss, acc


def decoder_cache_dir(cfg: ConfigDict, cache_root: str | Path) -> Path:
    from spjax.data.text import GRAMMAR_VERSION

    key = config_hash(cfg, exclude=EXCLUDE_FROM_HASH)
    return Path(cache_root) / f"decoder_tiny-g{GRAMMAR_VERSION}-{key}"


def pretrain_decoder(cfg: ConfigDict, workdir: str | Path) -> dict:
    """Train the tiny decoder and save it (config, weights, tokenizer) under `workdir/decoder`."""
    from spjax.data.word_tokenizer import WordTokenizer
    from spjax.models.llama import Llama, LlamaConfig
    from spjax.models.weights import save_decoder

    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "config.json").write_text(to_json(cfg))
    t0 = time.time()
    docs = corpus_documents(cfg)
    tokenizer = WordTokenizer.build([t for doc in docs for t in doc])
    tokens = encode_documents(docs, tokenizer, cfg.train.seq_len, seed=cfg.seed)
    n_val = max(len(tokens) // 20, 1)
    val, train = tokens[:n_val], tokens[n_val:]

    model_cfg = LlamaConfig(vocab_size=tokenizer.vocab_size, **cfg.model.to_dict())
    model = Llama(model_cfg, rngs=nnx.Rngs(cfg.seed))
    tx = optim.make_optimizer(
        cfg.optim.lr,
        total_steps=cfg.train.steps,
        warmup_steps=cfg.optim.warmup_steps,
        weight_decay=cfg.optim.weight_decay,
        clip_norm=cfg.optim.clip_norm,
    )
    optimizer = nnx.Optimizer(model, tx, wrt=nnx.Param)
    graphdef, state = nnx.split((model, optimizer))
    pad = tokenizer.pad_id

    @jax.jit
    def train_step(state, batch):
        model, optimizer = nnx.merge(graphdef, state)
        (loss, acc), grads = nnx.value_and_grad(lm_loss, has_aux=True)(model, batch, pad)
        optimizer.update(model, grads)
        return nnx.state((model, optimizer)), {"loss": loss, "accuracy": acc}

    @jax.jit
    def eval_step(state, batch):
        model, _ = nnx.merge(graphdef, state)
        return lm_loss(model, batch, pad)

    logger = RunLogger(
        workdir, config=cfg.to_dict(), wandb_mode=cfg.run.wandb, name="pretrain_decoder_tiny"
    )
    rng = np.random.default_rng(cfg.seed)
    bs = cfg.train.batch_size
    buckets = length_buckets(train, pad)
    sizes = np.array([len(b) for b in buckets.values()], float)

    def batches():
        # Batches come from one length bucket, cut to that length: short documents (most of
        # them) cost a fraction of the longest one; one compiled step per bucket.
        for _ in range(cfg.train.steps):
            width = list(buckets)[rng.choice(len(buckets), p=sizes / sizes.sum())]
            rows = buckets[width]
            yield train[rows[rng.integers(0, len(rows), bs)], :width]

    bar = progress(cfg.train.steps, desc="pretrain decoder")
    stream = device_batches(batches())
    try:
        for step, batch in enumerate(stream, 1):
            state, metrics = train_step(state, batch)  # read back at log steps only
            if step % cfg.train.log_every == 0 or step == cfg.train.steps:
                metrics = {k: float(v) for k, v in metrics.items()}
                if not np.isfinite(metrics["loss"]):
                    raise FloatingPointError(
                        f"decoder pretraining loss is {metrics['loss']} at step {step}"
                    )
                logger.log("train", step, **metrics)
                bar.set_postfix(loss=f"{metrics['loss']:.3f}", acc=f"{metrics['accuracy']:.3f}")
            bar.update(1)
    finally:
        stream.close()
    bar.close()
    val_loss, val_acc = (float(v) for v in eval_step(state, val[:256]))
    logger.log("val", cfg.train.steps, loss=val_loss, accuracy=val_acc)
    logger.close()
    model, _ = nnx.merge(graphdef, state)
    save_decoder(model, workdir / "decoder", tokenizer=tokenizer)
    summary = {
        "task": "pretrain_decoder",
        "val_loss": val_loss,
        "val_token_accuracy": val_acc,
        "documents": len(docs),
        "vocab_size": tokenizer.vocab_size,
        "params": model_cfg.num_params(),
        "seconds": round(time.time() - t0, 1),
        "decoder_dir": str(workdir / "decoder"),
    }
    summary["summary"] = (
        f"tiny decoder: {summary['params']:,} params, val loss {val_loss:.3f}, "
        f"token accuracy {val_acc:.3f}; saved to {summary['decoder_dir']}"
    )
    return summary
