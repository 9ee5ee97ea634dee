"""One cell of the sweep: audit a design at one rate and photon budget (faces and scene
re-identification), or train it with a recipe for its utility; rows are appended to JSONL so a
rerun skips finished cells."""

from __future__ import annotations

import json
import os
import time

from spjax.bench.grid import SCENE_IDENTITIES, design_overrides
from spjax.jsonio import to_jsonable
from spjax.privacy.settings import AuditSettings, SceneSettings
from spjax.sensing.patterns import canonical_family


def train_design(
    design: str, recipe: str, *, rate: float, photons, size: int, workdir: str, overrides=()
) -> dict:
    """Train `recipe` as `design` at `rate`/`photons` (after the `overrides` "key=value"
    strings) into `workdir` and return {"utility", "training_identities", "workdir"}.

    Resumable: a finished workdir (report.json) is reused, an interrupted one resumes from its
    last checkpoint."""
    from spjax.privacy.audit import training_identities

    report_path = os.path.join(workdir, "report.json")
    if not os.path.isfile(report_path):
        from spjax.training import load_recipe, run_recipe
        from spjax.training.checkpoint import has_checkpoint
        from spjax.training.config import apply_overrides, set_value

        cfg = apply_overrides(load_recipe(recipe), list(overrides))
        cfg.sensor.rate = float(rate)
        cfg.sensor.photons = 0.0 if photons is None else float(photons)
        cfg.data.size = int(size)
        for dotted, value in design_overrides(design).items():
            set_value(cfg, dotted, value)
        run_recipe(cfg, workdir, resume=has_checkpoint(workdir))
    with open(report_path) as f:
        report = json.load(f)
    u = report.get("utility") or {}
    keep = (
        "anomaly_accuracy",
        "anomaly_balanced_accuracy",
        "anomaly_auroc",
        "count_mae",
        "count_exact_accuracy",
        "activity_accuracy",
        "rouge_l",
        "bleu4",
        "unparseable",
    )
    return {
        "utility": {k: u.get(k) for k in keep},
        "workdir": workdir,
        "training_identities": training_identities(workdir),
        "training_adversary_top1": (report.get("privacy") or {})
        .get("training_adversary", {})
        .get("worst_case_top1"),
    }


def cell_key(family: str, rate: float, photons) -> str:
    return f"{family}|r={rate:g}|photons={'none' if photons is None else f'{photons:g}'}"


def read_rows(path: str) -> list[dict]:
    rows = []
    if os.path.isfile(path):
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line:
                    try:
                        rows.append(json.loads(line))
                    except json.JSONDecodeError:
                        continue  # a line cut by an interrupted run; the cell reruns
    return rows


def append_row(path: str, row: dict) -> None:
    with open(path, "a") as f:
        f.write(json.dumps(to_jsonable(row)) + "\n")
        f.flush()
        os.fsync(f.fileno())


def _compact_leak(leak: dict) -> dict:
    """What a row keeps of `leakage.leak_test`: enough to recompute the decision."""
    return {
        "chance": leak["chance"],
        "evidence": leak["evidence"],
        "lower_bound": leak["lower_bound"],
        "threshold": leak["threshold"],
        "leaks": leak["leaks"],
        "by_attack": {
            k: {"correct": v["correct"], "n": v["n"]} for k, v in leak["by_attack"].items()
        },
    }


def audit_settings(grid: dict, *, size: int, quick: bool, scenes: dict | None) -> AuditSettings:
    """The sweep's one `AuditSettings` (every cell audits with it, the calibration too):
    `grid` (a preset of `grid.GRIDS` with the user's choices applied) for the faces, T1 when
    the grid asks for it, and `scenes` = {attackers, n_train, n_val, n_test[, n_link]} for T3
    (None: no T3). The audit's own calibration, T3 section and dlib stay off: the sweep
    calibrates once and renders its scene clips once for all cells."""
    scene = {} if scenes is None else dict(scenes)
    scene.setdefault("n_link", 0)
    return AuditSettings(
        size=size,
        identities=grid["identities"],
        per_identity=grid["per_identity"],
        seeds=grid["seeds"],
        attackers=tuple(grid["attackers"]),
        quick=quick,
        conv=grid["conv"],
        augment=grid["augment"],
        shots=grid["shots"],
        reconstruction=bool(grid.get("t1", False)),
        calibrate=False,
        scenes=scenes is not None,
        scene=SceneSettings(identities=SCENE_IDENTITIES, **scene),
        recognizer=False,
    )


