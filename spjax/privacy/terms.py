"""The privacy game's training side: identity adversaries on face measurements y (B, K) or
clip measurements y (B, T, K), the adversarial privacy terms against their logits, and the
attacker-free face terms.

Adversaries are the shared identity classifiers (`spjax.models.classifiers`) with per-sample
standardisation; each records its constructor arguments in `spec` so an `AdversaryEnsemble`
can re-initialise ("restart") it.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax
from flax import nnx

from spjax.models.classifiers import make_classifier


def make_adversary(kind: str, k: int, n_classes: int, *, rngs: nnx.Rngs, **kwargs):
    """A training adversary: an identity classifier (`spjax.models.classifiers`) that
    standardises each sample, so rescaling the measurements cannot defeat it."""
    return make_classifier(kind, k, n_classes, rngs=rngs, standardize=True, **kwargs)


def identity_loss(logits, labels):
    """Per-sample cross-entropy (B,)."""
    return optax.softmax_cross_entropy_with_integer_labels(logits.astype(jnp.float32), labels)


# Privacy terms against an adversary's logits (`privacy_loss`), and the attacker-free terms
# computed from two noisy shots of the same faces (`FACE_TERMS`, defined below).
ADVERSARIAL_TERMS = ("neg_ce", "neg_entropy", "kl_uniform")


def privacy_loss(logits, labels, kind: str = "neg_ce"):
    """What the sensor/encoder side *minimises* to defeat an adversary (scalar).

    neg_ce: −CE (push the adversary's loss up); neg_entropy: −H(p) (push predictions to
    uniform); kl_uniform: KL(p ‖ uniform) = log C − H(p)."""
    logp = jax.nn.log_softmax(logits.astype(jnp.float32), axis=-1)
    if kind == "neg_ce":
        return -identity_loss(logits, labels).mean()
    entropy = -(jnp.exp(logp) * logp).sum(-1)
    if kind == "neg_entropy":
        return -entropy.mean()
    if kind == "kl_uniform":
        return (jnp.log(logits.shape[-1]) - entropy).mean()
    if kind in IDENTITY_TERMS:
        raise ValueError(
            f"privacy_loss kind {kind!r} is attacker-free: it is computed from one shot of "
            f"labelled faces by `{IDENTITY_TERMS[kind].__name__}(y, labels)`"
        )
    if kind in FACE_TERMS:
        raise ValueError(
            f"privacy_loss kind {kind!r} is attacker-free: it is computed from two "
            f"noisy measurements of the same faces by `{FACE_TERMS[kind].__name__}(y1, y2)`, "
            f"not from adversary logits"
        )
    raise ValueError(f"privacy_loss kind: expected one of {ADVERSARIAL_TERMS}, got {kind!r}")


def face_snr_leakage(y1, y2, *, eps: float = 1e-4):
    """Attacker-free identity-leakage bound from two noisy shots of the same faces (scalar).

    y1, y2: (B, K) measurements of the *same* B face images taken with independent noise
    (e.g. two `sensor(faces, key=..., sampler="reparam")` calls with different keys; row b of
    both is face b).

    Why. If every measurement's variation across face images is no larger than its own sensor
    noise, a single shot carries (almost) no information about which face was imaged, and no
    attacker — linear or not, trained now or later — can identify faces from it. Unlike an
    adversarial term there is no attacker to out-run: the bound is on the measurements.

    Per measurement k, over the batch b:
      N_k = mean_b (y1 − y2)² / 2   unbiased noise variance for *any* noise model (the two
                                     shots share the signal, so only noise survives y1 − y2);
      V_k = Var_b(y1_k)             (unbiased, ddof=1) total variation across faces: between-
                                     plus within-identity signal plus noise, so a conservative
                                     upper bound on the identity signal;
      M_k = mean_b y1_k²            the measurement's power, for a scale-free floor.
    Returns log( mean_k V_k / (N_k + eps·M_k) ).

    ≈ 0 when the faces vary no more than the noise (V ≈ N), ≈ log(1 + SNR) with SNR the
    face-variation-to-noise ratio otherwise; minimise it. `eps·M_k` keeps it finite for a
    noiseless sensor, where it becomes log(mean_k V_k / (eps·M_k)): the squared coefficient of
    variation over eps. The term is invariant to rescaling both shots (the inputs are divided by
    their RMS before the arithmetic, which also keeps float32 away from under/overflow).
    Degenerate input gives a finite term with finite gradients, by definition: a measurement
    that is exactly zero in both shots (N = M = 0) counts as at the noise floor, ratio 1 (so
    all-zero input gives 0); a constant, noiseless non-zero measurement has V = 0, ratio 0, and
    if every measurement is like that the mean ratio is floored at float32's smallest normal
    number (term ≈ −87, "no variation at all") instead of log 0 = −inf."""
    ratio = face_variance_ratios(y1, y2, eps=eps)
    # A floor so that all-constant noiseless input (every ratio 0) stays finite.
    return jnp.log(jnp.maximum(jnp.mean(ratio), jnp.finfo(jnp.float32).tiny))


def face_capacity_leakage(y1, y2, *, eps: float = 1e-4):
    """Gaussian-channel capacity of the face measurements, in nats per measurement (scalar).

    Same inputs and per-measurement ratios V_k / N_k = 1 + SNR_k as `face_snr_leakage`, but
    returns ½·mean_k log(V_k / N_k): the capacity ½ log(1 + SNR) of K parallel Gaussian
    channels, an upper bound (for Gaussian signals) on what one shot tells about the face and
    hence its identity; K·value/ln 2 is that bound in bits. Unlike `face_snr_leakage`
    (log of the *mean* ratio, dominated by the leakiest measurement) every measurement pays
    for its own leakage, so many moderately leaky measurements cannot add up unnoticed."""
    ratio = face_variance_ratios(y1, y2, eps=eps)
    return 0.5 * jnp.mean(jnp.log(jnp.maximum(ratio, jnp.finfo(jnp.float32).tiny)))


def identity_capacity_leakage(y, labels, *, eps: float = 1e-3):
    """Gaussian identity capacity of one shot of labelled faces, nats per measurement (scalar).

    y (B, K): one noisy shot of B faces; labels (B,): their identities (any ints; a batch needs
    some identity seen twice). Under a Gaussian model with identity-dependent means and a
    shared within-identity covariance (other faces of the same person, plus sensor noise),
    what one shot tells about *who* it is is I(id; y) ≤ ½ log det(S_total) − ½ log det(S_within):
    the quantity a linear discriminant exploits. Returned divided by K, like `face_capacity`.

    Unlike the identity-blind `face_capacity` (which penalises every measurement that varies
    across faces, the low spatial frequencies that scene understanding needs too) this is
    zero when measurements vary across faces only as much as within one person's faces, and it
    sees identity spread over how measurements co-vary. It is invariant to any invertible
    linear map of the measurements (so rescaling cannot defeat it). `eps` · mean total variance
    is added to both covariances. The within-identity covariance needs more repeated faces
    than measurements (B − #identities in the batch ≫ K, e.g. a face batch of 256 over 50
    identities at K = 41): where it has fewer, the ridge fills the unobserved directions and
    the estimate counts them as identity."""
    y = jnp.asarray(y, jnp.float32)
    labels = jnp.asarray(labels)
    if y.ndim != 2 or labels.shape != y.shape[:1]:
        raise ValueError(
            f"identity capacity y, labels: expected (B, K) and (B,), got {y.shape} and "
            f"{labels.shape}"
        )
    b, k = y.shape
    if b < 3:
        raise ValueError(f"identity capacity y: expected B ≥ 3 faces, got {b}")
    if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not eps > 0:
        raise ValueError(f"identity capacity eps: expected a float > 0, got {eps!r}")
    rms = jax.lax.stop_gradient(jnp.sqrt(jnp.mean(y * y)))
    y = y / jnp.where(rms > 0, rms, 1.0)
    # Identities as 0 … B−1 (static size under jit), their means, the within-identity residuals.
    _, cls = jnp.unique(labels, size=b, fill_value=-1, return_inverse=True)
    onehot = jax.nn.one_hot(cls.reshape(-1), b, dtype=y.dtype)
    counts = onehot.sum(0)
    means = (onehot.T @ y) / jnp.maximum(counts, 1.0)[:, None]
    resid = y - onehot @ means
    dof = jnp.maximum(b - jnp.sum(counts > 0), 1.0)
    within = resid.T @ resid / dof
    centred = y - y.mean(0)
    total = centred.T @ centred / (b - 1)
    ridge = (eps * jnp.trace(total) / k + 1e-12) * jnp.eye(k, dtype=y.dtype)
    _, logdet_total = jnp.linalg.slogdet(total + ridge)
    _, logdet_within = jnp.linalg.slogdet(within + ridge)
    return 0.5 * (logdet_total - logdet_within) / k


FACE_TERMS = {"face_snr": face_snr_leakage, "face_capacity": face_capacity_leakage}
# Attacker-free terms of one shot and the faces' identities: `term(y, labels)`.
IDENTITY_TERMS = {"identity_capacity": identity_capacity_leakage}
PRIVACY_TERMS = ADVERSARIAL_TERMS + tuple(FACE_TERMS) + tuple(IDENTITY_TERMS)


def face_variance_ratios(y1, y2, *, eps: float = 1e-4):
    """Per measurement k: face variation over noise, V_k / (N_k + eps·M_k), shape (K,); see
    `face_snr_leakage` for the estimators and the degenerate cases."""
    y1 = jnp.asarray(y1, jnp.float32)
    y2 = jnp.asarray(y2, jnp.float32)
    if y1.ndim != 2 or y2.ndim != 2:
        raise ValueError(
            f"face leakage y1, y2: expected 2-D (B, K) measurements, got {y1.shape} and {y2.shape}"
        )
    if y1.shape != y2.shape:
        raise ValueError(
            f"face leakage y1, y2: expected the same shape (two shots of the "
            f"same faces), got {y1.shape} and {y2.shape}"
        )
    if y1.shape[0] < 2 or y1.shape[1] < 1:
        raise ValueError(
            f"face leakage y1: expected B ≥ 2 faces and K ≥ 1 measurements, got {y1.shape}"
        )
    if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not eps > 0:
        raise ValueError(f"face leakage eps: expected a float > 0, got {eps!r}")
    # Scale-invariant, so divide by a (constant) RMS: the arithmetic runs on O(1) numbers.
    rms = jax.lax.stop_gradient(jnp.sqrt(0.5 * (jnp.mean(y1 * y1) + jnp.mean(y2 * y2))))
    rms = jnp.where(rms > 0, rms, 1.0)
    y1, y2 = y1 / rms, y2 / rms
    noise = 0.5 * jnp.mean(jnp.square(y1 - y2), axis=0)
    var = jnp.var(y1, axis=0, ddof=1)
    power = jnp.mean(jnp.square(y1), axis=0)
    den = noise + eps * power
    live = den > 0  # False only where both shots are exactly zero (eps > 0)
    # +1e-12 (relative to the RMS²) keeps den² and so the gradient representable in float32
    # for measurements with next to no power; it is far below eps·M_k for any other.
    ratio = jnp.where(live, var / jnp.where(live, den + 1e-12, 1.0), 1.0)
    return ratio


class AdversaryEnsemble(nnx.Module):
    """A list of adversaries trained side by side; the *worst case* is the member with the
    lowest identity loss (the strongest attacker)."""

    def __init__(self, members):
        members = list(members)
        if not members:
            raise ValueError("AdversaryEnsemble members: expected at least one adversary, got none")
        classes = {m.spec["n_classes"] for m in members}
        if len(classes) != 1:
            raise ValueError(
                f"AdversaryEnsemble members: expected one n_classes, got {sorted(classes)}"
            )
        self.members = nnx.List(members)

    @classmethod
    def build(cls, kinds, k: int, n_classes: int, *, rngs: nnx.Rngs, **kwargs):
        """E.g. `build(["linear", "mlp", "attention"], k, n_ids, rngs=rngs)`."""
        return cls(
            [
                make_adversary(kind, k, n_classes, rngs=rngs, **kwargs.get(kind, {}))
                for kind in kinds
            ]
        )

    def __len__(self):
        return len(self.members)

    def __call__(self, y):
        """Logits of every member (E, B, C)."""
        return jnp.stack([m(y) for m in self.members])

    def losses(self, y, labels):
        """Mean identity CE per member (E,)."""
        return jnp.stack([identity_loss(m(y), labels).mean() for m in self.members])

    def worst(self, y, labels):
        """(index, loss) of the strongest member — the lowest identity loss."""
        losses = self.losses(y, labels)
        i = jnp.argmin(losses)
        return i, losses[i]

    def restart(self, i: int, rngs: nnx.Rngs):
        """Re-initialise member i in place (same class and spec, fresh weights).

        Optimiser state for that member must be reset by the caller (e.g. rebuild the optimiser)."""
        if not isinstance(i, int) or not 0 <= i < len(self.members):
            raise ValueError(f"restart i: expected an int in [0, {len(self.members)}), got {i!r}")
        old = self.members[i]
        fresh = type(old)(**old.spec, rngs=rngs)
        nnx.update(old, nnx.state(fresh))
