"""`spjax train RECIPE --workdir DIR [--set key=value ...] [--resume] [--wandb MODE]` and
`spjax evaluate --run DIR [--set data.KEY=VALUE ...] --out F.json`."""

from __future__ import annotations

import argparse

from spjax.cliargs import positive_int


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "train",
        help="train from a recipe (decoder pretraining or SP-VLM)",
        description="Run a recipe file from recipes/. Overrides use --set key=value; "
        "unknown keys are errors.",
    )
    p.add_argument("recipe", help="path to a recipe file, e.g. recipes/spvlm_synthetic.py")
    p.add_argument("--workdir", required=True, help="run directory (checkpoints, logs, report)")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value (repeatable)",
    )
    p.add_argument(
        "--resume", action="store_true", help="continue from the latest checkpoint in --workdir"
    )
    p.add_argument(
        "--wandb",
        choices=("disabled", "offline", "online"),
        default=None,
        help="wandb logging mode (default: the recipe's run.wandb, 'disabled')",
    )
    p.set_defaults(func=_train)

    e = subparsers.add_parser(
        "evaluate",
        help="evaluate a trained SP-VLM run on another world (no retraining)",
        description="Rebuild a trained run from its config and latest checkpoint, change the "
        "world with --set data.KEY=VALUE (world_seed, layout_offset, "
        "identity_offset, lighting, noise_std, anomaly_fraction, n_test, …) or the "
        "detector noise (sensor.photons, sensor.dark, sensor.read_std) or the decoding "
        "(eval.describe_beams, …), and score "
        "generated answers on its test split. Writes the report.json utility schema.",
    )
    e.add_argument("--run", required=True, help="a run directory written by `spjax train`")
    e.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="change the evaluated world (repeatable)",
    )
    e.add_argument("--out", required=True, help="output JSON file")
    e.add_argument(
        "--wordings",
        metavar="FILE.json",
        help="question wordings {question, kind[, place]} (e.g. the held-out set "
        "tests/data/heldout_questions.json): also score count, anomaly and activity with the "
        "questions asked in those words, routed as `spjax ask` routes them, beside the "
        "grammar's wordings on the same clips",
    )
    e.add_argument(
        "--wordings-clips",
        type=positive_int,
        metavar="N",
        help="score the wordings on the first N test clips (default: all)",
    )
    e.set_defaults(func=_evaluate)


def _train(args: argparse.Namespace) -> int:
    from spjax.training.config import apply_overrides, load_recipe
    from spjax.training.run import run_recipe

    config = apply_overrides(load_recipe(args.recipe), args.overrides)
    if args.wandb is not None:
        config.run.wandb = args.wandb
    report = run_recipe(config, args.workdir, resume=args.resume)
    print(report.get("summary", ""))
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from pathlib import Path

    from spjax import jsonio
    from spjax.training.restore import evaluate_run

    result = evaluate_run(
        args.run, args.overrides, wordings=args.wordings, wording_clips=args.wordings_clips
    )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(jsonio.dumps(result, indent=2))
    u = result["utility"]
    ceiling = u["details"].get("describe", {}).get("caption_ceilings", {}).get("rouge_l", {})
    print(
        f"{args.run} on {' '.join(args.overrides) or 'its own world'}: anomaly accuracy "
        f"{_fmt(u['anomaly_accuracy'])} (balanced {_fmt(u['anomaly_balanced_accuracy'])}), "
        f"count MAE {_fmt(u['count_mae'])}, ROUGE-L {_fmt(u['rouge_l'])} (a perfectly informed "
        f"caption: {_fmt(ceiling.get('oracle_random'))}), BLEU-4 {_fmt(u['bleu4'])}, caption "
        f"content F1 {_fmt(u['caption_content_f1'])} (precision "
        f"{_fmt(u['caption_content_precision'])}, recall {_fmt(u['caption_content_recall'])}) "
        f"→ {out}"
    )
    if "wordings" in result:
        print(wordings_line(result["wordings"]))
    return 0


def wordings_line(w: dict) -> str:
    """Count, anomaly and activity accuracy in the grammar's wordings vs the given ones."""
    s = w["summary"]

    def pair(key):
        return f"{_fmt(s['grammar'][key])} / {_fmt(s['routed'][key])}"

    return (
        f"wordings of {w['source']} on {w['clips']} clips (grammar / those wordings, routed; "
        f"routing accuracy {_fmt(w['routing']['accuracy'])}): count exact "
        f"{pair('count_exact_accuracy')}, count MAE {pair('count_mae')}, anomaly "
        f"{pair('anomaly_accuracy')}, activity {pair('activity_accuracy')}; empty answers "
        f"{w['routed']['empty_answers']}"
    )


def _fmt(x) -> str:
    return "n/a" if x is None else f"{x:.3f}"
