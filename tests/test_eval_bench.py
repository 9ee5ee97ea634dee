"""`spjax bench patterns`: a tiny resumable sweep."""

import csv
import json
from pathlib import Path

import pytest

from spjax.cli import main
from spjax.eval.bench import bench_patterns, cell_key, critical_rates

RECIPE = Path(__file__).resolve().parents[1] / "recipes" / "spvlm_synthetic.py"


@pytest.mark.slow  # 4 audited cells (~30 s on a shared 2-core machine)
def test_bench_sweep_resumes_and_writes_tables(tmp_path):
    kw = dict(quick=True, families=("hadamard", "dct"), rates=(1 / 256, 1.0), photons=(None,),
              identities=5, seeds=2, size=16, progress=False)
    out = bench_patterns(str(tmp_path), **kw)
    assert len(out["rows"]) == 4
    lines = (tmp_path / "results.jsonl").read_text().splitlines()
    assert len(lines) == 4
    full = {r["family"]: r for r in out["rows"] if r["rate"] == 1.0}
    # Every pixel measured: identity leaks for both families.
    assert all(r["leaks"] and r["worst_top1"] >= 2 * r["chance"] for r in full.values())
    crit = out["critical_rates"]
    assert set(crit) == {"hadamard|photons=none", "dct|photons=none"}
    assert all(c["critical_rate"] in (1 / 256, 1.0) for c in crit.values())
    with open(tmp_path / "results.csv") as f:
        assert len(list(csv.reader(f))) == 5
    assert (tmp_path / "leakage_vs_rate.png").stat().st_size > 5_000
    # A rerun finds every cell done and trains nothing.
    again = bench_patterns(str(tmp_path), **kw)
    assert (tmp_path / "results.jsonl").read_text().splitlines() == lines
    assert again["rows"] == json.loads(json.dumps(out["rows"]))
    # Other settings in the same folder would mix incomparable numbers.
    with pytest.raises(ValueError, match="settings"):
        bench_patterns(str(tmp_path), **{**kw, "identities": 6})


def test_critical_rates_per_family_from_rows():
    def row(fam, rate, top1, p):
        return {"family": fam, "rate": rate, "photons": None, "worst": "knn",
                "worst_top1": top1, "chance": 0.1, "p_value": p}

    rows = [row("a", 0.01, 0.1, 0.5), row("a", 0.05, 0.5, 0.001), row("b", 0.01, 0.12, 0.3),
            row("b", 0.05, 0.15, 0.01)]
    crit = critical_rates(rows)
    assert crit["a|photons=none"]["critical_rate"] == 0.05
    assert crit["b|photons=none"]["critical_rate"] is None  # 1.5x chance is within the margin
    assert cell_key("dct", 0.05, 1e4) == "dct|r=0.05|photons=10000"


def test_bench_cli_rejects_bad_rates(tmp_path, capsys):
    assert main(["bench", "patterns", "--quick", "--out", str(tmp_path), "--rates", "0.1,abc"]) == 2
    assert "--rates" in capsys.readouterr().err


def test_target_check_compares_adversarial_with_utility_only_at_the_same_rate():
    from spjax.eval.bench import target_check

    def row(fam, rate, top1, acc):
        return {"family": fam, "rate": rate, "photons": None, "worst_top1": top1, "chance": 0.05,
                "utility": {"anomaly_accuracy": acc}}

    rows = [row("learned:utility", 0.01, 0.6, 0.80), row("learned:adversarial", 0.01, 0.09, 0.77),
            row("learned:utility", 0.05, 0.7, 0.85), row("learned:adversarial", 0.05, 0.08, 0.70),
            row("hadamard", 0.05, 0.7, 0.82)]
    got = {t["rate"]: t for t in target_check(rows)}
    assert set(got) == {0.01, 0.05}
    assert got[0.01]["met"] and got[0.01]["anomaly_gap"] == pytest.approx(0.03)
    assert got[0.05]["within_margin"] and not got[0.05]["utility_kept"] and not got[0.05]["met"]
    rows[1]["worst_top1"] = 0.09 + 0.01  # 0.09999999999999999 or so: exactly 2x chance counts as within
    assert target_check(rows)[0]["within_margin"]
    rows[1]["worst_top1"] = 0.11  # above 2x chance
    assert not target_check(rows)[0]["met"]


