"""Reconstruction attack: invert the measurements, then recognise the image.

Reconstructors: the sensor's pseudo-inverse, Tikhonov (λ chosen on val by PSNR) and a learned
small U-Net (flax.nnx) trained on train-split faces to refine the pseudo-inverse (the
pseudo-inverse loses nothing of what the measurements hold, so refining it is not a weaker
attacker than learning from y). A face classifier trained on *clean* train faces
(`identifier.ImageIdentifier`), selected on clean val faces, then identifies the
reconstructions of the test faces. (The audit's `conv:pinv` attacker instead trains the same
identifier on the reconstructions themselves.) SSIM comes from
scikit-image (in the `faces` extra, like the recognizer).
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from flax import nnx

from spjax.privacy.attackers import topk_accuracy
from spjax.privacy.attacks import ATTACKS
from spjax.privacy.fitting import apply_model, batched, fit
from spjax.sensing import recon

UNET_STREAM = 17  # the U-Net initialises from seed + UNET_STREAM (apart from the classifier)


def psnr(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Mean PSNR (dB) over images `(N, H, W)` with data range 1; estimates clipped to [0, 1]."""
    reference, estimate = _pair(reference, estimate)
    # Identical images have infinite PSNR: cap at 100 dB so means stay finite.
    return float(np.mean(np.minimum(np.asarray(recon.psnr(estimate, reference)), 100.0)))


