"""The attacker suite of the privacy audit: what attackers see (a sensor's measurements, or the
clean faces for the ceiling) and every attacker trained on it for every seed.

`run_suite` trains each attacker of `spjax.privacy.attackers` on per-seed identity splits (60 /
20 / 20 %), adds `conv:pinv` (a convolutional identifier on the channel's images) and, for
noisy sensors, noise augmentation and an LDA on averaged repeated shots.
"""

from __future__ import annotations

import numpy as np

from spjax.privacy.attackers import Split, aggregate

CONV = "conv:pinv"  # reconstruct-then-identify: identifier trained on pinv reconstructions

# Noise keys of one audit seed s, all folded from jax.random.key(FACE_KEY + s): the closed-set
# faces (the root itself), the held-out identities, each extra noise-augmentation copy r ≥ 1
# (KEY_AUGMENT + r), and the averaged shots (KEY_SHOTS + j, one block of `shots` per copy; the
# held-out identities' from KEY_OTHER_SHOTS). The reconstruction attack reuses the root.
FACE_KEY = 10_007
KEY_OTHER, KEY_AUGMENT, KEY_SHOTS, KEY_OTHER_SHOTS = 1, 2, 1000, 900_000


def split_indices(ids: np.ndarray, per: int, rng: np.random.Generator):
    """Per identity: 60 % train, 20 % val, 20 % test (at least one each), shuffled by rng."""
    n_val = max(1, round(0.2 * per))
    tr, va, te = [], [], []
    for c in np.unique(ids):
        idx = rng.permutation(np.flatnonzero(ids == c))
        va.append(idx[:n_val])
        te.append(idx[n_val : 2 * n_val])
        tr.append(idx[2 * n_val :])
    return np.concatenate(tr), np.concatenate(va), np.concatenate(te)


def padded_call(fn, batch: np.ndarray, cap: int = 512) -> np.ndarray:
    """`fn(batch)` with the batch padded (zeros) to a power of two ≥ 8, then cut back: a few
    batch shapes, so a noisy sensor's jitted Poisson sampler compiles a few times, not once
    per split size."""
    n = len(batch)
    size = min(cap, max(8, 1 << max(0, n - 1).bit_length()))
    if size > n:
        batch = np.concatenate([batch, np.zeros((size - n, *batch.shape[1:]), batch.dtype)])
    return np.asarray(fn(batch))[:n]


def measure(sensor, images: np.ndarray, key) -> np.ndarray:
    import jax

    images = np.asarray(images, np.float32)
    out = []
    for i in range(0, len(images), 512):
        out.append(
            padded_call(lambda b, i=i: sensor(b, jax.random.fold_in(key, i)), images[i : i + 512])
        )
    return np.concatenate(out).astype(np.float32)


class SensorChannel:
    """What the attackers see through a sensor: measurements, and pinv images for `conv`."""

    def __init__(self, sensor):
        self.sensor = sensor
        self.noisy = sensor.noise is not None

    def measure(self, images, key):
        return measure(self.sensor, images, key)

    def images(self, y):
        import jax.numpy as jnp

        out = [
            np.asarray(self.sensor.pinv(jnp.asarray(y[i : i + 1024])), np.float32)
            for i in range(0, len(y), 1024)
        ]
        return np.concatenate(out)


class CleanChannel:
    """The clean faces themselves: pixels for the measurement attackers, images for `conv`."""

    noisy = False

    def __init__(self, size: int):
        self.size = size

    def measure(self, images, key):
        return np.asarray(images, np.float32).reshape(len(images), -1)

    def images(self, y):
        return np.asarray(y, np.float32).reshape(len(y), self.size, self.size)


def run_suite(
    channel,
    faces,
    settings,
    *,
    conv: bool,
    augment: int,
    shots: int,
    progress: bool = False,
    desc: str = "attackers",
) -> dict:
    """Every face attacker of `settings.attackers` (+ `conv:pinv` with `conv`) on `channel`
    for every seed of `settings.seeds` (the per-seed splits of `split_indices`), on `faces` =
    (images, ids, held-out images, held-out ids). Returns attack name -> aggregated metrics
    (see `attackers.aggregate`)."""
    import jax
    from tqdm.auto import tqdm

    from spjax.privacy.attackers import run_attacker
    from spjax.privacy.identifier import identifier_attack

    img, ids, other, other_ids = faces
    seeds, per, quick, attackers = (
        settings.seeds,
        settings.per_identity,
        settings.quick,
        settings.attackers,
    )
    augment = augment if channel.noisy else 1
    runs: dict[str, list] = {}
    jobs = len(seeds) * (len(attackers) + int(bool(conv)) + int(channel.noisy and shots > 1))
    bar = tqdm(total=jobs, desc=desc, disable=not progress, leave=False)
    for s in seeds:
        key = jax.random.key(FACE_KEY + s)
        y = channel.measure(img, key)
        y_other = channel.measure(other, jax.random.fold_in(key, KEY_OTHER))
        tr, va, te = split_indices(ids, per, np.random.default_rng(s))
        # Noise augmentation: the train faces re-measured with fresh noise (noisy sensors only).
        ytr = np.concatenate(
            [y[tr]]
            + [
                channel.measure(img[tr], jax.random.fold_in(key, KEY_AUGMENT + r))
                for r in range(1, augment)
            ]
        )
        ltr = np.tile(ids[tr], augment)
        train, val, test = Split(ytr, ltr), Split(y[va], ids[va]), Split(y[te], ids[te])
        heldout = Split(y_other, other_ids)
        for name in attackers:
            bar.set_postfix_str(f"seed {s} {name}")
            runs.setdefault(name, []).append(
                run_attacker(name, train, val, test, heldout, seed=int(s), quick=quick)
            )
            bar.update()
        if conv:
            bar.set_postfix_str(f"seed {s} {CONV}")
            runs.setdefault(CONV, []).append(
                identifier_attack(
                    (channel.images(ytr), ltr),
                    (channel.images(y[va]), ids[va]),
                    (channel.images(y[te]), ids[te]),
                    (channel.images(y_other), other_ids),
                    seed=int(s),
                    quick=quick,
                )
            )
            bar.update()
        if channel.noisy and shots > 1:
            # A still face watched for `shots` frames: the attacker averages the repeated shots.
            bar.set_postfix_str(f"seed {s} lda@{shots}shots")

            def averaged(images, base, key=key):
                return np.mean(
                    [
                        channel.measure(images, jax.random.fold_in(key, base + j))
                        for j in range(shots)
                    ],
                    axis=0,
                )

            ya = averaged(img, KEY_SHOTS)
            ya_tr = np.concatenate(
                [ya[tr]] + [averaged(img[tr], KEY_SHOTS + shots * r) for r in range(1, augment)]
            )
            runs.setdefault(f"lda@{shots}shots", []).append(
                run_attacker(
                    "lda",
                    Split(ya_tr, ltr),
                    Split(ya[va], ids[va]),
                    Split(ya[te], ids[te]),
                    Split(averaged(other, KEY_OTHER_SHOTS), other_ids),
                    seed=int(s),
                    quick=quick,
                )
            )
            bar.update()
    bar.close()
    return {name: aggregate(r) for name, r in runs.items()}
