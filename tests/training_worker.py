"""Subprocess entry for training tests (multi-device, multi-process, kill-and-resume).

Usage: python training_worker.py WORKDIR DECODER_RECIPE CACHE_DIR OUT_NPZ [--resume]
       [--init INIT_NPZ] [--set k=v ...]
Runs the tiny SP-VLM config through the real CLI code path and writes the trainable
parameters of the final state to OUT_NPZ (process 0 only unless OUT_NPZ contains {pid}),
and, with --init, those of the state before training to INIT_NPZ.
"""

import os
import sys

import numpy as np


def main(argv):
    workdir, decoder_recipe, cache_dir, out = argv[:4]
    rest = argv[4:]
    resume = "--resume" in rest
    init_out = rest[rest.index("--init") + 1] if "--init" in rest else None
    if init_out is not None:
        rest = [a for a in rest if a not in ("--init", init_out)]
    overrides = [a for a in rest if a != "--resume" and a != "--set"]
    import jax
    from flax import nnx

    from spjax.training.config import apply_overrides, load_recipe
    from spjax.training.sharding import maybe_initialize_distributed
    from spjax.training.trainer import SPVLMTrainer

    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, here)
    from test_training import tiny_overrides

    maybe_initialize_distributed()
    cfg = apply_overrides(
        load_recipe(os.path.join(here, "..", "recipes", "spvlm_synthetic.py")),
        tiny_overrides(decoder_recipe, cache_dir) + overrides,
    )
    trainer = SPVLMTrainer(cfg, workdir, resume=resume)

    def save(path):
        params = nnx.state(trainer.model(), nnx.Param)
        flat = {
            "/".join(str(getattr(k, "key", k)) for k in keys): np.asarray(
                v.addressable_data(0) if hasattr(v, "addressable_data") else v
            )
            for keys, v in jax.tree_util.tree_flatten_with_path(params)[0]
        }
        if "{pid}" in path or jax.process_index() == 0:
            np.savez(path.format(pid=jax.process_index()), **flat)

    if init_out is not None:
        save(init_out)
    trainer.train()
    save(out)


if __name__ == "__main__":
    main(sys.argv[1:])
