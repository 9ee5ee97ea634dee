"""Sensing speed: fast Walsh–Hadamard path vs dense contraction vs merely reading the input.

    python benchmarks/sensing_speed.py [--sizes 32 64 128] [--batch 256] [--rate 0.1]
                                       [--repeats 15] [--peer-python /path/to/torch-venv/bin/python]

All timings are jitted, noiseless, frame-synchronous `Sensor` calls on the same random frames
(B, H, W), measured in the same run and interleaved (fast, dense, read, fast, ...) so that
machine load hits all of them alike. "read" is `jnp.sum(frames)`: one pass over the input, the
floor any sensing simulator must pay. Reported: median and best time per batch, measurements
per second (B·K / best time), fast-vs-dense speed-up and fast-vs-read ratio (best times).
With --peer-python, SPyRiT's HadamSplit2d and deepinv's SinglePixelCamera are timed in that
interpreter on the same inputs (torch CPU); that environment is optional.
Writes benchmarks/out/sensing_speed.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

import jax
import jax.numpy as jnp
import numpy as np

import spjax.sensing as S

PEER_SCRIPT = r"""
import json, sys, time
import numpy as np, torch
x = torch.from_numpy(np.load(sys.argv[1]))
k, repeats = int(sys.argv[2]), int(sys.argv[3])
h = x.shape[-1]
out = {}
def timeit(f):
    f(); ts = []
    for _ in range(repeats):
        t0 = time.perf_counter(); f(); ts.append(time.perf_counter() - t0)
    return {"median_s": float(np.median(ts)), "best_s": float(np.min(ts))}
with torch.no_grad():
    try:
        from spyrit.core.meas import HadamSplit2d
        op = HadamSplit2d(h, k)
        out["spyrit_HadamSplit2d"] = timeit(lambda: op.measure(x))
    except Exception as e:  # report, do not fail the whole benchmark
        out["spyrit_HadamSplit2d"] = {"error": repr(e)}
    try:
        import deepinv
        op = deepinv.physics.SinglePixelCamera(m=k, img_shape=(1, h, h), fast=True)
        xx = x[:, None]
        out["deepinv_SinglePixelCamera"] = timeit(lambda: op.A(xx))
    except Exception as e:
        out["deepinv_SinglePixelCamera"] = {"error": repr(e)}
out["torch"] = torch.__version__
out["threads"] = torch.get_num_threads()
print("PEER_JSON" + json.dumps(out))
"""


def _time_interleaved(fns: dict, args, repeats: int) -> dict:
    for f in fns.values():  # compile + warm up
        jax.block_until_ready(f(*args))
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, f in fns.items():
            t0 = time.perf_counter()
            jax.block_until_ready(f(*args))
            times[name].append(time.perf_counter() - t0)
    return {
        n: {"median_s": float(np.median(t)), "best_s": float(np.min(t))} for n, t in times.items()
    }


def _peer(python: str, x: np.ndarray, k: int, repeats: int) -> dict:
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "x.npy")
        np.save(path, x)
        script = os.path.join(d, "peer.py")
        with open(script, "w") as f:
            f.write(PEER_SCRIPT)
        proc = subprocess.run(
            [python, script, path, str(k), str(repeats)],
            capture_output=True,
            text=True,
            timeout=1800,
        )
    for line in proc.stdout.splitlines():
        if line.startswith("PEER_JSON"):
            return json.loads(line[len("PEER_JSON") :])
    return {"error": f"peer exited {proc.returncode}: {proc.stderr.strip()[-400:]}"}


def run(sizes, batch, rate, repeats, peer_python=None, seed=0) -> dict:
    rows = []
    for side in sizes:
        fast = S.Sensor.hadamard(side, side, rate, order="low_frequency")
        dense = S.Sensor.from_patterns(fast.patterns())
        k = fast.k
        x_np = np.random.default_rng(seed).random((batch, side, side), dtype=np.float32)
        x = jnp.asarray(x_np)
        fns = {
            "fast": jax.jit(lambda f, s=fast: s(f, check=False)),
            "dense": jax.jit(lambda f, s=dense: s(f, check=False)),
            "read": jax.jit(jnp.sum),
        }
        err = float(jnp.max(jnp.abs(fns["fast"](x) - fns["dense"](x))))
        t = _time_interleaved(fns, (x,), repeats)
        row = {
            "side": side,
            "n_pixels": side * side,
            "batch": batch,
            "k": k,
            "rate": fast.sampling_rate,
            "max_abs_diff_fast_dense": err,
            "times": t,
            "fast_meas_per_s": batch * k / t["fast"]["best_s"],
            "dense_meas_per_s": batch * k / t["dense"]["best_s"],
            "speedup_fast_vs_dense": t["dense"]["best_s"] / t["fast"]["best_s"],
            "fast_over_read": t["fast"]["best_s"] / t["read"]["best_s"],
        }
        if peer_python:
            row["peer"] = _peer(peer_python, x_np, k, repeats)
        rows.append(row)
    return {
        "backend": jax.default_backend(),
        "devices": [str(d) for d in jax.devices()],
        "cpu_count": os.cpu_count(),
        "jax": jax.__version__,
        "python": platform.python_version(),
        "repeats": repeats,
        "rows": rows,
    }


def print_table(result: dict) -> None:
    print(
        f"backend={result['backend']} cpus={result['cpu_count']} jax={result['jax']} "
        f"(best of {result['repeats']} interleaved runs; times per batch)"
    )
    print(
        f"{'HxW':>8s} {'B':>4s} {'K':>5s} {'fast ms':>9s} {'dense ms':>9s} {'read ms':>8s} "
        f"{'fast Mmeas/s':>13s} {'dense Mmeas/s':>14s} {'speed-up':>9s} {'fast/read':>10s}"
    )
    for r in result["rows"]:
        t = r["times"]
        print(
            f"{r['side']:>4d}x{r['side']:<3d} {r['batch']:4d} {r['k']:5d} "
            f"{1e3 * t['fast']['best_s']:9.2f} {1e3 * t['dense']['best_s']:9.2f} "
            f"{1e3 * t['read']['best_s']:8.3f} {r['fast_meas_per_s'] / 1e6:13.1f} "
            f"{r['dense_meas_per_s'] / 1e6:14.1f} {r['speedup_fast_vs_dense']:8.1f}x "
            f"{r['fast_over_read']:9.1f}x"
        )
        for name, p in (r.get("peer") or {}).items():
            if isinstance(p, dict) and "best_s" in p:
                print(f"{'':8s} peer {name}: {1e3 * p['best_s']:.2f} ms")
            elif isinstance(p, dict):
                print(f"{'':8s} peer {name}: {p.get('error')}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[32, 64, 128])
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--rate", type=float, default=0.1)
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument(
        "--peer-python",
        default=None,
        help="python of a separate venv with SPyRiT/deepinv (optional)",
    )
    ap.add_argument(
        "--out", default=os.path.join(os.path.dirname(__file__), "out", "sensing_speed.json")
    )
    args = ap.parse_args(argv)
    if args.peer_python and not os.path.isfile(args.peer_python):
        raise SystemExit(f"--peer-python: no such interpreter {args.peer_python!r}")
    result = run(args.sizes, args.batch, args.rate, args.repeats, args.peer_python)
    print_table(result)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=2)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
