"""The SP-VLM: sensor → measurements → temporal encoder → prefix tokens → frozen decoder.

    frames (B, T, H, W) ──sensor──► y (B, T, K) ──encoder (lifts with the sensor)──► prefix (B, M, D)
    [prefix][bos question answer eos] ──frozen llama decoder──► answer logits
                          └─ label heads (count, anomaly type, activities): training + ceiling

One module for training, evaluation, deployment and the benchmarks. The sequence is
[prefix (M)][question][answer]; the prefix is bidirectional, the rest causal, and the answer
loss counts answer tokens only. The decoder is frozen by construction:

- `TRAINABLE` selects every `nnx.Param` outside `.decoder`; give it to `nnx.Optimizer(...,
  wrt=TRAINABLE)` and `nnx.DiffState(0, TRAINABLE)` so the decoder gets neither gradients nor
  optimiser state (`DECODER` selects the decoder's variables, e.g. to split them off);
- every decoder call goes through `frozen(decoder)`, whose weights pass `jax.lax.stop_gradient`,
  so even a gradient taken w.r.t. all parameters is exactly zero for the decoder.
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

DECODER = nnx.PathContains("decoder")
# How label-head predictions become concept tokens: their decisions as exact word embeddings
# (straight-through gradients) or probability-weighted mixtures of the words' embeddings.
CONCEPT_MODES = ("hard", "soft")
TRAINABLE = nnx.All(nnx.Param, nnx.Not(DECODER))


def _straight_through(hard, soft):
    return soft + jax.lax.stop_gradient(hard - soft)


def frozen(decoder: Llama) -> Llama:
    """A copy of `decoder` whose weights are `stop_gradient`-ed (use inside traced code)."""
    graphdef, state = nnx.split(decoder)
    return nnx.merge(graphdef, jax.lax.stop_gradient(state))


def concept_ids(tokenizer) -> dict[str, tuple[int, ...]]:
    """Decoder token ids of the grammar's concept words (`spjax.data.text.CONCEPT_WORDS`,
    and `"absent"`: `ABSENT_WORD`): the first token of each word as the decoder's tokenizer
    writes it inside a sentence."""
    from spjax.data.text import ABSENT_WORD, CONCEPT_WORDS

    def first(word):
        ids = tokenizer.encode(" " + word) or tokenizer.encode(word)
        if not ids:
            raise ValueError(f"concept word {word!r}: the decoder's tokenizer gives no token")
        return int(ids[0])

    ids = {name: tuple(first(w) for w in words) for name, words in CONCEPT_WORDS.items()}
    return {**ids, "absent": first(ABSENT_WORD)}


class SPVLM(nnx.Module):
    """`sensor` (a `spjax.sensing.Sensor`), `encoder` (`TemporalEncoder` for the sensor's
    frames, out_dim = decoder width), `decoder` (a frozen `Llama`), optional `heads`
    (`LabelHeads` on the prefix) and `concepts` (`concept_ids(tokenizer)`).

    With heads and concepts, the prefix is the encoder's M learned-query tokens followed by
    *concept tokens*: each label head's prediction as the decoder's own (frozen) embedding of
    the word the captions use for it — a people count reads as "two", an anomaly as "fallen",
    each activity present as its word. `concept_mode="hard"` writes the heads' decisions
    (gradients pass straight through to their probabilities), `"soft"` the probability-
    weighted mixture of the words' embeddings. They sit in the decoder's input space, where its
    pretraining taught it to read facts from a caption, so the label heads' knowledge reaches
    the answers without the decoder having to learn a new code for it; the learned queries
    carry everything else (where, who does what)."""

    def __init__(
        self,
        sensor,
        encoder: TemporalEncoder,
        decoder: Llama,
        heads=None,
        concepts: dict | None = None,
        concept_mode: str = "hard",
    ):
        if not isinstance(decoder, Llama):
            raise TypeError(f"SPVLM decoder: expected Llama, got {type(decoder).__name__}")
        if encoder.out_dim != decoder.config.dim:
            raise ValueError(
                f"SPVLM encoder.out_dim: expected the decoder width "
                f"{decoder.config.dim}, got {encoder.out_dim}"
            )
        if (sensor.h, sensor.w) != (encoder.height, encoder.width):
            raise ValueError(
                f"SPVLM sensor: the encoder reads {encoder.height}×{encoder.width} "
                f"frames, the sensor measures {sensor.h}×{sensor.w}"
            )
        if concept_mode not in CONCEPT_MODES:
            raise ValueError(
                f"SPVLM concept_mode: expected one of {CONCEPT_MODES}, got {concept_mode!r}"
            )
        if concepts is not None:
            if heads is None:
                raise ValueError("SPVLM concepts: concept tokens need label heads")
            sizes = {
                "count": heads.count.out_features,
                "anomaly_type": heads.anomaly_type.out_features,
                "activities": heads.activities.out_features,
            }
            for name, n in sizes.items():
                if len(concepts.get(name, ())) < n:
                    raise ValueError(
                        f"SPVLM concepts[{name!r}]: expected {n} word ids, got "
                        f"{len(concepts.get(name, ()))}"
                    )
            if "absent" not in concepts:
                raise ValueError("SPVLM concepts: expected an 'absent' word id")
            concepts = {
                **{name: tuple(int(i) for i in concepts[name][:n]) for name, n in sizes.items()},
                "absent": int(concepts["absent"]),
            }
        self.sensor = sensor
        self.encoder = encoder
        self.decoder = decoder
        self.heads = heads
        self.concepts = concepts
        self.concept_mode = concept_mode

    def measure(self, frames, key=None, *, sampler: str = "exact"):
        """Clips (B, T, H, W) → measurements (B, T, K) (noise needs a key)."""
        return self.sensor(frames, key=key, sampler=sampler, check=False)

    def prefix(self, y):
        """Measurements (B, T, K) → prefix tokens (B, M [+ concept tokens], D)."""
        return self.prefix_and_labels(y)[0]

    def prefix_and_labels(self, y):
        """→ (prefix tokens, label-head logits or None); the heads read the learned-query
        tokens, and their predictions become the concept tokens."""
        tokens = self.encoder(y, self.sensor)
        if self.heads is None:
            return tokens, None
        logits = self.heads(tokens)
        if self.concepts is None:
            return tokens, logits
        table = jax.lax.stop_gradient(self.decoder.embed[...])
        probs = {
            "count": jax.nn.softmax(logits["count"], -1),
            "anomaly_type": jax.nn.softmax(logits["anomaly_type"], -1),
        }
        present = jax.nn.sigmoid(logits["activities"])
        if self.concept_mode == "hard":
            # The heads' decisions as exact words, with straight-through gradients.
            probs = {
                k: _straight_through(jax.nn.one_hot(jnp.argmax(p, -1), p.shape[-1]), p)
                for k, p in probs.items()
            }
            present = _straight_through((present > 0.5).astype(present.dtype), present)
        # HIGHEST: a one-hot row times the table is then the word's embedding exactly on
        # every backend (TF32 on a GPU would round it).
        words = [
            jnp.matmul(
                probs[name],
                table[jnp.asarray(self.concepts[name])],
                precision=jax.lax.Precision.HIGHEST,
            )
            for name in probs
        ]
        # Activity slots: the activity's word where someone does it, else the absent word
        # (the layout of `spjax.data.text.concept_context`, which the decoder was taught).
        absent = table[self.concepts["absent"]]
        acts = (
            present[..., None] * table[jnp.asarray(self.concepts["activities"])]
            + (1.0 - present[..., None]) * absent
        )
        concept = jnp.concatenate([jnp.stack(words, axis=1), acts], axis=1).astype(tokens.dtype)
        return jnp.concatenate([tokens, concept], axis=1), logits

    def logits(self, prefix, tokens, attention_mask=None):
        """Decoder logits over [prefix][tokens]: (B, M + S, V) float32."""
        return frozen(self.decoder)(tokens, prefix=prefix, attention_mask=attention_mask)

    def __call__(self, y, tokens, attention_mask=None):
        return self.logits(self.prefix(y), tokens, attention_mask)

    def answer_loss(self, prefix, tokens, loss_mask, attention_mask=None, *, per_row=False):
        """`answer_metrics` of the frozen decoder reading [prefix][tokens]: the answer loss of
        training (per-row in the trainer's answer stage) and of validation."""
        logits = self.logits(prefix, tokens, attention_mask)
        return answer_metrics(logits, tokens, loss_mask, prefix.shape[1], per_row=per_row)

    @property
    def prefix_length(self) -> int:
        extra = 0 if self.concepts is None else 2 + len(self.concepts["activities"])
        return self.encoder.num_queries + extra


def answer_metrics(logits, tokens, loss_mask, prefix_len: int, *, per_row: bool = False):
    """Next-token cross-entropy and accuracy over answer tokens (loss_mask == 1).

    logits (B, P + S, V) over [prefix][tokens]; token s is predicted from slot P + s − 1.
    `per_row=True` averages within each row first, so a long answer (a caption) weighs as
    much as a one-word one; the default averages over all answer tokens."""
    if prefix_len > 0:
        pred, target, mask = logits[:, prefix_len - 1 : -1], tokens, loss_mask
    else:
        pred, target, mask = logits[:, :-1], tokens[:, 1:], loss_mask[:, 1:]
    mask = mask.astype(jnp.float32)
    ce = optax.softmax_cross_entropy_with_integer_labels(pred.astype(jnp.float32), target)
    correct = (jnp.argmax(pred, -1) == target).astype(jnp.float32)
    n = jnp.maximum(mask.sum(), 1.0)
    if per_row:
        rows = jnp.maximum(mask.sum(1), 1.0)
        loss = jnp.mean((ce * mask).sum(1) / rows)
    else:
        loss = (ce * mask).sum() / n
    return {"loss": loss, "accuracy": (correct * mask).sum() / n, "answer_tokens": mask.sum()}


def loss_fn(model: SPVLM, y, tokens, loss_mask, attention_mask=None):
    """(answer loss, metrics) of measurements y; differentiate w.r.t. `TRAINABLE` only (e.g.
    `nnx.value_and_grad(loss_fn, argnums=nnx.DiffState(0, TRAINABLE), has_aux=True)`)."""
    metrics = model.answer_loss(model.prefix(y), tokens, loss_mask, attention_mask)
    return metrics["loss"], metrics


# ---------------------------------------------------------------------- batches & text ---


def make_batch(tokenizer, questions, answers, *, max_len: int) -> dict[str, np.ndarray]:
    """Right-padded training batch: tokens = [bos] question answer [eos]; loss on answer + eos.

    Too-long rows are truncated at max_len (the answer's tail is dropped first)."""
    if len(questions) != len(answers):
        raise ValueError(
            f"make_batch answers: expected {len(questions)} answers, got {len(answers)}"
        )
    B = len(questions)
    tokens = np.full((B, max_len), tokenizer.pad_id, np.int32)
    loss_mask = np.zeros((B, max_len), np.int32)
    attn = np.zeros((B, max_len), np.int32)
    for i, (q, a) in enumerate(zip(questions, answers)):
        q_ids = ([tokenizer.bos_id] if tokenizer.bos_id is not None else []) + list(
            tokenizer.encode(q)
        )
        a_ids = list(tokenizer.encode(a)) + (
            [tokenizer.eos_id] if tokenizer.eos_id is not None else []
        )
        row = (q_ids + a_ids)[:max_len]
        tokens[i, : len(row)] = row
        attn[i, : len(row)] = 1
        loss_mask[i, len(q_ids) : len(row)] = 1
    return {"tokens": tokens, "loss_mask": loss_mask, "attention_mask": attn}


def make_prompts(
    tokenizer, questions, *, max_len: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Left-padded prompts ([bos] question) for generation → (tokens, attention_mask)."""
    rows = [
        ([tokenizer.bos_id] if tokenizer.bos_id is not None else []) + list(tokenizer.encode(q))
        for q in questions
    ]
    width = max(len(r) for r in rows) if max_len is None else max_len
    tokens = np.full((len(rows), width), tokenizer.pad_id, np.int32)
    mask = np.zeros((len(rows), width), np.int32)
    for i, r in enumerate(rows):
        r = r[-width:]
        tokens[i, width - len(r) :] = r
        mask[i, width - len(r) :] = 1
    return tokens, mask


@nnx.jit
def _prefix(model, y):
    return model.prefix(y)


def generate(
    model: SPVLM,
    y,
    tokens,
    *,
    attention_mask=None,
    max_new_tokens: int = 16,
    temperature: float = 0.0,
    top_k: int | None = None,
    num_beams: int = 1,
    rng=None,
    eos_id: int | None = None,
    pad_id: int = 0,
):
    """Answer ids (B, max_new_tokens) for measurements y and left-padded question tokens."""
    prefix = _prefix(model, jnp.asarray(y))
    if num_beams > 1:
        return generation.beam_search(
            model.decoder,
            tokens,
            prefix=prefix,
            attention_mask=attention_mask,
            max_new_tokens=max_new_tokens,
            num_beams=num_beams,
            eos_id=eos_id,
            pad_id=pad_id,
        )
    return generation.generate(
        model.decoder,
        tokens,
        prefix=prefix,
        attention_mask=attention_mask,
        max_new_tokens=max_new_tokens,
        temperature=temperature,
        top_k=top_k,
        rng=rng,
        eos_id=eos_id,
        pad_id=pad_id,
    )


def generate_text(model: SPVLM, tokenizer, y, questions, **kwargs) -> list[str]:
    """Decoded answers for a batch of measurements and question strings."""
    tokens, mask = make_prompts(tokenizer, questions)
    ids = generate(
        model,
        y,
        tokens,
        attention_mask=mask,
        eos_id=tokenizer.eos_id,
        pad_id=tokenizer.pad_id,
        **kwargs,
    )
    return [tokenizer.decode(row) for row in generation.trim(ids, tokenizer.eos_id)]
