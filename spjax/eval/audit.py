"""The privacy audit of a frozen sensor, its calibration, and the critical sampling rate.

`privacy_audit` measures a sensor's face measurements with everything we can throw at them:
fresh attackers trained from scratch (several seeds; closed-form LDA and ridge, softmax,
MLP, attention, k-NN on the measurements, and `conv:pinv`, a convolutional identifier trained
on the sensor's pseudo-inverse reconstructions), an LDA on averaged repeated shots for noisy
sensors, the reconstruction attack (U-Net, clean-face classifier), re-identification of
people in scene clips (`scene_reid`), and dlib's face recognizer on real photos.

Every audit is calibrated: the same attacker families on the clean faces of the same splits
give the `ceiling` (the best identification the data allows them), the same attackers on a
full-rate noiseless Hadamard sensor of the same size give the reference, and
`attacker_strength` = reference worst case ÷ ceiling says how close the suite comes to the
ceiling when the sensor hides nothing. The leak decision pools the test predictions of all
seeds (`leakage.RULE`). An attacker the sensor was trained against never counts as the audit.
"""

from __future__ import annotations

import time

import numpy as np

from spjax.eval.attackers import ATTACKERS, Split, aggregate, chance_levels, summarise
from spjax.eval.leakage import ALPHA, MARGIN, MARGIN_RTOL, RULE, leak_test
from spjax.sensing.patterns import DEFAULT_HADAMARD_ORDER

__all__ = [
    "ALPHA",
    "MARGIN",
    "MARGIN_RTOL",
    "RULE",
    "STRENGTH_TARGET",
    "HADAMARD_DEFAULT",
    "canonical_family",
    "sensor_label",
    "privacy_audit",
    "calibration",
    "worst_case",
    "leaks",
    "critical_sampling_rate",
    "training_identities",
    "still_image_sensor",
    "format_summary",
]

STRENGTH_TARGET = 0.95  # a calibrated audit: reference worst case >= 0.95 x ceiling
HADAMARD_DEFAULT = f"hadamard:{DEFAULT_HADAMARD_ORDER}"  # "Hadamard" alone: the 2-D order
CONV = "conv:pinv"  # reconstruct-then-identify: identifier trained on pinv reconstructions
_ORDER_WORDS = {
    "low_frequency": "2-D low-frequency order",
    "sequency": "1-D sequency order",
    "cake_cutting": "cake-cutting order",
    "natural": "natural order",
    "variance": "variance order",
}
THREAT_MODEL = (
    "closed-set identification of procedural faces: the attacker holds labelled measurements of "
    "the train faces (re-measured with fresh sensor noise `augment` times for a noisy sensor), "
    "knows the patterns (pseudo-inverse), and may average `shots` repeated measurements of a "
    "still face; the reconstruction attack also holds the clean train faces"
)


