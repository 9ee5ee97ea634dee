"""Can a linear sensor be blind to identity yet see the room? A bound for issue 12, item 5.

The most a linear design can do against linear identification is to measure only directions in
which faces of different people do not differ. This benchmark estimates that subspace from
many training identities (generalised eigenvectors of the between- vs within-identity scatter
of 64×64 faces), removes its top M directions from a design's patterns (the projection that
keeps each pattern's within-identity part), and measures, on faces of *other* identities:

- identification: a shrinkage LDA (shrinkage chosen on a validation split) on the projected
  design's measurements, noiseless and at the photon budget of the default recipe;
- what is left for the room: R² of predicting the unprojected design's noiseless
  measurements of scene frames from the projected design's (noiseless, and at the photon
  budget; 1 = nothing a linear reader of the scene could use is lost).

    .venv/bin/python benchmarks/identity_nullspace.py --out benchmarks/results/identity_nullspace.json
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import scipy.linalg as sl

from spjax.data.faces import generate_faces
from spjax.data.scenes import SceneConfig, generate_scenes
from spjax.sensing import NoiseModel, Sensor


def scatters(x: np.ndarray, ids: np.ndarray):
    """Within- and between-identity scatter of rows of `x` (float64)."""
    labels, inv = np.unique(ids, return_inverse=True)
    means = np.stack([x[inv == c].mean(0) for c in range(len(labels))])
    within = x - means[inv]
    s_w = within.T @ within / (len(x) - len(labels))
    between = means - x.mean(0)
    return s_w, between.T @ between / len(labels)


def lda_top1(y, ids, rng, shrinkages=(1e-3, 1e-2, 0.03, 0.1, 0.3)) -> float:
    """Per identity 60/20/20 split; shrinkage LDA, shrinkage chosen on val, top-1 on test."""
    tr, va, te = [], [], []
    for c in np.unique(ids):
        idx = rng.permutation(np.flatnonzero(ids == c))
        n = max(1, round(0.2 * len(idx)))
        va += list(idx[:n])
        te += list(idx[n : 2 * n])
        tr += list(idx[2 * n :])
    tr, va, te = map(np.asarray, (tr, va, te))
    m, sd = y[tr].mean(0), y[tr].std(0) + 1e-12
    z = (y - m) / sd
    labels, inv = np.unique(ids, return_inverse=True)
    means = np.stack([z[tr][inv[tr] == c].mean(0) for c in range(len(labels))])
    resid = z[tr] - means[inv[tr]]
    cov = resid.T @ resid / len(resid)
    best = (-1.0, 0.0)
    for s in shrinkages:
        c = (1 - s) * cov + s * np.trace(cov) / len(cov) * np.eye(len(cov))
        w = np.linalg.solve(c, means.T)
        b = -0.5 * (means * w.T).sum(1)
        acc = {
            k: float(((z[i] @ w + b).argmax(1) == inv[i]).mean())
            for k, i in (("va", va), ("te", te))
        }
        if acc["va"] > best[0]:
            best = (acc["va"], acc["te"])
    return best[1]


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
    ap.add_argument("--train-identities", type=int, default=600)
    ap.add_argument("--photons", type=float, default=1e6)
    ap.add_argument("--removed", default="0,25,100,400,all")
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    t0 = time.time()
    s, n = args.size, args.size**2
    # Training identities far from the audited ones (the audit's 50 + held-out start at 50).
    train = generate_faces(args.train_identities, 8, size=s, seed=1, identity_offset=10_000)
    x = train["image"].reshape(len(train["image"]), -1).astype(np.float64)
    s_w, s_b = scatters(x, train["identity"])
    sigma = s_w + 1e-2 * np.trace(s_w) / n * np.eye(n)  # shrunk: S_w has < n degrees of freedom
    mu, vecs = sl.eigh(s_b, sigma)
    mu, vecs = mu[::-1], vecs[:, ::-1]  # vecs' Σ vecs = I, descending identity/within ratio
    rank = len(np.unique(train["identity"])) - 1

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

    rows = []
    for name, pat in designs.items():
        p = pat.reshape(len(pat), -1).astype(np.float64)
        for spec in args.removed.split(","):
            m = rank if spec == "all" else int(spec)
            v = vecs[:, :m]
            q = p - (p @ sigma @ v) @ v.T  # Σ-orthogonal removal of the top-m identity directions
            q /= np.abs(q).max(1, keepdims=True)  # the DMD's [-1, 1] range, per pattern
            row = {"design": name, "removed": m, "ratio_left": float(mu[m]) if m < n else 0.0}
            for label, nm in (("noiseless", None), (f"photons={args.photons:g}", noise)):
                sensor = Sensor.from_patterns(q.reshape(-1, s, s).astype(np.float32), noise=nm)
                y = np.asarray(sensor(faces, jax.random.key(0)), np.float64)
                row[f"lda_top1_{label}"] = lda_top1(y, ids, np.random.default_rng(0))
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
        "rows": rows,
        "elapsed_s": round(time.time() - t0, 1),
    }
    with open(args.out, "w") as f:
        json.dump(out, f, indent=1)
    return out


if __name__ == "__main__":
    main()
