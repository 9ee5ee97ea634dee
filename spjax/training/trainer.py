"""The SP-VLM trainer: learn patterns + encoder against a frozen decoder and identity adversaries.

One trainer serves every variant: learned or fixed patterns (`sensor.family`), utility-only
(`privacy.weight = 0`) or adversarial training, any decoder `load_decoder` understands.

State and steps. The trainable model (`sensor`, `encoder`, `aux`, `adversaries`) and its two
optimisers are split once into a graph definition and a pytree of arrays (`state`); the jitted
step is a pure function `step(state, frozen, batch, faces, key) -> (state, metrics)` whose
`state` argument is donated. The decoder's weights (`frozen`) are a separate argument: they
are never differentiated, never given optimiser state and never written to checkpoints.

Min–max. Each step first updates the adversary ensemble on the (stop-gradient) face
measurements, then updates sensor + encoder on
`task_loss + aux.weight·aux_loss − λ(step)·privacy_term`, where the privacy term
(`models.adversaries.privacy_loss`) is computed against the *worst* (lowest cross-entropy)
ensemble member. Members are re-initialised in turn every `privacy.restart_every` steps.
With `privacy.term = "face_snr"` or `"face_capacity"` the minimised term is attacker-free
instead (`models.adversaries.face_snr_leakage` / `face_capacity_leakage` on two
independently-noised shots of the face batch);
the ensemble is still trained and its accuracy logged, for monitoring only.
"""

from __future__ import annotations

import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from spjax.models.adversaries import identity_loss  # per-sample CE, shared with the adversaries
from spjax.training import optim, sharding
from spjax.training.checkpoint import Checkpointer, has_checkpoint
from spjax.training.config import ConfigDict, to_json
from spjax.training.data import QTYPES, FaceSplit, QASplit, index_loader
from spjax.training.logging import RunLogger, progress

# Adversarial terms: models.adversaries.privacy_loss; attacker-free "face_snr":
# models.adversaries.face_snr_leakage (two noisy shots of the face batch).
PRIVACY_TERMS = ("neg_ce", "neg_entropy", "kl_uniform", "face_snr", "face_capacity")


class TrainingError(RuntimeError):
    """Training cannot go on (non-finite loss); the message names the step and the term."""


class AuxiliaryHeads(nnx.Module):
    """Linear read-outs of the prefix tokens: people count and anomaly type.

    Trained only as an auxiliary loss (`aux.weight`): the answer loss reaches the encoder
    through a frozen decoder and mostly rewards grammar; direct labels shape the prefix
    quickly (as the label-supervised stages of Q-Former-style bridges do). Never used at test
    time: every reported number comes from the decoder's generated text."""

    def __init__(self, width: int, n_counts: int, n_anomaly_types: int, *, rngs: nnx.Rngs):
        self.count = nnx.Linear(width, n_counts, rngs=rngs)
        self.anomaly = nnx.Linear(width, n_anomaly_types, rngs=rngs)

    def __call__(self, prefix, count, anomaly_type):
        pooled = prefix.reshape(prefix.shape[0], -1)
        ce_count = identity_loss(self.count(pooled), count).mean()
        ce_anomaly = identity_loss(self.anomaly(pooled), anomaly_type).mean()
        return ce_count + ce_anomaly


class Trainable(nnx.Module):
    """Everything that receives gradients: the sensor's patterns, the encoder, the auxiliary
    heads and the adversaries."""

    def __init__(self, sensor, encoder, aux, adversaries):
        self.sensor = sensor
        self.encoder = encoder
        self.aux = aux
        self.adversaries = adversaries


# Main update: sensor, encoder and auxiliary-head parameters (the adversaries have their own
# optimiser, built on `model.adversaries`).
MAIN = nnx.All(nnx.Param, nnx.Not(nnx.PathContains("adversaries")))


