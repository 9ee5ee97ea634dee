"""`spjax data prepare|show`: build the TFDS datasets offline and look at them."""

from __future__ import annotations

import argparse

from spjax.cliargs import key_values


def parse_overrides(items) -> dict:
    """KEY=VALUE strings → {key: value} (values stay strings; the builder coerces them)."""
    return dict(key_values(items, "--config"))


def _prepare(args) -> int:
    from spjax.data import tfds_builders as tb

    path = tb.prepare(
        args.name, args.data_dir, parse_overrides(args.config), overwrite=args.overwrite
    )
    config = path.rstrip("/").split("/")[-2]
    print(f"prepared {args.name}/{config} in {path}")
    print(f"read it with tfds.data_source('{args.name}/{config}', data_dir='{args.data_dir}')")
    return 0


def _show(args) -> int:
    import numpy as np

    from spjax.data import preview
    from spjax.data import tfds_builders as tb

    src = tb.load(args.name, args.data_dir, parse_overrides(args.config), split=args.split)
    n = min(args.num, len(src))
    recs = [src[i] for i in range(n)]
    if "frames" in recs[0]:
        preview.save_clips(np.stack([r["frames"] for r in recs]), args.out, cols=min(4, n))
        for i, r in enumerate(recs):
            cap = r["caption"][0]
            print(f"{i}: {cap.decode() if isinstance(cap, bytes) else cap}")
    else:
        preview.save_faces_sheet(np.stack([r["image"] for r in recs]), args.out, cols=min(8, n))
        print("identities:", " ".join(str(int(r["identity"])) for r in recs))
    print(f"wrote {args.out}")
    return 0


def register(subparsers) -> None:
    names = ["spjax_faces", "spjax_scenes", "spjax_lfw", "spjax_videos"]
    p = subparsers.add_parser(
        "data", help="prepare and preview datasets (procedural world, local LFW/clips)"
    )
    sub = p.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("name", choices=names, help="dataset name")
    common.add_argument("--data-dir", required=True, help="TFDS data directory")
    common.add_argument(
        "--config",
        nargs="*",
        default=[],
        metavar="KEY=VALUE",
        help="builder config overrides, e.g. size=64 n_train=5000 seed=1 path=DIR (local data)",
    )
    pp = sub.add_parser(
        "prepare",
        parents=[common],
        help="build a dataset offline (atomic: a partial build never reads as complete)",
    )
    pp.add_argument("--overwrite", action="store_true", help="rebuild if already prepared")
    pp.set_defaults(func=_prepare)
    ps = sub.add_parser(
        "show",
        parents=[common],
        help="write a PNG contact sheet (or .gif animation) of a few samples",
    )
    ps.add_argument("--out", required=True, help="output .png or .gif")
    ps.add_argument("--split", default="train")
    ps.add_argument("-n", "--num", type=int, default=8, help="number of samples")
    ps.set_defaults(func=_show)
