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

from spjax.privacy.attackers import chance_levels, summarise
from spjax.privacy.calibration import calibration_section, face_sets
from spjax.privacy.leakage import leak_test, worst_case
from spjax.privacy.settings import AuditSettings
from spjax.privacy.suite import FACE_KEY, SensorChannel, measure, run_suite, split_indices
from spjax.sensing.patterns import sensor_label

THREAT_MODEL = (
    "closed-set identification of procedural faces: the attacker holds labelled measurements of "
    "the train faces (re-measured with fresh sensor noise `augment` times for a noisy sensor), "
    "knows the patterns (pseudo-inverse), and may average `shots` repeated measurements of a "
    "still face; the reconstruction attack also holds the clean train faces"
)


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
    settings: AuditSettings | None = None,
    *,
    figure: str | None = None,
    progress: bool = False,
    **overrides,
) -> dict:
    """Audit a frozen `sensor` with `settings` (an `AuditSettings`; keyword `overrides` build
    or change one, e.g. `privacy_audit(sensor, quick=True, identities=6)`).

    T2: per seed the faces of each identity are re-split 60/20/20 into train/val/test,
    measured with fresh sensor noise, and every face attacker (plus `conv:pinv`) is trained
    from scratch; open-set verification uses held-out identities. A noisy sensor's train faces
    are measured `augment` times and an LDA on the mean of `shots` repeated measurements runs
    too. T1: the reconstruction attack (first seed) and dlib's recognizer on photos. T3:
    scene re-identification (`scene_reid.scene_reid` with `settings.scene`). `calibrate` adds
    the T2 and T3 ceilings and attacker strengths. `figure` writes the one-page figure there.

    The audited identities are `identity_offset … identity_offset + identities − 1` (held-out
    ones follow them). For a sensor trained against faces, pass the number of training
    identities (`training_identities(run_dir)`): a learned sensor must be audited on people it
    never saw, or hiding *those* people's features would pass for privacy."""
    import jax

    if settings is None:
        settings = AuditSettings(**overrides)
    elif overrides:
        settings = settings.replace(**overrides)
    cfg = settings
    t0 = time.time()
    scene_sensor = sensor  # clips move: a pattern-timed sensor measures them as it would
    sensor = still_image_sensor(sensor)
    if (sensor.h, sensor.w) != (cfg.size, cfg.size):
        raise ValueError(
            f"size: the sensor measures {sensor.h}x{sensor.w} frames, got size={cfg.size}"
        )
    if cfg.scenes:  # a world T3 cannot render fails now, not after the face attackers
        from spjax.privacy.scene_reid import scene_config

        sc = cfg.scene
        scene_config(cfg.size, frames=sc.frames, identities=sc.identities, world_seed=sc.world_seed)
    faces = face_sets(cfg)
    img, ids, other, other_ids = faces
    per = cfg.per_identity
    n_test = len(split_indices(ids, per, np.random.default_rng(0))[2])
    chance = chance_levels(cfg.identities)
    noisy = sensor.noise is not None
    report: dict = {
        "sensor": sensor.describe(),
        "sensor_label": sensor_label(sensor.describe()),
        "setup": {
            "size": cfg.size,
            "identities": cfg.identities,
            "per_identity": per,
            "heldout_identities": cfg.heldout_identities,
            "n_test": n_test,
            "n_train": len(ids) - 2 * n_test,
            "n_val": n_test,
            "augment": cfg.augment if noisy else 1,
            "shots": cfg.shots if noisy else 1,
            "seeds": list(cfg.seeds),
            "quick": cfg.quick,
            "data_seed": cfg.data_seed,
            "identity_offset": cfg.identity_offset,
            "split": "per identity 60/20/20 train/val/test, re-drawn per seed",
            "threat_model": THREAT_MODEL,
        },
        "chance": chance,
    }
    report["attackers"] = run_suite(
        SensorChannel(sensor),
        faces,
        cfg,
        conv=cfg.conv,
        augment=cfg.augment,
        shots=cfg.shots,
        progress=progress,
        desc="attackers",
    )
    pool = dict(report["attackers"])
    examples = None
    if cfg.reconstruction:
        from spjax.privacy.reconstruction import reconstruction_attack

        seed = cfg.seeds[0]
        t_rec = time.time()
        y = measure(sensor, img, jax.random.key(FACE_KEY + seed))
        tr, va, te = split_indices(ids, per, np.random.default_rng(seed))
        rec = reconstruction_attack(
            sensor,
            {"train": (img[tr], ids[tr]), "val": (img[va], ids[va]), "test": (img[te], ids[te])},
            {"train": y[tr], "val": y[va], "test": y[te]},
            seed=seed,
            quick=cfg.quick,
            keep_examples=6,
        )
        examples = rec.pop("examples")
        rec["seed"] = seed
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
    if cfg.calibrate:
        report.update(calibration_section(sensor, report, faces, cfg, progress=progress))
    if cfg.scenes:
        report["scene_reid"] = _scene_section(scene_sensor, cfg)
    t_dlib = time.time()
    report["recognizer"] = _run_recognizer(sensor, cfg.recognizer, cfg.photos, cfg.seeds[0])
    report["recognizer"]["seconds"] = round(time.time() - t_dlib, 1)
    report["threat_models"] = threat_models(report)
    report["elapsed_s"] = round(time.time() - t0, 1)
    if figure:
        from spjax.privacy.figures import audit_figure

        audit_figure(report, figure, examples=examples)
        report["figure"] = str(figure)
    return report


