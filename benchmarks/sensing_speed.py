"""Sensing speed: spjax against SPyRiT, DeepInverse, a dense contraction and reading the input.

    python benchmarks/sensing_speed.py [--sizes 32 64 128 256] [--rates 0.01 0.1 1]
        [--batch 256] [--rounds 10] [--peer-python PEER_VENV/bin/python]

For every frame size × sampling rate (Hadamard, low-frequency order, noiseless, frame-
synchronous, batch B of random frames) it times, forward (frames → K measurements) and adjoint
(K measurements → image):

- spjax: the jitted `Sensor.hadamard(...)` as users call it (path 'auto'), and its
  full-transform path ('fwht', what spjax did before the separable path) for reference;
- dense: the same K patterns as a (K, N) matrix contraction, where that matrix fits in 512 MB;
- read: `jnp.sum(frames)`, one pass over the input, the floor any simulator pays;
- with --peer-python: SPyRiT 3.1 `HadamSplit2d` (best of `measure_H`, the Hadamard
  coefficients, and `measure`, the split ± frames; adjoint `adjoint_H`) and DeepInverse 0.5
  `SinglePixelCamera(fast=True)` (`A`, `A_adjoint`), in that interpreter (torch CPU).

Rounds are interleaved: each round times every spjax cell once, then starts one peer process
that times every peer cell once (each after a warm-up call), so machine load hits all alike;
reported times are the best over rounds (median in the JSON). The table names the JAX device,
so the script runs unchanged on a GPU. How to build the peer venv: benchmarks/README.md.
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

DENSE_LIMIT_BYTES = 512 * 2**20

# Runs in the peer interpreter: argv = cells JSON path, frames folder. Prints one JSON line.
PEER_SCRIPT = r"""
import json, sys, time
import numpy as np, torch

cells = json.load(open(sys.argv[1]))
folder = sys.argv[2]

def once(f):
    f()  # warm-up (allocations, lazy init)
    t0 = time.perf_counter(); f(); return time.perf_counter() - t0

def spyrit(h, k, x):
    from spyrit.core.meas import HadamSplit2d
    op = HadamSplit2d(h, k)
    xx = x[:, None]  # (B, 1, H, W)
    y = op.measure_H(xx)
    return {
        "forward": min(once(lambda: op.measure_H(xx)), once(lambda: op.measure(xx))),
        "adjoint": once(lambda: op.adjoint_H(y)),
    }

def deepinv_spc(h, k, x):
    import deepinv
    op = deepinv.physics.SinglePixelCamera(m=k, img_size=(1, h, h), fast=True)
    xx = x[:, None]
    y = op.A(xx)
    return {"forward": once(lambda: op.A(xx)), "adjoint": once(lambda: op.A_adjoint(y))}

out = {"torch": torch.__version__, "threads": torch.get_num_threads(), "cells": []}
with torch.no_grad():
    for c in cells:
        x = torch.from_numpy(np.load(f"{folder}/x{c['side']}.npy"))
        row = {}
        for name, fn in (("spyrit", spyrit), ("deepinv", deepinv_spc)):
            try:
                row[name] = fn(c["side"], c["k"], x)
            except Exception as e:  # one peer failing must not hide the other
                row[name] = {"error": repr(e)[:300]}
        out["cells"].append(row)