def temperature_at(step, cfg: ConfigDict):
    """Geometric annealing of the straight-through temperature over training."""
    frac = jnp.clip(step / max(cfg.train.steps, 1), 0.0, 1.0)
    t0, t1 = cfg.sensor.temperature_start, cfg.sensor.temperature_end
    return t0 * (t1 / t0) ** frac


def privacy_weight_at(step, cfg: ConfigDict):
    warm = max(cfg.privacy.warmup_steps, 1)
    return cfg.privacy.weight * jnp.clip(step / warm, 0.0, 1.0)


def make_step(graphdef, decoder_graphdef, cfg: ConfigDict):
    """The pure training step (not yet jitted)."""
    from spjax.models.adversaries import face_capacity_leakage, face_snr_leakage, privacy_loss

    adversarial = cfg.privacy.weight > 0
    adv_steps = cfg.privacy.adversary_steps
    face_term = {"face_snr": face_snr_leakage, "face_capacity": face_capacity_leakage}.get(
        cfg.privacy.term)

    def step(state, frozen, batch, faces, key):
        model, opt_main, opt_adv = nnx.merge(graphdef, state)
        decoder = nnx.merge(decoder_graphdef, jax.lax.stop_gradient(frozen))
        t = opt_main.step[...]
        model.sensor.set_temperature(temperature_at(t, cfg))
        k_scene, k_face_adv, k_face = jax.random.split(jax.random.fold_in(key, t), 3)
        metrics = {}

        # 1) adversaries: learn to identify faces from (fixed) face measurements.
        y_face_fixed = jax.lax.stop_gradient(
            model.sensor(faces["image"], key=k_face_adv, sampler="reparam", check=False))

        def adversary_loss(adversaries):
            ce = adversaries.losses(y_face_fixed, faces["identity"])
            return ce.sum(), ce

        for _ in range(adv_steps):
            (_, adv_ce), grads = nnx.value_and_grad(adversary_loss, has_aux=True)(model.adversaries)
            opt_adv.update(model.adversaries, grads)
        metrics["adversary_ce_mean"] = adv_ce.mean()

        # 2) sensor + encoder: answer questions, defeat the strongest adversary.
        def main_loss(model):
            task, prefix = answer_forward(model, decoder, batch, k_scene, "reparam")
            aux = model.aux(prefix, batch["count"], batch["anomaly_type"])
            y_face = model.sensor(faces["image"], key=k_face, sampler="reparam", check=False)
            # Against the strongest member (lowest identity CE); `privacy_loss` is what the
            # sensor side minimises, i.e. task_loss − λ·privacy_term with term = −privacy_loss.
            logits = model.adversaries(y_face)
            ce = jax.vmap(lambda lg: identity_loss(lg, faces["identity"]).mean())(logits)
            worst = jnp.argmin(jax.lax.stop_gradient(ce))
            extra = {}
            if face_term is not None:
                # Attacker-free: a second shot of the same faces with independent noise (the
                # key is derived here only, so the other terms' keys are unchanged).
                y_face2 = model.sensor(faces["image"], key=jax.random.fold_in(k_face, 1),
                                       sampler="reparam", check=False)
                priv = face_term(y_face, y_face2)
                extra[cfg.privacy.term] = priv
            else:
                priv = privacy_loss(logits[worst], faces["identity"], cfg.privacy.term)
            lam = privacy_weight_at(t, cfg) if adversarial else 0.0
            loss = task["loss"] + cfg.aux.weight * aux + lam * priv
            acc = (logits[worst].argmax(-1) == faces["identity"]).mean()
            return loss, {"loss": loss, "task_loss": task["loss"], "answer_accuracy": task["accuracy"],
                          "aux_loss": aux,
                          "privacy_loss": priv, "privacy_weight": lam, "adversary_ce_worst": ce[worst],
                          "adversary_accuracy_worst": acc, "adversary_worst": worst, **extra}

        grad_fn = nnx.value_and_grad(main_loss, argnums=nnx.DiffState(0, MAIN), has_aux=True)
        (_, main_metrics), grads = grad_fn(model)
        opt_main.update(model, grads)
        metrics.update(main_metrics)
        metrics["temperature"] = temperature_at(t, cfg)
        metrics["grad_norm"] = optax.global_norm(grads)
        return nnx.state((model, opt_main, opt_adv)), metrics

    return step


