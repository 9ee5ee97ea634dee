"""Evaluate an SP-VLM: generated answers (the reported utility), label heads (the encoder's
supervised ceiling, the rung just below the text), validation loss, samples, and
`utility_section`, the report's utility schema (`evaluate_run` in `restore` runs a trained
run on another world without retraining: `spjax evaluate`).

Every utility number in a report is parsed from text the decoder generated with its KV cache;
the label heads' numbers are reported beside them, labelled, so the gap between the two names
what the frozen-decoder bridge loses.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from spjax.data.scenes import ANOMALY_TYPES, clip_labels
from spjax.data.text import QTYPES, SCORED_QTYPES
from spjax.training import keys

# Named key streams of evaluation (folded into the run's base key).


@nnx.jit
def _prefix(model, frames, key):
    return model.prefix(model.measure(frames, key))


@nnx.jit
def _heads(model, frames, key):
    from spjax.models.heads import label_predictions

    return label_predictions(model.prefix_and_labels(model.measure(frames, key))[1])


@nnx.jit
def _first_logits(decoder, prompt, mask, prefix):
    return decoder(prompt, prefix=prefix, attention_mask=mask)[:, -1]


@nnx.jit
def _val_step(model, batch, key):
    prefix = model.prefix(model.measure(batch["frames"], key))
    return model.answer_loss(prefix, batch["tokens"], batch["loss_mask"], batch["attention_mask"])


def validate(trainer) -> dict:
    """Teacher-forced answer loss/accuracy on the validation split (cheap; picks 'best')."""
    split, model = trainer.splits["val"], trainer.model()
    totals = {"loss": 0.0, "accuracy": 0.0, "answer_tokens": 0.0}
    bs = trainer.cfg.eval.batch_size
    key = jax.random.fold_in(trainer.base_key, keys.VALIDATE)
    for lo in range(0, len(split), bs):
        m = _val_step(
            model, split.batch(np.arange(lo, min(lo + bs, len(split)))), jax.random.fold_in(key, lo)
        )
        n = float(m["answer_tokens"])
        totals["loss"] += float(m["loss"]) * n
        totals["accuracy"] += float(m["accuracy"]) * n
        totals["answer_tokens"] += n
    n = max(totals["answer_tokens"], 1.0)
    return {"answer_loss": totals["loss"] / n, "answer_accuracy": totals["accuracy"] / n}


def answer(trainer, split_name: str, index: np.ndarray | None = None) -> dict:
    """Generate answers for (a subset of) a split's examples with the KV-cache decoder.

    Each clip is measured once (one noise draw per clip, shared by its questions); examples are
    generated per question type with as many new tokens as its longest reference answer needs
    (`eval.max_new_tokens = 0`) or the configured number; `describe` uses beam search with
    `eval.describe_beams` beams. For anomaly questions the decoder's first-token preference for
    "yes" over "no"/"nothing" is returned as a score (for AUROC)."""
    from spjax.models import generation

    split, cfg, tok = trainer.splits[split_name], trainer.cfg, trainer.tokenizer
    index = np.arange(len(split)) if index is None else np.asarray(index)
    model = trainer.model()
    prefixes = clip_prefixes(trainer, split, np.unique(split.clip[index]))
    texts: list[str | None] = [None] * len(index)
    scores = np.full(len(index), np.nan)
    yes = sorted({tok.encode(w)[0] for w in ("Yes", "yes")})
    no = sorted({tok.encode(w)[0] for w in ("No", "no", "Nothing", "nothing")})
    bs = cfg.eval.batch_size
    for q in np.unique(split.qtype[index]):
        where = np.flatnonzero(split.qtype[index] == q)
        max_new = cfg.eval.max_new_tokens or int(split.loss_mask[index[where]].sum(1).max()) + 2
        for lo in range(0, len(where), bs):
            pos = where[lo : lo + bs]
            idx = index[pos]
            prefix = jnp.asarray(np.stack([prefixes[c] for c in split.clip[idx]]))
            kw = dict(
                prefix=prefix,
                attention_mask=split.prompt_mask[idx],
                max_new_tokens=max_new,
                eos_id=tok.eos_id,
                pad_id=tok.pad_id,
            )
            if QTYPES[q] == "describe" and cfg.eval.describe_beams > 1:
                ids = generation.beam_search(
                    model.decoder, split.prompt[idx], num_beams=cfg.eval.describe_beams, **kw
                )
            else:
                ids = generation.generate(model.decoder, split.prompt[idx], **kw)
            for p, row in zip(pos, generation.trim(np.asarray(ids), tok.eos_id)):
                texts[p] = tok.decode(row)
            if QTYPES[q] == "anomaly":
                logits = np.asarray(
                    _first_logits(model.decoder, split.prompt[idx], split.prompt_mask[idx], prefix)
                )

                def lse(cols, logits=logits):
                    return np.logaddexp.reduce(logits[:, cols], axis=1)

                scores[pos] = lse(yes) - lse(no)
    return {"index": index, "texts": texts, "anomaly_score": scores}


def clip_prefixes(trainer, split, clips) -> dict[int, np.ndarray]:
    """Prefix tokens of each clip in `clips`, measured once with the sensor's noise."""
    model, bs = trainer.model(), trainer.cfg.eval.batch_size
    key = jax.random.fold_in(trainer.base_key, keys.ANSWER)
    out = {}
    for lo in range(0, len(clips), bs):
        c = clips[lo : lo + bs]
        p = np.asarray(_prefix(model, jnp.asarray(split.frames[c]), jax.random.fold_in(key, lo)))
        out.update(zip(c.tolist(), p))
    return out


