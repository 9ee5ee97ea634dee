"""The SP-VLM trainer: build from a config, train in two stages, checkpoint, resume exactly.

One trainer serves every variant: learned or fixed patterns (`sensor.family`), utility-only
(`privacy.weight = 0`) or private training, any decoder `load_decoder` understands. The steps
themselves live in `spjax.training.steps`; evaluation in `spjax.training.evaluate`.

Schedule: steps 1 … `train.label_steps` train sensor + encoder + label heads on the clip
labels; the remaining steps add the answer loss through the frozen decoder. Clips are rendered
on the fly on a background thread (`TrainClips` inside a grain pipeline), one fresh batch per
step, so the data a step sees depends only on (seed, step).
"""

from __future__ import annotations

import time
from pathlib import Path

import grain
import jax
import numpy as np
from flax import nnx

from spjax.models.adversaries import PRIVACY_TERMS
from spjax.models.spvlm import DECODER
from spjax.training import optim, sharding
from spjax.training.checkpoint import Checkpointer, has_checkpoint
from spjax.training.config import ConfigDict, to_json
from spjax.training.data import FaceSplit, QASplit, index_loader
from spjax.training.logging import RunLogger, progress
from spjax.training.steps import MAIN, Trainable, make_step


class TrainingError(RuntimeError):
    """Training cannot go on (non-finite loss); the message names the step and the term."""


