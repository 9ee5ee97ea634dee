"""One small training loop shared by the audit's models (attackers, reconstructor, face
classifier): AdamW, a whole epoch per jit call (`lax.scan` over shuffled mini-batches), model
selection on a validation score with early stopping. Learning rate and weight decay are injected
hyperparameters, so a hyper-parameter grid or a new seed reuses the compiled epoch."""

from __future__ import annotations

import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx


def _optimizer():
    return optax.inject_hyperparams(optax.adamw)(learning_rate=1e-3, weight_decay=1e-4)


@functools.lru_cache(maxsize=128)
def _compiled_epoch(graphdef, loss: Callable, n_batches: int, batch: int):
    tx = _optimizer()

    @jax.jit
    def epoch(params, rest, opt_state, x, y, key):
        perm = jax.random.permutation(key, x.shape[0])[: n_batches * batch]
        perm = perm.reshape(n_batches, batch)

        def body(carry, idx):
            params, opt_state = carry

            def objective(p):
                return loss(nnx.merge(graphdef, p, rest), x[idx], y[idx])

            value, grads = jax.value_and_grad(objective)(params)
            updates, opt_state = tx.update(grads, opt_state, params)
            return (optax.apply_updates(params, updates), opt_state), value

        (params, opt_state), losses = jax.lax.scan(body, (params, opt_state), perm)
        return params, opt_state, losses.mean()

    return tx, epoch


def fit(
    model: nnx.Module,
    x: np.ndarray,
    y: np.ndarray,
    *,
    loss: Callable,
    validate: Callable[[nnx.Module], float],
    lr: float,
    weight_decay: float,
    epochs: int,
    patience: int,
    batch: int,
    seed: int,
) -> tuple[nnx.Module, dict]:
    """Train `model` in place on (x, y) and return it holding the parameters of the epoch
    with the best `validate(model)` (higher is better), plus a small training record.

    `loss(model, xb, yb) -> scalar` must be a module-level function (it keys the jit cache)."""
    if epochs < 1 or patience < 1:
        raise ValueError(f"epochs and patience: expected >= 1, got {epochs} and {patience}")
    n = int(x.shape[0])
    batch = max(1, min(batch, n))
    graphdef, params, rest = nnx.split(model, nnx.Param, ...)
    tx, epoch_fn = _compiled_epoch(graphdef, loss, n // batch, batch)
    opt_state = tx.init(params)
    opt_state.hyperparams["learning_rate"] = jnp.asarray(lr, jnp.float32)
    opt_state.hyperparams["weight_decay"] = jnp.asarray(weight_decay, jnp.float32)
    xj, yj = jnp.asarray(x), jnp.asarray(y)
    key = jax.random.key(seed)
    best_score, best_params, best_epoch, since = -np.inf, params, 0, 0
    last_loss = float("nan")
    for ep in range(1, epochs + 1):
        key, sub = jax.random.split(key)
        params, opt_state, train_loss = epoch_fn(params, rest, opt_state, xj, yj, sub)
        last_loss = float(train_loss)
        score = float(validate(nnx.merge(graphdef, params, rest)))
        if score > best_score:
            best_score, best_params, best_epoch, since = score, params, ep, 0
        else:
            since += 1
            if since >= patience:
                break
    nnx.update(model, best_params)
    return model, {"val_score": best_score, "best_epoch": best_epoch, "epochs_run": ep,
                   "final_train_loss": last_loss}
