"""A convolutional face identifier, trained from scratch on images.

Used three ways by the audit: on clean faces (the ceiling, and the classifier of the
reconstruction attack), and on the sensor's pseudo-inverse reconstructions of the train
faces (reconstruct-then-identify: the identifier learns whatever the reconstructions keep,
blur and noise included, instead of meeting them for the first time at test time).

Architecture: two conv-conv-pool stages (16 and 32 channels), a dense layer on the flattened
map (faces are aligned, so where a feature is matters) and a linear head. Inputs are
normalised with the train images' global mean and standard deviation.
"""

from __future__ import annotations

import time

import jax.numpy as jnp
import numpy as np
from flax import nnx

from spjax.privacy.attacks import ATTACKS
from spjax.privacy.fitting import apply_model, batched, cross_entropy, fit, model_features


def _pool(x):
    b, h, w, c = x.shape
    return x.reshape(b, h // 2, 2, w // 2, 2, c).mean(axis=(2, 4))


class ImageIdentifier(nnx.Module):
    """`(B, H, W)` images → identity logits; `features` is the 128-d embedding before the head.
    H and W are padded (edge) to multiples of 4."""

    def __init__(
        self,
        n_classes: int,
        size: tuple[int, int],
        width: int = 16,
        embed: int = 128,
        *,
        rngs: nnx.Rngs,
    ):
        h, w = (-(-int(v) // 4) * 4 for v in size)
        conv = lambda i, o: nnx.Conv(i, o, (3, 3), rngs=rngs)  # noqa: E731
        self.c1, self.c2 = conv(1, width), conv(width, width)
        self.c3, self.c4 = conv(width, 2 * width), conv(2 * width, 2 * width)
        self.fc = nnx.Linear((h // 4) * (w // 4) * 2 * width, embed, rngs=rngs)
        self.norm = nnx.LayerNorm(embed, rngs=rngs)
        self.head = nnx.Linear(embed, n_classes, rngs=rngs)

    def features(self, img):
        b, h, w = img.shape
        x = jnp.pad(img, ((0, 0), (0, (-h) % 4), (0, (-w) % 4)), mode="edge")[..., None]
        a = nnx.gelu
        x = _pool(a(self.c2(a(self.c1(x)))))
        x = _pool(a(self.c4(a(self.c3(x)))))
        return self.norm(a(self.fc(x.reshape(b, -1))))

    def __call__(self, img):
        return self.head(self.features(img))


class Normaliser:
    """Global mean/std of the train images, applied to every split."""

    def __init__(self, train: np.ndarray):
        self.mu = float(np.mean(train))
        sd = float(np.std(train))
        self.sd = sd if sd > 1e-12 else 1.0

    def __call__(self, x) -> np.ndarray:
        return ((np.asarray(x, np.float32) - self.mu) / self.sd).astype(np.float32)


def train_identifier(
    train_img, train_y, val_img, val_y, *, n_classes: int, seed: int = 0, quick: bool = False
):
    """Train an `ImageIdentifier` on (train_img, train_y), selected on val by (top-1, −loss).
    Labels must be 0 … n_classes − 1. Returns (model, normaliser, record)."""
    from spjax.privacy.attackers import mean_cross_entropy, topk_accuracy

    train_img, val_img = np.asarray(train_img), np.asarray(val_img)
    if train_img.ndim != 3 or val_img.ndim != 3 or train_img.shape[1:] != val_img.shape[1:]:
        raise ValueError(
            f"images: expected (N, H, W) arrays of one size, got {train_img.shape} "
            f"and {val_img.shape}"
        )
    norm = Normaliser(train_img)
    model = ImageIdentifier(n_classes, train_img.shape[1:], rngs=nnx.Rngs(seed))
    vx = norm(val_img)

    def validate(m):
        logits = batched(apply_model, m, vx)
        return topk_accuracy(logits, val_y, 1), -mean_cross_entropy(logits, np.asarray(val_y))

    # The `conv:pinv` row of the attacker table; the clean-face classifier of T1 is the same net.
    model, record = fit(
        model,
        norm(train_img),
        np.asarray(train_y),
        loss=cross_entropy,
        validate=validate,
        seed=seed,
        **ATTACKS["conv:pinv"].fit_options(quick),
    )
    return model, norm, record


def identifier_attack(
    train, val, test, heldout=None, *, seed: int = 0, quick: bool = False
) -> dict:
    """Train an identifier on `train = (images, labels)`, select on `val`, score `test` once;
    `heldout = (images, labels)` of other identities gives open-set TAR (cosine of the
    embeddings). Same result fields as `attackers.run_attacker`."""
    from spjax.privacy.attackers import tar_at_far, topk_accuracy

    t0 = time.perf_counter()
    classes = np.unique(train[1])
    lut = {c: i for i, c in enumerate(classes)}
    relabel = lambda y: np.array([lut[c] for c in np.asarray(y)])  # noqa: E731
    for name, split in (("val", val), ("test", test)):
        if not np.isin(split[1], classes).all():
            raise ValueError(f"{name}: labels must be identities present in train")
    model, norm, record = train_identifier(
        train[0],
        relabel(train[1]),
        val[0],
        relabel(val[1]),
        n_classes=len(classes),
        seed=seed,
        quick=quick,
    )
    yte = relabel(test[1])
    scores = batched(apply_model, model, norm(test[0]))
    out = {
        "val_top1": record["val_score"],
        "hparams": {"best_epoch": record["best_epoch"]},
        "top1": topk_accuracy(scores, yte, 1),
        "top5": topk_accuracy(scores, yte, 5),
    }
    out["n_correct"] = int(round(out["top1"] * len(yte)))
    out["n_test"] = int(len(yte))
    if heldout is not None:
        out.update(
            tar_at_far(batched(model_features, model, norm(heldout[0])), np.asarray(heldout[1]))
        )
    out["seconds"] = round(time.perf_counter() - t0, 2)
    return out