def _scene_section(sensor, cfg: AuditSettings) -> dict:
    from spjax.privacy.scene_reid import scene_reid

    rep = scene_reid(
        sensor,
        quick=cfg.quick,
        calibrate=cfg.calibrate,
        identity_offset=cfg.identity_offset,
        **cfg.scene.kwargs(),
    )
    rep["leak"] = leak_test({k: v["pooled"] for k, v in rep["attackers"].items()}, rep["chance"])
    rep["leaks"] = rep["leak"]["leaks"]
    if cfg.quick:
        rep["note"] = "smoke test (--quick: fewer clips, shorter training)"
    return rep


def threat_models(report: dict) -> dict:
    """The three threat models side by side (docs/privacy.md): T1, the paper's (a pretrained
    face recognizer and a clean-trained identifier on reconstructions; `at_chance` when no
    such attack is significantly above chance, pooled bound at 1× chance); T2, informed
    attackers on close-up face measurements (the worst case, with ceiling and strength); T3,
    re-identification of people in the room stream (closed set and linkage on unseen people,
    with its clean-frame ceiling and the deployment target)."""
    out: dict = {}
    t1 = {}
    for name, m in (report.get("reconstruction") or {}).get("methods", {}).items():
        n = int(report["setup"]["n_test"])
        t1[f"reconstruction:{name}"] = {
            "top1": m["top1"],
            "pooled": {"correct": int(round(m["top1"] * n)), "n": n},
            "chance": report["chance"]["top1"],
        }
    rec = report.get("recognizer") or {}
    if "sensed" in rec:
        n = int(rec["n_probes"])
        t1["dlib"] = {
            "top1": rec["sensed"]["rank1"],
            "pooled": {"correct": int(round(rec["sensed"]["rank1"] * n)), "n": n},
            "chance": rec["chance_rank1"],
            "clean": rec["clean_sensor_res"]["rank1"],
        }
    if t1:
        worst = max(t1, key=lambda k: t1[k]["top1"] / t1[k]["chance"])
        above = {
            k: leak_test({k: v["pooled"]}, v["chance"], margin=1.0)["leaks"] for k, v in t1.items()
        }
        out["T1"] = {
            "what": "the paper's: a pretrained face recognizer (dlib) and a clean-trained "
            "identifier on reconstructions",
            "attacks": {
                k: {**v, "ratio_to_chance": v["top1"] / v["chance"]} for k, v in t1.items()
            },
            "worst": worst,
            "ratio_to_chance": t1[worst]["top1"] / t1[worst]["chance"],
            "above_chance": above,
            "at_chance": not any(above.values()),
        }
    w = report["worst_case"]
    out["T2"] = {
        "what": "informed attackers on close-up face measurements (the worst case)",
        "worst": w["name"],
        "top1": w["top1"],
        "ratio_to_chance": w["ratio_to_chance"],
        "leaks": report["leaks"],
        "ceiling": report.get("ceiling"),
        "attacker_strength": report.get("attacker_strength"),
    }
    sc = report.get("scene_reid")
    if sc:
        out["T3"] = t3_summary(sc)
    return out


