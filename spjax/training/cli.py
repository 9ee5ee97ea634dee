"""`spjax train RECIPE --workdir DIR [--set key=value ...] [--resume] [--wandb MODE]`."""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "train", help="train from a recipe (decoder pretraining or SP-VLM)",
        description="Run a recipe file from recipes/. Overrides use --set key=value; "
                    "unknown keys are errors.")
    p.add_argument("recipe", help="path to a recipe file, e.g. recipes/spvlm_synthetic.py")
    p.add_argument("--workdir", required=True, help="run directory (checkpoints, logs, report)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value (repeatable)")
    p.add_argument("--resume", action="store_true",
                   help="continue from the latest checkpoint in --workdir")
    p.add_argument("--wandb", choices=("disabled", "offline", "online"), default=None,
                   help="wandb logging mode (default: the recipe's run.wandb, 'disabled')")
    p.set_defaults(func=_train)


def _train(args: argparse.Namespace) -> int:
    from spjax.training.config import apply_overrides, load_recipe
    from spjax.training.run import run_recipe

    config = apply_overrides(load_recipe(args.recipe), args.overrides)
    if args.wandb is not None:
        config.run.wandb = args.wandb
    report = run_recipe(config, args.workdir, resume=args.resume)
    print(report.get("summary", ""))
    return 0
