"""`spjax lm generate|info`: run or describe a decoder (smollm2-135m, a .gguf file, a Hugging
Face llama directory, or a `save_decoder` directory)."""

from __future__ import annotations

import json


def _generate(args) -> int:
    import jax
    import jax.numpy as jnp

    from spjax.models.generation import generate, trim
    from spjax.models.registry import load_decoder

    if args.max_new_tokens < 1:
        raise ValueError(f"--max-new-tokens: expected an int >= 1, got {args.max_new_tokens}")
    model, tok = load_decoder(args.model)
    if tok is None:
        raise ValueError(f"--model: {args.model!r} has no tokenizer to encode the prompt with")
    text = tok.chat(args.prompt) if args.chat else args.prompt
    ids = tok.encode(text)
    if not ids:
        raise ValueError(
            f"--prompt: expected text that encodes to at least one token, got {args.prompt!r}"
        )
    rng = jax.random.key(args.seed)
    out = generate(
        model,
        jnp.asarray([ids], jnp.int32),
        max_new_tokens=args.max_new_tokens,
        temperature=args.temperature,
        top_k=args.top_k,
        rng=rng,
        eos_id=tok.eos_id,
        pad_id=tok.pad_id,
    )
    print(tok.decode(trim(out, tok.eos_id)[0]))
    return 0


def _info(args) -> int:
    from spjax.models.llama import describe
    from spjax.models.registry import load_config

    config, tok = load_config(args.model)
    info = {"model": args.model, "arch": "llama", **describe(config)}
    if tok is not None:
        info["tokenizer"] = {
            "vocab_size": tok.vocab_size,
            "bos_id": tok.bos_id,
            "eos_id": tok.eos_id,
            "pad_id": tok.pad_id,
        }
    print(json.dumps(info, indent=2))
    return 0


def register(subparsers) -> None:
    lm = subparsers.add_parser("lm", help="run or describe a language decoder")
    sub = lm.add_subparsers(dest="lm_command", metavar="SUBCOMMAND", required=True)
    model_help = "smollm2-135m, a .gguf file, a HF llama directory or a save_decoder directory"

    gen = sub.add_parser("generate", help="print the continuation of a prompt")
    gen.add_argument("--model", required=True, help=model_help)
    gen.add_argument("--prompt", required=True)
    gen.add_argument("--max-new-tokens", type=int, default=32)
    gen.add_argument("--chat", action="store_true", help="wrap the prompt in the chat template")
    gen.add_argument("--temperature", type=float, default=0.0, help="0 = greedy")
    gen.add_argument("--top-k", type=int, default=None)
    gen.add_argument("--seed", type=int, default=0)
    gen.set_defaults(func=_generate)

    info = sub.add_parser("info", help="print the architecture as JSON")
    info.add_argument("--model", required=True, help=model_help)
    info.set_defaults(func=_info)
