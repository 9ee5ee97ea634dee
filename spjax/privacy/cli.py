"""`spjax privacy-audit`: the after-the-fact audit of a frozen sensor (T1, T2, T3), and
`--list-attackers`, the attacker table."""

from __future__ import annotations

import json
import os

from spjax.cliargs import comma_list, positive_int, rate


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "privacy-audit",
        help="how much identity a frozen sensor leaks: calibrated fresh attackers, scene "
        "re-identification, reconstruction, dlib",
        description="Train fresh identity attackers from scratch on a frozen sensor's face "
        "measurements (several seeds), calibrate them against the clean faces (ceiling, "
        "attacker strength), re-identify people in scene clips from the measurement stream, "
        "run the reconstruction attack and dlib's face recognizer on real photos, and write a "
        "JSON report plus a one-page figure. 'hadamard' without an order means the 2-D "
        "low-frequency order (hadamard:low_frequency).",
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument(
        "--run", metavar="DIR", help="a training run directory (sensor.json + sensor_patterns.npy)"
    )
    src.add_argument(
        "--patterns", metavar="DIR", help="a saved sensor directory or a DMD export directory"
    )
    src.add_argument(
        "--list-attackers",
        action="store_true",
        help="print every attacker: threat model, what it reads, builder, search grid",
    )
    src.add_argument(
        "--family",
        metavar="NAME",
        help="a fixed pattern family, e.g. hadamard (= hadamard:low_frequency, the 2-D "
        "low-frequency order), hadamard:sequency, hadamard:cake_cutting, dct, "
        "rademacher",
    )
    p.add_argument("--rate", type=rate, help="sampling rate K/(H*W) for --family (0.01 or 1%%)")
    p.add_argument(
        "--photons",
        type=float,
        default=None,
        help="photon budget for --family (default: noiseless)",
    )
    p.add_argument(
        "--size",
        type=positive_int,
        default=None,
        help="face size H=W (default: a saved sensor's own size; 32 for --family)",
    )
    p.add_argument(
        "--identities", type=positive_int, default=50, help="closed-set identities (default 50)"
    )
    p.add_argument(
        "--per-identity",
        type=positive_int,
        default=None,
        help="faces per identity (default 40, quick 20)",
    )
    p.add_argument("--seeds", type=positive_int, default=3, help="number of seeds (default 3)")
    p.add_argument(
        "--identity-offset",
        type=int,
        default=None,
        metavar="N",
        help="audit identities N, N+1, ... (default: after the identities a --run "
        "sensor was trained against, else 0)",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="small grids, short training, fewer faces and clips (a smoke test, not a calibrated audit)",
    )
    p.add_argument(
        "--augment",
        type=positive_int,
        default=None,
        help="noisy sensors: measure each train face this many times with fresh noise "
        "(default 4, quick 2)",
    )
    p.add_argument(
        "--shots",
        type=positive_int,
        default=8,
        help="noisy sensors: the averaged-shots LDA averages this many repeated "
        "measurements of a still face (default 8; 1 = off)",
    )
    p.add_argument(
        "--no-calibration", action="store_true", help="skip the ceiling and the attacker strength"
    )
    p.add_argument("--no-scenes", action="store_true", help="skip scene re-identification")
    p.add_argument(
        "--scene-clips",
        metavar="TRAIN,VAL,TEST,LINK",
        default=None,
        help="T3 clip counts (default 12000,1500,2000,1500; --quick 3000,500,1000,1000); "
        "fewer clips with full training bound a full audit's time on a few CPU cores",
    )
    p.add_argument(
        "--photos",
        metavar="DIR",
        default=None,
        help="a local LFW copy (LFW layout) for the dlib recognizer: cross-photo "
        "identification (default: scikit-image's lfw_subset thumbnails, same-photo "
        "re-identification)",
    )
    p.add_argument("--no-recognizer", action="store_true", help="skip the dlib recognizer")
    p.add_argument(
        "--no-reconstruction", action="store_true", help="skip the reconstruction attack"
    )
    p.add_argument(
        "--figure", metavar="FILE", default=None, help="figure path (default: OUT with .png)"
    )
    p.add_argument(
        "--out", metavar="FILE.json", help="where to write the JSON report (required to audit)"
    )
    p.set_defaults(func=_privacy_audit)


