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
    from spjax.data.text import caption
    from spjax.eval.caption_ceiling import fixed_choice
    from spjax.eval.metrics import (
        anomaly_metrics,
        caption_content,
        count_metrics,
        pointed_activity_metrics,
    )

    split, model, bs = trainer.splits[split_name], trainer.model(), trainer.cfg.eval.batch_size
    key = jax.random.fold_in(trainer.base_key, keys.HEADS)
    preds = {"count": [], "anomaly_type": [], "anomaly_score": [], "person_activity": []}
    for lo in range(0, len(split.frames), bs):
        out = _heads(model, jnp.asarray(split.frames[lo : lo + bs]), jax.random.fold_in(key, lo))
        for k in preds:
            preds[k].append(np.asarray(out[k]))
    preds = {k: np.concatenate(v) for k, v in preds.items()}
    names = np.array(ANOMALY_TYPES)
    asked = np.flatnonzero(split.qtype == QTYPES.index("activity"))
    clips, first = np.unique(split.clip, return_index=True)  # each clip and its first example
    truth = caption_truth(split, first)
    return {
        "anomaly": anomaly_metrics(
            names[preds["anomaly_type"]],
            names[split.labels["anomaly_type"]],
            preds["anomaly_score"],
        ),
        "count": count_metrics(preds["count"].tolist(), split.labels["count"]),
        # the per-person head, asked where the split's own activity questions point
        "activity": pointed_activity_metrics(
            preds["person_activity"],
            split.clip[asked],
            [split.question_text[i] for i in asked],
            [split.answer_text[i] for i in asked],
        ),
        # What a caption can score from the heads' count and anomaly decisions: each clip's
        # terse caption (count and anomaly, as most references are) written from them.
        "caption": None
        if truth is None
        else caption_content(
            [
                caption(
                    {
                        "count": int(preds["count"][c]),
                        "anomaly_type": ANOMALY_TYPES[preds["anomaly_type"][c]],
                        "people": [],
                    },
                    fixed_choice(detail=0, n_people=0),
                )
                for c in clips
            ],
            truth,
        ),
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
            "anomaly_type_accuracy": h["anomaly"]["type_accuracy"],
            "anomaly_auroc": h["anomaly"].get("auroc"),
            "anomaly_recall_by_type": h["anomaly"]["recall_by_type"],
            "count_mae": h["count"]["mae"],
            "count_exact_accuracy": h["count"]["exact_accuracy"],
            "activity_accuracy": h.get("activity", {}).get("accuracy"),
            "terse_caption_content_f1": (h.get("caption") or {}).get("f1"),
        },
    }


# ------------------------------------------------------------------ wordings -------------

# The parsed field that answers each scored question type.
ANSWER_FIELDS = {"count": "count", "anomaly": "anomaly_type", "activity": "activity"}
WORDING_MODES = ("grammar", "routed", "verbatim")


def load_wordings(path) -> list[dict]:
    """Question wordings `{question, kind[, place]}` from a JSON file (`{"questions": [...]}`
    or a list; `tests/data/heldout_questions.json`); `kind` one of the router's kinds, `place`
    a zone an activity question names."""
    import json
    from pathlib import Path

    from spjax.data.layout import ZONES
    from spjax.data.paraphrases import KINDS

    path = Path(path)
    try:
        doc = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"wordings {path}: cannot read it as JSON ({err})") from None
    items = doc.get("questions") if isinstance(doc, dict) else doc
    if not isinstance(items, list) or not items:
        raise ValueError(f"wordings {path}: expected a non-empty list under 'questions'")
    out = []
    for j, e in enumerate(items):
        ok = isinstance(e, dict) and isinstance(e.get("question"), str) and e["question"].strip()
        if not ok or e.get("kind") not in KINDS or e.get("place") not in (None, *ZONES):
            raise ValueError(
                f"wordings {path}: entry {j} {e!r}: expected {{question, kind in {KINDS}"
                f"[, place in {ZONES}]}}"
            )
        out.append({"question": e["question"], "kind": e["kind"], "place": e.get("place")})
    return out


