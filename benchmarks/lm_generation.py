"""Decoder generation speed (KV cache vs full recomputation) and SP-VLM train-step time.

    .venv/bin/python benchmarks/lm_generation.py [--new-tokens 64] [--repeats 3]
        [--skip-smollm2] [--batches 1,4] [--train-batch 8] [--dtype float32|bfloat16]

For the tiny decoder (the trainer's default shape: 4 layers, width 192, 512-word vocabulary)
and SmolLM2-135M (if the `lm` extra is installed): tokens/s of greedy generation of
`--new-tokens` tokens after a 16-token prompt, with and without the KV cache (ratio target
≥ 10× at 64 new tokens), and the time of one jit-compiled SP-VLM train step (encoder trained,
decoder frozen; B=8, T=16, 32×32 frames, K=64 low-frequency Hadamard
measurements lifted by the encoder, M=8 prefix tokens, 24 text tokens). Compile time is excluded
(best of `--repeats` after a warm-up) and reported separately. FLOPs come from XLA's cost
analysis of the compiled step. On CPU, batch-1 cached decoding is bound by reading every
weight once per token (memory bandwidth), so the speedup grows with the batch. On a GPU the model FLOPs utilisation is reported against the
device's peak dense bf16 rate (named in the output). Writes benchmarks/out/lm_generation.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from spjax.models import generation, registry, spvlm
from spjax.models.encoder import TemporalEncoder
from spjax.models.llama import Llama, LlamaConfig
from spjax.sensing import Sensor

# The shape of recipes/pretrain_decoder_tiny.py (its vocabulary is a few hundred words).
TINY = LlamaConfig(
    vocab_size=512, dim=192, n_layers=4, n_heads=6, n_kv_heads=2, hidden_dim=512, max_seq_len=256
)
# Peak dense bf16 tensor-core TFLOP/s (vendor spec sheets, SXM parts).
PEAK_BF16_TFLOPS = {"H100": 989.0, "H200": 989.0, "A100": 312.0}


def _best(fn, repeats, warm_up=True):
    """(best seconds, last output) over `repeats` timed calls (after a warm-up call)."""
    out = fn() if warm_up else None
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = jax.block_until_ready(fn())
        best = min(best, time.perf_counter() - t0)
    return best, out


def bench_generation(model, *, batch, prompt_len, new_tokens, repeats):
    tokens = jax.random.randint(jax.random.key(0), (batch, prompt_len), 3, model.config.vocab_size)
    out, ids = {}, {}
    for name, cache in (("kv_cache", True), ("recompute", False)):

        def fn(cache=cache):
            return generation.generate(model, tokens, max_new_tokens=new_tokens, use_cache=cache)

        t0 = time.perf_counter()
        jax.block_until_ready(fn())
        first = time.perf_counter() - t0
        t, ids[name] = _best(fn, repeats, warm_up=False)
        out[name] = {"seconds": t, "tokens_per_s": batch * new_tokens / t, "first_call_s": first}
    out["outputs_equal"] = bool(
        np.array_equal(np.asarray(ids["kv_cache"]), np.asarray(ids["recompute"]))
    )
    out["speedup"] = out["kv_cache"]["tokens_per_s"] / out["recompute"]["tokens_per_s"]
    return out


def _peak(device) -> tuple[str | None, float | None]:
    kind = getattr(device, "device_kind", "")
    for name, peak in PEAK_BF16_TFLOPS.items():
        if name in kind:
            return name, peak
    return None, None


def bench_train_step(
    decoder, *, batch, repeats, size=32, rate=1 / 16, frames=16, queries=8, seq=24
):
    sensor = Sensor.hadamard(size, size, rate, order="low_frequency")
    k = int(sensor.k)
    enc = TemporalEncoder(
        size,
        size,
        max_frames=frames,
        out_dim=decoder.config.dim,
        num_queries=queries,
        grid=16,
        rngs=nnx.Rngs(0),
    )
    model = spvlm.SPVLM(sensor, enc, decoder)
    opt = nnx.Optimizer(model, optax.adamw(1e-4), wrt=spvlm.TRAINABLE)
    loss_mask = np.zeros((batch, seq), np.int32)
    loss_mask[:, seq // 2 :] = 1
    b = {
        "y": jax.random.uniform(jax.random.key(1), (batch, frames, k)),
        "tokens": jax.random.randint(jax.random.key(2), (batch, seq), 3, decoder.config.vocab_size),
        "loss_mask": jnp.asarray(loss_mask),
        "attention_mask": jnp.ones((batch, seq), jnp.int32),
    }
    graphdef, state = nnx.split((model, opt))

    @jax.jit
    def pure_step(state, b):
        # The answer stage's decoder part: answer loss through the frozen decoder, one update.
        m, o = nnx.merge(graphdef, state)
        grad_fn = nnx.value_and_grad(
            spvlm.loss_fn, argnums=nnx.DiffState(0, spvlm.TRAINABLE), has_aux=True
        )
        (_, metrics), grads = grad_fn(m, b["y"], b["tokens"], b["loss_mask"], b["attention_mask"])
        o.update(m, grads)
        return nnx.state((m, o)), metrics

    t0 = time.perf_counter()
    compiled = pure_step.lower(state, b).compile()
    compile_s = time.perf_counter() - t0
    cost = compiled.cost_analysis()
    cost = cost[0] if isinstance(cost, (list, tuple)) else cost
    flops = float(cost.get("flops", float("nan"))) if cost else float("nan")
    holder = {"state": state}

    def run():
        holder["state"], metrics = compiled(holder["state"], b)
        return metrics["loss"]

    t, _ = _best(run, repeats)
    n_trainable = sum(x.size for x in jax.tree.leaves(nnx.state(model, spvlm.TRAINABLE)))
    out = {
        "seconds": t,
        "compile_s": compile_s,
        "xla_flops": flops,
        "achieved_tflops": flops / t / 1e12,
        "trainable_params": int(n_trainable),
        "decoder_params": decoder.config.num_params(),
        "shape": {"B": batch, "T": frames, "K": k, "M": queries, "text_tokens": seq},
    }
    name, peak = _peak(jax.devices()[0])
    if peak is not None:
        out["mfu_vs_bf16_peak"] = out["achieved_tflops"] / peak
        out["peak_bf16_tflops"] = {name: peak}
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--new-tokens", type=int, default=64)
    ap.add_argument("--prompt-len", type=int, default=16)
    ap.add_argument("--batches", default="1,4", help="generation batch sizes, comma-separated")
    ap.add_argument("--train-batch", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--dtype", default="float32", choices=("float32", "bfloat16"))
    ap.add_argument("--skip-smollm2", action="store_true")
    ap.add_argument(
        "--out", default=os.path.join(os.path.dirname(__file__), "out", "lm_generation.json")
    )
    args = ap.parse_args()
    dtype = jnp.dtype(args.dtype)

    dev = jax.devices()[0]
    result = {
        "device": f"{dev.platform}:{getattr(dev, 'device_kind', '')}",
        "cpu_count": os.cpu_count(),
        "jax": jax.__version__,
        "python": platform.python_version(),
        "new_tokens": args.new_tokens,
        "prompt_len": args.prompt_len,
        "dtype": args.dtype,
        "models": {},
    }
    decoders = {"tiny": lambda: Llama(TINY, rngs=nnx.Rngs(0), param_dtype=dtype)}
    if not args.skip_smollm2:
        try:
            registry.locate("smollm2-135m")
            decoders["smollm2-135m"] = lambda: registry.load_decoder(
                "smollm2-135m", param_dtype=dtype, max_seq_len=512, with_tokenizer=False
            )[0]
        except FileNotFoundError as err:
            result["smollm2_skipped"] = str(err)
    for name, make in decoders.items():
        t0 = time.perf_counter()
        model = make()
        entry = {"load_s": time.perf_counter() - t0, "config": model.config.to_dict()}
        entry["generation"] = {}
        for batch in (int(b) for b in args.batches.split(",")):
            g = bench_generation(
                model,
                batch=batch,
                prompt_len=args.prompt_len,
                new_tokens=args.new_tokens,
                repeats=args.repeats,
            )
            entry["generation"][f"batch={batch}"] = g
            print(
                f"{name} batch {batch}: kv-cache {g['kv_cache']['tokens_per_s']:.1f} tok/s, "
                f"recompute {g['recompute']['tokens_per_s']:.1f} tok/s, speedup "
                f"{g['speedup']:.1f}x (equal outputs: {g['outputs_equal']})",
                flush=True,
            )
        s = entry["train_step"] = bench_train_step(
            model, batch=args.train_batch, repeats=args.repeats
        )
        result["models"][name] = entry
        print(
            f"{name}: SP-VLM train step {s['seconds'] * 1e3:.1f} ms "
            f"({s['achieved_tflops']:.3f} TFLOP/s"
            + (f", MFU {s['mfu_vs_bf16_peak']:.2%}" if "mfu_vs_bf16_peak" in s else "")
            + ")",
            flush=True,
        )
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=2)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
