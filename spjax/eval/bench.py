"""`spjax bench patterns`: pattern families x sampling rates x photon budgets.

Each cell builds a frozen sensor, runs the privacy audit's fresh attackers on it (several seeds)
and appends one row to `results.jsonl`; a rerun skips finished cells. At the end it writes
`results.json` (rows + critical sampling rate per family and photon budget), `results.csv`,
`leakage_vs_rate.png` (worst attacker vs rate per family, critical rate marked) and, where
utility numbers exist, `pareto.png` (worst-attacker top-1 vs anomaly accuracy / ROUGE-L).

Utility needs a trained encoder + decoder per design, so only learned designs carry it: they
plug in through `LEARNED_DESIGNS` / `train_learned_design` (the hook below), which trains a
recipe with `spjax.training.run_recipe(config, workdir)` at the cell's rate and photon budget and
audits the sensor it saved. Fixed families report utility as null.
"""

from __future__ import annotations

import csv
import json
import os
import time

from spjax.eval.audit import critical_sampling_rate, to_json

FAMILIES = ("hadamard:sequency", "hadamard:cake_cutting", "hadamard:low_frequency",
            "rademacher", "dct")
RATES = (0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0)
PHOTONS = (None, 1e4)

# Sized for the wall clock: the default sweep (70 cells) ~1 h and the quick one (12 cells)
# a few minutes on 2 CPU cores.
GRIDS = {
    "default": dict(families=FAMILIES, rates=RATES, photons=PHOTONS, identities=20,
                    per_identity=10, seeds=3, attackers=("linear", "mlp", "attention", "knn")),
    "quick": dict(families=("hadamard:sequency", "rademacher", "dct"),
                  rates=(0.005, 0.02, 0.1, 0.5), photons=(None,), identities=10,
                  per_identity=10, seeds=2, attackers=("linear", "mlp", "knn")),
}

# ---- hook: learned designs -------------------------------------------------------------
# name -> overrides applied to the recipe's config; `privacy.weight = 0` is utility-only.
LEARNED_DESIGNS = {
    "learned:utility": {"privacy.weight": 0.0},
    "learned:adversarial": {},  # the recipe's own adversarial privacy weight
}


def train_learned_design(name: str, recipe: str, *, rate: float, photons, size: int,
                         workdir: str):
    """Train the recipe as design `name` at `rate`/`photons` and return (sensor, utility).

    Resumable too: a workdir that already holds `sensor.json` + `report.json` is reused."""
    from spjax.sensing import load_sensor

    report_path = os.path.join(workdir, "report.json")
    if not os.path.isfile(report_path):
        from spjax.training import load_recipe, run_recipe

        cfg = load_recipe(recipe)
        cfg.sensor.rate = float(rate)
        cfg.sensor.photons = 0.0 if photons is None else float(photons)
        cfg.data.size = int(size)
        for dotted, value in LEARNED_DESIGNS[name].items():
            section, field = dotted.split(".")
            cfg[section][field] = value
        run_recipe(cfg, workdir)
    with open(report_path) as f:
        report = json.load(f)
    return load_sensor(workdir), report.get("utility")


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


def run_cell(family: str, rate: float, photons, *, size: int, identities: int,
             per_identity: int, seeds: int, attackers, quick: bool = False, sensor=None,
             utility=None) -> dict:
    """Audit one design and return its results row."""
    from spjax.eval.audit import privacy_audit
    from spjax.sensing import NoiseModel, Sensor

    t0 = time.time()
    if sensor is None:
        noise = None if photons is None else NoiseModel(float(photons))
        sensor = Sensor.family(family, size, size, rate, noise=noise)
    rep = privacy_audit(sensor, size=size, identities=identities, per_identity=per_identity,
                        seeds=tuple(range(seeds)), quick=quick, attackers=attackers,
                        reconstruction=False, recognizer=False)
    w = rep["worst_case"]
    return {
        "cell": cell_key(family, rate, photons), "family": family, "rate": float(rate),
        "k": int(sensor.k), "h": size, "w": size, "split": bool(sensor.split),
        "photons": photons, "identities": identities, "seeds": seeds,
        "chance": rep["chance"]["top1"], "worst": w["name"], "worst_top1": w["top1"],
        "worst_top1_std": w["top1_std"], "worst_top1_values": w["top1_values"],
        "ratio_to_chance": w["ratio_to_chance"], "p_value": w["p_value"], "leaks": rep["leaks"],
        "attackers": {n: {"top1": m["top1"]["mean"], "top1_std": m["top1"]["std"],
                          "tar@far=0.01": m["tar@far=0.01"]["mean"]}
                      for n, m in rep["attackers"].items()},
        "utility": utility,
        "seconds": round(time.time() - t0, 1),
    }


