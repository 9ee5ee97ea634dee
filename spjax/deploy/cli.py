"""`spjax ask`: answers from a recorded measurement stream of a trained run's sensor."""

from __future__ import annotations


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "ask",
        help="answer questions about a recorded measurement stream (one answer set per clip window)",
        description="Read raw photodiode samples per physical DMD frame (in the order of the "
        "displayed export's manifest; .npy, .npz or CSV) or differenced measurements (T, K), "
        "check them against the export and the run's sensor, calibrate detector gain and dark "
        "offset, and answer questions window by window (the trained clip length).",
    )
    p.add_argument("--run", required=True, metavar="DIR", help="trained SP-VLM run directory")
    p.add_argument(
        "--measurements", required=True, metavar="FILE", help="recording (.npy, .npz or .csv)"
    )
    p.add_argument(
        "--export",
        "--manifest",
        dest="export",
        metavar="DIR|manifest.json",
        help="the export the DMD displayed (required for raw samples)",
    )
    p.add_argument(
        "--question",
        action="append",
        metavar="TEXT",
        help="a question (repeatable; default: count, anomaly, activity, describe)",
    )
    p.add_argument("--gain", type=float, help="detector gain, raw units per count (default: fit)")
    p.add_argument("--dark", type=float, help="dark offset, raw units (default: fit or not needed)")
    p.add_argument("--column", help="CSV column holding the samples (name or index)")
    p.add_argument("--out", metavar="F.json", help="write the answers and the calibration here")
    p.set_defaults(func=_ask)


def _ask(args) -> int:
    from pathlib import Path

    from spjax import jsonio
    from spjax.deploy.ask import ask
    from spjax.deploy.pipeline import Pipeline

    pipeline = Pipeline.from_run(args.run)
    result = ask(
        pipeline,
        args.measurements,
        export=args.export,
        questions=args.question,
        gain=args.gain,
        dark=args.dark,
        column=args.column,
    )
    det = result["detector"]
    if det:
        print(
            f"detector: gain {det['gain']['value']:.6g} ({det['gain']['how'].split(':')[0]}), "
            f"dark {det['dark']['value']:.6g} ({det['dark']['how'].split(':')[0]})"
        )
    for w in result["windows"]:
        span = f"frames {w['frames'][0]}–{w['frames'][1]}"
        if w["seconds"]:
            span += f" ({w['seconds'][0]:.4g}–{w['seconds'][1]:.4g} s)"
        print(f"window {w['window']}, {span}:")
        for a in w["answers"]:
            print(f"  {a['question']}  →  {a['answer']}")
    for warning in result["warnings"]:
        print(f"warning: {warning}")
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(jsonio.dumps(result, indent=2))
        print(f"answers: {out}")
    return 0
