"""`Pipeline`: a trained run's frozen sensor description, encoder and decoder, answering
questions about measurement streams one window of the trained clip length at a time."""

from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from spjax.deploy.recording import RecordingError

MAX_NEW_TOKENS = 40  # answers of the grammar are shorter; generation stops at eos anyway


def _default_questions() -> tuple[str, ...]:
    from spjax.data.text import QUESTIONS

    return (
        QUESTIONS["count"][0],
        QUESTIONS["anomaly"][0],
        QUESTIONS["activity_one"][0],
        QUESTIONS["describe"][0],
    )


def question_type(text: str) -> str | None:
    """The grammar's question type of `text` when the grammar asks exactly it, else None
    (`Pipeline.answer` routes every other question with `spjax.data.router`)."""
    from spjax.data.router import grammar_type

    return grammar_type(text)


@nnx.jit
def _read(model, y):
    from spjax.models.heads import label_predictions

    prefix, logits = model.prefix_and_labels(y)
    return prefix, (None if logits is None else label_predictions(logits))


@nnx.jit(static_argnames=("noiseless",))
def _simulate(model, frames, key, noiseless):
    if noiseless:
        return model.sensor(frames, noiseless=True, check=False)
    return model.measure(frames, key)


class Pipeline:
    """Answers from measurements. Build it with `Pipeline.from_run(DIR)`."""

    def __init__(self, model, tokenizer, cfg, *, run_dir=None, step=None):
        self.model, self.tokenizer, self.cfg = model, tokenizer, cfg
        self.run_dir = None if run_dir is None else str(run_dir)
        self.step = step

    @classmethod
    def from_run(cls, run_dir) -> Pipeline:
        """The run's newest checkpoint (encoder, heads, sensor) and its frozen decoder. A
        run's `sensor.json` (what `spjax export --run` exports) must hold the checkpoint's
        patterns."""
        from spjax.training.restore import restore_run

        trainer, meta = restore_run(run_dir, data=False)
        pipe = cls(
            trainer.model(), trainer.tokenizer, trainer.cfg, run_dir=run_dir, step=meta["step"]
        )
        if (Path(run_dir) / "sensor.json").is_file():
            from spjax.sensing import load_sensor

            frozen = np.asarray(load_sensor(run_dir).patterns())
            if not np.array_equal(frozen, np.asarray(pipe.sensor.patterns())):
                raise ValueError(
                    f"{run_dir}: sensor.json/sensor_patterns.npy differ from the sensor of the "
                    f"newest checkpoint (step {meta['step']}); the run was changed after it "
                    "finished"
                )
        return pipe

    # -- what the run fixes -----------------------------------------------------------------
    @property
    def sensor(self):
        return self.model.sensor

    @property
    def clip_frames(self) -> int:
        """Frames per window: the clip length the encoder was trained on."""
        return int(self.cfg.data.frames)

    def simulate(self, frames, key=None, *, noiseless: bool = False):
        """In-simulation measurements (N, T, K) of clips (N, T, H, W), as evaluation measures
        them (the sensor's noise drawn with `key`)."""
        if self.sensor.noise is not None and not noiseless and key is None:
            raise ValueError("key: this run's sensor simulates noise; give a PRNG key")
        key = jax.random.key(0) if key is None else key
        return np.asarray(_simulate(self.model, jnp.asarray(frames, jnp.float32), key, noiseless))

    # -- answering ----------------------------------------------------------------------------
    def _generate(self, prefix, question: str, qtype: str | None):
        from spjax.models import generation
        from spjax.models.spvlm import make_prompts

        tok, decoder = self.tokenizer, self.model.decoder
        prompt, mask = make_prompts(tok, [question] * prefix.shape[0])
        room = decoder.config.max_seq_len - prefix.shape[1] - prompt.shape[1]
        max_new = int(self.cfg.eval.max_new_tokens) or min(MAX_NEW_TOKENS, room)
        if max_new < 1:
            raise ValueError(f"question {question!r} is too long for the decoder's context")
        kw = dict(
            prefix=prefix,
            attention_mask=mask,
            max_new_tokens=max_new,
            eos_id=tok.eos_id,
            pad_id=tok.pad_id,
        )
        beams = int(self.cfg.eval.describe_beams)
        if qtype == "describe" and beams > 1:
            ids = generation.beam_search(decoder, prompt, num_beams=beams, **kw)
        else:
            ids = generation.generate(decoder, prompt, **kw)
        return [tok.decode(row) for row in generation.trim(np.asarray(ids), tok.eos_id)]

    def answer(self, y, questions=None, *, frame_seconds: float | None = None) -> dict:
        """Answer `questions` (default: one of each kind) about measurements `y`: a stream
        (M, K) cut into windows of `clip_frames` frames, or windows (W, T, K). One answer set
        per window with its span in frames (and seconds, given `frame_seconds` per frame);
        trailing frames short of a window are reported under `partial_window`, unanswered.

        Questions may be in any words: each is routed (`spjax.data.router.route_questions`)
        to the answer kind it asks for, the model is asked the grammar's question of that kind
        (`asked`; a grammar question is asked as is) and its answer parsed as that kind. A
        question of no kind the sensor answers gets `router.OUTSIDE_ANSWER` with qtype None and
        a `reason`, and is not put to the model. No answer is empty."""
        from spjax.data.labels import ANOMALY_TYPES
        from spjax.data.router import answer_entry, route_questions

        t, k = self.clip_frames, self.sensor.k
        y = np.asarray(y, np.float32)
        if y.ndim == 3:
            if y.shape[1] != t:
                raise ValueError(
                    f"y: windows must hold {t} frames (the clip length), got {y.shape}"
                )
            y = y.reshape(-1, y.shape[-1])
        if y.ndim != 2 or y.shape[-1] != k:
            raise ValueError(f"y: expected measurements (M, K={k}) or (W, {t}, {k}), got {y.shape}")
        if not np.isfinite(y).all():
            raise RecordingError(
                f"y: {int((~np.isfinite(y)).sum())} non-finite measurements (first at frame "
                f"{int(np.argwhere(~np.isfinite(y))[0][0])})"
            )
        n_win, left = divmod(len(y), t)
        if n_win == 0:
            raise RecordingError(
                f"the recording holds {len(y)} frame times, fewer than one window of {t} "
                "frames (the clip length the encoder was trained on)"
            )
        questions = list(_default_questions() if questions is None else questions)
        if not questions or not all(isinstance(q, str) and q.strip() for q in questions):
            raise ValueError(f"questions: expected non-empty strings, got {questions!r}")
        routes = route_questions(questions)
        asked = list(dict.fromkeys(r.asked for r in routes if r.asked is not None))
        asked_type = {r.asked: r.qtype for r in routes if r.asked is not None}
        windows = y[: n_win * t].reshape(n_win, t, k)
        bs = min(int(self.cfg.eval.batch_size), n_win)
        out = []
        for lo in range(0, n_win, bs):
            batch = windows[lo : lo + bs]
            n = len(batch)
            if n < bs:  # one compiled shape for every batch
                batch = np.concatenate([batch, np.zeros((bs - n,) + batch.shape[1:], batch.dtype)])
            prefix, heads = _read(self.model, jnp.asarray(batch))
            texts = {q: self._generate(prefix, q, asked_type[q])[:n] for q in asked}
            heads = None if heads is None else {key: np.asarray(v)[:n] for key, v in heads.items()}
            for i in range(n):
                w = lo + i
                span = [w * t, (w + 1) * t]
                entry = {
                    "window": w,
                    "frames": span,
                    "seconds": None if frame_seconds is None else [s * frame_seconds for s in span],
                    "answers": [
                        answer_entry(r, None if r.asked is None else texts[r.asked][i])
                        for r in routes
                    ],
                }
                if heads is not None:
                    entry["label_heads"] = {
                        "count": int(heads["count"][i]),
                        "anomaly_type": ANOMALY_TYPES[int(heads["anomaly_type"][i])],
                        "anomaly_score": float(heads["anomaly_score"][i]),
                    }
                out.append(entry)
        partial = None
        if left:
            start = n_win * t
            partial = {
                "frames": [start, start + left],
                "seconds": None
                if frame_seconds is None
                else [start * frame_seconds, (start + left) * frame_seconds],
                "n_frames": left,
                "answered": False,
                "reason": f"{left} frame(s) after the last full window of {t}; the encoder "
                "answers whole clips only",
            }
        return {
            "run": self.run_dir,
            "step": self.step,
            "clip_frames": t,
            "frame_seconds": frame_seconds,
            "questions": [_question_info(r) for r in routes],
            "windows": out,
            "partial_window": partial,
        }


def _question_info(route) -> dict:
    """How a question was understood: its kind, the parser's qtype (None: not answered), the
    question the model was asked, the place it names, the router's confidence and source."""
    info = route.to_dict()
    info["text"] = info.pop("question")
    return info
