"""`spjax bench patterns`: pattern designs x sampling rates x photon budgets.

Privacy cells: each fixed family at each rate and photon budget is audited by fresh attackers
(several seeds) on faces and re-identified in scene clips (`scene_reid`, the same clips for every
cell); one row per cell is appended to `results.jsonl`, so a rerun skips finished cells. The
leak decision is `leakage.RULE` (test predictions pooled over seeds, exact binomial bound
against margin × chance). The attackers are calibrated once per sweep (`calibration.json`: the
ceiling on clean faces and the attacker strength at full rate). `hadamard` means
`hadamard:low_frequency`; every family name carries its order.

Utility cells (`utility_recipe`): utility needs a trained encoder + decoder per design, so at the
`utility_rates` every design is trained with the recipe (`spjax.training.run_recipe`) and
evaluated on its test split — fixed families with their patterns frozen, and the learned
designs of `LEARNED_DESIGNS` (utility-only and adversarial) with patterns trained from the
recipe. The learned sensor is then audited on identities it was never trained against. Utility
rows go to `utility.jsonl` (same cell keys); training runs live under `runs/` and resume.

At the end: `results.json` (rows + critical sampling rate per design and photon budget, for
faces and for scene re-identification, + calibration + the target check), `results.csv`,
`leakage_vs_rate.png` (worst attacker vs rate, critical rate marked; scene re-identification
below) and, with utility, `pareto.png` (worst-attacker top-1 vs anomaly accuracy / ROUGE-L).
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import time

from spjax import cliargs
from spjax.eval.calibration import STRENGTH_TARGET
from spjax.eval.leakage import MARGIN, MARGIN_RTOL, RULE, critical_sampling_rate
from spjax.jsonio import to_jsonable
from spjax.sensing.patterns import canonical_family

FAMILIES = (
    "hadamard:low_frequency",
    "hadamard:sequency",
    "hadamard:cake_cutting",
    "rademacher",
    "dct",
)
RATES = (0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0)
PHOTONS = (None, 1e4)

# Sized for the wall clock on 2 CPU cores: the quick sweep (12 cells, closed-form scene
# attackers) takes minutes; the default one (70 cells, conv identifier, temporal scene
# attacker) hours. Utility cells add one training run each.
GRIDS = {
    "default": dict(
        families=FAMILIES,
        rates=RATES,
        photons=PHOTONS,
        identities=20,
        per_identity=20,
        seeds=3,
        attackers=("lda", "ridge", "linear", "mlp", "attention", "knn"),
        conv=True,
        augment=2,
        shots=8,
        scenes=dict(
            n_train=8000,
            n_val=1000,
            n_test=2000,
            attackers=("ridge:stats", "lda:stats", "temporal"),
        ),
        utility_rates=(0.01, 0.05),
    ),
    "quick": dict(
        families=("hadamard:low_frequency", "rademacher", "dct"),
        rates=(0.005, 0.02, 0.1, 0.5),
        photons=(None,),
        identities=10,
        per_identity=20,
        seeds=2,
        attackers=("lda", "ridge", "linear", "knn"),
        conv=False,
        augment=2,
        shots=8,
        scenes=dict(n_train=3000, n_val=500, n_test=1000, attackers=("ridge:stats", "lda:stats")),
        utility_rates=(0.05,),
    ),
}
SCENE_IDENTITIES = 20

# Learned designs: name -> overrides of the recipe's config. `learned:utility` has no privacy
# term; `learned:private` keeps the recipe's own privacy term and weight; `learned:adversarial`
# is the classic adversarial game (KL-to-uniform against the training adversaries).
LEARNED_DESIGNS = {
    "learned:utility": {"sensor.family": "learned", "privacy.weight": 0.0},
    "learned:private": {"sensor.family": "learned"},
    "learned:adversarial": {
        "sensor.family": "learned",
        "privacy.term": "kl_uniform",
        "privacy.weight": 2.0,
    },
}
UTILITY_REFERENCE = "learned:utility"


def design_overrides(design: str) -> dict:
    """Recipe overrides that train `design`: a learned design, or a fixed family whose
    patterns stay frozen (no privacy term: nothing it could change)."""
    if design in LEARNED_DESIGNS:
        return dict(LEARNED_DESIGNS[design])
    return {"sensor.family": design, "privacy.weight": 0.0}


def train_design(
    design: str, recipe: str, *, rate: float, photons, size: int, workdir: str, overrides=()
) -> dict:
    """Train `recipe` as `design` at `rate`/`photons` (after the `overrides` "key=value"
    strings) into `workdir` and return {"utility", "training_identities", "workdir"}.

    Resumable: a finished workdir (report.json) is reused, an interrupted one resumes from its
    last checkpoint."""
    from spjax.eval.audit import training_identities

    report_path = os.path.join(workdir, "report.json")
    if not os.path.isfile(report_path):
        from spjax.training import load_recipe, run_recipe
        from spjax.training.checkpoint import has_checkpoint
        from spjax.training.config import apply_overrides

        cfg = apply_overrides(load_recipe(recipe), list(overrides))
        cfg.sensor.rate = float(rate)
        cfg.sensor.photons = 0.0 if photons is None else float(photons)
        cfg.data.size = int(size)
        for dotted, value in design_overrides(design).items():
            section, field = dotted.split(".")
            cfg[section][field] = value
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


# ---- the sweep -------------------------------------------------------------------------


def cell_key(family: str, rate: float, photons) -> str:
    return f"{family}|r={rate:g}|photons={'none' if photons is None else f'{photons:g}'}"


def _read_rows(path: str) -> list[dict]:
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


def _append(path: str, row: dict) -> None:
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


def run_cell(
    family: str,
    rate: float,
    photons,
    *,
    size: int,
    identities: int,
    per_identity: int,
    seeds: int,
    attackers,
    quick: bool = False,
    sensor=None,
    identity_offset: int = 0,
    conv: bool = False,
    augment: int = 2,
    shots: int = 8,
    scenes: dict | None = None,
    clips=None,
) -> dict:
    """Audit one design and return its results row (fixed families build their sensor).
    `scenes` = {attackers, n_train, n_val, n_test} adds scene re-identification (on `clips`
    when given: the benchmark renders them once for all cells)."""
    from spjax.eval.audit import privacy_audit
    from spjax.eval.leakage import leak_test
    from spjax.sensing import NoiseModel, Sensor
    from spjax.sensing.patterns import sensor_label

    t0 = time.time()
    if sensor is None:
        noise = None if photons is None else NoiseModel(float(photons))
        sensor = Sensor.family(canonical_family(family), size, size, rate, noise=noise)
    rep = privacy_audit(
        sensor,
        size=size,
        identities=identities,
        per_identity=per_identity,
        seeds=tuple(range(seeds)),
        quick=quick,
        attackers=attackers,
        conv=conv,
        augment=augment,
        shots=shots,
        reconstruction=False,
        calibrate=False,
        scenes=False,
        recognizer=False,
        identity_offset=identity_offset,
    )
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
        "seeds": seeds,
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
    if scenes is not None:
        from spjax.eval.scene_reid import scene_reid

        sc = scene_reid(
            sensor,
            identities=SCENE_IDENTITIES,
            quick=quick,
            attackers=scenes["attackers"],
            n_train=scenes["n_train"],
            n_val=scenes["n_val"],
            n_test=scenes["n_test"],
            identity_offset=identity_offset,
            clips=clips,
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
            }
        )
    row["seconds"] = round(time.time() - t0, 1)
    return row


def _check_settings(path: str, settings: dict, what: str) -> None:
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


def bench_patterns(
    out_dir: str,
    *,
    quick: bool = False,
    families=None,
    rates=None,
    photons=None,
    identities=None,
    seeds=None,
    size: int = 32,
    utility_recipe: str | None = None,
    utility_rates=None,
    utility_set=(),
    scene_reid: bool = True,
    scene_options: dict | None = None,
    calibrate: bool = True,
    progress: bool = True,
) -> dict:
    """Run (or resume) the sweep into `out_dir`; returns the summary written to results.json.
    `scene_reid` adds scene re-identification to every cell (`scene_options` overrides the
    grid's `n_train`, `n_val`, `n_test`, `attackers`), `calibrate` the sweep's ceiling and
    attacker strength."""
    from tqdm.auto import tqdm

    grid = dict(GRIDS["quick" if quick else "default"])
    for name, value in (
        ("families", families),
        ("rates", rates),
        ("photons", photons),
        ("identities", identities),
        ("seeds", seeds),
        ("utility_rates", utility_rates),
    ):
        if value is not None:
            grid[name] = value
    for r in (*grid["rates"], *grid["utility_rates"]):
        if not 0 < float(r) <= 1:
            raise ValueError(f"rates: expected values in (0, 1], got {r}")
    # "hadamard" alone is the 2-D low-frequency order; rows and tables name the order.
    grid["families"] = list(dict.fromkeys(canonical_family(f) for f in grid["families"]))
    learned = [f for f in grid["families"] if f in LEARNED_DESIGNS]
    fixed = [f for f in grid["families"] if f not in LEARNED_DESIGNS]
    if learned and utility_recipe is None:
        raise ValueError(
            f"families: {learned} are trained designs and need a recipe (--utility RECIPE)"
        )
    if utility_recipe is not None:
        if not os.path.isfile(utility_recipe):
            raise FileNotFoundError(f"utility recipe {utility_recipe!r} does not exist")
        learned = learned or list(LEARNED_DESIGNS)
    os.makedirs(out_dir, exist_ok=True)
    scenes = None
    if scene_reid:
        unknown = set(scene_options or {}) - {"n_train", "n_val", "n_test", "attackers"}
        if unknown:
            raise ValueError(
                f"scene_options: unknown keys {sorted(unknown)}; expected n_train, "
                f"n_val, n_test, attackers"
            )
        scenes = {**grid["scenes"], **(scene_options or {})}
    _check_settings(
        os.path.join(out_dir, "bench_config.json"),
        {
            "size": size,
            "quick": quick,
            "identities": grid["identities"],
            "seeds": grid["seeds"],
            "per_identity": grid["per_identity"],
            "attackers": list(grid["attackers"]),
            "conv": grid["conv"],
            "augment": grid["augment"],
            "shots": grid["shots"],
            "leak_rule": RULE,
            "scenes": None
            if scenes is None
            else {**scenes, "attackers": list(scenes["attackers"]), "identities": SCENE_IDENTITIES},
        },
        "settings",
    )
    u_rates = [float(r) for r in grid["utility_rates"]] if utility_recipe else []
    if utility_recipe:
        # The recipe's content, not its path: a clone elsewhere may resume, an edited recipe not.
        with open(utility_recipe, "rb") as f:
            recipe_sha = hashlib.sha256(f.read()).hexdigest()
        _check_settings(
            os.path.join(out_dir, "utility_config.json"),
            {
                "recipe": os.path.basename(utility_recipe),
                "recipe_sha256": recipe_sha,
                "set": list(utility_set),
            },
            "utility settings",
        )
    calib = (
        _sweep_calibration(out_dir, grid, size=size, quick=quick, progress=progress)
        if calibrate
        else None
    )
    # (design, rate, photons, wants_utility); fixed families also get audited at utility rates.
    privacy_rates = sorted({float(r) for r in grid["rates"]} | set(u_rates))
    cells = [(f, r, p, r in u_rates) for f in fixed for r in privacy_rates for p in grid["photons"]]
    cells += [(f, r, p, True) for f in learned for r in u_rates for p in grid["photons"]]
    jsonl, ujsonl = os.path.join(out_dir, "results.jsonl"), os.path.join(out_dir, "utility.jsonl")
    done = {row["cell"] for row in _read_rows(jsonl)}
    udone = {row["cell"] for row in _read_rows(ujsonl)}
    todo = [
        c for c in cells if cell_key(*c[:3]) not in done or (c[3] and cell_key(*c[:3]) not in udone)
    ]
    clips_by_offset: dict = {}  # scene clips rendered once, measured by every cell's sensor
    bar = tqdm(todo, desc="bench patterns", disable=not progress)
    for family, rate, ph, wants_utility in bar:
        key = cell_key(family, rate, ph)
        bar.set_postfix_str(key)
        trained = None
        if wants_utility:
            wd = os.path.join(out_dir, "runs", key.replace("|", "_").replace(":", "-"))
            trained = train_design(
                family,
                utility_recipe,
                rate=rate,
                photons=ph,
                size=size,
                workdir=wd,
                overrides=utility_set,
            )
            if key not in udone:
                _append(ujsonl, {"cell": key, **trained})
        if key not in done:
            sensor, offset = None, 0
            if family in LEARNED_DESIGNS:
                from spjax.sensing import load_sensor

                sensor, offset = load_sensor(trained["workdir"]), trained["training_identities"]
            clips = None
            if scenes is not None:
                from spjax.eval.scene_reid import SceneClips, scene_config

                if offset not in clips_by_offset:
                    clips_by_offset[offset] = SceneClips(
                        scene_config(size, identities=SCENE_IDENTITIES, identity_offset=offset),
                        n_train=scenes["n_train"],
                        n_val=scenes["n_val"],
                        n_test=scenes["n_test"],
                        keep=True,
                    )
                clips = clips_by_offset[offset]
            row = run_cell(
                family,
                rate,
                ph,
                size=size,
                identities=grid["identities"],
                per_identity=grid["per_identity"],
                seeds=grid["seeds"],
                attackers=tuple(grid["attackers"]),
                quick=quick,
                sensor=sensor,
                identity_offset=offset,
                conv=grid["conv"],
                augment=grid["augment"],
                shots=grid["shots"],
                scenes=scenes,
                clips=clips,
            )
            _append(jsonl, row)
    wanted = {cell_key(*c[:3]) for c in cells}
    utility = {u["cell"]: u for u in _read_rows(ujsonl) if u["cell"] in wanted}
    rows = []
    for r in _read_rows(jsonl):
        if r["cell"] in wanted:
            u = utility.get(r["cell"], {})
            rows.append(
                {
                    **r,
                    "utility": u.get("utility"),
                    "training_adversary_top1": u.get("training_adversary_top1"),
                }
            )
    return write_outputs(rows, out_dir, calibration=calib, quick=quick)


def _sweep_calibration(out_dir: str, grid: dict, *, size: int, quick: bool, progress: bool) -> dict:
    """The sweep's ceiling and attacker strength (computed once; `calibration.json`)."""
    from spjax.eval.audit import split_sizes
    from spjax.eval.calibration import calibration, strength_by_attack

    path = os.path.join(out_dir, "calibration.json")
    if os.path.isfile(path):
        with open(path) as f:
            return json.load(f)
    per, held = split_sizes(grid["identities"], quick, grid["per_identity"], None)
    cal = calibration(
        size=size,
        identities=grid["identities"],
        per_identity=per,
        heldout_identities=held,
        seeds=tuple(range(grid["seeds"])),
        quick=quick,
        attackers=tuple(grid["attackers"]),
        conv=grid["conv"],
        progress=progress,
    )
    ceiling, ref = cal["ceiling"], cal["reference"]
    strength = ref["top1"] / ceiling["top1"] if ceiling["top1"] > 0 else None
    out = {
        "ceiling": ceiling["top1"],
        "ceiling_attack": ceiling["name"],
        "reference_top1": ref["top1"],
        "reference_attack": ref["name"],
        "reference_sensor": ref["sensor"],
        "attacker_strength": strength,
        "target": STRENGTH_TARGET,
        "calibrated": strength is not None and strength >= STRENGTH_TARGET,
        "smoke_test": quick,
        "ceiling_attackers": {k: v["top1"]["mean"] for k, v in ceiling["attackers"].items()},
        "reference_attackers": {k: v["top1"]["mean"] for k, v in ref["attackers"].items()},
        "strength_by_attack": strength_by_attack(ref["attackers"], ceiling["attackers"]),
    }
    with open(path, "w") as f:
        json.dump(to_jsonable(out), f, indent=1)
    return out


def target_check(rows: list[dict], *, margin: float = MARGIN, max_gap: float = 0.05) -> list[dict]:
    """Per privacy-trained learned design, rate and photon budget: does it keep the worst
    fresh attacker within `margin` x chance (on faces and, where measured, on scene
    re-identification) while its anomaly accuracy stays within `max_gap` of `learned:utility`
    at the same rate and budget?"""
    out = []
    by = {(r["family"], r["rate"], r["photons"]): r for r in rows if r.get("utility")}
    for (fam, rate, ph), adv in sorted(
        by.items(), key=lambda kv: (kv[0][1], str(kv[0][2]), kv[0][0])
    ):
        if (
            fam not in LEARNED_DESIGNS
            or fam == UTILITY_REFERENCE
            or (UTILITY_REFERENCE, rate, ph) not in by
        ):
            continue
        ref = by[(UTILITY_REFERENCE, rate, ph)]
        a, b = adv["utility"].get("anomaly_accuracy"), ref["utility"].get("anomaly_accuracy")
        gap = None if a is None or b is None else b - a
        # At most margin x chance, with the leak rule's float tolerance.
        private = adv["worst_top1"] <= margin * adv["chance"] * (1 + MARGIN_RTOL)
        entry = {
            "design": fam,
            "rate": rate,
            "photons": ph,
            "worst_top1": adv["worst_top1"],
            "chance": adv["chance"],
            "within_margin": bool(private),
        }
        if adv.get("scene_top1") is not None:
            scene_private = adv["scene_top1"] <= margin * adv["scene_chance"] * (1 + MARGIN_RTOL)
            entry.update(
                {
                    "scene_top1": adv["scene_top1"],
                    "scene_chance": adv["scene_chance"],
                    "scene_within_margin": bool(scene_private),
                }
            )
            private = private and scene_private
        entry.update(
            {
                "anomaly_accuracy": a,
                "utility_only_anomaly_accuracy": b,
                "anomaly_gap": gap,
                "utility_kept": gap is not None and gap <= max_gap,
                "met": bool(private and gap is not None and gap <= max_gap),
            }
        )
        out.append(entry)
    return out


def _budget(ph) -> str:
    return "none" if ph is None else f"{ph:g}"


def critical_rates(rows: list[dict], *, task: str = "faces") -> dict:
    """Critical sampling rate per family and photon budget under `leakage.RULE`, for face
    identification (`task="faces"`, the rows' `leak`) or scene re-identification
    (`task="scenes"`, `scene_leak`; rows without it are left out)."""
    field = {"faces": "leak", "scenes": "scene_leak"}.get(task)
    if field is None:
        raise ValueError(f"task: expected 'faces' or 'scenes', got {task!r}")
    rows = [r for r in rows if r.get(field)]
    out = {}
    for fam in sorted({r["family"] for r in rows}):
        for ph in sorted(
            {r["photons"] for r in rows if r["family"] == fam}, key=lambda p: -1 if p is None else p
        ):
            by_rate = {
                r["rate"]: {
                    "leak": r[field],
                    "worst": r["worst"] if task == "faces" else r["scene_worst"],
                    "worst_top1": r["worst_top1"] if task == "faces" else r["scene_top1"],
                }
                for r in rows
                if r["family"] == fam and r["photons"] == ph
            }
            crit = critical_sampling_rate(by_rate)
            out[f"{fam}|photons={_budget(ph)}"] = {
                "family": fam,
                "photons": ph,
                "critical_rate": crit["rate"],
                "monotone": crit["monotone"],
                "per_rate": crit["per_rate"],
            }
    return out


CSV_COLUMNS = [
    "family",
    "label",
    "rate",
    "k",
    "photons",
    "chance",
    "worst",
    "worst_top1",
    "worst_top1_std",
    "ratio_to_chance",
    "lower_bound",
    "leak_evidence",
    "leaks",
    "scene_chance",
    "scene_worst",
    "scene_top1",
    "scene_ratio",
    "scene_baseline_top1",
    "scene_lower_bound",
    "scene_leaks",
    "identity_offset",
    "anomaly_accuracy",
    "anomaly_auroc",
    "count_mae",
    "rouge_l",
    "training_adversary_top1",
    "seconds",
]


def write_outputs(
    rows: list[dict], out_dir: str, *, calibration: dict | None = None, quick: bool = False
) -> dict:
    summary = {
        "leak_rule": RULE,
        "margin": MARGIN,
        "calibration": calibration,
        "smoke_test": bool(quick),
        "rows": rows,
        "critical_rates": critical_rates(rows) if rows else {},
        "scene_critical_rates": critical_rates(rows, task="scenes") if rows else {},
        "target": target_check(rows),
    }
    with open(os.path.join(out_dir, "results.json"), "w") as f:
        json.dump(to_jsonable(summary), f, indent=1)
    with open(os.path.join(out_dir, "results.csv"), "w", newline="") as f:
        wr = csv.writer(f)
        wr.writerow(CSV_COLUMNS)
        for r in rows:
            u = r.get("utility") or {}
            wr.writerow(
                [
                    u.get(c)
                    if c in ("anomaly_accuracy", "anomaly_auroc", "count_mae", "rouge_l")
                    else r.get(c, 0 if c == "identity_offset" else None)
                    for c in CSV_COLUMNS
                ]
            )
    if rows:
        summary["figures"] = _figures(
            rows, summary["critical_rates"], summary["scene_critical_rates"], out_dir
        )
    return summary


def format_table(summary: dict) -> str:
    """The sweep as a plain-text table (one line per cell) plus the critical rates."""
    lines = []
    if summary.get("smoke_test"):
        lines.append("SMOKE TEST (--quick): few faces and clips, light attackers")
    cal = summary.get("calibration")
    if cal:
        lines.append(
            f"calibration: ceiling {cal['ceiling']:.3f} ({cal['ceiling_attack']}), "
            f"full-rate reference {cal['reference_top1']:.3f} ({cal['reference_attack']}), "
            f"attacker_strength {cal['attacker_strength']:.3f} "
            f"({'calibrated' if cal['calibrated'] else 'NOT calibrated'}, target "
            f"{cal['target']})"
        )
    lines.append(f"leak rule: {summary['leak_rule']} (margin {summary['margin']:g})")
    lines.append(
        f"{'family':<24}{'rate':>7}{'photons':>9}  {'worst face attack':<18}{'top1':>6}"
        f"{'xch':>6}{'bound':>7} {'leak':<5}| {'scene':<12}{'top1':>6}{'xch':>6}"
        f"{'bound':>7} {'leak':<5}"
    )
    for r in sorted(summary["rows"], key=lambda r: (r["family"], str(r["photons"]), r["rate"])):
        scene = (
            f"{r['scene_worst']:<12}{r['scene_top1']:>6.3f}{r['scene_ratio']:>6.1f}"
            f"{r['scene_lower_bound']:>7.3f} {'LEAK' if r['scene_leaks'] else '-':<5}"
            if r.get("scene_top1") is not None
            else "-"
        )
        lines.append(
            f"{r['family']:<24}{100 * r['rate']:>6.3g}%{_budget(r['photons']):>9}  "
            f"{r['worst']:<18}{r['worst_top1']:>6.3f}{r['ratio_to_chance']:>6.1f}"
            f"{r['lower_bound']:>7.3f} {'LEAK' if r['leaks'] else '-':<5}| {scene}"
        )
    for title, crit in (
        ("faces", summary["critical_rates"]),
        ("scene re-ID", summary.get("scene_critical_rates", {})),
    ):
        for key, c in crit.items():
            r = c["critical_rate"]
            lines.append(
                f"critical rate ({title}) {key:<40} "
                f"{'none (never leaks)' if r is None else f'{100 * r:g} %'}"
                f"{'' if c['monotone'] else ' (non-monotone)'}"
            )
    return "\n".join(lines)


def _figures(rows, crit, scene_crit, out_dir) -> list[str]:
    from spjax.eval.figures import agg_pyplot

    plt = agg_pyplot()
    paths = []
    budgets = sorted({r["photons"] for r in rows}, key=lambda p: -1 if p is None else p)
    panels = [
        (
            "faces",
            "worst_top1",
            "worst_top1_std",
            "chance",
            crit,
            "face identification: worst fresh attacker top-1",
        )
    ]
    if any(r.get("scene_top1") is not None for r in rows):
        panels.append(
            (
                "scenes",
                "scene_top1",
                None,
                "scene_chance",
                scene_crit,
                "scene re-identification: best fresh attacker top-1",
            )
        )
    fig, axes = plt.subplots(
        len(panels), len(budgets), figsize=(5.5 * len(budgets), 4.2 * len(panels)), squeeze=False
    )
    for row_axes, (task, key, err, chance_key, critical, ylabel) in zip(axes, panels):
        for ax, ph in zip(row_axes, budgets):
            chance = None
            for fam in sorted({r["family"] for r in rows}):
                sel = sorted(
                    (
                        r
                        for r in rows
                        if r["family"] == fam and r["photons"] == ph and r.get(key) is not None
                    ),
                    key=lambda r: r["rate"],
                )
                if not sel:
                    continue
                x = [100 * r["rate"] for r in sel]
                line = ax.errorbar(
                    x,
                    [r[key] for r in sel],
                    yerr=[r[err] for r in sel] if err else None,
                    marker="o",
                    ms=3,
                    capsize=2,
                    label=sel[0].get("label", fam),
                )
                c = critical.get(f"{fam}|photons={_budget(ph)}", {})
                if c.get("critical_rate") is not None:
                    ax.axvline(100 * c["critical_rate"], color=line[0].get_color(), ls=":", lw=1)
                chance = sel[0][chance_key]
            if chance is not None:
                ax.axhline(chance, color="k", ls="--", lw=1, label="chance")
                ax.axhline(
                    MARGIN * chance, color="gray", ls="-.", lw=1, label=f"{MARGIN:g}× chance"
                )
            ax.set_xscale("log")
            ax.set_xlabel("sampling rate (%)")
            ax.set_ylabel(ylabel, fontsize=8)
            ax.set_ylim(0, 1.02)
            ax.set_title(
                f"{task}; photons = {'∞ (noiseless)' if ph is None else f'{ph:g}'}; "
                "dotted = critical rate (pooled binomial bound)",
                fontsize=8,
            )
            ax.legend(fontsize=6)
    fig.tight_layout()
    p = os.path.join(out_dir, "leakage_vs_rate.png")
    fig.savefig(p, dpi=110)
    plt.close(fig)
    paths.append(p)
    with_u = [r for r in rows if r.get("utility")]
    if with_u:
        fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
        for ax, key in zip(axes, ("anomaly_accuracy", "count_mae", "rouge_l")):
            for fam in sorted({r["family"] for r in with_u}):
                sel = sorted(
                    (r for r in with_u if r["family"] == fam and r["utility"].get(key) is not None),
                    key=lambda r: (str(r["photons"]), r["rate"]),
                )
                ax.scatter(
                    [r["utility"][key] for r in sel],
                    [r["worst_top1"] for r in sel],
                    label=sel[0].get("label", fam) if sel else fam,
                    s=18,
                    marker="*" if fam.startswith("learned") else "o",
                )
                for r in sel:
                    ax.annotate(
                        f"{100 * r['rate']:g}%",
                        (r["utility"][key], r["worst_top1"]),
                        fontsize=6,
                        xytext=(3, 2),
                        textcoords="offset points",
                    )
            chance = with_u[0]["chance"]
            ax.axhline(chance, color="k", ls="--", lw=1, label="chance")
            ax.axhline(MARGIN * chance, color="gray", ls="-.", lw=1, label=f"{MARGIN:g}× chance")
            ax.set_xlabel(key.replace("_", " ") + " (test split, parsed answers)")
            ax.set_ylabel("worst fresh attacker top-1")
            ax.set_ylim(0, 1.02)
            ax.legend(fontsize=7)
        fig.suptitle(
            "privacy–utility: lower is more private; right is more useful (left for count MAE)",
            fontsize=10,
        )
        fig.tight_layout()
        p = os.path.join(out_dir, "pareto.png")
        fig.savefig(p, dpi=110)
        plt.close(fig)
        paths.append(p)
    return paths


def bench_patterns_cli(args) -> int:
    photons = cliargs.comma_list(
        args.photons, lambda t: None if t.lower() == "none" else float(t), "--photons"
    )
    summary = bench_patterns(
        args.out,
        quick=args.quick,
        families=cliargs.comma_list(args.families, str, "--families"),
        rates=cliargs.comma_list(args.rates, cliargs.rate, "--rates"),
        photons=photons,
        identities=args.identities,
        seeds=args.seeds,
        size=args.size,
        utility_recipe=args.utility,
        utility_rates=cliargs.comma_list(args.utility_rates, cliargs.rate, "--utility-rates"),
        utility_set=tuple(args.utility_set or ()),
        scene_reid=not args.no_scenes,
        calibrate=not args.no_calibration,
    )
    print(format_table(summary))
    fmt = lambda v: "n/a" if v is None else f"{v:.3f}"  # noqa: E731
    for t in summary["target"]:
        scene = (
            f", scene re-ID {fmt(t['scene_top1'])} ({MARGIN:g}x chance "
            f"{MARGIN * t['scene_chance']:.3f})"
            if "scene_top1" in t
            else ""
        )
        print(
            f"target, {t['design']} at r={100 * t['rate']:g} %: worst fresh attacker "
            f"{fmt(t['worst_top1'])} ({MARGIN:g}x chance {MARGIN * t['chance']:.3f}){scene}, "
            f"anomaly {fmt(t['anomaly_accuracy'])} vs utility-only "
            f"{fmt(t['utility_only_anomaly_accuracy'])} -> {'MET' if t['met'] else 'not met'}"
        )
    print(f"wrote {os.path.join(args.out, 'results.json')}, results.csv and figures")
    return 0
