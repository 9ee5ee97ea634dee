"""Label heads: linear read-outs of the clip labels from prefix tokens.

They serve twice. In training they give the encoder direct supervision (people count, anomaly
type, which activities happen), which shapes the prefix long before the answer loss through a
frozen decoder can (the label-supervised first stage of Q-Former-style bridges). In evaluation
they are the encoder's *supervised ceiling*: the same prefix read by a linear probe, the rung of
the utility ladder just below the decoder's text answers. Reported text numbers never come
from them.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax
from einops import rearrange
from flax import nnx

from spjax.data.scenes import ACTIVITIES, ANOMALY_TYPES
from spjax.data.text import POINTERS


class LabelHeads(nnx.Module):
    """prefix (B, M, D) → logits {count (B, max_count+1), anomaly_type (B, len(ANOMALY_TYPES)),
    activities (B, len(ACTIVITIES) − 1) multi-label, person_activity (B, len(POINTERS),
    len(ACTIVITIES) − 1): the activity of the person each pointer of an activity question
    names (a zone, or "the person")}.

    The multi-label activities say *what* happens; only the per-person head asks the prefix
    *who does it where*, which is what an activity question needs."""

    def __init__(self, num_tokens: int, width: int, max_count: int, *, rngs: nnx.Rngs):
        d = num_tokens * width
        self.norm = nnx.LayerNorm(d, rngs=rngs)
        self.count = nnx.Linear(d, max_count + 1, rngs=rngs)
        self.anomaly_type = nnx.Linear(d, len(ANOMALY_TYPES), rngs=rngs)
        self.activities = nnx.Linear(d, len(ACTIVITIES) - 1, rngs=rngs)
        self.person_activity = nnx.Linear(d, len(POINTERS) * (len(ACTIVITIES) - 1), rngs=rngs)

    def __call__(self, prefix) -> dict:
        h = self.norm(rearrange(prefix, "b m d -> b (m d)"))
        return {
            "count": self.count(h),
            "anomaly_type": self.anomaly_type(h),
            "activities": self.activities(h),
            "person_activity": rearrange(
                self.person_activity(h), "b (p a) -> b p a", p=len(POINTERS)
            ),
        }


def activity_targets(activity) -> jax.Array:
    """(B, P) activity ids (0 = absent) → (B, len(ACTIVITIES) − 1) multi-hot of those present."""
    ids = jnp.arange(1, len(ACTIVITIES))
    return (jnp.asarray(activity)[..., None] == ids).any(axis=-2).astype(jnp.float32)


def person_activity_loss(logits, activity, pointer):
    """Cross-entropy of each nameable person's activity under their pointer's logits.

    logits (B, len(POINTERS), A); activity, pointer (B, P) (`text.activity_pointers`: −1 where
    a question cannot name the person). Averaged over the nameable people of the batch."""
    pointer = jnp.asarray(pointer)
    named = pointer >= 0
    picked = jnp.take_along_axis(logits, jnp.maximum(pointer, 0)[..., None], axis=1)  # (B, P, A)
    target = jnp.maximum(jnp.asarray(activity) - 1, 0)
    ce = optax.softmax_cross_entropy_with_integer_labels(picked, target)
    return jnp.sum(ce * named) / jnp.maximum(named.sum(), 1)


def label_loss(
    logits: dict,
    count,
    anomaly_type,
    activity,
    activity_pointer=None,
    *,
    anomaly_weights=None,
    person_weight: float = 1.0,
):
    """Count: cross-entropy plus the expected absolute error under the predicted distribution
    (counts are ordinal: predicting 3 for 4 is better than 0, and the argmax of a distribution
    trained this way sits near its median, the MAE-optimal answer). Anomaly type: cross-
    entropy. Activities: binary cross-entropy per activity. Per-person activity (when
    `activity_pointer` is given): `person_activity_loss`.

    `anomaly_weights` (len(ANOMALY_TYPES),) reweights anomaly classes (class balancing);
    `person_weight` weighs the per-person term in the sum (its part is reported unweighted, so
    at 0 it still shows what an untrained head scores)."""
    ce = optax.softmax_cross_entropy_with_integer_labels
    values = jnp.arange(logits["count"].shape[-1])
    expected_error = jnp.sum(
        jax.nn.softmax(logits["count"], -1) * jnp.abs(values - jnp.asarray(count)[:, None]), axis=-1
    )
    l_count = (ce(logits["count"], count) + expected_error).mean()
    l_type = ce(logits["anomaly_type"], anomaly_type)
    if anomaly_weights is not None:
        w = jnp.asarray(anomaly_weights)[anomaly_type]
        l_type = (l_type * w).sum() / w.sum()
    else:
        l_type = l_type.mean()
    l_act = optax.sigmoid_binary_cross_entropy(
        logits["activities"], activity_targets(activity)
    ).mean()
    parts = {"count": l_count, "anomaly_type": l_type, "activities": l_act}
    if activity_pointer is not None:
        parts["person_activity"] = person_activity_loss(
            logits["person_activity"], activity, activity_pointer
        )
    weights = {"person_activity": person_weight}
    return sum(weights.get(k, 1.0) * v for k, v in parts.items()), parts


def label_predictions(logits: dict) -> dict:
    """Hard predictions, the anomaly score (1 − p(none), for AUROC) and the activity id
    (`ACTIVITIES` index) of the person each pointer names, (B, len(POINTERS))."""
    p_type = jax.nn.softmax(logits["anomaly_type"], axis=-1)
    return {
        "count": jnp.argmax(logits["count"], -1),
        "anomaly_type": jnp.argmax(logits["anomaly_type"], -1),
        "anomaly_score": 1.0 - p_type[..., 0],
        "person_activity": jnp.argmax(logits["person_activity"], -1) + 1,
    }