def test_learned_designs_need_a_recipe(tmp_path):
    with pytest.raises(ValueError, match="--utility RECIPE"):
        bench_patterns(str(tmp_path), quick=True, families=("learned:private",), progress=False)


@pytest.mark.slow  # three tiny trainings + four audited cells (~2-3 min on 2 shared cores)
def test_bench_with_utility_trains_fixed_and_learned_designs(tmp_path):
    import shutil

    from test_training import TINY_DECODER, tiny_overrides

    decoder_recipe = tmp_path / "decoder_recipe.py"
    decoder_recipe.write_text(TINY_DECODER)
    tiny = [o for o in tiny_overrides(str(decoder_recipe), str(tmp_path / "cache"))
            if not o.startswith(("data.size=", "sensor.rate="))]
    kw = dict(quick=True, families=("hadamard", "learned:utility", "learned:private"),
              rates=(1 / 256,), photons=(None,),
              identities=4, seeds=2, size=16, progress=False,
              utility_recipe=str(RECIPE), utility_rates=(0.1,), utility_set=tuple(tiny))
    out = bench_patterns(str(tmp_path / "sweep"), **kw)
    rows = {(r["family"], r["rate"]): r for r in out["rows"]}
    assert set(rows) == {("hadamard", 1 / 256), ("hadamard", 0.1), ("learned:utility", 0.1),
                         ("learned:private", 0.1)}
    assert rows[("hadamard", 1 / 256)]["utility"] is None  # not a utility rate
    for design in ("hadamard", "learned:utility", "learned:private"):
        u = rows[(design, 0.1)]["utility"]
        # A 6-step model may leave some answers unparseable (then counted wrong, and a metric
        # with no parseable answer is None); anomaly accuracy and ROUGE-L always exist.
        assert 0 <= u["anomaly_accuracy"] <= 1 and 0 <= u["rouge_l"] <= 1
        assert isinstance(u["unparseable"], int)
    # Learned sensors are audited on identities they never saw (8 trained, ids 0..7).
    assert rows[("learned:private", 0.1)]["identity_offset"] == 8
    assert rows[("hadamard", 0.1)]["identity_offset"] == 0
    run = tmp_path / "sweep" / "runs" / "learned-private_r=0.1_photons=none"
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["sensor"]["family"] == "learned" and cfg["privacy"]["weight"] > 0
    fixed = json.loads((tmp_path / "sweep" / "runs" / "hadamard_r=0.1_photons=none" / "config.json").read_text())
    assert fixed["sensor"]["family"] == "hadamard" and fixed["privacy"]["weight"] == 0
    assert [(t["design"], t["rate"]) for t in out["target"]] == [("learned:private", 0.1)]
    assert (tmp_path / "sweep" / "pareto.png").stat().st_size > 5_000
    # Resumable: a rerun trains and audits nothing (the runs' checkpoints are no longer needed).
    for d in (tmp_path / "sweep" / "runs").iterdir():
        shutil.rmtree(d / "checkpoints")
    lines = (tmp_path / "sweep" / "utility.jsonl").read_text()
    again = bench_patterns(str(tmp_path / "sweep"), **kw)
    assert (tmp_path / "sweep" / "utility.jsonl").read_text() == lines
    assert len(again["rows"]) == 4
    # Other training overrides in the same folder would mix incomparable utility numbers.
    with pytest.raises(ValueError, match="utility settings"):
        bench_patterns(str(tmp_path / "sweep"), **{**kw, "utility_set": tuple(tiny) + ("train.steps=7",)})
