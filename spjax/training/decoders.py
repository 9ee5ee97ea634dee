"""The frozen decoder of an SP-VLM run: the project's tiny decoder (pretrained once and
cached) or any model `spjax.models.registry.load_decoder` understands (GGUF, safetensors)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from spjax.training.config import ConfigDict, load_recipe


def resolve_recipe(path: str | Path) -> Path:
    """A recipe path as given (absolute, or relative to the working directory), else relative to
    the project checkout that holds `recipes/` (so runs work from any directory)."""
    path = Path(path)
    if path.is_absolute() or path.is_file():
        return path
    in_project = Path(__file__).resolve().parents[2] / path
    if in_project.is_file():
        return in_project
    raise FileNotFoundError(
        f"decoder.recipe {str(path)!r}: not found from the working directory nor in the "
        f"project checkout ({str(in_project)!r})"
    )


def tiny_decoder_dir(cfg: ConfigDict) -> tuple[Path, ConfigDict]:
    """(cached decoder folder, pretraining config) for `decoder.recipe`."""
    from spjax.training.pretrain import decoder_cache_dir

    pre = load_recipe(resolve_recipe(cfg.decoder.recipe))
    return decoder_cache_dir(pre, cfg.decoder.cache_dir) / "decoder", pre


def obtain_decoder(cfg: ConfigDict):
    """→ (decoder, tokenizer, info). Pretrains the tiny decoder first when it is not cached.

    The cache key is a hash of the pretraining recipe, so a changed recipe never reuses a stale
    decoder; pretraining runs in a temporary folder that is renamed into place only when done,
    so a killed run leaves no half-written cache."""
    from spjax.models.registry import load_decoder

    source = cfg.decoder.source
    if source != "tiny":
        model, tokenizer = load_decoder(source)
        if tokenizer is None:
            raise ValueError(f"decoder.source {source!r} has no tokenizer")
        return model, tokenizer, {"source": source}
    target, pre = tiny_decoder_dir(cfg)
    if not target.exists():
        from spjax.training.pretrain import pretrain_decoder

        target.parent.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".pretrain-", dir=target.parent.parent))
        try:
            pretrain_decoder(pre, tmp)
            os.replace(tmp, target.parent)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    model, tokenizer = load_decoder(target)
    return model, tokenizer, {"source": "tiny", "path": str(target)}
