"""How high can a `describe` answer score at all? ROUGE-L of perfectly informed captions.

    .venv/bin/python benchmarks/caption_ceiling.py [--recipe recipes/spvlm_synthetic.py]
        [--candidates 12] [--out benchmarks/out/caption_ceiling.json]

Each test clip (the recipe's world and test split) has three reference captions, each drawn
from the caption grammar with random wording, detail and sentence order; an answer is scored
by its best ROUGE-L F1 over the three. An answerer that knows the clip's labels *exactly*
still cannot know which wording the references drew. `spjax.eval.caption_ceiling` measures
such answerers on the same references (`oracle_random`, `oracle_mbr`, `oracle_fixed_detail<d>`,
`oracle_best_terse`; its docstring says what each is) and the caption content F1 of the random
one; every `spjax evaluate` and training report carries the same numbers for its own split
(`utility.details.describe.caption_ceilings`).

No model is involved: these are ceilings of the metric on this grammar, not of spjax.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from spjax.data.scenes import clip_labels
from spjax.data.stream import eval_clips
from spjax.eval.caption_ceiling import caption_ceilings
from spjax.training.config import load_recipe
from spjax.training.data import scene_config


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--recipe", default="recipes/spvlm_synthetic.py")
    ap.add_argument("--candidates", type=int, default=12)
    ap.add_argument("--out", default="benchmarks/out/caption_ceiling.json")
    args = ap.parse_args()

    cfg = load_recipe(args.recipe)
    n = int(cfg.data.n_test)
    clips = eval_clips(
        scene_config(cfg), n, seed=int(cfg.seed), split="test"
    )  # the run's test split
    labels = [clip_labels(clips, i) for i in range(n)]
    result = {
        "recipe": args.recipe,
        **caption_ceilings(labels, clips["captions"], candidates=args.candidates),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