def wording_utility(
    trainer, split_name: str, wordings: list[dict], *, clips: int | None = None, seed: int = 0
) -> dict:
    """The SP-VLM's count, anomaly and activity accuracy when its questions come in other
    words (`wordings`, e.g. the hand-written held-out set), beside the grammar's own wordings
    on the same examples, clips and noise draw.

    Every count/anomaly/activity example of the first `clips` clips of the split is asked
    three ways: `grammar` (the split's own grammar question), `routed` (a wording of the
    same kind drawn from `wordings` — for activity one naming the same place, or none when
    the grammar question names none — routed as `spjax ask` routes it: the model is asked
    the grammar question of the routed kind and the answer parsed as that kind; a question
    routed to none is unanswered, i.e. wrong) and `verbatim` (the same wording put to the
    decoder as typed, parsed as its true kind: what the router saves). Examples with no
    wording of their kind and place are counted under `skipped`."""
    import random
    from collections import Counter

    from spjax.data.answers import parse_answer
    from spjax.data.router import NO_WORDS, answer_entry, question_place, route_questions

    split = trainer.splits[split_name]
    n_clips = len(split.frames) if clips is None else min(int(clips), len(split.frames))
    pools: dict = {}
    for w in wordings:
        pools.setdefault((w["kind"], w.get("place")), []).append(w["question"])
    rng = random.Random(f"spjax-wordings-{seed}")
    rows, skipped = [], Counter()
    for i in np.flatnonzero(split.clip < n_clips):
        kind = QTYPES[split.qtype[i]]
        if kind not in SCORED_QTYPES:
            continue
        place = question_place(split.question_text[i]) if kind == "activity" else None
        pool = pools.get((kind, place))
        truth = parse_answer(kind, split.answer_text[i])
        if not pool or truth is None:
            skipped[kind] += 1
            continue
        rows.append(
            {
                "index": int(i),
                "clip": int(split.clip[i]),
                "kind": kind,
                "grammar": split.question_text[i],
                "wording": rng.choice(pool),
                "truth": truth[ANSWER_FIELDS[kind]],
            }
        )
    unique = list(dict.fromkeys(r["wording"] for r in rows))
    routes = dict(zip(unique, route_questions(unique)))
    jobs = []  # (mode, row, question asked, qtype it is parsed as)
    for j, r in enumerate(rows):
        jobs.append(("grammar", j, r["grammar"], r["kind"]))
        route = routes[r["wording"]]
        if route.asked is not None:
            jobs.append(("routed", j, route.asked, route.qtype))
        jobs.append(("verbatim", j, r["wording"], r["kind"]))
    prefixes = clip_prefixes(trainer, split, np.arange(n_clips))
    texts = _generate_jobs(
        trainer, split, prefixes, [(rows[j]["clip"], q, t) for _, j, q, t in jobs]
    )
    answers = {m: [None] * len(rows) for m in WORDING_MODES}
    for (mode, j, _, qtype), text in zip(jobs, texts):
        answers[mode][j] = (qtype, text)
    out = {
        "split": split_name,
        "clips": n_clips,
        "seed": seed,
        "wordings_by_kind": dict(Counter(w["kind"] for w in wordings)),
        "examples": dict(Counter(r["kind"] for r in rows)),
        "skipped": dict(skipped),
    }
    samples = []
    for mode in WORDING_MODES:
        pred, unparsed, no_words, empty = [], 0, 0, 0
        for j, r in enumerate(rows):
            if mode == "routed":
                route = routes[r["wording"]]
                got = answers[mode][j]
                entry = answer_entry(route, None if got is None else got[1])
                empty += not entry["answer"].strip()
                no_words += entry["answer"] == NO_WORDS
                parsed = entry["parsed"]
                if len(samples) < 12:
                    samples.append({**entry, "clip": r["clip"], "true_kind": r["kind"]})
            else:
                qtype, text = answers[mode][j]
                no_words += not text.strip()
                parsed = parse_answer(qtype, text)
            unparsed += parsed is None
            pred.append(None if parsed is None else parsed.get(ANSWER_FIELDS[r["kind"]]))
        out[mode] = _kind_scores(rows, pred)
        out[mode].update(unparsed=unparsed, no_words=no_words)
        if mode == "routed":
            out[mode]["empty_answers"] = empty
    hits = Counter(r["kind"] for r in rows if routes[r["wording"]].kind == r["kind"])
    examples = Counter(r["kind"] for r in rows)
    out["routing"] = {
        "accuracy": sum(hits.values()) / max(len(rows), 1),
        "by_kind": {k: hits[k] / n for k, n in examples.items()},
        "not_asked": sum(routes[r["wording"]].asked is None for r in rows),
        "per_wording": {
            q: {"kind": rt.kind, "asked": rt.asked, "confidence": rt.confidence}
            for q, rt in routes.items()
        },
    }
    out["summary"] = {
        m: {
            "count_exact_accuracy": out[m]["count"].get("exact_accuracy"),
            "count_mae": out[m]["count"].get("mae"),
            "anomaly_accuracy": out[m]["anomaly"].get("accuracy"),
            "activity_accuracy": out[m]["activity"].get("accuracy"),
        }
        for m in WORDING_MODES
    }
    out["samples"] = samples
    return out


