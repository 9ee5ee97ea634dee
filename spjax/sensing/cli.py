"""`spjax sensing demo`: sense built-in images with several pattern families and sampling
rates, reconstruct, print a PSNR table and write a figure (plus JSON) to --out."""

from __future__ import annotations

DEMO_FAMILIES = (
    "hadamard:low_frequency",
    "hadamard:cake_cutting",
    "hadamard:sequency",
    "dct",
    "rademacher",
    "bernoulli",
)


def register(subparsers) -> None:
    p = subparsers.add_parser("sensing", help="single-pixel sensing tools")
    sub = p.add_subparsers(dest="sensing_command", metavar="SUBCOMMAND")
    d = sub.add_parser("demo", help="sense built-in images, reconstruct, figure + PSNR table")
    d.add_argument("--out", default="runs/sensing_demo", help="output directory")
    d.add_argument("--size", type=int, default=32, help="frame side (power of two)")
    d.add_argument(
        "--rate", type=float, nargs="+", default=[0.05, 0.1, 0.25], help="sampling rates K/(H*W)"
    )
    d.add_argument(
        "--photons", type=float, default=1e5, help="photon budget per pattern (0 = noiseless)"
    )
    d.add_argument("--families", nargs="+", default=list(DEMO_FAMILIES))
    d.add_argument("--seed", type=int, default=0)
    d.set_defaults(func=demo)
    # Areas above sensing add sensing tools built on them here (deploy: `record`), so the
    # group stays `spjax sensing ...` without sensing importing them.
    p.subcommands = sub
    p.set_defaults(func=lambda args: (p.print_help(), 0)[1])


def demo_images(size: int):
    """Three gray images in [0, 1]: camera and astronaut (scikit-image) and a procedural scene."""
    import numpy as np
    from PIL import Image

    def fit(img):
        img = np.asarray(img, np.float64)
        if img.ndim == 3:
            img = img[..., :3] @ np.array([0.299, 0.587, 0.114])
        im = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))
        side = min(im.size)
        im = im.crop(
            (
                (im.size[0] - side) // 2,
                (im.size[1] - side) // 2,
                (im.size[0] + side) // 2,
                (im.size[1] + side) // 2,
            )
        )
        return np.asarray(im.resize((size, size), Image.Resampling.BOX), np.float32) / 255.0

    yy, xx = np.mgrid[0:size, 0:size] / size
    scene = 0.2 + 0.5 * ((xx - 0.35) ** 2 + (yy - 0.4) ** 2 < 0.05)
    scene = scene + 0.3 * ((xx > 0.6) & (xx < 0.85) & (yy > 0.55) & (yy < 0.9))
    images = {"procedural": np.clip(scene, 0, 1).astype(np.float32)}
    try:
        from skimage import data

        images = {"camera": fit(data.camera()), "astronaut": fit(data.astronaut()), **images}
    except ImportError:  # scikit-image is in the `faces` extra; the demo still runs without it
        pass
    return images


def demo(args) -> int:
    import json
    import os

    import jax
    import numpy as np

    from spjax.plotting import pyplot, save_figure

    from . import FAMILIES, NoiseModel, Sensor, psnr

    plt = pyplot()
    from .transforms import is_power_of_two

    if not is_power_of_two(args.size) or args.size < 4:
        raise ValueError(f"--size must be a power of two >= 4 (Hadamard patterns), got {args.size}")
    for f in args.families:
        if f not in FAMILIES or f == "hadamard:variance":
            raise ValueError(
                f"--families: each must be one of {[x for x in FAMILIES if x != 'hadamard:variance']}, got {f!r}"
            )
    if args.photons < 0:
        raise ValueError(f"--photons must be >= 0 (0 = noiseless), got {args.photons}")
    noise = NoiseModel(photons=args.photons) if args.photons > 0 else None
    images = demo_images(args.size)
    x = np.stack(list(images.values()))
    rows, recon = [], {}
    key = jax.random.key(args.seed)
    for fam in args.families:
        for rate in args.rate:
            sensor = Sensor.family(fam, args.size, args.size, rate, seed=args.seed, noise=noise)
            key, sub = jax.random.split(key)
            y = sensor(x, sub)
            x_hat = np.asarray(sensor.pinv(y))
            scores = np.asarray(psnr(x_hat, x))
            recon[(fam, rate)] = x_hat[0]
            rows.append(
                {
                    "family": fam,
                    "rate": rate,
                    "k": sensor.k,
                    "split": sensor.split,
                    **{name: float(s) for name, s in zip(images, scores)},
                    "mean_psnr": float(scores.mean()),
                }
            )

    names = list(images)
    head = f"{'family':24s} {'rate':>6s} {'K':>5s} " + " ".join(f"{n[:10]:>10s}" for n in names)
    print(
        f"pinv reconstruction PSNR (dB), {args.size}x{args.size}, "
        f"{'noiseless' if noise is None else f'photons={args.photons:g}'}"
    )
    print(head + f" {'mean':>7s}")
    for r in rows:
        print(
            f"{r['family']:24s} {r['rate']:6.3f} {r['k']:5d} "
            + " ".join(f"{r[n]:10.2f}" for n in names)
            + f" {r['mean_psnr']:7.2f}"
        )

    os.makedirs(args.out, exist_ok=True)
    fig, axes = plt.subplots(
        len(args.families),
        len(args.rate) + 1,
        figsize=(1.8 * (len(args.rate) + 1), 1.8 * len(args.families)),
        squeeze=False,
    )
    for i, fam in enumerate(args.families):
        axes[i, 0].imshow(x[0], cmap="gray", vmin=0, vmax=1)
        axes[i, 0].set_ylabel(fam.replace("hadamard:", "H:"), fontsize=7)
        for j, rate in enumerate(args.rate):
            axes[i, j + 1].imshow(np.clip(recon[(fam, rate)], 0, 1), cmap="gray", vmin=0, vmax=1)
            if i == 0:
                axes[i, j + 1].set_title(f"r={rate:g}", fontsize=8)
    axes[0, 0].set_title("original", fontsize=8)
    for ax in axes.ravel():
        ax.set_xticks([]), ax.set_yticks([])
    fig_path = save_figure(fig, os.path.join(args.out, "sensing_demo.png"), dpi=120)
    with open(os.path.join(args.out, "sensing_demo.json"), "w") as f:
        json.dump(
            {"size": args.size, "photons": args.photons, "images": names, "rows": rows}, f, indent=2
        )
    print(f"figure: {fig_path}")
    return 0
