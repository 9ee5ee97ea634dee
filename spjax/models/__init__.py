"""SP-VLM models: temporal encoder, llama-family decoder + weight loading, SP-VLM glue,
identity adversaries."""

from spjax.models import (
    adversaries,
    encoder,
    generation,
    llama,
    registry,
    spvlm,
    tokenizer,
    weights,
)
from spjax.models.adversaries import (
    AdversaryEnsemble,
    AttentionAdversary,
    LinearAdversary,
    MLPAdversary,
    privacy_loss,
)
from spjax.models.encoder import TemporalEncoder
from spjax.models.generation import beam_search, generate
from spjax.models.llama import KVCache, Llama, LlamaConfig, init_cache
from spjax.models.registry import load_decoder
from spjax.models.spvlm import SPVLM, TRAINABLE
from spjax.models.tokenizer import LMTokenizer
from spjax.models.weights import (
    load_decoder_checkpoint,
    load_gguf,
    load_safetensors,
    save_decoder,
    save_safetensors,
)

__all__ = [
    "adversaries",
    "encoder",
    "generation",
    "llama",
    "registry",
    "spvlm",
    "tokenizer",
    "weights",
    "AdversaryEnsemble",
    "AttentionAdversary",
    "LinearAdversary",
    "MLPAdversary",
    "privacy_loss",
    "TemporalEncoder",
    "beam_search",
    "generate",
    "KVCache",
    "Llama",
    "LlamaConfig",
    "init_cache",
    "load_decoder",
    "SPVLM",
    "TRAINABLE",
    "LMTokenizer",
    "load_decoder_checkpoint",
    "load_gguf",
    "load_safetensors",
    "save_decoder",
    "save_safetensors",
]
