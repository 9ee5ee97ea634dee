"""``spjax export`` and ``spjax import-patterns``."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

FORMAT_NAMES = ("png", "npz", "alp4", "dlpc900", "dlpc350")  # keep in step with FORMATS


def _size(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"(\d+)(?:[x×X](\d+))?", text.strip())
    if not m:
        raise argparse.ArgumentTypeError(f"expected H or HxW such as 32 or 32x64, got {text!r}")
    h = int(m.group(1))
    return h, int(m.group(2) or h)


def _offset(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"\s*(\d+)\s*,\s*(\d+)\s*", text)
    if not m:
        raise argparse.ArgumentTypeError(f"expected ROW,COL such as 12,300, got {text!r}")
    return int(m.group(1)), int(m.group(2))


def _calibration(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"\s*(\d+)\s*(?:,\s*(\d+)\s*)?", text)
    if not m:
        raise argparse.ArgumentTypeError(
            f"expected N (N all-off and N all-on frames) or OFF,ON such as 2,2 or 0, got {text!r}"
        )
    n_off = int(m.group(1))
    return n_off, int(m.group(2) if m.group(2) is not None else n_off)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "export",
        help="write a sensor's hard patterns as DMD files (+ manifest.json)",
        description="Binarise, zoom and place a sensor's patterns on a DMD frame and write "
        "them in a controller's format, with a checksummed manifest.json.",
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument(
        "--run", metavar="DIR", help="run directory with sensor.json + sensor_patterns.npy"
    )
    src.add_argument(
        "--family",
        metavar="NAME",
        help="fixed pattern family, e.g. hadamard, hadamard:cake_cutting, rademacher, bernoulli",
    )
    src.add_argument("--patterns", metavar="FILE.npy", help="(K, H, W) array of hard patterns")
    p.add_argument("--rate", type=float, help="sampling rate K/(H*W) for --family")
    p.add_argument("--k", type=int, help="number of patterns for --family (instead of --rate)")
    p.add_argument("--size", type=_size, metavar="H[xW]", help="pattern size for --family")
    p.add_argument("--seed", type=int, default=0, help="seed for random families (default 0)")
    p.add_argument(
        "--format",
        required=True,
        choices=FORMAT_NAMES,
        dest="fmt",
        help="png (1-bit PNG per frame), npz, alp4 (ViALUX, 1024x768), dlpc900 "
        "(LightCrafter 6500, 1920x1080), dlpc350 (LightCrafter 4500, 912x1140)",
    )
    p.add_argument("--out", required=True, metavar="DIR", help="export directory to create")
    p.add_argument(
        "--device",
        metavar="WxH",
        help="DMD resolution, e.g. 1920x1080 (default: the format's; png/npz: the zoomed pattern)",
    )
    p.add_argument("--zoom", type=int, help="integer zoom (default: largest that fits)")
    p.add_argument(
        "--offset",
        type=_offset,
        metavar="ROW,COL",
        help="top-left of the measured region on the DMD (default: centred)",
    )
    p.add_argument("--flip-h", action="store_true", help="mirror left-right (after rotation)")
    p.add_argument("--flip-v", action="store_true", help="mirror up-down (after rotation)")
    p.add_argument(
        "--rotate",
        type=int,
        default=0,
        choices=(0, 90, 180, 270),
        help="rotate counter-clockwise by this many degrees (before flips)",
    )
    p.add_argument("--exposure-us", type=float, default=1000.0, help="exposure per frame, µs")
    p.add_argument("--dark-us", type=float, default=0.0, help="dark time after each frame, µs")
    p.add_argument(
        "--bit-depth",
        type=int,
        metavar="B",
        help="export gray-level patterns as B bit-planes each (1-8; default: hard patterns only)",
    )
    p.add_argument(
        "--calibration",
        type=_calibration,
        default=(2, 2),
        metavar="OFF[,ON]",
        help="all-off and all-on calibration frames at the start of every frame time, so a "
        "recording measures its detector's dark level and gain (default 2,2; 0: none)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace an earlier export in --out")
    p.add_argument("--preview", metavar="FILE.png", help="also save a picture of the export")
    p.set_defaults(func=_export)

    q = subparsers.add_parser(
        "import-patterns",
        help="verify an export and read it back as a sensor",
        description="Check manifest.json checksums, decode every frame and rebuild the sensor.",
    )
    q.add_argument("dir", metavar="DIR", help="directory written by spjax export")
    q.add_argument(
        "--save-sensor",
        metavar="DIR",
        help="also write the sensor as sensor.json + sensor_patterns.npy",
    )
    q.set_defaults(func=_import)


def _load_source(args):
    from spjax import sensing

    if args.run:
        for flag in ("rate", "k", "size"):
            if getattr(args, flag) is not None:
                raise ValueError(f"--{flag}: only used with --family, got it with --run")
        return sensing.load_sensor(args.run)
    if args.patterns:
        import numpy as np

        path = Path(args.patterns)
        if not path.is_file():
            raise FileNotFoundError(f"--patterns: expected a .npy file, got {path} (missing)")
        try:
            patterns = np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as err:
            raise ValueError(f"--patterns: {path} is not a readable .npy array ({err})") from None
        return patterns
    if args.size is None or (args.rate is None) == (args.k is None):
        raise ValueError(
            "--family: expected --size H[xW] and exactly one of --rate or --k, "
            f"got size={args.size}, rate={args.rate}, k={args.k}"
        )
    h, w = args.size
    return sensing.Sensor.family(args.family, h, w, args.rate, k=args.k, seed=args.seed)


def _export(args) -> int:
    from spjax.export.api import export_patterns

    source = _load_source(args)
    out = export_patterns(
        source,
        args.fmt,
        args.out,
        zoom=args.zoom,
        device=args.device,
        offset=args.offset,
        flip_h=args.flip_h,
        flip_v=args.flip_v,
        rotate=args.rotate,
        exposure_us=args.exposure_us,
        dark_us=args.dark_us,
        bit_depth=args.bit_depth,
        overwrite=args.overwrite,
        calibration=args.calibration,
    )
    m = json.loads((out / "manifest.json").read_text())
    g = m["geometry"]
    planes = f", {m['bit_depth']} bit-planes each" if m["bit_depth"] else ""
    cal = m["calibration"]
    print(
        f"exported {m['n_frames']} frames (K={m['k']}, {m['h']}x{m['w']}, "
        f"r={m['sampling_rate']:.4g}, split={m['split']}{planes}; {len(cal['off'])} all-off + "
        f"{len(cal['on'])} all-on calibration frames first) as {m['format']} to {out}"
    )
    print(
        f"device {m['device']['width']}x{m['device']['height']}, zoom {g['zoom']}, "
        f"measured region {g['region']}, {len(m['files'])} files + manifest.json"
    )
    if args.preview:
        from spjax.export.figure import render_preview

        print(f"preview: {render_preview(out, args.preview)}")
    return 0


def _import(args) -> int:
    from spjax.export.api import import_patterns
    from spjax.export.calibration import manifest_calibration
    from spjax.export.manifest import read_manifest

    sensor = import_patterns(args.dir)
    m = read_manifest(Path(args.dir))
    cal = manifest_calibration(m)
    calibration = (
        f"{len(cal['off'])} all-off + {len(cal['on'])} all-on calibration frames"
        if cal["n_frames"]
        else "no calibration frames"
        + (" (manifest version 1)" if m["manifest_version"] == 1 else "")
    )
    print(
        f"verified {len(m['files'])} files in {args.dir}: {m['format']}, {m['n_frames']} "
        f"frames, K={m['k']}, {m['h']}x{m['w']}, r={m['sampling_rate']:.4g}, "
        f"split={m['split']}{', bit depth ' + str(m['bit_depth']) if m.get('bit_depth') else ''}"
        f", {calibration}, patterns sha256 {m['patterns_sha256'][:16]}…"
    )
    if args.save_sensor:
        from spjax.sensing import save_sensor

        save_sensor(sensor, args.save_sensor)
        print(f"sensor saved to {args.save_sensor}")
    return 0