def sensor_from_args(args):
    """The frozen sensor named by --run / --patterns / --family (+ --rate, --photons)."""
    from spjax.sensing import NoiseModel, Sensor, load_sensor

    if args.family is not None:
        from spjax.sensing.patterns import canonical_family

        if args.rate is None:
            raise ValueError("--rate: required with --family (e.g. --rate 0.01), got none")
        noise = None if args.photons is None else NoiseModel(args.photons)
        size = 32 if args.size is None else args.size
        return Sensor.family(canonical_family(args.family), size, size, args.rate, noise=noise)
    if args.rate is not None or args.photons is not None:
        raise ValueError("--rate/--photons: only apply to --family; a saved sensor keeps its own")
    directory = args.run if args.run is not None else args.patterns
    if not os.path.isdir(directory):
        raise FileNotFoundError(
            f"{'--run' if args.run else '--patterns'}: expected a directory, got {directory!r}"
        )
    if os.path.isfile(os.path.join(directory, "sensor.json")):
        return load_sensor(directory)
    if args.patterns is not None:
        from spjax.export import import_patterns

        return import_patterns(directory)
    raise FileNotFoundError(f"--run: {directory!r} has no sensor.json (is the run finished?)")


def _training_adversary(run_dir: str) -> dict | None:
    """Adversary numbers logged by the trainer, kept apart from the audit."""
    path = os.path.join(run_dir, "report.json")
    if not os.path.isfile(path):
        return None
    with open(path) as f:
        try:
            rep = json.load(f)
        except json.JSONDecodeError:
            return None
    if not isinstance(rep, dict):
        return None
    privacy = rep.get("privacy")
    if isinstance(privacy, dict) and "training_adversary" in privacy:
        found = {
            "training_adversary": privacy["training_adversary"],
            "chance": privacy.get("chance"),
        }
    else:
        found = {k: v for k, v in rep.items() if "advers" in k.lower()}
    if not found:
        return None
    return {
        "note": "numbers of the adversary the sensor was trained against; NOT the audit",
        **found,
    }


def _scene_settings(run_dir) -> dict:
    """T3 of a trained run: clips of its world and length (config.json `data.world_seed`,
    `data.frames`); the people are those after its training identities, like the faces."""
    if run_dir is None:
        return {}
    path = os.path.join(run_dir, "config.json")
    if not os.path.isfile(path):
        return {}
    try:
        with open(path) as f:
            data = json.load(f).get("data", {})
    except (json.JSONDecodeError, AttributeError):
        return {}
    out = {}
    if isinstance(data.get("world_seed"), int):
        out["world_seed"] = data["world_seed"]
    if isinstance(data.get("frames"), int) and data["frames"] >= 6:
        out["frames"] = data["frames"]
    return out


def _scene_clips(text) -> dict:
    if text is None:
        return {}
    counts = comma_list(text, int, "--scene-clips")
    if len(counts) != 4:
        raise ValueError(f"--scene-clips: expected TRAIN,VAL,TEST,LINK (4 ints), got {text!r}")
    return dict(zip(("n_train", "n_val", "n_test", "n_link"), counts))


def audit_settings_from_args(args, sensor):
    """The one `AuditSettings` of a `spjax privacy-audit` command line."""
    from spjax.privacy.audit import training_identities
    from spjax.privacy.settings import AuditSettings

    offset = args.identity_offset
    if offset is None:
        offset = training_identities(args.run) if args.run is not None else 0
    if offset < 0:
        raise ValueError(f"--identity-offset: expected >= 0, got {offset}")
    return AuditSettings(
        size=args.size or int(sensor.h),
        identities=args.identities,
        seeds=tuple(range(args.seeds)),
        quick=args.quick,
        per_identity=args.per_identity,
        augment=args.augment,
        shots=args.shots,
        reconstruction=not args.no_reconstruction,
        calibrate=not args.no_calibration,
        scenes=not args.no_scenes,
        scene={**_scene_settings(args.run), **_scene_clips(args.scene_clips)},
        recognizer=False if args.no_recognizer else "auto",
        photos=args.photos,
        identity_offset=offset,
    )


def _privacy_audit(args) -> int:
    from spjax.jsonio import to_jsonable
    from spjax.privacy.audit import format_summary, privacy_audit

    if args.list_attackers:
        from spjax.privacy.attacks import table

        for row in table():
            grid = row["grid"] if row["grid"] != [{}] else "-"
            print(f"{row['name']:<24} {row['threat']}  {row['reads']:<7} {row['what']}")
            print(f"{'':<24} builder {row['builder']}; grid {grid}")
        return 0
    if args.out is None:
        raise ValueError("--out: expected FILE.json for the report, got none")
    sensor = sensor_from_args(args)
    settings = audit_settings_from_args(args, sensor)
    out = args.out
    figure = args.figure or (os.path.splitext(out)[0] + ".png")
    report = privacy_audit(sensor, settings, figure=figure, progress=True)
    if args.run is not None:
        adv = _training_adversary(args.run)
        if adv is not None:
            report["training_adversary"] = adv
    if os.path.dirname(out):
        os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        json.dump(to_jsonable(report), f, indent=1)
    print(format_summary(report))
    print(f"wrote {out} and {figure}")
    return 0