class SPVLMTrainer:
    """Builds everything from a config, trains, and writes checkpoints and logs."""

    def __init__(
        self,
        cfg: ConfigDict,
        workdir: str | Path,
        *,
        resume: bool = False,
        evaluation: bool = False,
        n_identities: int | None = None,
        data: bool = True,
    ):
        """`evaluation=True` builds a trained run's model to restore and evaluate it (no
        workdir checks, nothing written); `n_identities` then keeps the adversaries' shape of
        the trained run when the evaluated world has other people. `data=False` (evaluation
        only, needs `n_identities`) skips rendering the evaluation sets: the model alone, for
        answering measurements from elsewhere (`spjax.deploy`)."""
        self.cfg = cfg
        self.workdir = Path(workdir)
        self.resume = resume
        validate_spvlm_config(cfg)
        if not evaluation:
            self._check_workdir()
        if not data and (not evaluation or n_identities is None):
            raise ValueError("data=False: only for evaluation=True with n_identities given")
        from spjax.training.decoders import obtain_decoder

        self.decoder, self.tokenizer, self.decoder_info = obtain_decoder(cfg)
        if data:
            self._build_data()
        else:
            self.splits, self.faces, self.widths = {}, {}, None
        if n_identities is not None:
            self.n_identities = n_identities
        self._build_model()

    # -- construction ----------------------------------------------------------------------
    def _check_workdir(self) -> None:
        has_ckpt = has_checkpoint(self.workdir)
        if has_ckpt and not self.resume:
            raise FileExistsError(
                f"{self.workdir} already holds checkpoints; pass --resume to "
                f"continue that run, or choose a new --workdir"
            )
        if self.resume and has_ckpt:
            Checkpointer(self.workdir / "checkpoints").check_config(self.cfg.to_dict())

    def _build_data(self) -> None:
        from spjax.training.data import TrainClips, build_eval_sets, make_qa_split, qtype_widths

        train_arrays, clips, faces = build_eval_sets(self.cfg)
        self.local_batch = sharding.check_batch_size(self.cfg.train.batch_size)
        self.train_clips = TrainClips(self.cfg, self.local_batch, arrays=train_arrays)
        sample = [*clips.values(), train_arrays or self.train_clips.clips(0)]
        self.widths = qtype_widths(sample, self.tokenizer)
        max_len = max(self.widths.values())
        from spjax.data.text import CONCEPT_WORDS

        concepts = 2 + len(CONCEPT_WORDS["activities"])  # count, anomaly type, activities
        prefix = self.cfg.encoder.num_queries + concepts * (
            self.cfg.encoder.concept_tokens != "off"
        )
        if max_len + prefix > self.decoder.config.max_seq_len:
            raise ValueError(
                f"prefix + question + answer length {prefix + max_len} exceeds the "
                f"decoder's max_seq_len {self.decoder.config.max_seq_len}"
            )
        self.splits: dict[str, QASplit] = {
            name: make_qa_split(c, self.tokenizer, max_len=max_len) for name, c in clips.items()
        }
        self.faces: dict[str, FaceSplit] = faces
        self.n_identities = int(max(f.identity.max() for f in faces.values())) + 1

    def _build_sensor(self, rngs):
        from spjax.sensing import NoiseModel, Sensor

        s, d = self.cfg.sensor, self.cfg.data
        noise = None
        if s.photons > 0:
            noise = NoiseModel(
                photons=s.photons, dark=s.dark, read_std=s.read_std, adc_bits=s.adc_bits or None
            )
        if s.family == "learned":
            return Sensor.learned(
                d.size,
                d.size,
                s.rate,
                parameterization=s.parameterization,
                init=s.init if s.init != "hadamard" else f"hadamard:{s.order}",
                split=s.split,
                noise=noise,
                timing=s.timing,
                rngs=rngs,
            )
        return Sensor.family(
            s.family,
            d.size,
            d.size,
            s.rate,
            split=s.split,
            noise=noise,
            timing=s.timing,
            seed=self.cfg.seed,
        )

    def _build_model(self) -> None:
        from spjax.models.adversaries import AdversaryEnsemble
        from spjax.models.encoder import TemporalEncoder
        from spjax.models.heads import LabelHeads
        from spjax.models.spvlm import SPVLM, concept_ids

        cfg = self.cfg
        rngs = nnx.Rngs(cfg.seed)
        sensor = self._build_sensor(rngs)
        e, dim = cfg.encoder, self.decoder.config.dim
        encoder = TemporalEncoder(
            cfg.data.size,
            cfg.data.size,
            max_frames=cfg.data.frames,
            out_dim=dim,
            channels=e.channels,
            token_width=e.width,
            depth=e.depth,
            heads=e.heads,
            num_queries=e.num_queries,
            grid=e.grid,
            # Runs saved before the switch existed had the summary on.
            summary=e.get("clip_summary", True),
            rngs=rngs,
        )
        heads = LabelHeads(e.num_queries, dim, cfg.data.max_people, rngs=rngs)
        adversaries = AdversaryEnsemble.build(
            tuple(cfg.privacy.adversaries), sensor.k, self.n_identities, rngs=rngs
        )
        concepts = concept_ids(self.tokenizer) if e.concept_tokens != "off" else None
        spvlm = SPVLM(
            sensor,
            encoder,
            self.decoder,
            heads,
            concepts,
            concept_mode="hard" if concepts is None else e.concept_tokens,
        )
        bundle = Trainable(spvlm, adversaries)
        opt_main = nnx.Optimizer(bundle, self._main_tx(sensor.learnable), wrt=MAIN)
        opt_adv = nnx.Optimizer(adversaries, self._adversary_tx(), wrt=nnx.Param)
        self.graphdef, frozen, state = nnx.split((bundle, opt_main, opt_adv), DECODER, ...)
        self.mesh = sharding.make_data_mesh()
        self.state = sharding.replicate(state, self.mesh)
        self.frozen = sharding.replicate(frozen, self.mesh)
        self.base_key = jax.random.key(cfg.seed)
        self.step_fns = {
            stage: jax.jit(
                make_step(self.graphdef, cfg, answers=stage == "answer"), donate_argnums=0
            )
            for stage in ("label", "answer")
        }

    def _main_tx(self, learnable_sensor: bool):
        o, steps = self.cfg.optim, self.cfg.train.steps
        common = dict(
            total_steps=steps,
            warmup_steps=o.warmup_steps,
            weight_decay=o.weight_decay,
            clip_norm=o.clip_norm,
            name=o.name,
        )
        parts = {
            "encoder": optim.make_optimizer(o.lr, **common),
            "heads": optim.make_optimizer(o.lr, **common),
        }
        if learnable_sensor:
            parts["sensor"] = optim.make_optimizer(o.sensor_lr, **common)
        return optim.per_part(parts, level=1)

    def _adversary_tx(self):
        o = self.cfg.optim
        return optim.make_optimizer(
            o.adversary_lr, total_steps=self.cfg.train.steps, clip_norm=o.clip_norm, name=o.name
        )

    def bundle(self) -> Trainable:
        bundle, _, _ = nnx.merge(self.graphdef, self.frozen, self.state)
        return bundle

    def model(self):
        """The current SP-VLM (sensor, encoder, heads, decoder)."""
        return self.bundle().spvlm

    def stage(self, step: int) -> str:
        return "label" if step <= self.cfg.train.label_steps else "answer"

    # -- adversary restarts ---------------------------------------------------------------
    def _restart_adversary(self, step: int) -> None:
        """Re-initialise one member (round robin) and the adversary optimiser's moments."""
        bundle, opt_main, opt_adv = nnx.merge(self.graphdef, self.frozen, self.state)
        n = len(self.cfg.privacy.adversaries)
        member = (step // self.cfg.privacy.restart_every - 1) % n
        bundle.adversaries.restart(member, nnx.Rngs(jax.random.fold_in(self.base_key, step)))
        fresh = nnx.Optimizer(bundle.adversaries, self._adversary_tx(), wrt=nnx.Param)
        fresh.step[...] = opt_adv.step[...]
        _, _, state = nnx.split((bundle, opt_main, fresh), DECODER, ...)
        self.state = sharding.replicate(state, self.mesh)

    # -- checkpointing --------------------------------------------------------------------
    def _ckpt_state(self):
        # Every leaf must be a global (mesh-replicated) array for multi-host saves.
        return {
            "train": self.state,
            "key": sharding.replicate(jax.random.key_data(self.base_key), self.mesh),
        }

    def _meta(self, step, iters):
        return {
            "config": self.cfg.to_dict(),
            "step": int(step),
            "data": {name: it.get_state() for name, it in iters.items()},
        }

    def _batches(self, start: int):
        """Grain pipeline over steps start+1 …: the step's clips and (answer stage) questions,
        prepared on a background thread."""
        from spjax.training.data import answer_rows, clip_targets, step_qtype

        def make(step):
            clips = self.train_clips.clips(step)
            batch = {"frames": np.asarray(clips["frames"], np.float32), **clip_targets(clips)}
            if self.stage(step) == "answer":
                qtype = step_qtype(self.cfg, step)
                batch.update(answer_rows(clips, qtype, self.tokenizer, self.widths[qtype]))
            return step, batch

        ds = grain.MapDataset.range(start + 1, self.cfg.train.steps + 1).map(make)
        return iter(ds.to_iter_dataset(grain.ReadOptions(num_threads=1, prefetch_buffer_size=3)))

    def restore_latest(self) -> dict:
        """Load the newest checkpoint of `workdir` into the trainer; returns its meta."""
        ckpt = Checkpointer(self.workdir / "checkpoints")
        try:
            restored, meta = ckpt.restore(self._ckpt_state())
        finally:
            ckpt.close()
        self.state = sharding.replicate(restored["train"], self.mesh)
        return meta

    # -- training -------------------------------------------------------------------------
    def train(self) -> dict:
        cfg = self.cfg
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "config.json").write_text(to_json(cfg))
        ckpt = Checkpointer(self.workdir / "checkpoints", keep=cfg.train.keep_checkpoints)
        local_face_bs = sharding.check_batch_size(cfg.privacy.face_batch_size)
        train_faces = self.faces["train"]
        iters = {"faces": index_loader(len(train_faces), local_face_bs, cfg.seed)}
        start = 0
        if self.resume and ckpt.latest_step() is not None:
            restored, meta = ckpt.restore(self._ckpt_state())
            self.state = sharding.replicate(restored["train"], self.mesh)
            for name, it in iters.items():
                it.set_state(meta["data"][name])
            start = int(meta["step"])
        logger = RunLogger(
            self.workdir, config=cfg.to_dict(), wandb_mode=cfg.run.wandb, name=self.workdir.name
        )
        bar = progress(cfg.train.steps, initial=start, desc="train sp-vlm")
        t_loop = time.time()
        metrics = {}
        from spjax.training.evaluate import sample_answers, validate

        try:
            for step, local in self._batches(start):
                face_idx = next(iters["faces"])
                batch = sharding.global_batch(local, self.mesh)
                faces = sharding.global_batch(
                    {
                        "image": train_faces.image[face_idx],
                        "identity": train_faces.identity[face_idx],
                    },
                    self.mesh,
                )
                new_state, metrics = self.step_fns[self.stage(step)](
                    self.state, self.frozen, batch, faces, self.base_key
                )
                metrics = jax.device_get(metrics)
                bad = [
                    k
                    for k in ("task_loss", "privacy_loss", "adversary_ce_mean", "grad_norm")
                    if not np.isfinite(metrics[k])
                ]
                if bad:
                    # The donated state is gone, but the last checkpoint on disk is untouched.
                    raise TrainingError(
                        f"non-finite {', '.join(bad)} at step {step} "
                        f"({ {k: float(metrics[k]) for k in bad} }); the last good "
                        f"checkpoint is kept in {self.workdir / 'checkpoints'}"
                    )
                self.state = new_state
                if (
                    cfg.privacy.restart_every
                    and step % cfg.privacy.restart_every == 0
                    and step < cfg.train.steps
                ):
                    self._restart_adversary(step)
                if step % cfg.train.log_every == 0 or step == cfg.train.steps:
                    rate = (step - start) / max(time.time() - t_loop, 1e-9)
                    logger.log("train", step, steps_per_s=rate, stage=self.stage(step), **metrics)
                    bar.set_postfix(
                        stage=self.stage(step),
                        task=f"{float(metrics['task_loss']):.3f}",
                        adv=f"{float(metrics['adversary_accuracy_worst']):.2f}",
                    )
                if step % cfg.train.eval_every == 0 or step == cfg.train.steps:
                    val = validate(self)
                    logger.log("val", step, **val)
                    for sample in sample_answers(self, "val"):
                        logger.log("sample", step, **sample)
                    ckpt.save_best(
                        step, self._ckpt_state(), self._meta(step, iters), val["answer_accuracy"]
                    )
                if step % cfg.train.checkpoint_every == 0 or step == cfg.train.steps:
                    ckpt.save(step, self._ckpt_state(), self._meta(step, iters))
                bar.update(1)
        finally:
            bar.close()
            ckpt.close()
        self.train_seconds = time.time() - t_loop
        self.logger = logger
        return {k: float(v) for k, v in metrics.items() if np.ndim(v) == 0}


