"""The SP-VLM trainer: build from a config, train in two stages, checkpoint, resume exactly.

One trainer serves every variant: learned or fixed patterns (`sensor.family`), utility-only
(`privacy.weight = 0`) or private training, any decoder `load_decoder` understands. Its parts
have their own homes: building (`spjax.training.build`), the pure steps (`.steps`), the loop
(`.loop`) and evaluation (`.evaluate`); the trainer holds the run's state between them.

Schedule: steps 1 … `train.label_steps` train sensor + encoder + label heads on the clip
labels; the remaining steps add the answer loss through the frozen decoder.
"""

from __future__ import annotations

from pathlib import Path

import jax
from flax import nnx

from spjax.models.spvlm import DECODER
from spjax.training import keys, sharding
from spjax.training.build import adversary_tx, build_modules, validate_spvlm_config
from spjax.training.checkpoint import Checkpointer, has_checkpoint
from spjax.training.config import ConfigDict
from spjax.training.data import FaceSplit, QASplit
from spjax.training.steps import Trainable, make_step


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

    def _build_model(self) -> None:
        cfg = self.cfg
        modules = build_modules(cfg, self.decoder, self.tokenizer, self.n_identities)
        self.graphdef, frozen, state = nnx.split(modules, DECODER, ...)
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

    def bundle(self) -> Trainable:
        bundle, _, _ = nnx.merge(self.graphdef, self.frozen, self.state)
        return bundle

    def model(self):
        """The current SP-VLM (sensor, encoder, heads, decoder)."""
        return self.bundle().spvlm

    def stage(self, step: int) -> str:
        return "label" if step <= self.cfg.train.label_steps else "answer"

    def restart_adversary(self, step: int) -> None:
        """Re-initialise one member (round robin) and the adversary optimiser's moments."""
        bundle, opt_main, opt_adv = nnx.merge(self.graphdef, self.frozen, self.state)
        n = len(self.cfg.privacy.adversaries)
        member = (step // self.cfg.privacy.restart_every - 1) % n
        bundle.adversaries.restart(
            member,
            nnx.Rngs(jax.random.fold_in(jax.random.fold_in(self.base_key, keys.RESTART), step)),
        )
        fresh = nnx.Optimizer(bundle.adversaries, adversary_tx(self.cfg), wrt=nnx.Param)
        fresh.step[...] = opt_adv.step[...]
        _, _, state = nnx.split((bundle, opt_main, fresh), DECODER, ...)
        self.state = sharding.replicate(state, self.mesh)

    # -- checkpointing --------------------------------------------------------------------
    def checkpoint_state(self):
        # Every leaf must be a global (mesh-replicated) array for multi-host saves.
        return {
            "train": self.state,
            "key": sharding.replicate(jax.random.key_data(self.base_key), self.mesh),
        }

    def checkpoint_meta(self, step, iters):
        return {
            "config": self.cfg.to_dict(),
            "step": int(step),
            "data": {name: it.get_state() for name, it in iters.items()},
        }

    def restore_latest(self) -> dict:
        """Load the newest checkpoint of `workdir` into the trainer; returns its meta."""
        ckpt = Checkpointer(self.workdir / "checkpoints")
        try:
            restored, meta = ckpt.restore(self.checkpoint_state())
        finally:
            ckpt.close()
        self.state = sharding.replicate(restored["train"], self.mesh)
        return meta

    def train(self) -> dict:
        """Train to `train.steps` (see `spjax.training.loop.train`)."""
        from spjax.training.loop import train

        return train(self)
