"""Optax optimisers with warm-up + cosine schedules, clipping and per-part learning rates."""

from __future__ import annotations

import jax
import optax

OPTIMIZERS = ("adamw", "sgd")


def make_optimizer(
    lr: float,
    *,
    total_steps: int,
    warmup_steps: int = 0,
    weight_decay: float = 0.0,
    clip_norm: float | None = None,
    name: str = "adamw",
) -> optax.GradientTransformation:
    """AdamW (default) or momentum SGD on a warm-up + cosine schedule, after global-norm clipping.

    SGD's update is linear in the gradient, which makes it the optimiser of choice for
    numerical comparisons (Adam divides near-zero gradients by their own magnitude)."""
    if name not in OPTIMIZERS:
        raise ValueError(f"optim.name must be one of {OPTIMIZERS}, got {name!r}")
    warmup_steps = min(warmup_steps, max(total_steps - 1, 0))
    schedule = optax.warmup_cosine_decay_schedule(
        init_value=0.0 if warmup_steps else lr,
        peak_value=lr,
        warmup_steps=warmup_steps,
        decay_steps=max(total_steps, warmup_steps + 1),
        end_value=lr * 0.05,
    )
    parts = [optax.clip_by_global_norm(clip_norm)] if clip_norm else []
    if name == "adamw":
        parts.append(optax.adamw(schedule, weight_decay=weight_decay))
    else:
        parts += [optax.add_decayed_weights(weight_decay), optax.sgd(schedule, momentum=0.9)]
    return optax.chain(*parts)


def _path_key(path, level: int) -> str:
    part = path[level]
    return str(getattr(part, "key", getattr(part, "name", part)))


def per_part(
    transforms: dict[str, optax.GradientTransformation], *, level: int = 0
) -> optax.GradientTransformation:
    """Route each parameter to the optimiser named by its attribute at depth `level` of its
    path (e.g. `sensor`, `encoder` of `model.sensor…`, or of `bundle.spvlm.sensor…` with
    level=1) so that parts of one model get their own learning rates."""

    def labels(params):
        return jax.tree_util.tree_map_with_path(lambda path, _: _path_key(path, level), params)

    return optax.multi_transform(transforms, labels)