def canonical_family(name: str) -> str:
    """`hadamard` alone means the 2-D low-frequency order (`hadamard:low_frequency`); any other
    name is returned unchanged."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"family: expected a family name, got {name!r}")
    return HADAMARD_DEFAULT if name == "hadamard" else name


def sensor_label(desc: dict) -> str:
    """A title naming the design and, for Hadamard patterns, the order."""
    fam = desc.get("family") or desc.get("kind") or "sensor"
    order = desc.get("order")
    if desc.get("kind") == "learned":
        base = f"learned ({desc.get('parameterization')}, init {fam})"
    else:
        base = fam.split(":", 1)[0] if order else fam
    if order:
        base += f", {_ORDER_WORDS.get(order, order + ' order')}"
    elif fam == "hadamard:rows":
        base += ", given rows"
    elif fam == "dct":
        base += ", zig-zag order"
    return base


def split_sizes(identities: int, quick: bool, per_identity, heldout_identities):
    if isinstance(identities, bool) or not isinstance(identities, int) or identities < 2:
        raise ValueError(f"identities: expected an int >= 2, got {identities!r}")
    per = per_identity or (20 if quick else 40)
    if per < 5:
        raise ValueError(f"per_identity: expected >= 5 (train/val/test), got {per}")
    held = heldout_identities if heldout_identities is not None else max(4, identities // 2)
    return per, held


def _split_indices(ids: np.ndarray, per: int, rng: np.random.Generator):
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


def _measure(sensor, images: np.ndarray, key) -> np.ndarray:
    import jax

    images = np.asarray(images, np.float32)
    out = []
    for i in range(0, len(images), 512):
        out.append(
            padded_call(lambda b, i=i: sensor(b, jax.random.fold_in(key, i)), images[i : i + 512])
        )
    return np.concatenate(out).astype(np.float32)


# --------------------------------------------------------------------------- channels


class _SensorChannel:
    """What the attackers see through a sensor: measurements, and pinv images for `conv`."""

    def __init__(self, sensor):
        self.sensor = sensor
        self.noisy = sensor.noise is not None

    def measure(self, images, key):
        return _measure(self.sensor, images, key)

    def images(self, y):
        import jax.numpy as jnp

        out = [
            np.asarray(self.sensor.pinv(jnp.asarray(y[i : i + 1024])), np.float32)
            for i in range(0, len(y), 1024)
        ]
        return np.concatenate(out)


class _CleanChannel:
    """The clean faces themselves: pixels for the measurement attackers, images for `conv`."""

    noisy = False

    def __init__(self, size: int):
        self.size = size

    def measure(self, images, key):
        return np.asarray(images, np.float32).reshape(len(images), -1)

    def images(self, y):
        return np.asarray(y, np.float32).reshape(len(y), self.size, self.size)


def _suite(
    channel,
    img,
    ids,
    other,
    other_ids,
    seeds,
    per,
    *,
    attackers,
    conv,
    augment,
    shots,
    quick,
    progress,
    desc,
) -> dict:
    """Every attacker on `channel` for every seed (the per-seed splits of `_split_indices`).
    Returns attack name -> aggregated metrics (see `attackers.aggregate`)."""
    import jax
    from tqdm.auto import tqdm

    from spjax.eval.attackers import run_attacker
    from spjax.eval.identifier import identifier_attack

    augment = augment if channel.noisy else 1
    runs: dict[str, list] = {}
    jobs = len(seeds) * (len(attackers) + int(bool(conv)) + int(channel.noisy and shots > 1))
    bar = tqdm(total=jobs, desc=desc, disable=not progress, leave=False)
    for s in seeds:
        key = jax.random.key(10_007 + s)
        y = channel.measure(img, key)
        y_other = channel.measure(other, jax.random.fold_in(key, 1))
        tr, va, te = _split_indices(ids, per, np.random.default_rng(s))
        # Noise augmentation: the train faces re-measured with fresh noise (noisy sensors only).
        ytr = np.concatenate(
            [y[tr]]
            + [channel.measure(img[tr], jax.random.fold_in(key, 2 + r)) for r in range(1, augment)]
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

            ya = averaged(img, 1000)
            ya_tr = np.concatenate(
                [ya[tr]] + [averaged(img[tr], 1000 + shots * r) for r in range(1, augment)]
            )
            runs.setdefault(f"lda@{shots}shots", []).append(
                run_attacker(
                    "lda",
                    Split(ya_tr, ltr),
                    Split(ya[va], ids[va]),
                    Split(ya[te], ids[te]),
                    Split(averaged(other, 900_000), other_ids),
                    seed=int(s),
                    quick=quick,
                )
            )
            bar.update()
    bar.close()
    return {name: aggregate(r) for name, r in runs.items()}


# --------------------------------------------------------------------------- calibration

_CALIBRATION_CACHE: dict = {}


def _full_rate_noiseless_hadamard(sensor) -> bool:
    return (
        sensor.noise is None
        and sensor.hadamard_rows() is not None
        and int(sensor.k) == int(sensor.h) * int(sensor.w)
    )


def calibration(
    *,
    size: int,
    identities: int,
    per_identity: int,
    heldout_identities: int,
    seeds,
    quick: bool,
    attackers,
    conv: bool,
    data_seed: int = 0,
    identity_offset: int = 0,
    faces=None,
    reference: bool = True,
    progress: bool = False,
) -> dict:
    """The ceiling (the attackers and the conv identifier on the clean faces of the audit's
    splits) and, with `reference`, the attackers (plus `conv:pinv` with `conv`) on a full-rate
    noiseless `hadamard:low_frequency` sensor of the same size. Cached per setting within the
    process (a benchmark shares one calibration across its cells)."""
    from spjax.sensing import Sensor

    base = (
        size,
        identities,
        per_identity,
        heldout_identities,
        tuple(seeds),
        quick,
        tuple(attackers),
        data_seed,
        identity_offset,
    )
    cached = _CALIBRATION_CACHE.setdefault(base, {})
    if faces is None:
        faces = _faces(
            size, identities, per_identity, heldout_identities, data_seed, identity_offset
        )
    img, ids, other, other_ids = faces
    common = dict(attackers=tuple(attackers), augment=1, shots=1, quick=quick, progress=progress)
    if "ceiling" not in cached:
        # The ceiling always includes the conv identifier on the clean images: it is the best
        # identification the data allows, whatever subset of attackers an audit runs.
        t0 = time.time()
        res = _suite(
            _CleanChannel(size),
            img,
            ids,
            other,
            other_ids,
            list(seeds),
            per_identity,
            conv=True,
            desc="ceiling (clean faces)",
            **common,
        )
        best = max(res, key=lambda a: res[a]["top1"]["mean"])
        cached["ceiling"] = {
            "top1": res[best]["top1"]["mean"],
            "name": best,
            "attackers": res,
            "seconds": round(time.time() - t0, 1),
        }
    out = {"ceiling": cached["ceiling"]}
    ref_key = f"reference:conv={bool(conv)}"
    if reference:
        if ref_key not in cached:
            t0 = time.time()
            ref = Sensor.hadamard(size, size, 1.0, order="low_frequency")
            res = _suite(
                _SensorChannel(ref),
                img,
                ids,
                other,
                other_ids,
                list(seeds),
                per_identity,
                conv=conv,
                desc="reference (full-rate Hadamard)",
                **common,
            )
            cached[ref_key] = _reference_entry(
                res,
                "a full-rate noiseless hadamard:low_frequency "
                "sensor of the same size, same faces and splits",
            )
            cached[ref_key]["seconds"] = round(time.time() - t0, 1)
        out["reference"] = cached[ref_key]
    return out


def _reference_entry(attack_results: dict, what: str) -> dict:
    worst = max(attack_results, key=lambda a: attack_results[a]["top1"]["mean"])
    return {
        "top1": attack_results[worst]["top1"]["mean"],
        "name": worst,
        "sensor": what,
        "attackers": attack_results,
    }


def _faces(size, identities, per, held, data_seed, identity_offset):
    from spjax.data.faces import generate_faces

    faces = generate_faces(
        identities, per, size=size, seed=data_seed, identity_offset=identity_offset
    )
    other = generate_faces(
        held,
        max(4, per // 2),
        size=size,
        seed=data_seed,
        identity_offset=identity_offset + identities,
    )
    # Class labels 0..identities-1 whatever the offset (attackers index logits by label).
    return (
        faces["image"],
        faces["identity"] - identity_offset,
        other["image"],
        other["identity"] - identity_offset,
    )


# --------------------------------------------------------------------------- decisions


def worst_case(attacks: dict, chance: float) -> dict:
    """The strongest attack by mean top-1 among `attacks` (name -> metrics with `top1:
    {mean, std, values}` and `pooled: {correct, n}`), with its pooled predictions."""
    if not attacks:
        raise ValueError("attacks: expected at least one attack result, got none")
    name = max(attacks, key=lambda k: attacks[k]["top1"]["mean"])
    t1 = attacks[name]["top1"]
    out = {
        "name": name,
        "top1": t1["mean"],
        "top1_std": t1["std"],
        "top1_values": t1["values"],
        "chance": chance,
        "ratio_to_chance": t1["mean"] / chance,
        "pooled": dict(attacks[name]["pooled"]),
    }
    for key in ("top5", "tar@far=0.01", "tar@far=0.001"):
        if key in attacks[name]:
            out[key] = attacks[name][key]["mean"]
    return out


def leaks(report: dict) -> bool:
    """The leak decision of an audit report (or of its `leak` entry)."""
    leak = report.get("leak", report)
    if "leaks" not in leak:
        raise ValueError("report: expected an audit report or its 'leak' entry")
    return bool(leak["leaks"])


def critical_sampling_rate(
    results_by_rate: dict, *, margin: float = MARGIN, alpha: float = ALPHA
) -> dict:
    """Smallest sampling rate r at which the sensor leaks under `leakage.RULE` with `margin`
    and `alpha`. `results_by_rate` maps r -> an audit report, a benchmark row, or any dict
    with a `leak` entry holding `by_attack` pooled counts and `chance` (the decision is
    recomputed from the counts). `rate` is None when no rate leaks; `monotone` says whether
    every rate above the critical one leaks too."""
    if not results_by_rate:
        raise ValueError("results_by_rate: expected at least one rate, got none")
    rows = []
    for r in sorted(results_by_rate, key=float):
        rep = results_by_rate[r]
        leak = rep.get("leak") if isinstance(rep, dict) else None
        if not isinstance(leak, dict) or "by_attack" not in leak or "chance" not in leak:
            raise ValueError(
                f"results_by_rate[{r}]: expected a 'leak' entry with pooled counts "
                f"per attack ('by_attack') and 'chance'"
            )
        test = leak_test(leak["by_attack"], leak["chance"], margin=margin, alpha=alpha)
        w = rep.get("worst_case", {})
        top1 = w.get("top1", rep.get("worst_top1"))
        rows.append(
            {
                "rate": float(r),
                "worst": w.get("name", rep.get("worst")),
                "top1": top1,
                "chance": leak["chance"],
                "ratio": None if top1 is None else top1 / leak["chance"],
                "evidence": test["evidence"],
                "lower_bound": test["lower_bound"],
                "leaks": test["leaks"],
            }
        )
    crit = next((row["rate"] for row in rows if row["leaks"]), None)
    monotone = crit is None or all(row["leaks"] for row in rows if row["rate"] >= crit)
    return {
        "rate": crit,
        "margin": margin,
        "alpha": alpha,
        "rule": RULE,
        "monotone": monotone,
        "per_rate": rows,
    }


def training_identities(run_dir) -> int:
    """How many face identities (ids 0 … n−1) the sensor in `run_dir` was trained against:
    `report.json`'s `privacy.training_identities`, else the run config's `data.n_identities`.
    A run directory with neither raises (auditing on possibly-seen identities is not an audit)."""
    import json
    import os

    for name, path in (
        ("report.json", ("privacy", "training_identities")),
        ("config.json", ("data", "n_identities")),
    ):
        f = os.path.join(run_dir, name)
        if not os.path.isfile(f):
            continue
        try:
            with open(f) as fh:
                node = json.load(fh)
            for part in path:
                node = node[part]
        except (json.JSONDecodeError, KeyError, TypeError):
            continue
        if isinstance(node, int) and node >= 0:
            return node
    raise ValueError(
        f"{run_dir}: neither report.json nor config.json says how many identities "
        f"the sensor was trained against; pass identity_offset explicitly"
    )


# --------------------------------------------------------------------------- the audit


def privacy_audit(
    sensor,
    *,
    size: int = 32,
    identities: int = 50,
    seeds=(0, 1, 2),
    quick: bool = False,
    per_identity: int | None = None,
    heldout_identities: int | None = None,
    attackers=ATTACKERS,
    conv: bool = True,
    augment: int | None = None,
    shots: int = 8,
    reconstruction: bool = True,
    calibrate: bool = True,
    scenes: bool = True,
    scene_options: dict | None = None,
    recognizer: bool | str = "auto",
    photos=None,
    data_seed: int = 0,
    identity_offset: int = 0,
    figure: str | None = None,
    progress: bool = False,
) -> dict:
    """Audit a frozen `sensor` on procedural faces of `identities` identities.

    Per seed the faces of each identity are re-split 60/20/20 into train/val/test, measured
    with fresh sensor noise, and every attacker of `attackers` (plus `conv:pinv` with `conv`)
    is trained from scratch; open-set verification uses `heldout_identities` others. A noisy
    sensor's train faces are measured `augment` times (default 4, quick 2) and an LDA on the
    mean of `shots` repeated measurements runs too. The reconstruction attack runs on the first
    seed. `calibrate` adds the ceiling and the attacker strength (see `calibration`); `scenes`
    adds scene re-identification (`scene_reid.scene_reid`, options in `scene_options`). The
    dlib recognizer runs on `photos` (an LFW-layout folder: cross-photo identification; a list
    of `Photo`; or None for the scikit-image thumbnails: same-photo re-identification);
    `recognizer="auto"` skips it, with the reason, when dlib is not installed. `figure` writes
    the one-page figure there.

    The audited identities are `identity_offset … identity_offset + identities − 1` (held-out
    ones follow them). For a sensor trained against faces, pass the number of training
    identities (`training_identities(run_dir)`): a learned sensor must be audited on people it
    never saw, or hiding *those* people's features would pass for privacy."""
    import jax

    t0 = time.time()
    scene_sensor = sensor  # clips move: a pattern-timed sensor measures them as it would
    sensor = still_image_sensor(sensor)
    if (sensor.h, sensor.w) != (size, size):
        raise ValueError(f"size: the sensor measures {sensor.h}x{sensor.w} frames, got size={size}")
    seeds = [int(s) for s in (seeds if not isinstance(seeds, int) else range(seeds))]
    if not seeds:
        raise ValueError("seeds: expected at least one seed, got none")
    attackers = tuple(attackers)
    unknown = [a for a in attackers if a not in ATTACKERS]
    if unknown:
        raise ValueError(f"attackers: expected names from {ATTACKERS}, got {unknown}")
    if not attackers and not conv:
        raise ValueError("attackers: expected at least one attacker (or conv=True), got none")
    per, held = split_sizes(identities, quick, per_identity, heldout_identities)
    if (
        isinstance(identity_offset, bool)
        or not isinstance(identity_offset, int)
        or identity_offset < 0
    ):
        raise ValueError(f"identity_offset: expected an int >= 0, got {identity_offset!r}")
    augment = (2 if quick else 4) if augment is None else augment
    for name, v in (("augment", augment), ("shots", shots)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{name}: expected an int >= 1, got {v!r}")
    faces = _faces(size, identities, per, held, data_seed, identity_offset)
    img, ids, other, other_ids = faces
    n_test = len(_split_indices(ids, per, np.random.default_rng(0))[2])
    chance = chance_levels(identities)
    noisy = sensor.noise is not None
    report: dict = {
        "sensor": sensor.describe(),
        "sensor_label": sensor_label(sensor.describe()),
        "setup": {
            "size": size,
            "identities": identities,
            "per_identity": per,
            "heldout_identities": held,
            "n_test": n_test,
            "n_train": len(ids) - 2 * n_test,
            "n_val": n_test,
            "augment": augment if noisy else 1,
            "shots": shots if noisy else 1,
            "seeds": seeds,
            "quick": quick,
            "data_seed": data_seed,
            "identity_offset": identity_offset,
            "split": "per identity 60/20/20 train/val/test, re-drawn per seed",
            "threat_model": THREAT_MODEL,
        },
        "chance": chance,
    }
    report["attackers"] = _suite(
        _SensorChannel(sensor),
        img,
        ids,
        other,
        other_ids,
        seeds,
        per,
        attackers=attackers,
        conv=conv,
        augment=augment,
        shots=shots,
        quick=quick,
        progress=progress,
        desc="attackers",
    )
    pool = dict(report["attackers"])
    examples = None
    if reconstruction:
        from spjax.eval.reconstruction import reconstruction_attack

        t_rec = time.time()
        y = _measure(sensor, img, jax.random.key(10_007 + seeds[0]))
        tr, va, te = _split_indices(ids, per, np.random.default_rng(seeds[0]))
        rec = reconstruction_attack(
            sensor,
            {"train": (img[tr], ids[tr]), "val": (img[va], ids[va]), "test": (img[te], ids[te])},
            {"train": y[tr], "val": y[va], "test": y[te]},
            seed=seeds[0],
            quick=quick,
            keep_examples=6,
        )
        examples = rec.pop("examples")
        rec["seed"] = seeds[0]
        rec["seconds"] = round(time.time() - t_rec, 1)
        report["reconstruction"] = rec
        for name, m in rec["methods"].items():
            pool[f"reconstruction:{name}"] = {
                "top1": summarise([m["top1"]]),
                "top5": summarise([m["top5"]]),
                "pooled": {"correct": int(round(m["top1"] * len(te))), "n": int(len(te))},
            }
    report["worst_case"] = worst_case(pool, chance["top1"])
    report["leak"] = leak_test({k: v["pooled"] for k, v in pool.items()}, chance["top1"])
    report["leaks"] = report["leak"]["leaks"]
    if calibrate:
        report.update(
            _calibrate(
                sensor,
                report,
                faces,
                size=size,
                identities=identities,
                per=per,
                held=held,
                seeds=seeds,
                quick=quick,
                attackers=attackers,
                conv=conv,
                data_seed=data_seed,
                identity_offset=identity_offset,
                progress=progress,
            )
        )
    if scenes:
        report["scene_reid"] = _scene_section(
            scene_sensor, quick=quick, identity_offset=identity_offset, options=scene_options
        )
    t_dlib = time.time()
    report["recognizer"] = _run_recognizer(sensor, recognizer, photos, seeds[0])
    report["recognizer"]["seconds"] = round(time.time() - t_dlib, 1)
    report["elapsed_s"] = round(time.time() - t0, 1)
    if figure:
        from spjax.eval.figures import audit_figure

        audit_figure(report, figure, examples=examples)
        report["figure"] = str(figure)
    return report


def _calibrate(
    sensor,
    report,
    faces,
    *,
    size,
    identities,
    per,
    held,
    seeds,
    quick,
    attackers,
    conv,
    data_seed,
    identity_offset,
    progress,
) -> dict:
    own = _full_rate_noiseless_hadamard(sensor)
    cal = calibration(
        size=size,
        identities=identities,
        per_identity=per,
        heldout_identities=held,
        seeds=seeds,
        quick=quick,
        attackers=attackers,
        conv=conv,
        data_seed=data_seed,
        identity_offset=identity_offset,
        faces=faces,
        reference=not own,
        progress=progress,
    )
    if own:
        # Measured attacks only: the reconstruction attack is not part of the calibrated suite.
        ref = _reference_entry(report["attackers"], "this sensor (full-rate, noiseless Hadamard)")
    else:
        ref = cal["reference"]
    ceiling = cal["ceiling"]
    strength = ref["top1"] / ceiling["top1"] if ceiling["top1"] > 0 else float("nan")
    calibrated = bool(strength >= STRENGTH_TARGET)
    note = (
        "attackers calibrated: at full rate, noiseless, they reach "
        f"{strength:.3f} of the ceiling (target {STRENGTH_TARGET})"
        if calibrated
        else f"attackers NOT calibrated: at full rate, noiseless, they reach only {strength:.3f} "
        f"of the ceiling (target {STRENGTH_TARGET}); every x-chance figure is a lower bound "
        "of unknown slack"
    )
    if quick:
        note = "smoke test (--quick: small grids, short training, fewer faces); " + note
    return {
        "ceiling": ceiling["top1"],
        "attacker_strength": strength,
        "calibration": {
            "ceiling": {
                "top1": ceiling["top1"],
                "name": ceiling["name"],
                "what": "best mean top-1 on the clean faces of the same splits: the same "
                "attacker families on the pixels (incl. the pixel-domain "
                "LDA/ridge probes) and the conv identifier on the images",
                "attackers": {k: _brief(v) for k, v in ceiling["attackers"].items()},
            },
            "reference": {
                "top1": ref["top1"],
                "name": ref["name"],
                "sensor": ref["sensor"],
                "attackers": {k: _brief(v) for k, v in ref["attackers"].items()},
            },
            "attacker_strength": strength,
            "definition": "reference worst case / ceiling",
            "strength_by_attack": strength_by_attack(ref["attackers"], ceiling["attackers"]),
            "target": STRENGTH_TARGET,
            "calibrated": calibrated,
            "smoke_test": bool(quick),
            "note": note,
        },
    }


def strength_by_attack(reference: dict, ceiling: dict) -> dict:
    """Per attack family: its top-1 on the full-rate reference ÷ the same family's top-1 on the
    clean faces (how much of its own clean-data power the measurements leave it). The audit's
    `attacker_strength` is the best of the suite; a family far below 1 here is one whose input
    basis (not the data) holds it back."""
    out = {}
    for name, m in reference.items():
        c = ceiling.get(name)
        if c is not None and c["top1"]["mean"] > 0:
            out[name] = m["top1"]["mean"] / c["top1"]["mean"]
    return out


def _brief(m: dict) -> dict:
    return {"top1": m["top1"]["mean"], "top1_std": m["top1"]["std"], "pooled": m["pooled"]}


def _scene_section(sensor, *, quick, identity_offset, options) -> dict:
    from spjax.eval.scene_reid import scene_reid

    opts = dict(options or {})
    opts.setdefault("identity_offset", identity_offset)
    rep = scene_reid(sensor, quick=quick, **opts)
    rep["leak"] = leak_test({k: v["pooled"] for k, v in rep["attackers"].items()}, rep["chance"])
    rep["leaks"] = rep["leak"]["leaks"]
    if quick:
        rep["note"] = "smoke test (--quick: fewer clips, closed-form attackers only)"
    return rep


def still_image_sensor(sensor):
    """The same patterns, split and noise, measuring single still frames. Faces and photos
    do not move, so pattern-synchronous timing equals frame-synchronous timing for them, and
    a (N, H, W) batch must not be read as one clip of N frames."""
    if getattr(sensor, "timing", "frame") == "frame":
        return sensor
    from spjax.sensing import Sensor

    return Sensor.from_patterns(
        np.asarray(sensor.patterns()), split=sensor.split, noise=sensor.noise, timing="frame"
    )


def _run_recognizer(sensor, recognizer, photos, seed) -> dict:
    if recognizer is False:
        return {"skipped": "disabled by the caller"}
    from spjax.eval.recognizer import RecognizerUnavailable, photo_set, recognizer_attack

    try:
        photo_list, source = photo_set(photos)
        out = recognizer_attack(photo_list, sensor, seed=seed)
    except RecognizerUnavailable as err:
        if recognizer == "auto":
            return {"skipped": str(err)}
        raise
    out["photos"] = source
    return out


def format_summary(report: dict) -> str:
    """A few human-readable lines for the terminal."""
    s, w, c = report["sensor"], report["worst_case"], report["chance"]
    lines = [
        f"sensor: {report.get('sensor_label') or sensor_label(s)} r={s['sampling_rate']:.4g} "
        f"K={s['k']} {s['h']}x{s['w']} split={s['split']}"
        f"{'' if s.get('noise') is None else ' photons=' + format(s['noise']['photons'], 'g')}",
        f"faces: {report['setup']['identities']} identities, chance top-1 {c['top1']:.3f}; "
        f"{len(report['setup']['seeds'])} seed(s)",
    ]
    if report["setup"].get("quick"):
        lines.insert(
            0, "SMOKE TEST (--quick): small grids and short training; not a calibrated audit"
        )
    for name, m in report["attackers"].items():
        tar = m.get("tar@far=0.01", {}).get("mean", float("nan"))
        lines.append(
            f"  {name:<12} top-1 {m['top1']['mean']:.3f} ± {m['top1']['std']:.3f}  "
            f"top-5 {m['top5']['mean']:.3f}  TAR@1e-2 {tar:.3f}"
        )
    if "reconstruction" in report:
        for name, m in report["reconstruction"]["methods"].items():
            lines.append(
                f"  recon:{name:<8} top-1 {m['top1']:.3f}  PSNR {m['psnr']:.1f} dB  "
                f"SSIM {m['ssim']:.3f}"
            )
    lk = report["leak"]
    lines.append(
        f"worst case: {w['name']} top-1 {w['top1']:.3f} = {w['ratio_to_chance']:.2f}x "
        f"chance; pooled bound {lk['lower_bound']:.3f} ({lk['evidence']}) vs "
        f"{lk['margin']:g}x chance {lk['threshold']:.3f} -> "
        f"{'LEAKS' if report['leaks'] else 'within margin'}"
    )
    if "calibration" in report:
        cal = report["calibration"]
        lines.append(
            f"ceiling (clean faces) {report['ceiling']:.3f} ({cal['ceiling']['name']}); "
            f"full-rate reference {cal['reference']['top1']:.3f} "
            f"({cal['reference']['name']}); attacker_strength "
            f"{report['attacker_strength']:.3f}"
        )
        lines.append(f"  {cal['note']}")
    sc = report.get("scene_reid")
    if sc:
        lines.append(
            f"scene re-ID ({sc['setup']['identities']} people, chance {sc['chance']:.3f}): "
            + ", ".join(f"{k} {v['top1']:.3f}" for k, v in sc["attackers"].items())
            + f" -> {'LEAKS' if sc['leaks'] else 'within margin'}"
        )
        if sc.get("note"):
            lines.append(f"  {sc['note']}")
    rec = report.get("recognizer", {})
    if "sensed" in rec:
        lines.append(
            f"  dlib ({rec['mode']}, {rec['n_gallery']} identities): rank-1 sensed "
            f"{rec['sensed']['rank1']:.3f} (clean at sensor res "
            f"{rec['clean_sensor_res']['rank1']:.3f}, chance {rec['chance_rank1']:.3f}); "
            f"face detected in {rec['clean_detection_rate']:.0%} of clean and "
            f"{rec['recon_detection_rate']:.0%} of sensed probes"
        )
    elif rec:
        lines.append(f"  dlib: skipped ({rec.get('skipped')})")
    return "\n".join(lines)
