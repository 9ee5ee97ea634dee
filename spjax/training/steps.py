"""The pure training steps of an SP-VLM run (jitted by the trainer).

Two stages share one state. The *label* stage trains sensor + encoder + label heads on the
clip labels only (no decoder call: cheap steps that shape the prefix fast); the *answer*
stage adds the answer loss through the frozen decoder (per-row mean, so every question type
weighs the same) and keeps the label loss at `aux.weight` so the prefix does not forget.

Every step first updates the identity adversaries on (stop-gradient) face measurements, then
the main parameters on `task + λ(step)·privacy`: against the worst (lowest cross-entropy)
adversary for the adversarial terms, or an attacker-free term: `face_snr` / `face_capacity` of
two independently-noised shots of the face batch, or `identity_capacity` of one shot and the
faces' identities (the adversaries then only monitor).

State split: `state` holds sensor, encoder, heads, adversaries and both optimisers (donated
every step, checkpointed); `frozen` holds the decoder's weights (never differentiated, never
given optimiser state, never written to checkpoints).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax
from flax import nnx

from spjax.models.heads import label_loss
from spjax.models.spvlm import DECODER
from spjax.privacy.terms import FACE_TERMS, IDENTITY_TERMS, identity_loss, privacy_loss
from spjax.training import keys
from spjax.training.config import ConfigDict

# Main update: everything trainable but the adversaries (own optimiser) and the decoder.
MAIN = nnx.All(nnx.Param, nnx.Not(nnx.PathContains("adversaries")), nnx.Not(DECODER))


class Trainable(nnx.Module):
    """The SP-VLM (sensor, encoder, label heads, frozen decoder) and the identity adversaries."""

    def __init__(self, spvlm, adversaries):
        self.spvlm = spvlm
        self.adversaries = adversaries


def temperature_at(step, cfg: ConfigDict):
    """Geometric annealing of the straight-through temperature over training."""
    frac = jnp.clip(step / max(cfg.train.steps, 1), 0.0, 1.0)
    t0, t1 = cfg.sensor.temperature_start, cfg.sensor.temperature_end
    return t0 * (t1 / t0) ** frac


def privacy_weight_at(step, cfg: ConfigDict):
    warm = max(cfg.privacy.warmup_steps, 1)
    return cfg.privacy.weight * jnp.clip(step / warm, 0.0, 1.0)


def make_step(graphdef, cfg: ConfigDict, *, answers: bool):
    """`step(state, frozen, batch, faces, key) -> (state, metrics)`; `answers` selects the stage."""
    adv_steps = cfg.privacy.adversary_steps
    face_term = FACE_TERMS.get(cfg.privacy.term)
    identity_term = IDENTITY_TERMS.get(cfg.privacy.term)
    aux_weight = cfg.aux.weight if answers else 1.0

    def step(state, frozen, batch, faces, key):
        bundle, opt_main, opt_adv = nnx.merge(graphdef, jax.lax.stop_gradient(frozen), state)
        model = bundle.spvlm
        t = opt_main.step[...]
        model.sensor.set_temperature(temperature_at(t, cfg))
        key = jax.random.fold_in(key, t)
        k_scene, k_face_adv, k_face, k_face2 = (
            jax.random.fold_in(key, s)
            for s in (keys.SCENE, keys.FACE_ADVERSARY, keys.FACE, keys.FACE_SECOND_SHOT)
        )
        metrics = {}

        # 1) adversaries: learn to identify faces from (fixed) face measurements.
        y_face_fixed = jax.lax.stop_gradient(
            model.sensor(faces["image"], key=k_face_adv, sampler="reparam", check=False)
        )

        def adversary_loss(adversaries):
            ce = adversaries.losses(y_face_fixed, faces["identity"])
            return ce.sum(), ce

        for _ in range(adv_steps):
            (_, adv_ce), grads = nnx.value_and_grad(adversary_loss, has_aux=True)(
                bundle.adversaries
            )
            opt_adv.update(bundle.adversaries, grads)
        metrics["adversary_ce_mean"] = adv_ce.mean()

        # 2) sensor + encoder + heads: labels (and answers), against identity leakage.
        def main_loss(bundle):
            model = bundle.spvlm
            y = model.measure(batch["frames"], k_scene, sampler="reparam")
            prefix, label_logits = model.prefix_and_labels(y)
            labels, parts = label_loss(
                label_logits,
                batch["count"],
                batch["anomaly_type"],
                batch["activity"],
                batch["activity_pointer"],
                person_weight=cfg.aux.get("person_weight", 1.0),
            )
            task = aux_weight * labels
            out = {"label_loss": labels, **{f"label_{k}": v for k, v in parts.items()}}
            if answers:
                ans = model.answer_loss(
                    prefix,
                    batch["tokens"],
                    batch["loss_mask"],
                    batch["attention_mask"],
                    per_row=True,
                )
                task = task + ans["loss"]
                out.update(answer_loss=ans["loss"], answer_accuracy=ans["accuracy"])
            y_face = model.sensor(faces["image"], key=k_face, sampler="reparam", check=False)
            logits = bundle.adversaries(y_face)
            ce = jax.vmap(lambda lg: identity_loss(lg, faces["identity"]).mean())(logits)
            worst = jnp.argmin(jax.lax.stop_gradient(ce))
            if face_term is not None:
                y_face2 = model.sensor(faces["image"], key=k_face2, sampler="reparam", check=False)
                priv = face_term(y_face, y_face2)
                out[cfg.privacy.term] = priv
            elif identity_term is not None:
                priv = identity_term(y_face, faces["identity"])
                out[cfg.privacy.term] = priv
            else:
                priv = privacy_loss(logits[worst], faces["identity"], cfg.privacy.term)
            lam = privacy_weight_at(t, cfg)
            loss = task + lam * priv
            out.update(
                loss=loss,
                task_loss=task,
                privacy_loss=priv,
                privacy_weight=lam,
                adversary_ce_worst=ce[worst],
                adversary_worst=worst,
                adversary_accuracy_worst=(logits[worst].argmax(-1) == faces["identity"]).mean(),
            )
            return loss, out

        grad_fn = nnx.value_and_grad(main_loss, argnums=nnx.DiffState(0, MAIN), has_aux=True)
        (_, main_metrics), grads = grad_fn(bundle)
        opt_main.update(bundle, grads)
        metrics.update(main_metrics)
        metrics["temperature"] = temperature_at(t, cfg)
        metrics["grad_norm"] = optax.global_norm(grads)
        _, _, new_state = nnx.split((bundle, opt_main, opt_adv), DECODER, ...)
        return new_state, metrics

    return step
