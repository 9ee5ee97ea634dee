"""Does a trained SP-VLM answer as well when questions come in a user's own words?

    nice -n 15 .venv/bin/python benchmarks/heldout_wordings.py --run runs/default \
        [--clips 300] [--wordings tests/data/heldout_questions.json] \
        [--out benchmarks/out/heldout_wordings.json]

On the first `--clips` clips of the run's test split, every count, anomaly and activity
question is asked three ways (`spjax.training.evaluate.wording_utility`): in the grammar's
own wording; in a hand-written held-out wording of the same kind (activity: one naming the
same place), routed as `spjax ask` routes it (the question router picks the kind, the model
is asked the grammar's question of that kind); and in that held-out wording put to the decoder
verbatim. Answers are parsed and scored against the clip's labels. Nothing is written into the
run (`spjax evaluate --wordings FILE` gives the same section beside a full evaluation).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from spjax.training.evaluate import WORDING_MODES, load_wordings, wording_utility
from spjax.training.restore import restore_run


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", default="runs/default")
    ap.add_argument("--clips", type=int, default=300)
    ap.add_argument("--wordings", default="tests/data/heldout_questions.json")
    ap.add_argument("--seed", type=int, default=0, help="which wording each example draws")
    ap.add_argument("--out", default="benchmarks/out/heldout_wordings.json")
    args = ap.parse_args()

    wordings = load_wordings(args.wordings)
    t0 = time.time()
    # The run's own test split (rendered whole: a shorter split would draw other clips
    # after its first chunk), of which the first --clips clips are asked.
    trainer, meta = restore_run(args.run)
    t1 = time.time()
    result = wording_utility(trainer, "test", wordings, clips=args.clips, seed=args.seed)
    t2 = time.time()
    result = {
        "run": args.run,
        "step": int(meta["step"]),
        "wordings_file": args.wordings,
        "seconds": {"restore": round(t1 - t0, 1), "answer": round(t2 - t1, 1)},
        **result,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))
    s = result["summary"]
    print(f"{args.run} (step {result['step']}), {result['clips']} test clips, {result['examples']}")
    print(f"{'':28}" + "".join(f"{m:>20}" for m in WORDING_MODES))
    for key in ("count_exact_accuracy", "count_mae", "anomaly_accuracy", "activity_accuracy"):
        cells = "".join(
            f"{'n/a' if s[m][key] is None else format(s[m][key], '.3f'):>20}" for m in WORDING_MODES
        )
        print(f"{key:28}{cells}")
    print(
        f"routing accuracy {result['routing']['accuracy']:.3f} {result['routing']['by_kind']}; "
        f"empty answers {result['routed']['empty_answers']}; {result['seconds']} → {args.out}"
    )


if __name__ == "__main__":
    main()