def ssim(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Mean SSIM over images `(N, H, W)` with data range 1; estimates clipped to [0, 1]."""
    from skimage.metrics import structural_similarity  # scikit-image: the `faces` extra

    reference, estimate = _pair(reference, estimate)
    side = min(reference.shape[1:])
    if side < 3:
        raise ValueError(f"reference: SSIM needs images of at least 3x3, got {reference.shape[1:]}")
    win = min(7, side if side % 2 else side - 1)  # skimage's default 7, or the largest odd fit
    return float(
        np.mean(
            [
                structural_similarity(r, e, data_range=1.0, win_size=win)
                for r, e in zip(reference, estimate)
            ]
        )
    )


def _ssim_or_nan(reference, estimate) -> float:
    try:
        return ssim(reference, estimate)
    except ImportError:  # without the `faces` extra the attack still runs; SSIM is NaN
        return float("nan")


def _pair(reference, estimate):
    reference = np.asarray(reference, np.float64)
    estimate = np.clip(np.asarray(estimate, np.float64), 0.0, 1.0)
    if reference.shape != estimate.shape or reference.ndim != 3:
        raise ValueError(
            f"reference/estimate: expected equal (N, H, W) shapes, got "
            f"{reference.shape} and {estimate.shape}"
        )
    return reference, estimate


# --------------------------------------------------------------------------- models


def _pool(x):
    b, h, w, c = x.shape
    return x.reshape(b, h // 2, 2, w // 2, 2, c).mean(axis=(2, 4))


def _up(x):
    return jnp.repeat(jnp.repeat(x, 2, axis=1), 2, axis=2)


class UNet(nnx.Module):
    """Two-level U-Net predicting a residual correction of its input image."""

    def __init__(self, width: int = 16, *, rngs: nnx.Rngs):
        c1, c2, c3 = width, 2 * width, 4 * width
        conv = lambda i, o: nnx.Conv(i, o, (3, 3), rngs=rngs)  # noqa: E731
        self.e1a, self.e1b = conv(1, c1), conv(c1, c1)
        self.e2a, self.e2b = conv(c1, c2), conv(c2, c2)
        self.mid_a, self.mid_b = conv(c2, c3), conv(c3, c3)
        self.d2a, self.d2b = conv(c3 + c2, c2), conv(c2, c2)
        self.d1a, self.d1b = conv(c2 + c1, c1), conv(c1, c1)
        self.out = nnx.Conv(c1, 1, (1, 1), rngs=rngs, kernel_init=nnx.initializers.zeros)

    def __call__(self, img):
        """img `(B, H, W)` → refined `(B, H, W)`; H, W are padded to multiples of 4."""
        b, h, w = img.shape
        ph, pw = (-h) % 4, (-w) % 4
        x = jnp.pad(img, ((0, 0), (0, ph), (0, pw)), mode="edge")[..., None]
        a = nnx.gelu
        s1 = a(self.e1b(a(self.e1a(x))))
        s2 = a(self.e2b(a(self.e2a(_pool(s1)))))
        m = a(self.mid_b(a(self.mid_a(_pool(s2)))))
        d2 = a(self.d2b(a(self.d2a(jnp.concatenate([_up(m), s2], -1)))))
        d1 = a(self.d1b(a(self.d1a(jnp.concatenate([_up(d2), s1], -1)))))
        return (x + self.out(d1))[:, :h, :w, 0]


def _mse(model, x, y):
    return jnp.mean((model(x) - y) ** 2)


# --------------------------------------------------------------------------- attack


def _relabel(*label_arrays):
    classes = np.unique(label_arrays[0])
    lut = {c: i for i, c in enumerate(classes)}
    return len(classes), [np.array([lut[c] for c in a]) for a in label_arrays]


def train_face_classifier(train_img, train_id, val_img, val_id, *, seed=0, quick=False):
    """Clean-face identity classifier (`identifier.ImageIdentifier`, train split), selected on
    clean val faces. Returns (classify, record): `classify(images) -> logits` over the train
    identities in sorted order."""
    from spjax.privacy.identifier import train_identifier

    n_classes, (ytr, yva) = _relabel(train_id, val_id)
    model, norm, record = train_identifier(
        train_img, ytr, val_img, yva, n_classes=n_classes, seed=seed, quick=quick
    )
    return (lambda images: batched(apply_model, model, norm(images))), record


def reconstruction_attack(
    sensor,
    images: dict,
    measurements: dict,
    *,
    seed: int = 0,
    quick: bool = False,
    classifier=None,
    keep_examples: int = 0,
) -> dict:
    """Run the reconstruction attack.

    `images[split] = (faces (N,H,W), identities (N,))` and `measurements[split] = y (N,K)` for
    splits `train`, `val`, `test` (same closed identity set). Returns per reconstructor
    `psnr`, `ssim`, `top1` (clean-face classifier on the reconstructions), plus `clean_top1`
    (the classifier's ceiling on clean test faces) and `chance`. `classifier`, when given, is
    a callable images → logits over the train identities in sorted order."""
    for split in ("train", "val", "test"):
        if split not in images or split not in measurements:
            raise ValueError(f"images/measurements: expected a '{split}' split")
    (tr_img, tr_id), (va_img, va_id), (te_img, te_id) = (
        images[s] for s in ("train", "val", "test")
    )
    n_classes, (_, yte) = _relabel(tr_id, te_id)
    if classifier is None:
        classifier, _ = train_face_classifier(tr_img, tr_id, va_img, va_id, seed=seed, quick=quick)
    pinv = {
        s: np.asarray(sensor.pinv(jnp.asarray(measurements[s])), np.float32)
        for s in ("train", "val", "test")
    }
    recons = {"pinv": pinv["test"]}
    # Tikhonov: λ relative to the mean squared pattern energy, chosen by val PSNR.
    energy = float(np.mean(np.sum(np.asarray(sensor.patterns(), np.float64) ** 2, axis=(1, 2))))
    energy = energy if energy > 0 else 1.0  # all-zero patterns: any λ > 0 reconstructs zero
    best = None
    for point in ATTACKS["reconstruction:tikhonov"].grid:
        rel = point["rel_lambda"]
        est = np.asarray(sensor.tikhonov(jnp.asarray(measurements["val"]), rel * energy))
        score = psnr(va_img, est)
        if best is None or score > best[0]:
            best = (score, rel * energy)
    lam = best[1]
    recons["tikhonov"] = np.asarray(
        sensor.tikhonov(jnp.asarray(measurements["test"]), lam), np.float32
    )
    # Learned reconstructor on the pseudo-inverse.
    unet = UNet(rngs=nnx.Rngs(seed + UNET_STREAM))
    clip = lambda a: np.clip(a, -0.5, 1.5).astype(np.float32)  # noqa: E731
    vx = jnp.asarray(clip(pinv["val"]))
    unet, urec = fit(
        unet,
        clip(pinv["train"]),
        tr_img.astype(np.float32),
        loss=_mse,
        validate=lambda m: -float(jnp.mean((apply_model(m, vx) - va_img) ** 2)),
        seed=seed,
        **ATTACKS["reconstruction:unet"].fit_options(quick),
    )
    recons["unet"] = np.clip(batched(apply_model, unet, clip(pinv["test"])), 0.0, 1.0)
    out = {
        "chance": 1.0 / n_classes,
        "clean_top1": topk_accuracy(classifier(te_img.astype(np.float32)), yte, 1),
        "tikhonov_lambda": lam,
        "unet_best_epoch": urec["best_epoch"],
        "methods": {},
    }
    for name, rec in recons.items():
        logits = classifier(np.clip(rec, 0.0, 1.0).astype(np.float32))
        out["methods"][name] = {
            "psnr": psnr(te_img, rec),
            "ssim": _ssim_or_nan(te_img, rec),
            "top1": topk_accuracy(logits, yte, 1),
            "top5": topk_accuracy(logits, yte, 5),
        }
    if keep_examples:
        out["examples"] = {
            "clean": te_img[:keep_examples].tolist(),
            **{k: np.clip(v[:keep_examples], 0, 1).tolist() for k, v in recons.items()},
        }
    best_name = max(out["methods"], key=lambda k: out["methods"][k]["top1"])
    out["best"] = {"name": best_name, **out["methods"][best_name]}
    return out