print("PEER_JSON" + json.dumps(out))
"""


def _once(f, *args) -> float:
    t0 = time.perf_counter()
    jax.block_until_ready(f(*args))
    return time.perf_counter() - t0


def _spjax_cell(side: int, rate: float, batch: int, seed: int) -> dict:
    """Jitted functions and their inputs for one size × rate."""
    x = jax.random.uniform(jax.random.key(seed), (batch, side, side))
    sensor = S.Sensor.hadamard(side, side, rate)
    fwht = S.Sensor.hadamard(side, side, rate, path="fwht")
    fns = {
        "spjax": (jax.jit(lambda f, s=sensor: s(f, check=False)), x),
        "spjax_fwht": (jax.jit(lambda f, s=fwht: s(f, check=False)), x),
        "read": (jax.jit(jnp.sum), x),
    }
    y = fns["spjax"][0](x)
    fns["spjax_adjoint"] = (jax.jit(sensor.adjoint), y)
    fns["spjax_fwht_adjoint"] = (jax.jit(fwht.adjoint), y)
    check = {"max_abs_diff_fwht": float(jnp.max(jnp.abs(y - fns["spjax_fwht"][0](x))))}
    if sensor.k * side * side * 4 <= DENSE_LIMIT_BYTES:
        a = sensor.patterns().reshape(sensor.k, -1)
        hi = jax.lax.Precision.HIGHEST
        fns["dense"] = (
            jax.jit(lambda f: jnp.einsum("bn,kn->bk", f.reshape(batch, -1), a, precision=hi)),
            x,
        )
        fns["dense_adjoint"] = (jax.jit(lambda v: jnp.einsum("bk,kn->bn", v, a, precision=hi)), y)
        check["max_abs_diff_dense"] = float(jnp.max(jnp.abs(y - fns["dense"][0](x))))
    for f, arg in fns.values():  # compile and warm up outside the timed rounds
        jax.block_until_ready(f(arg))
    scale = float(jnp.max(jnp.abs(y)))
    return {
        "side": side,
        "rate": rate,
        "k": sensor.k,
        "fns": fns,
        "check": check,
        "scale": scale,
        "path": sensor.source.path,
        "x": np.asarray(x),
    }


def _peer_round(python: str, cells: list[dict], folder: str) -> dict:
    spec = os.path.join(folder, "cells.json")
    with open(spec, "w") as f:
        json.dump([{"side": c["side"], "k": c["k"]} for c in cells], f)
    script = os.path.join(folder, "peer.py")
    with open(script, "w") as f:
        f.write(PEER_SCRIPT)
    proc = subprocess.run(
        [python, script, spec, folder], capture_output=True, text=True, timeout=3600
    )
    for line in proc.stdout.splitlines():
        if line.startswith("PEER_JSON"):
            return json.loads(line[len("PEER_JSON") :])
    raise RuntimeError(f"peer interpreter exited {proc.returncode}: {proc.stderr.strip()[-600:]}")


def _summary(ts: list[float]) -> dict:
    return {"best_s": float(np.min(ts)), "median_s": float(np.median(ts)), "n": len(ts)}


def run(sizes, rates, batch, rounds, peer_python=None, seed=0) -> dict:
    cells = [_spjax_cell(s, r, batch, seed) for s in sizes for r in rates]
    times = [{name: [] for name in c["fns"]} for c in cells]
    peer_times = [{} for _ in cells]
    peer_info = {}
    with tempfile.TemporaryDirectory() as folder:
        if peer_python:
            for side in sizes:
                x = next(c["x"] for c in cells if c["side"] == side)
                np.save(os.path.join(folder, f"x{side}.npy"), x)
        for _ in range(rounds):
            for c, t in zip(cells, times, strict=True):
                for name, (f, arg) in c["fns"].items():
                    t[name].append(_once(f, arg))
            if peer_python:
                res = _peer_round(peer_python, cells, folder)
                peer_info = {"torch": res["torch"], "threads": res["threads"]}
                for acc, row in zip(peer_times, res["cells"], strict=True):
                    for peer, r in row.items():
                        for op, v in r.items():
                            if op == "error":
                                acc[f"{peer}_error"] = v
                            else:
                                acc.setdefault(f"{peer}_{op}", []).append(v)
    rows = []
    for c, t, pt in zip(cells, times, peer_times, strict=True):
        row = {k: c[k] for k in ("side", "rate", "k", "path", "check", "scale")}
        row["batch"] = batch
        row["times"] = {n: _summary(v) for n, v in t.items()}
        row["times"].update({n: _summary(v) for n, v in pt.items() if not n.endswith("_error")})
        row["peer_errors"] = {n: v for n, v in pt.items() if n.endswith("_error")}
        rows.append(row)
    dev = jax.devices()[0]
    return {
        "device": f"{dev.platform}: {dev.device_kind}",
        "backend": jax.default_backend(),
        "cpu_count": os.cpu_count(),
        "jax": jax.__version__,
        "python": platform.python_version(),
        "batch": batch,
        "rounds": rounds,
        "peer": peer_info,
        "rows": rows,
    }


def _ms(row, name) -> str:
    t = row["times"].get(name)
    return "–" if t is None else f"{1e3 * t['best_s']:.3g}"


def _ratio(row, num, den) -> str:
    a, b = row["times"].get(num), row["times"].get(den)
    return "–" if a is None or b is None else f"{a['best_s'] / b['best_s']:.2g}×"


def table(result: dict) -> str:
    peer = result["peer"]
    lines = [
        f"device {result['device']} · {result['cpu_count']} CPUs · jax {result['jax']} · batch "
        f"{result['batch']} · best of {result['rounds']} interleaved rounds · ms per batch"
        + (f" · peers: torch {peer['torch']}, {peer['threads']} threads" if peer else ""),
        "",
    ]
    for op, suffix in (("forward", ""), ("adjoint", "_adjoint")):
        lines += [
            f"**{op}**",
            "",
            "| size | r | K | SPyRiT | DeepInverse | spjax | spjax FWHT | dense | read "
            "| spjax vs fastest peer | spjax / read |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in result["rows"]:
            peers = [f"{p}_{op}" for p in ("spyrit", "deepinv") if f"{p}_{op}" in r["times"]]
            fastest = min(peers, key=lambda p: r["times"][p]["best_s"]) if peers else None
            lines.append(
                f"| {r['side']}² | {r['rate']:g} | {r['k']} | {_ms(r, f'spyrit_{op}')} "
                f"| {_ms(r, f'deepinv_{op}')} | {_ms(r, 'spjax' + suffix)} "
                f"| {_ms(r, 'spjax_fwht' + suffix)} | {_ms(r, 'dense' + suffix)} | {_ms(r, 'read')} "
                f"| {_ratio(r, fastest, 'spjax' + suffix) if fastest else '–'} "
                f"| {_ratio(r, 'spjax' + suffix, 'read')} |"
            )
        lines.append("")
    errors = {(r["side"], r["rate"]): r["peer_errors"] for r in result["rows"] if r["peer_errors"]}
    for cell, errs in errors.items():
        lines.append(f"peer errors at {cell}: {errs}")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[32, 64, 128, 256])
    ap.add_argument("--rates", type=float, nargs="+", default=[0.01, 0.1, 1.0])
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--peer-python", default=None, help="python of the peer venv (optional)")
    ap.add_argument(
        "--out", default=os.path.join(os.path.dirname(__file__), "out", "sensing_speed.json")
    )
    args = ap.parse_args(argv)
    if args.peer_python and not os.path.isfile(args.peer_python):
        raise SystemExit(f"--peer-python: no such interpreter {args.peer_python!r}")
    result = run(args.sizes, args.rates, args.batch, args.rounds, args.peer_python)
    print(table(result))
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=2)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
