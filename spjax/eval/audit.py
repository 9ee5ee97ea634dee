"""The privacy audit of a frozen sensor, and the critical sampling rate.

`privacy_audit` measures a sensor's face measurements with everything we can throw at them:
fresh attackers (several seeds, mean ± std), the reconstruction attack and dlib's real face
recognizer on real photos. The reported `worst_case` is the strongest attack by mean top-1,
next to chance; an attacker the sensor was trained against never counts as the audit.
"""

from __future__ import annotations

import math
import time

import numpy as np

from spjax.eval.attackers import ATTACKERS, Split, chance_levels, run_attackers, summarise

MARGIN = 2.0  # leakage = worst attacker >= MARGIN x chance ...
ALPHA = 0.05  # ... and above chance with p < ALPHA
# Relative tolerance for comparing a mean top-1 with margin x chance, so that a mean equal to it
# (e.g. 0.1 vs 2 x 0.05) does not flip on float rounding; it counts as reaching the margin.
MARGIN_RTOL = 1e-9


def _sizes(identities: int, quick: bool, per_identity, heldout_identities):
    if isinstance(identities, bool) or not isinstance(identities, int) or identities < 2:
        raise ValueError(f"identities: expected an int >= 2, got {identities!r}")
    per = per_identity or (10 if quick else 20)
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


def _measure(sensor, images: np.ndarray, key) -> np.ndarray:
    import jax

    out = []
    for i in range(0, len(images), 512):
        out.append(np.asarray(sensor(images[i : i + 512], jax.random.fold_in(key, i))))
    return np.concatenate(out).astype(np.float32)


def significance(values, chance: float, n_trials: int) -> float:
    """One-sided p-value that top-1 exceeds chance. Several seeds: one-sample t-test across
    seeds (identical seeds: 0 if above chance, else 1). One seed: exact binomial test on the
    `n_trials` test predictions."""
    v = np.asarray(values, np.float64)
    if len(v) >= 2:
        if np.ptp(v) == 0:
            return 0.0 if v[0] > chance else 1.0
        df = len(v) - 1
        t = (v.mean() - chance) / (v.std(ddof=1) / math.sqrt(len(v)))
        return _student_t_sf(float(t), df)
    k = int(round(v[0] * n_trials))
    # P(X >= k) for X ~ Binomial(n_trials, chance), summed exactly.
    return float(min(1.0, sum(math.comb(n_trials, i) * chance**i * (1 - chance) ** (n_trials - i)
                              for i in range(k, n_trials + 1))))


def _student_t_sf(t: float, df: int) -> float:
    """P(T > t) for Student's t with `df` degrees of freedom, via the regularised incomplete
    beta function (jax.scipy; keeps scipy out of spjax's core dependencies)."""
    from jax.scipy.special import betainc

    tail = 0.5 * float(betainc(df / 2.0, 0.5, df / (df + t * t)))
    return tail if t > 0 else 1.0 - tail


def worst_case(attackers: dict, chance: float, n_test: int, *, extra: dict | None = None) -> dict:
    """The strongest attack by mean top-1 among `attackers` (name -> metrics with
    `top1: {mean, std, values}`) and `extra` (same form, e.g. the reconstruction attack)."""
    pool = dict(attackers)
    pool.update(extra or {})
    if not pool:
        raise ValueError("attackers: expected at least one attacker result, got none")
    name = max(pool, key=lambda k: pool[k]["top1"]["mean"])
    t1 = pool[name]["top1"]
    out = {
        "name": name,
        "top1": t1["mean"],
        "top1_std": t1["std"],
        "top1_values": t1["values"],
        "chance": chance,
        "ratio_to_chance": t1["mean"] / chance,
        "p_value": significance(t1["values"], chance, n_test),
    }
    for key in ("top5", "tar@far=0.01", "tar@far=0.001"):
        if key in pool[name]:
            out[key] = pool[name][key]["mean"]
    return out


def leaks(worst: dict, *, margin: float = MARGIN, alpha: float = ALPHA) -> bool:
    """Does the worst attacker beat chance by the stated margin, significantly?"""
    reached = worst["top1"] >= margin * worst["chance"] * (1 - MARGIN_RTOL)
    return bool(reached and worst["p_value"] < alpha)