def validate_spvlm_config(cfg: ConfigDict) -> None:
    """Impossible settings are errors before any compute is spent."""
    s, d = cfg.sensor, cfg.data
    n = d.size * d.size
    k = int(round(s.rate * n))
    if not 0 < s.rate <= 1 or k < 1:
        raise ValueError(
            f"sensor.rate must give 1 ≤ K ≤ H·W={n} patterns, got rate={s.rate} (K={k})"
        )
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
    if not 0 <= cfg.train.label_steps <= cfg.train.steps:
        raise ValueError(
            f"train.label_steps must be in [0, train.steps={cfg.train.steps}], got "
            f"{cfg.train.label_steps}"
        )
    weights = [float(w) for w in cfg.train.qtype_weights]
    if len(weights) != 4 or min(weights) < 0 or sum(weights) <= 0:
        raise ValueError(
            f"train.qtype_weights must be 4 non-negative weights (count, anomaly, "
            f"activity, describe) with a positive sum, got {tuple(weights)}"
        )
    if cfg.encoder.concept_tokens not in ("hard", "soft", "off"):
        raise ValueError(
            f"encoder.concept_tokens must be 'hard', 'soft' or 'off', got "
            f"{cfg.encoder.concept_tokens!r}"
        )
    if d.source not in ("synthetic", "tfds"):
        raise ValueError(f"data.source must be 'synthetic' or 'tfds', got {d.source!r}")
    if d.source == "tfds" and not Path(d.data_dir).is_dir():
        raise FileNotFoundError(
            f"data.data_dir {d.data_dir!r} does not exist; prepare the "
            f"datasets first with `spjax data prepare`"
        )