def head_utility(trainer, split_name: str) -> dict:
    """The label heads on every clip of a split (the encoder's supervised read-out)."""
    from spjax.eval.metrics import anomaly_metrics, count_metrics

    split, model, bs = trainer.splits[split_name], trainer.model(), trainer.cfg.eval.batch_size
    key = jax.random.fold_in(trainer.base_key, keys.HEADS)
    preds = {"count": [], "anomaly_type": [], "anomaly_score": []}
    for lo in range(0, len(split.frames), bs):
        out = _heads(model, jnp.asarray(split.frames[lo : lo + bs]), jax.random.fold_in(key, lo))
        for k in preds:
            preds[k].append(np.asarray(out[k]))
    preds = {k: np.concatenate(v) for k, v in preds.items()}
    names = np.array(ANOMALY_TYPES)
    return {
        "anomaly": anomaly_metrics(
            names[preds["anomaly_type"]],
            names[split.labels["anomaly_type"]],
            preds["anomaly_score"],
        ),
        "count": count_metrics(preds["count"].tolist(), split.labels["count"]),
    }


def sample_answers(trainer, split_name: str, per_qtype: int = 1) -> list[dict]:
    """A few generated answers next to their references (logged at every evaluation)."""
    split = trainer.splits[split_name]
    index = np.concatenate(
        [np.flatnonzero(split.qtype == q)[:per_qtype] for q in np.unique(split.qtype)]
    )
    out = answer(trainer, split_name, index)
    return [
        {
            "qtype": QTYPES[split.qtype[i]],
            "question": split.question_text[i],
            "reference": split.answer_text[i],
            "answer": text,
        }
        for i, text in zip(index, out["texts"])
    ]


def evaluate(trainer, split_name: str = "test") -> dict:
    """Text utility, label-head utility and per-example samples of a split."""
    from spjax.data.answers import parse_answer
    from spjax.eval.metrics import utility_from_answers

    split = trainer.splits[split_name]
    out = answer(trainer, split_name)
    qtypes = [QTYPES[q] for q in split.qtype]
    refs = split.references(out["index"])
    anomaly_scores = out["anomaly_score"][[i for i, q in enumerate(qtypes) if q == "anomaly"]]
    truth = caption_truth(split, [i for i, q in enumerate(qtypes) if q == "describe"])
    utility = utility_from_answers(
        qtypes, out["texts"], refs, anomaly_scores=anomaly_scores, caption_labels=truth
    )
    if truth:
        from spjax.eval.caption_ceiling import caption_ceilings

        # What ROUGE-L can reach on these references, beside what the model reached.
        clips = sorted({int(split.clip[i]) for i, q in enumerate(qtypes) if q == "describe"})
        utility["describe"]["caption_ceilings"] = caption_ceilings(
            [clip_labels(split.labels, c) for c in clips], [split.captions[c] for c in clips]
        )
    samples = []
    for i, (q, text) in enumerate(zip(qtypes, out["texts"])):
        ref = split.answer_text[i]
        ok = None
        if q in SCORED_QTYPES:
            got, want = parse_answer(q, text), parse_answer(q, ref)
            ok = got is not None and want is not None and got.get(q) == want.get(q)
        samples.append(
            {
                "clip": int(split.clip[i]),
                "qtype": q,
                "question": split.question_text[i],
                "reference": ref,
                "answer": text,
                "correct": ok,
            }
        )
    return {"utility": utility, "heads": head_utility(trainer, split_name), "samples": samples}


def caption_truth(split, index) -> list[dict] | None:
    """Grammar labels of the clips of examples `index`, for the caption content score; None
    where the split's labels do not name every person's activity (e.g. local videos)."""
    labels = [clip_labels(split.labels, int(split.clip[i])) for i in index]
    if not labels or any(len(lab["people"]) != lab["count"] for lab in labels):
        return None
    return labels


# ------------------------------------------------------------------ spjax evaluate --------


def utility_section(result: dict, split: str) -> dict:
    """The report's `utility`: numbers parsed from generated text, plus (labelled) the label
    heads' read-out of the same prefix — the encoder's supervised ceiling."""
    u, h = result["utility"], result["heads"]
    anomaly, count = u.get("anomaly", {}), u.get("count", {})
    return {
        "split": split,
        "anomaly_accuracy": anomaly.get("accuracy"),
        "anomaly_balanced_accuracy": anomaly.get("balanced_accuracy"),
        "anomaly_auroc": anomaly.get("auroc"),
        "anomaly_recall_by_type": anomaly.get("recall_by_type"),
        "count_mae": count.get("mae"),
        "count_exact_accuracy": count.get("exact_accuracy"),
        "activity_accuracy": u.get("activity", {}).get("accuracy"),
        "rouge_l": u.get("describe", {}).get("rouge_l"),
        "bleu4": u.get("describe", {}).get("bleu4"),
        # facts of the caption against the clip's true facts; wording cannot move it
        **{
            f"caption_content_{k}": u.get("describe", {}).get("content", {}).get(k)
            for k in ("f1", "precision", "recall")
        },
        "unparseable": u.get("unparseable"),
        "details": u,
        "label_heads": {
            "note": "linear read-out of the same prefix tokens (the encoder's supervised "
            "ceiling); NOT generated text",
            "anomaly_accuracy": h["anomaly"]["accuracy"],
            "anomaly_balanced_accuracy": h["anomaly"]["balanced_accuracy"],
            "anomaly_auroc": h["anomaly"].get("auroc"),
            "anomaly_recall_by_type": h["anomaly"]["recall_by_type"],
            "count_mae": h["count"]["mae"],
            "count_exact_accuracy": h["count"]["exact_accuracy"],
        },
    }
