"""One small training loop shared by the audit's models (attackers, reconstructor, face
classifier): AdamW on shuffled mini-batches (put on the device ahead of the step by
`spjax.prefetch`, as in the trainers), model selection on a validation score with early
stopping. Learning rate and weight decay are injected hyperparameters, so a hyper-parameter
grid or a new seed reuses the compiled step."""

from __future__ import annotations

import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from spjax.prefetch import device_batches


def _optimizer():
    return optax.inject_hyperparams(optax.adamw)(learning_rate=1e-3, weight_decay=1e-4)


@functools.lru_cache(maxsize=128)
def _compiled_step(graphdef, loss: Callable):
    # One jitted step per mini-batch, looped in Python: a `lax.scan` over steps makes XLA:CPU
    # convolutions (and their gradients) about 50x slower than separate calls.
    tx = _optimizer()

    @jax.jit
    def step(params, rest, opt_state, xb, yb):
        def objective(p):
            return loss(nnx.merge(graphdef, p, rest), xb, yb)

        value, grads = jax.value_and_grad(objective)(params)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, value

    return tx, step


def fit(
    model: nnx.Module,
    x: np.ndarray,
    y: np.ndarray,
    *,
    loss: Callable,
    validate: Callable[[nnx.Module], float | tuple],
    lr: float,
    weight_decay: float,
    epochs: int,
    patience: int,
    batch: int,
    seed: int,
    min_steps: int = 8,
) -> tuple[nnx.Module, dict]:
    """Train `model` in place on (x, y) and return it holding the parameters of the epoch
    with the best `validate(model)` (higher is better; a tuple compares lexicographically,
    e.g. (accuracy, -loss) so that a falling val loss on an accuracy plateau still counts as
    progress for early stopping), plus a small training record.

    `loss(model, xb, yb) -> scalar` must be a module-level function (it keys the jit cache)."""
    if epochs < 1 or patience < 1:
        raise ValueError(f"epochs and patience: expected >= 1, got {epochs} and {patience}")
    n = int(x.shape[0])
    batch = max(1, min(batch, n))
    graphdef, params, rest = nnx.split(model, nnx.Param, ...)
    tx, step = _compiled_step(graphdef, loss)
    opt_state = tx.init(params)
    opt_state.hyperparams["learning_rate"] = jnp.asarray(lr, jnp.float32)
    opt_state.hyperparams["weight_decay"] = jnp.asarray(weight_decay, jnp.float32)
    x, y = np.asarray(x), np.asarray(y)
    rng = np.random.default_rng(seed)
    best_score, best_params, best_epoch, since = None, params, 0, 0
    last_loss = float("nan")
    for ep in range(1, epochs + 1):
        # At least `min_steps` steps per epoch so that tiny datasets still train per epoch;
        # whole batches only (one compiled shape), drawn from fresh permutations.
        steps = max(n // batch, min_steps)
        perm = np.concatenate([rng.permutation(n) for _ in range(-(-steps * batch // n))])
        idx = [perm[i * batch : (i + 1) * batch] for i in range(steps)]
        losses = []  # device scalars: read once per epoch, not per step
        minibatches = device_batches((x[i], y[i]) for i in idx)
        try:
            for xb, yb in minibatches:
                params, opt_state, value = step(params, rest, opt_state, xb, yb)
                losses.append(value)
        finally:
            minibatches.close()
        last_loss = float(jnp.mean(jnp.stack(losses)))
        score = validate(nnx.merge(graphdef, params, rest))
        score = tuple(float(v) for v in score) if isinstance(score, tuple) else (float(score),)
        if best_score is None or score > best_score:
            best_score, best_params, best_epoch, since = score, params, ep, 0
        else:
            since += 1
            if since >= patience:
                break
    nnx.update(model, best_params)
    return model, {
        "val_score": best_score[0],
        "best_epoch": best_epoch,
        "epochs_run": ep,
        "final_train_loss": last_loss,
    }


def cross_entropy(model, x, y):
    """Mean softmax cross-entropy of `model(x)` against integer labels: the `loss` of every
    identity classifier the audit trains."""
    return optax.softmax_cross_entropy_with_integer_labels(model(x), y).mean()


@nnx.jit
def apply_model(model, x):
    """`model(x)`, jitted (compiled once per model structure and input shape)."""
    return model(x)


@nnx.jit
def model_features(model, x):
    """`model.features(x)` (an attacker's or identifier's embedding), jitted."""
    return model.features(x)


def batched(fn, model, x, batch: int = 256) -> np.ndarray:
    """`fn(model, x)` over mini-batches of `x`, concatenated as NumPy (bounded memory)."""
    return np.concatenate(
        [np.asarray(fn(model, jnp.asarray(x[i : i + batch]))) for i in range(0, len(x), batch)]
    )