def critical_sampling_rate(results_by_rate: dict, *, margin: float = MARGIN,
                           alpha: float = ALPHA) -> dict:
    """Smallest sampling rate r whose worst attacker reaches `margin` x chance and is above
    chance with p < `alpha` (see `significance`). `results_by_rate` maps r -> an audit report
    (or just its `worst_case` dict). `rate` is None when no rate leaks; `monotone` says
    whether every rate above the critical one leaks too."""
    if not results_by_rate:
        raise ValueError("results_by_rate: expected at least one rate, got none")
    rows = []
    for r in sorted(results_by_rate, key=float):
        rep = results_by_rate[r]
        w = rep.get("worst_case", rep)
        for field in ("top1", "chance", "p_value"):
            if field not in w:
                raise ValueError(f"results_by_rate[{r}]: worst case lacks '{field}'")
        rows.append({"rate": float(r), "worst": w.get("name"), "top1": w["top1"],
                     "chance": w["chance"], "ratio": w["top1"] / w["chance"],
                     "p_value": w["p_value"], "leaks": leaks(w, margin=margin, alpha=alpha)})
    crit = next((row["rate"] for row in rows if row["leaks"]), None)
    monotone = crit is None or all(row["leaks"] for row in rows if row["rate"] >= crit)
    return {"rate": crit, "margin": margin, "alpha": alpha, "monotone": monotone, "per_rate": rows}