def _kind_scores(rows, pred) -> dict:
    """Count, anomaly and activity numbers of predictions `pred` (None = no answer)."""
    from spjax.eval.metrics import anomaly_metrics, count_metrics

    out = {}
    for kind in SCORED_QTYPES:
        idx = [j for j, r in enumerate(rows) if r["kind"] == kind]
        p, t = [pred[j] for j in idx], [rows[j]["truth"] for j in idx]
        if not idx:
            out[kind] = {"n": 0}
        elif kind == "count":
            out[kind] = count_metrics(p, t)
        elif kind == "anomaly":
            a = anomaly_metrics(p, t)
            out[kind] = {k: a[k] for k in ("n", "accuracy", "balanced_accuracy", "type_accuracy")}
        else:
            out[kind] = {"n": len(idx), "accuracy": float(np.mean([a == b for a, b in zip(p, t)]))}
    return out


def _generate_jobs(trainer, split, prefixes, jobs) -> list[str]:
    """Greedy answers to (clip, question, qtype) jobs with each clip's prefix; grouped by qtype
    (its answer length; `describe` with `eval.describe_beams`), one prompt width per group and
    full batches (the last padded), so each group compiles once."""
    from spjax.models import generation
    from spjax.models.spvlm import make_prompts

    cfg, tok, model = trainer.cfg, trainer.tokenizer, trainer.model()
    bs = cfg.eval.batch_size
    texts = [""] * len(jobs)
    for qtype in sorted({q for _, _, q in jobs}):
        where = [j for j, job in enumerate(jobs) if job[2] == qtype]
        same = split.qtype == QTYPES.index(qtype)
        max_new = cfg.eval.max_new_tokens or int(split.loss_mask[same].sum(1).max()) + 2
        prompt, mask = make_prompts(tok, [jobs[j][1] for j in where])
        for lo in range(0, len(where), bs):
            pos = list(range(lo, min(lo + bs, len(where))))
            pad = pos + [pos[-1]] * (bs - len(pos))
            prefix = jnp.asarray(np.stack([prefixes[jobs[where[p]][0]] for p in pad]))
            kw = dict(
                prefix=prefix,
                attention_mask=mask[pad],
                max_new_tokens=max_new,
                eos_id=tok.eos_id,
                pad_id=tok.pad_id,
            )
            if qtype == "describe" and cfg.eval.describe_beams > 1:
                ids = generation.beam_search(
                    model.decoder, prompt[pad], num_beams=cfg.eval.describe_beams, **kw
                )
            else:
                ids = generation.generate(model.decoder, prompt[pad], **kw)
            rows = generation.trim(np.asarray(ids), tok.eos_id)
            for p, row in zip(pos, rows):
                texts[where[p]] = tok.decode(row)
    return texts