def t3_summary(sc: dict) -> dict:
    """The T3 line of a scene re-identification report (`scene_reid.scene_reid`)."""
    b = sc["best"]
    line = {
        "what": "re-identification of people in the room stream, across clips",
        "identities": sc["setup"]["identities"],
        "chance": sc["chance"],
        "worst": b["name"],
        "top1": b["top1"],
        "ratio_to_chance": b["ratio_to_chance"],
        "ci95_ratio_to_chance": b["ci95_ratio_to_chance"],
        "linkage_auc": b.get("linkage", {}).get("auc"),
        "tar@far=0.01": b.get("linkage", {}).get("tar@far=0.01"),
        "leaks": sc.get("leaks"),
        "target_met": sc["target"]["met"],
    }
    if "ceiling" in sc:
        line["ceiling"] = sc["ceiling"]["best"]["top1"]
        line["ceiling_linkage_auc"] = sc["ceiling"]["best"].get("linkage", {}).get("auc")
        line["attacker_strength"] = sc["attacker_strength"]
    if sc["setup"].get("quick"):
        line["note"] = "quick (smoke-test sizes)"
    return line


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
    from spjax.privacy.recognizer import RecognizerUnavailable, photo_set, recognizer_attack

    try:
        photo_list, source = photo_set(photos)
        out = recognizer_attack(photo_list, sensor, seed=seed)
    except RecognizerUnavailable as err:
        if recognizer == "auto":
            return {"skipped": str(err)}
        raise
    out["photos"] = source
    return out


def format_threat_models(tm: dict) -> list[str]:
    """T1, T2 and T3 as three lines (× chance, and what calibrates each)."""
    lines = ["threat models:"] if tm else []
    if "T1" in tm:
        t = tm["T1"]
        lines.append(
            f"  T1 (recognizer / identifier on reconstructions): worst {t['worst']} "
            f"{t['ratio_to_chance']:.2f}x chance -> {'at chance' if t['at_chance'] else 'ABOVE chance'}"
        )
    if "T2" in tm:
        t = tm["T2"]
        cal = (
            ""
            if t["ceiling"] is None
            else f"; ceiling {t['ceiling']:.3f}, strength {t['attacker_strength']:.3f}"
        )
        lines.append(
            f"  T2 (informed, close-up faces): {t['worst']} {t['top1']:.3f} = "
            f"{t['ratio_to_chance']:.2f}x chance{cal}"
        )
    if "T3" in tm:
        t = tm["T3"]
        lo, hi = t["ci95_ratio_to_chance"]
        cal = (
            ""
            if "ceiling" not in t
            else f"; clean ceiling {t['ceiling']:.3f} (AUC {t['ceiling_linkage_auc']:.3f})"
        )
        auc = "n/a" if t["linkage_auc"] is None else f"{t['linkage_auc']:.3f}"
        lines.append(
            f"  T3 (room re-ID, {t['identities']} people): {t['worst']} {t['top1']:.3f} = "
            f"{t['ratio_to_chance']:.2f}x chance [95% {lo:.2f}-{hi:.2f}x], linkage AUC {auc}{cal}"
            f" -> target {'met' if t['target_met'] else 'NOT met'}"
        )
    return lines


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
    lines.extend(format_threat_models(report.get("threat_models") or {}))
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