class SPVLMTrainer:
    """Builds everything from a config, trains, evaluates, and writes the run directory."""

    def __init__(self, cfg: ConfigDict, workdir: str | Path, *, resume: bool = False):
        self.cfg = cfg
        self.workdir = Path(workdir)
        self.resume = resume
        validate_spvlm_config(cfg)
        self._check_workdir()
        self.t_start = time.time()

        from spjax.training.decoders import obtain_decoder

        self.decoder, self.tokenizer, self.decoder_info = obtain_decoder(cfg)
        self._build_data()
        self._build_model()

    # -- construction ----------------------------------------------------------------------
    def _check_workdir(self) -> None:
        has_ckpt = has_checkpoint(self.workdir)
        if has_ckpt and not self.resume:
            raise FileExistsError(f"{self.workdir} already holds checkpoints; pass --resume to "
                                  f"continue that run, or choose a new --workdir")
        if self.resume and has_ckpt:
            Checkpointer(self.workdir / "checkpoints").check_config(self.cfg.to_dict())

    def _build_data(self) -> None:
        from spjax.training.data import build_clip_sets, make_qa_split, sequence_length

        clips, faces = build_clip_sets(self.cfg)
        max_len = sequence_length(list(clips.values()), self.tokenizer)
        if max_len > self.decoder.config.max_seq_len:
            raise ValueError(f"question+answer length {max_len} exceeds the decoder's "
                             f"max_seq_len {self.decoder.config.max_seq_len}")
        self.splits: dict[str, QASplit] = {
            name: make_qa_split(c, self.tokenizer, max_len=max_len) for name, c in clips.items()}
        self.faces: dict[str, FaceSplit] = faces
        self.n_identities = int(max(f.identity.max() for f in faces.values())) + 1

    def _build_sensor(self, rngs):
        from spjax.sensing import NoiseModel, Sensor

        s, d = self.cfg.sensor, self.cfg.data
        noise = None
        if s.photons > 0:
            noise = NoiseModel(photons=s.photons, dark=s.dark, read_std=s.read_std,
                               adc_bits=s.adc_bits or None)
        if s.family == "learned":
            return Sensor.learned(d.size, d.size, s.rate, parameterization=s.parameterization,
                                  init=s.init if s.init != "hadamard" else f"hadamard:{s.order}",
                                  split=s.split, noise=noise, timing=s.timing, rngs=rngs)
        return Sensor.family(s.family, d.size, d.size, s.rate, split=s.split, noise=noise,
                             timing=s.timing, seed=self.cfg.seed)

    def _build_model(self) -> None:
        from spjax.models.adversaries import AdversaryEnsemble
        from spjax.models.encoder import TemporalEncoder

        cfg = self.cfg
        rngs = nnx.Rngs(cfg.seed)
        sensor = self._build_sensor(rngs)
        e = cfg.encoder
        encoder = TemporalEncoder(sensor.k, max_frames=cfg.data.frames, width=e.width,
                                  depth=e.depth, heads=e.heads, num_queries=e.num_queries,
                                  out_dim=self.decoder.config.dim, rngs=rngs)
        adversaries = AdversaryEnsemble.build(tuple(cfg.privacy.adversaries), sensor.k,
                                              self.n_identities, rngs=rngs)
        from spjax.data.scenes import ANOMALY_TYPES

        n_counts = 1 + max(int(sp.labels["count"].max()) for sp in self.splits.values())
        aux = AuxiliaryHeads(e.num_queries * self.decoder.config.dim, n_counts,
                             len(ANOMALY_TYPES), rngs=rngs)
        model = Trainable(sensor, encoder, aux, adversaries)
        o, steps = cfg.optim, cfg.train.steps
        common = dict(total_steps=steps, warmup_steps=o.warmup_steps,
                      weight_decay=o.weight_decay, clip_norm=o.clip_norm, name=o.name)
        parts = {"encoder": optim.make_optimizer(o.lr, **common),
                 "aux": optim.make_optimizer(o.lr, **common)}
        if sensor.learnable:
            parts["sensor"] = optim.make_optimizer(o.sensor_lr, **common)
        opt_main = nnx.Optimizer(model, optim.per_part(parts), wrt=MAIN)
        opt_adv = nnx.Optimizer(model.adversaries,
                                optim.make_optimizer(o.adversary_lr, total_steps=steps, clip_norm=o.clip_norm,
                                            name=o.name),
                                wrt=nnx.Param)
        self.graphdef, state = nnx.split((model, opt_main, opt_adv))
        self.decoder_graphdef, frozen = nnx.split(self.decoder)

        self.mesh = sharding.make_data_mesh()
        self.state = sharding.replicate(state, self.mesh)
        self.frozen = sharding.replicate(frozen, self.mesh)
        self.base_key = jax.random.key(cfg.seed)
        self.step_fn = jax.jit(make_step(self.graphdef, self.decoder_graphdef, cfg), donate_argnums=0)
        self.sensor_k = sensor.k

    def model(self):
        model, _, _ = nnx.merge(self.graphdef, self.state)
        return model

    # -- adversary restarts ---------------------------------------------------------------
    def _restart_adversary(self, step: int) -> None:
        """Re-initialise one member (round robin) and the adversary optimiser's moments."""
        model, opt_main, opt_adv = nnx.merge(self.graphdef, self.state)
        n = len(self.cfg.privacy.adversaries)
        member = (step // self.cfg.privacy.restart_every - 1) % n
        model.adversaries.restart(member, nnx.Rngs(self.cfg.seed * 7919 + step))
        o = self.cfg.optim
        fresh = nnx.Optimizer(model.adversaries,
                              optim.make_optimizer(o.adversary_lr, total_steps=self.cfg.train.steps,
                                          clip_norm=o.clip_norm, name=o.name), wrt=nnx.Param)
        fresh.step[...] = opt_adv.step[...]
        _, state = nnx.split((model, opt_main, fresh))
        self.state = sharding.replicate(state, self.mesh)

    # -- checkpointing --------------------------------------------------------------------
    def _ckpt_state(self):
        # Every leaf must be a global (mesh-replicated) array for multi-host saves.
        return {"train": self.state,
                "key": sharding.replicate(jax.random.key_data(self.base_key), self.mesh)}

    def _meta(self, step, iters):
        return {"config": self.cfg.to_dict(), "step": int(step),
                "data": {name: it.get_state() for name, it in iters.items()}}

    # -- training -------------------------------------------------------------------------
    def train(self) -> dict:
        cfg = self.cfg
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "config.json").write_text(to_json(cfg))
        ckpt = Checkpointer(self.workdir / "checkpoints", keep=cfg.train.keep_checkpoints)
        local_bs = sharding.check_batch_size(cfg.train.batch_size)
        local_face_bs = sharding.check_batch_size(cfg.privacy.face_batch_size)
        train_qa, train_faces = self.splits["train"], self.faces["train"]
        pools = train_qa.length_pools()
        iters = {f"qa_{name}": index_loader(len(rows), local_bs, cfg.seed + i)
                 for i, (name, (rows, _)) in enumerate(pools.items())}
        iters["faces"] = index_loader(len(train_faces), local_face_bs, cfg.seed + 7)
        long_fraction = len(pools["long"][0]) / len(train_qa) if "long" in pools else 0.0
        start = 0
        if self.resume and ckpt.latest_step() is not None:
            restored, meta = ckpt.restore(self._ckpt_state())
            self.state = sharding.replicate(restored["train"], self.mesh)
            for name, it in iters.items():
                it.set_state(meta["data"][name])
            start = int(meta["step"])
        logger = RunLogger(self.workdir, config=cfg.to_dict(), wandb_mode=cfg.run.wandb,
                           name=self.workdir.name)
        bar = progress(cfg.train.steps, initial=start, desc="train sp-vlm")
        t_loop = time.time()
        metrics = {}
        try:
            for step in range(start + 1, cfg.train.steps + 1):
                # Which pool this step draws from depends only on (seed, step): every process
                # agrees, and a resumed run makes the same choices.
                pool = "long" if np.random.default_rng([cfg.seed, step]).random() < long_fraction \
                    else "short"
                pool = pool if pool in pools else next(iter(pools))
                rows, width = pools[pool]
                qa_idx, face_idx = rows[next(iters[f"qa_{pool}"])], next(iters["faces"])
                batch = sharding.global_batch(train_qa.batch(qa_idx, width), self.mesh)
                faces = sharding.global_batch({"image": train_faces.image[face_idx],
                                               "identity": train_faces.identity[face_idx]}, self.mesh)
                new_state, metrics = self.step_fn(self.state, self.frozen, batch, faces, self.base_key)
                metrics = jax.device_get(metrics)
                bad = [k for k in ("task_loss", "privacy_loss", "adversary_ce_mean", "grad_norm")
                       if not np.isfinite(metrics[k])]
                if bad:
                    # The donated state is gone, but the last checkpoint on disk is untouched.
                    raise TrainingError(f"non-finite {', '.join(bad)} at step {step} "
                                        f"({ {k: float(metrics[k]) for k in bad} }); the last good "
                                        f"checkpoint is kept in {self.workdir / 'checkpoints'}")
                self.state = new_state
                if cfg.privacy.weight > 0 and cfg.privacy.restart_every and step % cfg.privacy.restart_every == 0 \
                        and step < cfg.train.steps:
                    self._restart_adversary(step)
                if step % cfg.train.log_every == 0 or step == cfg.train.steps:
                    rate = (step - start) / max(time.time() - t_loop, 1e-9)
                    logger.log("train", step, steps_per_s=rate, **metrics)
                    bar.set_postfix(task=f"{float(metrics['task_loss']):.3f}",
                                    acc=f"{float(metrics['answer_accuracy']):.2f}",
                                    adv=f"{float(metrics['adversary_accuracy_worst']):.2f}")
                if step % cfg.train.eval_every == 0 or step == cfg.train.steps:
                    val = self.validate()
                    logger.log("val", step, **val)
                    for sample in self.sample_answers("val"):
                        logger.log("sample", step, **sample)
                    ckpt.save_best(step, self._ckpt_state(), self._meta(step, iters),
                                   val["answer_accuracy"])
                if step % cfg.train.checkpoint_every == 0 or step == cfg.train.steps:
                    ckpt.save(step, self._ckpt_state(), self._meta(step, iters))
                bar.update(1)
        finally:
            bar.close()
            ckpt.close()
        self.train_seconds = time.time() - t_loop
        self.logger = logger
        return {k: float(v) for k, v in metrics.items()}

    # -- evaluation -----------------------------------------------------------------------
    def _measure(self, frames: np.ndarray, key) -> jax.Array:
        model = self.model()
        return _measure_jit(model.sensor, jnp.asarray(frames), key)

    def validate(self) -> dict:
        """Teacher-forced answer loss/accuracy on the validation split (cheap; picks 'best')."""

        split = self.splits["val"]
        model = self.model()
        decoder = nnx.merge(self.decoder_graphdef, self.frozen)
        totals = {"loss": 0.0, "accuracy": 0.0, "answer_tokens": 0.0}
        bs = self.cfg.eval.batch_size
        for lo in range(0, len(split), bs):
            idx = np.arange(lo, min(lo + bs, len(split)))
            b = split.batch(idx)
            m = _val_step(model, decoder, b, jax.random.fold_in(self.base_key, 10**9 + lo))
            n = float(m["answer_tokens"])
            totals["loss"] += float(m["loss"]) * n
            totals["accuracy"] += float(m["accuracy"]) * n
            totals["answer_tokens"] += n
        n = max(totals["answer_tokens"], 1.0)
        return {"answer_loss": totals["loss"] / n, "answer_accuracy": totals["accuracy"] / n}

    def answer(self, split_name: str, index: np.ndarray | None = None) -> dict:
        """Generate answers for (a subset of) a split's examples with the KV-cache decoder.

        Examples are generated per question type, each with as many new tokens as its longest
        reference answer needs (`eval.max_new_tokens = 0`) or the configured number. For
        anomaly questions the decoder's first-token preference for "yes" over "no"/"nothing"
        is returned as a score (for AUROC)."""
        from spjax.models import generation

        split = self.splits[split_name]
        index = np.arange(len(split)) if index is None else np.asarray(index)
        model = self.model()
        decoder = nnx.merge(self.decoder_graphdef, self.frozen)
        texts: list[str | None] = [None] * len(index)
        scores = np.full(len(index), np.nan)
        yes = sorted({self.tokenizer.encode(w)[0] for w in ("Yes", "yes")})
        no = sorted({self.tokenizer.encode(w)[0] for w in ("No", "no", "Nothing", "nothing")})
        bs = self.cfg.eval.batch_size
        for q in np.unique(split.qtype[index]):
            where = np.flatnonzero(split.qtype[index] == q)
            max_new = self.cfg.eval.max_new_tokens or int(split.loss_mask[index[where]].sum(1).max()) + 2
            for lo in range(0, len(where), bs):
                pos = where[lo:lo + bs]
                idx = index[pos]
                key = jax.random.fold_in(self.base_key, 2 * 10**9 + int(q) * 10**6 + lo)
                y = _measure_jit(model.sensor, jnp.asarray(split.frames[split.clip[idx]]), key)
                prefix = _encode_jit(model.encoder, y)
                ids = generation.generate(decoder, split.prompt[idx], prefix=prefix,
                                          attention_mask=split.prompt_mask[idx],
                                          max_new_tokens=max_new, eos_id=self.tokenizer.eos_id,
                                          pad_id=self.tokenizer.pad_id)
                for p, row in zip(pos, generation.trim(np.asarray(ids), self.tokenizer.eos_id)):
                    texts[p] = self.tokenizer.decode(row)
                if QTYPES[q] == "anomaly":
                    logits = np.asarray(_first_logits(decoder, split.prompt[idx],
                                                      split.prompt_mask[idx], prefix))
                    lse = lambda cols: np.logaddexp.reduce(logits[:, cols], axis=1)
                    scores[pos] = lse(yes) - lse(no)
        return {"index": index, "texts": texts, "anomaly_score": scores}

    def sample_answers(self, split_name: str, per_qtype: int = 1) -> list[dict]:
        """A few generated answers next to their references (logged at every evaluation)."""
        split = self.splits[split_name]
        index = np.concatenate([np.flatnonzero(split.qtype == q)[:per_qtype]
                                for q in np.unique(split.qtype)])
        out = self.answer(split_name, index)
        return [{"qtype": QTYPES[split.qtype[i]], "question": split.question_text[i],
                 "reference": split.answer_text[i], "answer": text}
                for i, text in zip(index, out["texts"])]

    def evaluate(self, split_name: str = "test") -> dict:
        from spjax.eval.metrics import utility_from_answers

        split = self.splits[split_name]
        out = self.answer(split_name)
        qtypes = [QTYPES[q] for q in split.qtype]
        refs = split.references(out["index"])
        anomaly_scores = out["anomaly_score"][[i for i, q in enumerate(qtypes) if q == "anomaly"]]
        utility = utility_from_answers(qtypes, out["texts"], refs, anomaly_scores=anomaly_scores)
        samples = []
        for i in range(min(len(split), 4 * self.cfg.eval.samples_to_log)):
            j = (i * 37) % len(split)
            samples.append({"qtype": qtypes[j], "question": split.question_text[j],
                            "reference": split.answer_text[j], "answer": out["texts"][j]})
        return {"utility": utility, "samples": samples[: 4 * self.cfg.eval.samples_to_log]}

    def training_adversary_accuracy(self) -> dict:
        """The *training* adversaries on held-out test faces (not the privacy audit)."""
        model = self.model()
        faces = self.faces["test"]
        y = _measure_jit(model.sensor, jnp.asarray(faces.image), jax.random.fold_in(self.base_key, 3))
        logits = np.asarray(_adversary_logits(model.adversaries, y))
        accs = (logits.argmax(-1) == faces.identity[None]).mean(-1)
        return {"members": [float(a) for a in accs], "worst_case_top1": float(accs.max()),
                "chance": 1.0 / self.n_identities}


