"""Are two training runs the same run? Compares `report.json` (timings and paths aside) and
every logged line of `metrics.jsonl` (wall-clock fields aside).

Used to check that a refactoring leaves results unchanged: train the default recipe before
and after into two folders, then

    .venv/bin/python benchmarks/compare_runs.py RUN_BEFORE RUN_AFTER

Exits 1 when they differ, naming the first differences.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

# Keys whose values are wall-clock or machine facts, not results.
VOLATILE = ("seconds", "time", "elapsed", "wall", "steps_per_s", "timing_s", "path", "dir")


def _strip(obj):
    if isinstance(obj, dict):
        return {k: _strip(v) for k, v in obj.items() if not any(t in k for t in VOLATILE)}
    if isinstance(obj, list):
        return [_strip(v) for v in obj]
    return obj


def _differences(a, b, where="", out=None):
    out = [] if out is None else out
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                out.append(f"{where}/{k}: only in one")
            else:
                _differences(a[k], b[k], f"{where}/{k}", out)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            _differences(x, y, f"{where}[{i}]", out)
    elif a != b and not (a != a and b != b):  # NaN equals NaN here
        out.append(f"{where}: {a!r} vs {b!r}")
    return out


def compare(before: Path, after: Path) -> list[str]:
    report = [_strip(json.loads((run / "report.json").read_text())) for run in (before, after)]
    diffs = _differences(*report, "report.json")
    logs = [
        [_strip(json.loads(line)) for line in (run / "metrics.jsonl").read_text().splitlines()]
        for run in (before, after)
    ]
    if len(logs[0]) != len(logs[1]):
        diffs.append(f"metrics.jsonl: {len(logs[0])} vs {len(logs[1])} lines")
    for i, (x, y) in enumerate(zip(*logs)):
        diffs += _differences(x, y, f"metrics.jsonl line {i + 1}")
    return diffs


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__)
        return 2
    diffs = compare(Path(argv[0]), Path(argv[1]))
    if diffs:
        print(f"{len(diffs)} differences; first ones:", *diffs[:20], sep="\n  ")
        return 1
    print("same run: report.json and every metrics.jsonl line agree (timings aside)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
