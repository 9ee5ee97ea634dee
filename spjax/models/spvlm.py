"""SP-VLM glue: TemporalEncoder prefix tokens + a frozen llama decoder.

Sequence = [prefix (M)][question][answer]; the prefix is bidirectional, the rest causal, and
the loss/accuracy count answer tokens only. The decoder is frozen by construction:

- `TRAINABLE` is the nnx filter for every `nnx.Param` *outside* `.decoder`; give it to
  `nnx.Optimizer(model, tx, wrt=TRAINABLE)` and `nnx.DiffState(0, TRAINABLE)` so the decoder
  gets neither gradients nor optimiser state;
- every decoder call goes through `frozen(decoder)`, which splits the decoder's state off and
  passes it through `jax.lax.stop_gradient`, so even a gradient taken w.r.t. all parameters is
  exactly zero for the decoder.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from spjax.models import generation
from spjax.models.encoder import TemporalEncoder
from spjax.models.llama import Llama

TRAINABLE = nnx.All(nnx.Param, nnx.Not(nnx.PathContains("decoder")))


def frozen(decoder: Llama) -> Llama:
    """A copy of `decoder` whose weights are `stop_gradient`-ed (use inside traced code)."""
    graphdef, state = nnx.split(decoder)
    return nnx.merge(graphdef, jax.lax.stop_gradient(state))


class SPVLM(nnx.Module):
    """encoder: y (B, T, K) → (B, M, D); decoder: a `Llama` with width D (frozen)."""

    def __init__(self, encoder: TemporalEncoder, decoder: Llama):
        if not isinstance(decoder, Llama):
            raise TypeError(f"SPVLM decoder: expected Llama, got {type(decoder).__name__}")
        if encoder.out_dim != decoder.config.dim:
            raise ValueError(f"SPVLM encoder.out_dim: expected the decoder width "
                             f"{decoder.config.dim}, got {encoder.out_dim}")
        self.encoder = encoder
        self.decoder = decoder

    def prefix(self, y):
        return self.encoder(y)

    def __call__(self, y, tokens, attention_mask=None):
        """Logits over [prefix][tokens]: (B, M + S, V) float32."""
        return frozen(self.decoder)(tokens, prefix=self.encoder(y), attention_mask=attention_mask)


def answer_metrics(logits, tokens, loss_mask, prefix_len: int):
    """Mean next-token cross-entropy and accuracy over answer tokens (loss_mask == 1).

    logits (B, P + S, V) over [prefix][tokens]; token s is predicted from slot P + s − 1."""
    if prefix_len > 0:
        pred, target, mask = logits[:, prefix_len - 1:-1], tokens, loss_mask
    else:
        pred, target, mask = logits[:, :-1], tokens[:, 1:], loss_mask[:, 1:]
    mask = mask.astype(jnp.float32)
    ce = optax.softmax_cross_entropy_with_integer_labels(pred.astype(jnp.float32), target)
    n = jnp.maximum(mask.sum(), 1.0)
    correct = (jnp.argmax(pred, -1) == target).astype(jnp.float32)
    return {"loss": (ce * mask).sum() / n, "accuracy": (correct * mask).sum() / n,
            "answer_tokens": mask.sum()}


def loss_fn(model: SPVLM, y, tokens, loss_mask, attention_mask=None):
    """(loss, metrics) for one batch; differentiate w.r.t. `TRAINABLE` only."""
    prefix = model.encoder(y)
    logits = frozen(model.decoder)(tokens, prefix=prefix, attention_mask=attention_mask)
    metrics = answer_metrics(logits, tokens, loss_mask, prefix.shape[1])
    return metrics["loss"], metrics


@nnx.jit
def train_step(model: SPVLM, optimizer: nnx.Optimizer, batch: dict):
    """One optimiser step on the trainable parts. batch: y, tokens, loss_mask, attention_mask."""
    grad_fn = nnx.value_and_grad(loss_fn, argnums=nnx.DiffState(0, TRAINABLE), has_aux=True)
    (_, metrics), grads = grad_fn(model, batch["y"], batch["tokens"], batch["loss_mask"],
                                  batch.get("attention_mask"))
    optimizer.update(model, grads)
    return metrics


def make_optimizer(model: SPVLM, tx) -> nnx.Optimizer:
    return nnx.Optimizer(model, tx, wrt=TRAINABLE)


# ---------------------------------------------------------------------- batches & text ---

def make_batch(tokenizer, questions, answers, *, max_len: int) -> dict[str, np.ndarray]:
    """Right-padded training batch: tokens = [bos] question answer [eos]; loss on answer + eos.

    Too-long rows are truncated at max_len (the answer's tail is dropped first)."""
    if len(questions) != len(answers):
        raise ValueError(f"make_batch answers: expected {len(questions)} answers, got {len(answers)}")
    B = len(questions)
    tokens = np.full((B, max_len), tokenizer.pad_id, np.int32)
    loss_mask = np.zeros((B, max_len), np.int32)
    attn = np.zeros((B, max_len), np.int32)
    for i, (q, a) in enumerate(zip(questions, answers)):
        q_ids = ([tokenizer.bos_id] if tokenizer.bos_id is not None else []) + list(tokenizer.encode(q))
        a_ids = list(tokenizer.encode(a)) + ([tokenizer.eos_id] if tokenizer.eos_id is not None else [])
        row = (q_ids + a_ids)[:max_len]
        tokens[i, :len(row)] = row
        attn[i, :len(row)] = 1
        loss_mask[i, len(q_ids):len(row)] = 1
    return {"tokens": tokens, "loss_mask": loss_mask, "attention_mask": attn}


def make_prompts(tokenizer, questions, *, max_len: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Left-padded prompts ([bos] question) for generation → (tokens, attention_mask)."""
    rows = [([tokenizer.bos_id] if tokenizer.bos_id is not None else []) + list(tokenizer.encode(q))
            for q in questions]
    width = max(len(r) for r in rows) if max_len is None else max_len
    tokens = np.full((len(rows), width), tokenizer.pad_id, np.int32)
    mask = np.zeros((len(rows), width), np.int32)
    for i, r in enumerate(rows):
        r = r[-width:]
        tokens[i, width - len(r):] = r
        mask[i, width - len(r):] = 1
    return tokens, mask


@nnx.jit
def _encode(encoder, y):
    return encoder(y)


def generate(model: SPVLM, y, tokens, *, attention_mask=None, max_new_tokens: int = 16,
             temperature: float = 0.0, top_k: int | None = None, num_beams: int = 1, rng=None,
             eos_id: int | None = None, pad_id: int = 0):
    """Answer ids (B, max_new_tokens) for measurements y and left-padded question tokens."""
    prefix = _encode(model.encoder, jnp.asarray(y))
    if num_beams > 1:
        return generation.beam_search(model.decoder, tokens, prefix=prefix,
                                      attention_mask=attention_mask, max_new_tokens=max_new_tokens,
                                      num_beams=num_beams, eos_id=eos_id, pad_id=pad_id)
    return generation.generate(model.decoder, tokens, prefix=prefix, attention_mask=attention_mask,
                               max_new_tokens=max_new_tokens, temperature=temperature, top_k=top_k,
                               rng=rng, eos_id=eos_id, pad_id=pad_id)


def generate_text(model: SPVLM, tokenizer, y, questions, **kwargs) -> list[str]:
    """Decoded answers for a batch of measurements and question strings."""
    tokens, mask = make_prompts(tokenizer, questions)
    ids = generate(model, y, tokens, attention_mask=mask, eos_id=tokenizer.eos_id,
                   pad_id=tokenizer.pad_id, **kwargs)
    return [tokenizer.decode(row) for row in generation.trim(ids, tokenizer.eos_id)]
