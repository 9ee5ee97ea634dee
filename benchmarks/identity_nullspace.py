"""Can a linear sensor be blind to identity yet see the room? A bound for issue 12, item 5.

The most a linear design can do against linear identification is to measure only directions in
which faces of different people do not differ. This benchmark estimates that subspace from
many training identities (`spjax.sensing.identity_null.IdentityBasis`: generalised
eigenvectors of the between- vs within-identity scatter of 64×64 faces), removes its top M
directions from a design's patterns (`IdentityBasis.remove`), and measures, on faces of *other* identities:

- identification: the privacy audit's LDA attacker (per-identity 60/20/20 split) on the
  projected design's measurements, noiseless and at a photon budget;
- where identity sits: the share of the removed directions' duals (the pattern content that
  measures them) inside the design's low-frequency rows, against a uniform share of K/N;
- what is left for the room: R² of predicting the unprojected design's noiseless
  measurements of scene frames from the projected design's (noiseless, and at the photon
  budget; 1 = nothing a linear reader of the scene could use is lost).

    .venv/bin/python benchmarks/identity_nullspace.py --photons 8e6 --removed 50,100,400,1000,all \
        --out benchmarks/results/identity_nullspace_2000ids_8e6.json

(8e6 photons = the 1e6 budget averaged over 8 shots, as the audit's averaged-shots attacker does;
`--photons 1e6 --removed 25,50,100,200,all` gave identity_nullspace_2000ids_1e6.json.)
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from spjax.data.faces import generate_faces
from spjax.data.scenes import SceneConfig, generate_scenes
from spjax.privacy.attackers import Split, run_attacker
from spjax.privacy.suite import split_indices
from spjax.sensing import NoiseModel, Sensor
from spjax.sensing.identity_null import IdentityBasis


def lda_top1(y, ids, seed: int = 0) -> float:
    """The audit's LDA attacker on the audit's per-identity 60/20/20 split of one seed."""
    tr, va, te = split_indices(ids, np.bincount(ids - ids.min()).max(), np.random.default_rng(seed))
    parts = [Split(y[i], ids[i]) for i in (tr, va, te)]
    return float(run_attacker("lda", *parts, seed=seed)["top1"])


def r2_kept(before: np.ndarray, after: np.ndarray) -> float:
    """R² of a least-squares prediction of `before` from `after` (held-out half of the rows)."""
    n = len(before) // 2
    a = np.c_[after, np.ones(len(after))]
    coef, *_ = np.linalg.lstsq(a[:n], before[:n], rcond=None)
    err = before[n:] - a[n:] @ coef
    return float(1 - (err**2).sum() / ((before[n:] - before[:n].mean(0)) ** 2).sum())


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--rate", type=float, default=0.01)
    ap.add_argument("--train-identities", type=int, default=2000)  # = the trainer's default
    ap.add_argument("--photons", type=float, default=1e6)
    ap.add_argument("--removed", default="0,25,100,400,all")
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    t0 = time.time()
    s, n = args.size, args.size**2
    # Training identities far from the audited ones (the audit's 50 + held-out start at 50).
    train = generate_faces(args.train_identities, 8, size=s, seed=1, identity_offset=10_000)
    basis = IdentityBasis.estimate(train["image"], train["identity"])
    rank = len(basis.ratios)

    test = generate_faces(50, 20, size=s, seed=0, identity_offset=50)
    faces, ids = test["image"], test["identity"]
    frames = generate_scenes(SceneConfig(size=s, frames=16), 128, seed=7, text=False)["frames"]
    frames_hw = frames.reshape(-1, s, s)
    frames = frames_hw.reshape(-1, n).astype(np.float64)
    designs = {
        "hadamard:low_frequency": np.asarray(Sensor.hadamard(s, s, rate=args.rate).patterns()),
        "gaussian": np.random.default_rng(0).standard_normal((round(args.rate * n), s, s)),
    }
    noise = NoiseModel(photons=args.photons) if args.photons > 0 else None
    import jax

    # Where identity sits: the share of each removed direction's dual (Σv, the pattern content
    # that measures it) inside the span of the low-frequency design's orthonormal rows.
    low = designs["hadamard:low_frequency"].reshape(-1, n) / np.sqrt(n)
    duals = basis.dual / np.linalg.norm(basis.dual, axis=0)
    share = ((low @ duals) ** 2).sum(0)
    low_frequency_share = {
        str(m): round(float(share[:m].mean()), 3) for m in (10, 25, 100) if m <= rank
    }
    print("identity duals in the low-frequency rows:", low_frequency_share, flush=True)
    rows = []
    for name, pat in designs.items():
        p = pat.reshape(len(pat), -1).astype(np.float64)
        for spec in args.removed.split(","):
            m = rank if spec == "all" else int(spec)
            q = basis.remove(pat, m).reshape(len(pat), -1).astype(np.float64)
            row = {"design": name, "removed": m, "ratio_left": basis.ratio_left(m)}
            for label, nm in (("noiseless", None), (f"photons={args.photons:g}", noise)):
                sensor = Sensor.from_patterns(q.reshape(-1, s, s).astype(np.float32), noise=nm)
                y = np.asarray(sensor(faces, jax.random.key(0)), np.float64)
                row[f"lda_top1_{label}"] = lda_top1(y, ids)
                y_scene = np.asarray(sensor(frames_hw, jax.random.key(1)), np.float64)
                row[f"scene_r2_kept_{label}"] = r2_kept(frames @ p.T, y_scene)
            rows.append(row)
            print(json.dumps(row), flush=True)
    out = {
        "setup": {
            "size": s,
            "rate": args.rate,
            "train_identities": args.train_identities,
            "faces_per_train_identity": 8,
            "audited": "50 other identities x 20 faces, per identity 60/20/20, chance 0.02",
            "scene_frames": len(frames),
            "between_rank": rank,
        },
        "identity_dual_share_in_low_frequency_rows": {
            "by_top_m": low_frequency_share,
            "uniform": round(len(low) / n, 4),
        },
        "rows": rows,
        "elapsed_s": round(time.time() - t0, 1),
    }
    with open(args.out, "w") as f:
        json.dump(out, f, indent=1)
    return out


if __name__ == "__main__":
    main()