def bench_patterns(out_dir: str, *, quick: bool = False, families=None, rates=None,
                   photons=None, identities=None, seeds=None, size: int = 32,
                   learned_recipe: str | None = None, progress: bool = True) -> dict:
    """Run (or resume) the sweep into `out_dir`; returns the summary written to results.json."""
    from tqdm.auto import tqdm

    grid = dict(GRIDS["quick" if quick else "default"])
    for name, value in (("families", families), ("rates", rates), ("photons", photons),
                        ("identities", identities), ("seeds", seeds)):
        if value is not None:
            grid[name] = value
    for r in grid["rates"]:
        if not 0 < float(r) <= 1:
            raise ValueError(f"rates: expected values in (0, 1], got {r}")
    fams = list(grid["families"])
    if learned_recipe is not None:
        fams += list(LEARNED_DESIGNS)
    os.makedirs(out_dir, exist_ok=True)
    settings = {"size": size, "quick": quick, "identities": grid["identities"], "seeds": grid["seeds"],
                "per_identity": grid["per_identity"], "attackers": list(grid["attackers"])}
    cfg_path = os.path.join(out_dir, "bench_config.json")
    if os.path.isfile(cfg_path):
        with open(cfg_path) as f:
            old = json.load(f)
        if old != settings:
            raise ValueError(f"out: {out_dir} holds a sweep with settings {old}, this run asks "
                             f"for {settings}; use another --out to keep results comparable")
    else:
        with open(cfg_path, "w") as f:
            json.dump(settings, f, indent=1)
    jsonl = os.path.join(out_dir, "results.jsonl")
    done = {row["cell"] for row in _read_rows(jsonl)}
    cells = [(f, float(r), p) for f in fams for r in grid["rates"] for p in grid["photons"]]
    todo = [c for c in cells if cell_key(*c) not in done]
    bar = tqdm(todo, desc="bench patterns", disable=not progress)
    for family, rate, ph in bar:
        bar.set_postfix_str(cell_key(family, rate, ph))
        sensor = utility = None
        if family in LEARNED_DESIGNS:
            wd = os.path.join(out_dir, "learned", cell_key(family, rate, ph).replace("|", "_").replace(":", "-"))
            sensor, utility = train_learned_design(family, learned_recipe, rate=rate, photons=ph,
                                                   size=size, workdir=wd)
        row = run_cell(family, rate, ph, size=size, identities=grid["identities"],
                       per_identity=grid["per_identity"], seeds=grid["seeds"],
                       attackers=tuple(grid["attackers"]), quick=quick, sensor=sensor,
                       utility=utility)
        with open(jsonl, "a") as f:
            f.write(json.dumps(to_json(row)) + "\n")
    wanted = {cell_key(*c) for c in cells}
    rows = [r for r in _read_rows(jsonl) if r["cell"] in wanted]
    return write_outputs(rows, out_dir)


def critical_rates(rows: list[dict]) -> dict:
    """Critical sampling rate per family and photon budget."""
    out = {}
    for fam in sorted({r["family"] for r in rows}):
        for ph in sorted({r["photons"] for r in rows if r["family"] == fam},
                         key=lambda p: -1 if p is None else p):
            by_rate = {r["rate"]: {"name": r["worst"], "top1": r["worst_top1"],
                                   "chance": r["chance"], "p_value": r["p_value"]}
                       for r in rows if r["family"] == fam and r["photons"] == ph}
            crit = critical_sampling_rate(by_rate)
            out[f"{fam}|photons={'none' if ph is None else f'{ph:g}'}"] = {
                "family": fam, "photons": ph, "critical_rate": crit["rate"],
                "monotone": crit["monotone"], "per_rate": crit["per_rate"]}
    return out


def write_outputs(rows: list[dict], out_dir: str) -> dict:
    summary = {"rows": rows, "critical_rates": critical_rates(rows) if rows else {}}
    with open(os.path.join(out_dir, "results.json"), "w") as f:
        json.dump(to_json(summary), f, indent=1)
    cols = ["family", "rate", "k", "photons", "chance", "worst", "worst_top1", "worst_top1_std",
            "ratio_to_chance", "p_value", "leaks", "anomaly_accuracy", "rouge_l", "seconds"]
    with open(os.path.join(out_dir, "results.csv"), "w", newline="") as f:
        wr = csv.writer(f)
        wr.writerow(cols)
        for r in rows:
            u = r.get("utility") or {}
            wr.writerow([r["family"], r["rate"], r["k"], r["photons"], r["chance"], r["worst"],
                         r["worst_top1"], r["worst_top1_std"], r["ratio_to_chance"], r["p_value"],
                         r["leaks"], u.get("anomaly_accuracy"), u.get("rouge_l"), r["seconds"]])
    if rows:
        summary["figures"] = _figures(rows, summary["critical_rates"], out_dir)
    return summary