def run_cell(
    family: str,
    rate: float,
    photons,
    settings: AuditSettings,
    *,
    sensor=None,
    clips=None,
) -> dict:
    """Audit one design with the sweep's `settings` (`audit_settings`) and return its results
    row (fixed families build their sensor). T3 runs on `clips` when given (the benchmark
    renders them once for all cells)."""
    from spjax.privacy.audit import privacy_audit, threat_models
    from spjax.privacy.leakage import leak_test
    from spjax.sensing import NoiseModel, Sensor
    from spjax.sensing.patterns import sensor_label

    t0 = time.time()
    size, identities, identity_offset = (
        settings.size,
        settings.identities,
        settings.identity_offset,
    )
    if sensor is None:
        noise = None if photons is None else NoiseModel(float(photons))
        sensor = Sensor.family(canonical_family(family), size, size, rate, noise=noise)
    rep = privacy_audit(sensor, settings.replace(scenes=False))
    w = rep["worst_case"]
    row = {
        "cell": cell_key(family, rate, photons),
        "family": family,
        "label": sensor_label(sensor.describe()),
        "rate": float(rate),
        "k": int(sensor.k),
        "h": size,
        "w": size,
        "split": bool(sensor.split),
        "photons": photons,
        "identities": identities,
        "identity_offset": identity_offset,
        "seeds": len(settings.seeds),
        "chance": rep["chance"]["top1"],
        "worst": w["name"],
        "worst_top1": w["top1"],
        "worst_top1_std": w["top1_std"],
        "worst_top1_values": w["top1_values"],
        "ratio_to_chance": w["ratio_to_chance"],
        "lower_bound": rep["leak"]["lower_bound"],
        "leak_evidence": rep["leak"]["evidence"],
        "leaks": rep["leaks"],
        "leak": _compact_leak(rep["leak"]),
        "attackers": {
            n: {
                "top1": m["top1"]["mean"],
                "top1_std": m["top1"]["std"],
                "tar@far=0.01": m.get("tar@far=0.01", {}).get("mean"),
            }
            for n, m in rep["attackers"].items()
        },
    }
    if settings.scenes:
        from spjax.privacy.scene_reid import scene_reid

        sc = scene_reid(
            sensor,
            quick=settings.quick,
            identity_offset=identity_offset,
            clips=clips,
            **settings.scene.kwargs(),
        )
        leak = leak_test({k: v["pooled"] for k, v in sc["attackers"].items()}, sc["chance"])
        row.update(
            {
                "scene_chance": sc["chance"],
                "scene_worst": sc["best"]["name"],
                "scene_top1": sc["best"]["top1"],
                "scene_ratio": sc["best"]["ratio_to_chance"],
                "scene_baseline_top1": sc.get("baseline", {}).get("top1"),
                "scene_lower_bound": leak["lower_bound"],
                "scene_leaks": leak["leaks"],
                "scene_leak": _compact_leak(leak),
                "scene_attackers": {k: v["top1"] for k, v in sc["attackers"].items()},
                "scene_ci95_ratio": sc["best"]["ci95_ratio_to_chance"],
                "scene_linkage_auc": sc["best"].get("linkage", {}).get("auc"),
                "scene_target_met": sc["target"]["met"],
            }
        )
    tm = threat_models(rep)
    if "T1" in tm:
        row["t1_worst"] = tm["T1"]["worst"]
        row["t1_ratio"] = tm["T1"]["ratio_to_chance"]
        row["t1_at_chance"] = tm["T1"]["at_chance"]
    row["seconds"] = round(time.time() - t0, 1)
    return row


def check_settings(path: str, settings: dict, what: str) -> None:
    if os.path.isfile(path):
        with open(path) as f:
            old = json.load(f)
        if old != settings:
            raise ValueError(
                f"out: {os.path.dirname(path)} holds a sweep with {what} {old}, this "
                f"run asks for {settings}; use another --out to keep results comparable"
            )
    else:
        with open(path, "w") as f:
            json.dump(settings, f, indent=1)
