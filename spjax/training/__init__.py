"""spjax.training: recipes (`load_recipe`, `apply_overrides`) and their runner (`run_recipe`).

from spjax.training import load_recipe, apply_overrides, run_recipe
cfg = apply_overrides(load_recipe("recipes/spvlm_synthetic.py"), ["train.steps=100"])
report = run_recipe(cfg, "runs/try")      # SP-VLM: report.json, figures/, sensor.json
"""

from .config import apply_overrides, load_recipe
from .run import run_recipe

__all__ = ["apply_overrides", "load_recipe", "run_recipe"]
