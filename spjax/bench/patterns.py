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

Modules: `grid` (families, rates, budgets, preset grids, learned designs), `cells` (one cell:
audit or train a design; the JSONL rows), `summary` (critical rates, target check, outputs),
`figures`; this module runs the sweep.
"""

from __future__ import annotations

import hashlib
import json
import os

from spjax import cliargs
from spjax.bench.cells import (
    append_row,
    audit_settings,
    cell_key,
    check_settings,
    read_rows,
    run_cell,
    train_design,
)
from spjax.bench.grid import GRIDS, LEARNED_DESIGNS, SCENE_IDENTITIES
from spjax.bench.summary import format_table, write_outputs
from spjax.jsonio import to_jsonable
from spjax.privacy.calibration import STRENGTH_TARGET
from spjax.privacy.leakage import MARGIN, RULE
from spjax.sensing.patterns import canonical_family

# ---- the sweep -------------------------------------------------------------------------


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
        unknown = set(scene_options or {}) - {"n_train", "n_val", "n_test", "n_link", "attackers"}
        if unknown:
            raise ValueError(
                f"scene_options: unknown keys {sorted(unknown)}; expected n_train, "
                f"n_val, n_test, n_link, attackers"
            )
        scenes = {**grid["scenes"], **(scene_options or {})}
    check_settings(
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
        check_settings(
            os.path.join(out_dir, "utility_config.json"),
            {
                "recipe": os.path.basename(utility_recipe),
                "recipe_sha256": recipe_sha,
                "set": list(utility_set),
            },
            "utility settings",
        )
    settings = audit_settings(grid, size=size, quick=quick, scenes=scenes)
    calib = _sweep_calibration(out_dir, settings, progress=progress) if calibrate else None
    # (design, rate, photons, wants_utility); fixed families also get audited at utility rates.
    privacy_rates = sorted({float(r) for r in grid["rates"]} | set(u_rates))
    cells = [(f, r, p, r in u_rates) for f in fixed for r in privacy_rates for p in grid["photons"]]
    cells += [(f, r, p, True) for f in learned for r in u_rates for p in grid["photons"]]
    jsonl, ujsonl = os.path.join(out_dir, "results.jsonl"), os.path.join(out_dir, "utility.jsonl")
    done = {row["cell"] for row in read_rows(jsonl)}
    udone = {row["cell"] for row in read_rows(ujsonl)}
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
                append_row(ujsonl, {"cell": key, **trained})
        if key not in done:
            sensor, offset = None, 0
            if family in LEARNED_DESIGNS:
                from spjax.sensing import load_sensor

                sensor, offset = load_sensor(trained["workdir"]), trained["training_identities"]
            clips = None
            if scenes is not None:
                from spjax.privacy.scene_reid import SceneClips, scene_config

                if offset not in clips_by_offset:
                    sc = settings.scene
                    clips_by_offset[offset] = SceneClips(
                        scene_config(size, identities=SCENE_IDENTITIES, identity_offset=offset),
                        n_train=sc.n_train,
                        n_val=sc.n_val,
                        n_test=sc.n_test,
                        n_link=sc.n_link,
                        link_config=scene_config(
                            size,
                            identities=SCENE_IDENTITIES,
                            identity_offset=offset + SCENE_IDENTITIES,
                        ),
                        keep=True,
                    )
                clips = clips_by_offset[offset]
            row = run_cell(
                family,
                rate,
                ph,
                settings.replace(identity_offset=offset),
                sensor=sensor,
                clips=clips,
            )
            append_row(jsonl, row)
    wanted = {cell_key(*c[:3]) for c in cells}
    utility = {u["cell"]: u for u in read_rows(ujsonl) if u["cell"] in wanted}
    rows = []
    for r in read_rows(jsonl):
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


def _sweep_calibration(out_dir: str, settings, *, progress: bool) -> dict:
    """The sweep's ceiling and attacker strength (computed once; `calibration.json`)."""
    from spjax.privacy.calibration import calibration, strength_by_attack

    path = os.path.join(out_dir, "calibration.json")
    if os.path.isfile(path):
        with open(path) as f:
            return json.load(f)
    cal = calibration(settings, progress=progress)
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
        "smoke_test": settings.quick,
        "ceiling_attackers": {k: v["top1"]["mean"] for k, v in ceiling["attackers"].items()},
        "reference_attackers": {k: v["top1"]["mean"] for k, v in ref["attackers"].items()},
        "strength_by_attack": strength_by_attack(ref["attackers"], ceiling["attackers"]),
    }
    with open(path, "w") as f:
        json.dump(to_jsonable(out), f, indent=1)
    return out


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
        scene_options=None
        if args.scene_attackers is None
        else {
            "attackers": tuple(cliargs.comma_list(args.scene_attackers, str, "--scene-attackers"))
        },
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
