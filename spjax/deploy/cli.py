"""`spjax ask`: answers from a recorded measurement stream of a trained run's sensor."""

from __future__ import annotations

from spjax.cliargs import positive_int


def register(subparsers) -> None:
    _register_record(subparsers)
    p = subparsers.add_parser(
        "ask",
        help="answer questions about a recorded measurement stream (one answer set per clip window)",
        description="Read raw photodiode samples per physical DMD frame (in the order of the "
        "displayed export's manifest; .npy, .npz or CSV) or differenced measurements (T, K), "
        "check the export against the run's sensor and the stream against the export, measure "
        "the detector's dark offset and gain (from the export's calibration frames; photon "
        "transfer for exports without them), and answer questions window by window (the "
        "trained clip length). --labels scores the answers against a simulated recording's "
        "ground truth, beside the run's own test numbers.",
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
        help="a question in any words (repeatable; default: count, anomaly, activity, "
        "describe): routed to the answer kind it asks for, the model asked the grammar's "
        "question of that kind; a question of no such kind is answered with a statement that "
        "the sensor does not answer it",
    )
    p.add_argument("--gain", type=float, help="detector gain, raw units per count (default: fit)")
    p.add_argument("--dark", type=float, help="dark offset, raw units (default: fit or not needed)")
    p.add_argument("--column", help="CSV column holding the samples (name or index)")
    p.add_argument(
        "--labels",
        metavar="FILE.labels.json",
        help="ground truth written by spjax sensing record: score the answers against it",
    )
    p.add_argument("--out", metavar="F.json", help="write the answers and the calibration here")
    p.set_defaults(func=_ask)


def _print_detector(det: dict) -> None:
    def one(name):
        e = det[name]
        how = e["how"].split(":")[0]
        se = f" ± {e['standard_error']:.3g}" if "standard_error" in e else ""
        return f"{name} {e['value']:.6g}{se} ({how})"

    print(f"detector ({det['method']}): {one('gain')}, {one('dark')}")
    found = det.get("drift")
    if found:
        for name in ("gain", "dark"):
            d = found.get(name)
            if not d:
                continue
            rel = d["relative_change"]
            size = (
                f"{100 * rel:+.3g} % ± {100 * d['relative_change_se']:.2g} %"
                if rel is not None
                else f"{d['change']:+.4g} ± {d['change_se']:.2g}"
            )
            state = "corrected" if d["applied"] else "not significant, not corrected"
            print(f"  drift of the {name} over the recording: {size} ({state})")


def _ask(args) -> int:
    from pathlib import Path

    from spjax import jsonio
    from spjax.deploy.ask import ask
    from spjax.deploy.labels import table
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
        labels=args.labels,
    )
    if result["detector"]:
        _print_detector(result["detector"])
    for w in result["windows"]:
        span = f"frames {w['frames'][0]}–{w['frames'][1]}"
        if w["seconds"]:
            span += f" ({w['seconds'][0]:.4g}–{w['seconds'][1]:.4g} s)"
        print(f"window {w['window']}, {span}:")
        for a in w["answers"]:
            asked = a.get("asked")
            how = f" [asked: {asked}]" if asked and asked != a["question"] else ""
            how = how if asked else f" [not asked: {a.get('reason')}]"
            print(f"  {a['question']}{how}  →  {a['answer']}")
    if "scores" in result:
        print(f"scored against {result['scores']['labels']}:")
        print(table(result["scores"], result["scores"]["run_test"]))
    for warning in result["warnings"]:
        print(f"WARNING: {warning}")
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(jsonio.dumps(result, indent=2))
        print(f"answers: {out}")
    return 0


def _register_record(subparsers) -> None:
    """`spjax sensing record` (the sensing group is registered before this area)."""
    r = subparsers.choices["sensing"].subcommands.add_parser(
        "record",
        help="simulate a recording: world clips through an export's DMD frames → raw samples",
        description="Render clips of the world, show them through the frames of an export as "
        "the DMD displays them, and write the photodiode's raw samples (gain × counts + dark, "
        "with shot and read noise) per physical frame in the manifest's order, plus the clips' "
        "ground truth in <out stem>.labels.json. `spjax ask` reads the result.",
    )
    r.add_argument("--export", required=True, metavar="DIR", help="folder written by spjax export")
    r.add_argument("--clips", required=True, type=positive_int, help="number of clips")
    r.add_argument("--out", required=True, metavar="FILE", help="samples: .npy, .npz or .csv")
    r.add_argument(
        "--run", metavar="DIR", help="take the world (data.*) and clip length from a run's config"
    )
    r.add_argument("--frames", type=positive_int, help="frames per clip (default: 16 or the run's)")
    r.add_argument(
        "--world-seed", type=int, help="world seed (rooms, people; default 0 or the run's)"
    )
    r.add_argument("--seed", type=int, default=0, help="clip and noise seed (default 0)")
    r.add_argument("--gain", type=float, default=1.0, help="raw units per photon count (default 1)")
    r.add_argument(
        "--dark", type=float, default=0.0, help="offset added to every sample (default 0)"
    )
    r.add_argument("--photons", type=float, help="photon budget (default: the export's sensor)")
    r.add_argument("--read-std", type=float, help="read noise in counts (default: the export's)")
    r.add_argument("--noiseless", action="store_true", help="write the expected samples, no noise")
    r.add_argument(
        "--drift",
        type=_drift,
        default=(0.0, 0.0),
        metavar="REL[,DARK_REL]",
        help="slow detector drift: gain and dark rise linearly by this fraction over the "
        "recording (0.05: 5 %%; GAIN,DARK to set them apart; default 0)",
    )
    r.set_defaults(func=record)


def _drift(text: str) -> tuple[float, float]:
    import argparse

    parts = text.split(",")
    try:
        values = [float(v) for v in parts]
    except ValueError:
        values = []
    if len(values) not in (1, 2):
        raise argparse.ArgumentTypeError(
            f"expected a relative change such as 0.05, or GAIN,DARK such as 0.05,-0.02, got {text!r}"
        )
    return (values[0], values[-1])


def record(args) -> int:
    from spjax.deploy.record import record as run_record

    side = run_record(
        args.export,
        args.out,
        clips=args.clips,
        frames=args.frames,
        world_seed=args.world_seed,
        seed=args.seed,
        run=args.run,
        gain=args.gain,
        dark=args.dark,
        photons=args.photons,
        read_std=args.read_std,
        noiseless=args.noiseless,
        drift=args.drift,
    )
    print(
        f"recorded {side['clips']} clips × {side['clip_frames']} frames × "
        f"{side['physical_frames_per_frame_time']} physical frames = {side['n_samples']} "
        f"samples to {side['samples']}; ground truth: {side['labels_path']}"
    )
    return 0
