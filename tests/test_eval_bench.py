"""`spjax bench patterns`: a tiny resumable sweep."""

import csv
import json

import pytest

from spjax.cli import main
from spjax.eval.bench import bench_patterns, cell_key, critical_rates


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
