"""Recipes are Python files whose `get_config()` returns an `ml_collections.ConfigDict`.

One convention for every recipe: the config is locked after loading, so a typo in an override
(`--set optim.lrr=1e-3`) is an error naming the key, never a silently ignored setting.
"""

from __future__ import annotations

import difflib
import importlib.util
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import ml_collections

from spjax import jsonio
from spjax.cliargs import key_values, typed_value

ConfigDict = ml_collections.ConfigDict

# Keys that may differ between a checkpoint's config and the resuming run's config: they
# change how a run is observed or how long it runs, not what it computes per step.
RESUMABLE_KEYS = (
    "run.",
    "train.steps",
    "train.eval_every",
    "train.checkpoint_every",
    "train.log_every",
    "train.keep_checkpoints",
)


def load_recipe(path: str | Path) -> ConfigDict:
    """Import a recipe file and return its locked config."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"recipe file {str(path)!r} does not exist")
    spec = importlib.util.spec_from_file_location(f"spjax_recipe_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not hasattr(module, "get_config"):
        raise ValueError(f"recipe {str(path)!r} defines no get_config()")
    config = module.get_config()
    if not isinstance(config, ConfigDict):
        raise TypeError(
            f"recipe {str(path)!r}: get_config() must return a ConfigDict, "
            f"got {type(config).__name__}"
        )
    config.lock()
    return config


def flatten(config: ConfigDict | dict, prefix: str = "") -> dict[str, Any]:
    """Nested config → {'a.b.c': value}."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, (ConfigDict, dict)):
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


def apply_overrides(config: ConfigDict, overrides: Iterable[str]) -> ConfigDict:
    """Apply `key=value` strings to a locked config; unknown keys are errors."""
    flat = flatten(config)
    for key, text in key_values(overrides):
        if key not in flat:
            close = difflib.get_close_matches(key, flat.keys(), n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise ValueError(f"unknown config key {key!r}{hint}")
        value = typed_value(text, flat[key], f"--set {key}")
        set_value(config, key, value)
        flat[key] = value
    return config


def set_value(config: ConfigDict, key: str, value: Any) -> None:
    """Set the dotted `key` of a (locked) config; locked configs accept new values for existing
    keys, and an unknown key is a KeyError naming it."""
    node = config
    *parents, leaf = key.split(".")
    for part in parents:
        node = node[part]
    if leaf not in node:
        raise KeyError(f"unknown config key {key!r}")
    node[leaf] = value


def to_json(config: ConfigDict) -> str:
    return jsonio.dumps(config.to_dict(), indent=2, sort_keys=True)


def config_hash(config: ConfigDict | dict, *, exclude: Iterable[str] = ()) -> str:
    """16 hex digits identifying a config's values (keys starting with `exclude` left out)."""
    flat = flatten(config)
    kept = {k: v for k, v in flat.items() if not any(k.startswith(e) for e in exclude)}
    return jsonio.content_hash(kept, 16)


def differing_keys(
    saved: dict, current: ConfigDict | dict, ignore: Iterable[str] = RESUMABLE_KEYS
) -> list[str]:
    """Keys whose values differ between two configs (lists and tuples compare equal)."""
    a = {k: _normalise(v) for k, v in flatten(saved).items()}
    b = {k: _normalise(v) for k, v in flatten(current).items()}
    keys = sorted(set(a) | set(b))
    return [
        k
        for k in keys
        if not any(k == i or (i.endswith(".") and k.startswith(i)) for i in ignore)
        and a.get(k, "<missing>") != b.get(k, "<missing>")
    ]


def _normalise(value):
    if isinstance(value, (list, tuple)):
        return [_normalise(v) for v in value]
    return value