@nnx.jit
def _measure_jit(sensor, frames, key):
    return sensor(frames, key=key, check=False)


@nnx.jit
def _encode_jit(encoder, y):
    return encoder(y)


@nnx.jit
def _adversary_logits(adversaries, y):
    return adversaries(y)


@nnx.jit
def _first_logits(decoder, prompt, mask, prefix):
    return decoder(prompt, prefix=prefix, attention_mask=mask)[:, -1]


@nnx.jit
def _val_step(model, decoder, batch, key):
    return answer_forward(model, decoder, batch, key, "exact")[0]


def answer_forward(model, decoder, batch, key, sampler: str):
    """Clips → measurements → prefix → frozen decoder: (answer-token metrics, prefix)."""
    from spjax.models.spvlm import answer_metrics

    y = model.sensor(batch["frames"], key=key, sampler=sampler, check=False)
    prefix = model.encoder(y)
    logits = decoder(batch["tokens"], prefix=prefix, attention_mask=batch["attention_mask"])
    return answer_metrics(logits, batch["tokens"], batch["loss_mask"], prefix.shape[1]), prefix


def validate_spvlm_config(cfg: ConfigDict) -> None:
    """Impossible settings are errors before any compute is spent."""
    s, d = cfg.sensor, cfg.data
    n = d.size * d.size
    k = int(round(s.rate * n))
    if not 0 < s.rate <= 1 or k < 1:
        raise ValueError(f"sensor.rate must give 1 ≤ K ≤ H·W={n} patterns, got rate={s.rate} (K={k})")
    if cfg.privacy.term not in PRIVACY_TERMS:
        raise ValueError(f"privacy.term must be one of {PRIVACY_TERMS}, got {cfg.privacy.term!r}")
    if cfg.privacy.weight < 0:
        raise ValueError(f"privacy.weight must be ≥ 0, got {cfg.privacy.weight}")
    if not cfg.privacy.adversaries:
        raise ValueError("privacy.adversaries must name at least one adversary")
    if s.temperature_start <= 0 or s.temperature_end <= 0:
        raise ValueError("sensor.temperature_start/end must be > 0")
    if cfg.train.steps < 1:
        raise ValueError(f"train.steps must be ≥ 1, got {cfg.train.steps}")
    if d.source not in ("synthetic", "tfds"):
        raise ValueError(f"data.source must be 'synthetic' or 'tfds', got {d.source!r}")
    if d.source == "tfds" and not Path(d.data_dir).is_dir():
        raise FileNotFoundError(f"data.data_dir {d.data_dir!r} does not exist; prepare the "
                                f"datasets first with `spjax data prepare`")
