"""SP-VLM on datasets prepared on disk (TFDS array_record) instead of generated in memory.

Prepare them first (any builder `spjax data prepare` knows; the scene set needs the
`frames`, `captions` and question–answer features, the face set `image` and `identity`):

    spjax data prepare spjax_scenes --data-dir data
    spjax data prepare spjax_faces --data-dir data
    spjax train recipes/spvlm_tfds.py --workdir runs/tfds --set data.data_dir=data
"""

from pathlib import Path

from spjax.training.config import load_recipe


def get_config():
    c = load_recipe(Path(__file__).with_name("spvlm_synthetic.py"))
    c.data.source = "tfds"
    c.data.data_dir = "data"
    c.data.scenes = "spjax_scenes"
    c.data.faces = "spjax_faces"
    # The builders' default configs are 32×32: K = 205 as in the default recipe is r = 20 %.
    c.data.size = 32
    c.sensor.rate = 0.2
    return c