def training_identities(run_dir) -> int:
    """How many face identities (ids 0 … n−1) the sensor in `run_dir` was trained against:
    `report.json`'s `privacy.training_identities`, else the run config's `data.n_identities`.
    A run directory with neither raises (auditing on possibly-seen identities is not an audit)."""
    import json
    import os

    for name, path in (("report.json", ("privacy", "training_identities")),
                       ("config.json", ("data", "n_identities"))):
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
    raise ValueError(f"{run_dir}: neither report.json nor config.json says how many identities "
                     f"the sensor was trained against; pass identity_offset explicitly")


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
    reconstruction: bool = True,
    recognizer: bool | str = "auto",
    photos=None,
    data_seed: int = 0,
    identity_offset: int = 0,
    figure: str | None = None,
    progress: bool = False,
) -> dict:
    """Audit a frozen `sensor` on procedural faces of `identities` identities.

    Per seed the images of each identity are re-split 60/20/20 into train/val/test, measured
    with fresh sensor noise, and every attacker is trained from scratch; open-set verification
    uses `heldout_identities` others. The reconstruction attack runs on the first seed. The
    dlib recognizer runs on `photos` (an LFW-layout folder, a list of `Photo`, or None for the
    photos shipped with scikit-image); `recognizer="auto"` skips it, with the reason, when dlib
    is not installed. `figure` writes the one-page figure there.

    The audited identities are `identity_offset … identity_offset + identities − 1` (held-out
    ones follow them). For a sensor trained against faces, pass the number of training
    identities (`training_identities(run_dir)`): a learned sensor must be audited on people it
    never saw, or hiding *those* people's features would pass for privacy."""
    import jax

    from spjax.data.faces import generate_faces

    t0 = time.time()
    sensor = still_image_sensor(sensor)
    if (sensor.h, sensor.w) != (size, size):
        raise ValueError(f"size: the sensor measures {sensor.h}x{sensor.w} frames, got size={size}")
    seeds = [int(s) for s in (seeds if not isinstance(seeds, int) else range(seeds))]
    if not seeds:
        raise ValueError("seeds: expected at least one seed, got none")
    unknown = [a for a in attackers if a not in ATTACKERS]
    if unknown:
        raise ValueError(f"attackers: expected names from {ATTACKERS}, got {unknown}")
    per, held = _sizes(identities, quick, per_identity, heldout_identities)
    if isinstance(identity_offset, bool) or not isinstance(identity_offset, int) or identity_offset < 0:
        raise ValueError(f"identity_offset: expected an int >= 0, got {identity_offset!r}")
    faces = generate_faces(identities, per, size=size, seed=data_seed, identity_offset=identity_offset)
    other = generate_faces(held, max(4, per // 2), size=size, seed=data_seed,
                           identity_offset=identity_offset + identities)
    # Class labels 0..identities-1 whatever the offset (attackers index logits by label).
    img, ids = faces["image"], faces["identity"] - identity_offset
    other["identity"] = other["identity"] - identity_offset
    splits, first = {}, None
    for s in seeds:
        key = jax.random.key(10_007 + s)
        y = _measure(sensor, img, key)
        y_other = _measure(sensor, other["image"], jax.random.fold_in(key, 1))
        tr, va, te = _split_indices(ids, per, np.random.default_rng(s))
        splits[s] = (Split(y[tr], ids[tr]), Split(y[va], ids[va]), Split(y[te], ids[te]),
                     Split(y_other, other["identity"]))
        if first is None:
            first = (y, tr, va, te)
    n_test = len(splits[seeds[0]][2].y)
    chance = chance_levels(identities)
    report: dict = {
        "sensor": sensor.describe(),
        "setup": {"size": size, "identities": identities, "per_identity": per,
                  "heldout_identities": held, "n_train": len(splits[seeds[0]][0].y),
                  "n_val": len(splits[seeds[0]][1].y), "n_test": n_test,
                  "seeds": seeds, "quick": quick, "data_seed": data_seed,
                  "identity_offset": identity_offset,
                  "split": "per identity 60/20/20 train/val/test, re-drawn per seed"},
        "chance": chance,
    }
    report["attackers"] = run_attackers(splits, names=tuple(attackers), quick=quick,
                                        progress=progress)
    extra = {}
    examples = None
    if reconstruction:
        from spjax.eval.reconstruction import reconstruction_attack

        y, tr, va, te = first
        t_rec = time.time()
        rec = reconstruction_attack(
            sensor,
            {"train": (img[tr], ids[tr]), "val": (img[va], ids[va]), "test": (img[te], ids[te])},
            {"train": y[tr], "val": y[va], "test": y[te]},
            seed=seeds[0], quick=quick, keep_examples=6)
        examples = rec.pop("examples")
        rec["seed"] = seeds[0]
        rec["seconds"] = round(time.time() - t_rec, 1)
        report["reconstruction"] = rec
        for name, m in rec["methods"].items():
            extra[f"reconstruction:{name}"] = {"top1": summarise([m["top1"]]),
                                               "top5": summarise([m["top5"]])}
    report["worst_case"] = worst_case(report["attackers"], chance["top1"], n_test, extra=extra)
    report["leaks"] = leaks(report["worst_case"])
    t_dlib = time.time()
    report["recognizer"] = _run_recognizer(sensor, recognizer, photos, seeds[0])
    report["recognizer"]["seconds"] = round(time.time() - t_dlib, 1)
    report["elapsed_s"] = round(time.time() - t0, 1)
    if figure:
        from spjax.eval.figures import audit_figure

        audit_figure(report, figure, examples=examples)
        report["figure"] = str(figure)
    return report


def still_image_sensor(sensor):
    """The same patterns, split and noise, measuring single still frames. Faces and photos
    do not move, so pattern-synchronous timing equals frame-synchronous timing for them, and
    a (N, H, W) batch must not be read as one clip of N frames."""
    if getattr(sensor, "timing", "frame") == "frame":
        return sensor
    from spjax.sensing import Sensor

    return Sensor.from_patterns(np.asarray(sensor.patterns()), split=sensor.split,
                                noise=sensor.noise, timing="frame")


def _run_recognizer(sensor, recognizer, photos, seed) -> dict:
    if recognizer is False:
        return {"skipped": "disabled by the caller"}
    from spjax.eval.recognizer import RecognizerUnavailable, builtin_photos, load_lfw_folder, \
        recognizer_attack

    try:
        if photos is None:
            photo_list, source = builtin_photos(), "scikit-image (astronaut + lfw_subset faces)"
        elif isinstance(photos, (list, tuple)):
            photo_list, source = list(photos), "given photos"
        else:
            photo_list, source = load_lfw_folder(photos), str(photos)
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
    lines = [f"sensor: {s.get('family') or s.get('kind')} r={s['sampling_rate']:.4g} "
             f"K={s['k']} {s['h']}x{s['w']} split={s['split']}",
             f"chance top-1 {c['top1']:.3f}; {len(report['setup']['seeds'])} seed(s)"]
    for name, m in report["attackers"].items():
        lines.append(f"  {name:<10} top-1 {m['top1']['mean']:.3f} ± {m['top1']['std']:.3f}  "
                     f"top-5 {m['top5']['mean']:.3f}  TAR@1e-2 {m['tar@far=0.01']['mean']:.3f}")
    if "reconstruction" in report:
        for name, m in report["reconstruction"]["methods"].items():
            lines.append(f"  recon:{name:<8} top-1 {m['top1']:.3f}  PSNR {m['psnr']:.1f} dB  "
                         f"SSIM {m['ssim']:.3f}")
    rec = report.get("recognizer", {})
    if "sensed" in rec:
        lines.append(f"  dlib rank-1 sensed {rec['sensed']['rank1']:.3f} (clean at sensor res "
                     f"{rec['clean_sensor_res']['rank1']:.3f}, chance {rec['chance_rank1']:.3f})")
    elif rec:
        lines.append(f"  dlib: skipped ({rec.get('skipped')})")
    lines.append(f"worst case: {w['name']} top-1 {w['top1']:.3f} = {w['ratio_to_chance']:.2f}x "
                 f"chance (p={w['p_value']:.2g}) -> {'LEAKS' if report['leaks'] else 'within margin'}")
    return "\n".join(lines)


def _finite_or_none(x):
    return None if isinstance(x, float) and not math.isfinite(x) else x


def to_json(obj):
    """JSON-safe copy: numpy scalars/arrays to Python, NaN/inf to null."""
    if isinstance(obj, dict):
        return {str(k): to_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_json(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_json(obj.tolist())
    if isinstance(obj, np.generic):
        return to_json(obj.item())
    if isinstance(obj, float):
        return _finite_or_none(obj)
    return obj