def _figures(rows, crit, out_dir) -> list[str]:
    from spjax.eval.figures import _plt

    plt = _plt()
    paths = []
    budgets = sorted({r["photons"] for r in rows}, key=lambda p: -1 if p is None else p)
    fig, axes = plt.subplots(1, len(budgets), figsize=(5.5 * len(budgets), 4.2), squeeze=False)
    for ax, ph in zip(axes[0], budgets):
        chance = None
        for fam in sorted({r["family"] for r in rows}):
            sel = sorted((r for r in rows if r["family"] == fam and r["photons"] == ph),
                         key=lambda r: r["rate"])
            if not sel:
                continue
            x = [100 * r["rate"] for r in sel]
            line = ax.errorbar(x, [r["worst_top1"] for r in sel],
                               yerr=[r["worst_top1_std"] for r in sel], marker="o", ms=3,
                               capsize=2, label=fam)
            c = crit.get(f"{fam}|photons={'none' if ph is None else f'{ph:g}'}", {})
            if c.get("critical_rate") is not None:
                ax.axvline(100 * c["critical_rate"], color=line[0].get_color(), ls=":", lw=1)
            chance = sel[0]["chance"]
        if chance is not None:
            ax.axhline(chance, color="k", ls="--", lw=1, label="chance")
            ax.axhline(2 * chance, color="gray", ls="-.", lw=1, label="2× chance")
        ax.set_xscale("log")
        ax.set_xlabel("sampling rate (%)")
        ax.set_ylabel("worst fresh attacker top-1")
        ax.set_ylim(0, 1.02)
        ax.set_title(f"photons = {'∞ (noiseless)' if ph is None else f'{ph:g}'}; dotted = critical rate",
                     fontsize=9)
        ax.legend(fontsize=7)
    fig.tight_layout()
    p = os.path.join(out_dir, "leakage_vs_rate.png")
    fig.savefig(p, dpi=110)
    plt.close(fig)
    paths.append(p)
    with_u = [r for r in rows if r.get("utility")]
    if with_u:
        fig, axes = plt.subplots(1, 2, figsize=(10, 4.2))
        for ax, key in zip(axes, ("anomaly_accuracy", "rouge_l")):
            for fam in sorted({r["family"] for r in with_u}):
                sel = [r for r in with_u if r["family"] == fam and r["utility"].get(key) is not None]
                ax.scatter([r["utility"][key] for r in sel], [r["worst_top1"] for r in sel],
                           label=fam, s=14)
                for r in sel:
                    ax.annotate(f"{100 * r['rate']:g}%", (r["utility"][key], r["worst_top1"]), fontsize=6)
            ax.axhline(with_u[0]["chance"], color="k", ls="--", lw=1)
            ax.set_xlabel(key.replace("_", " "))
            ax.set_ylabel("worst fresh attacker top-1")
            ax.legend(fontsize=7)
        fig.suptitle("privacy–utility (lower-right is better)", fontsize=10)
        fig.tight_layout()
        p = os.path.join(out_dir, "pareto.png")
        fig.savefig(p, dpi=110)
        plt.close(fig)
        paths.append(p)
    return paths


def _parse_list(text, conv, name):
    if text is None:
        return None
    try:
        return tuple(conv(t.strip()) for t in text.split(",") if t.strip())
    except (ValueError, TypeError) as err:
        raise ValueError(f"--{name}: could not parse {text!r} ({err})") from None


def bench_patterns_cli(args) -> int:
    from spjax.eval.cli import _rate

    def rate(t):
        try:
            return _rate(t)
        except Exception as err:  # argparse.ArgumentTypeError carries the message
            raise ValueError(str(err)) from None

    photons = _parse_list(args.photons, lambda t: None if t.lower() == "none" else float(t), "photons")
    summary = bench_patterns(
        args.out, quick=args.quick, families=_parse_list(args.families, str, "families"),
        rates=_parse_list(args.rates, rate, "rates"), photons=photons,
        identities=args.identities, seeds=args.seeds, size=args.size,
        learned_recipe=getattr(args, "learned", None))
    for key, c in summary["critical_rates"].items():
        r = c["critical_rate"]
        print(f"{key:<45} critical rate: {'none (never leaks)' if r is None else f'{100 * r:g} %'}"
              f"{'' if c['monotone'] else ' (non-monotone)'}")
    print(f"wrote {os.path.join(args.out, 'results.json')}, results.csv and figures")
    return 0
