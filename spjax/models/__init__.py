"""SP-VLM models: temporal encoder, llama-family decoder + weight loading, SP-VLM glue,
identity classifiers (shared by the training adversaries and the audit's attackers, both in
`spjax.privacy`)."""

from spjax.models import (
    classifiers,
    encoder,
    generation,
    hf_weights,
    llama,
    registry,
    spvlm,
    tokenizer,
    weights,
)
from spjax.models.classifiers import (
    AttentionClassifier,
    LinearClassifier,
    MLPClassifier,
    make_classifier,
)
from spjax.models.encoder import TemporalEncoder
from spjax.models.generation import beam_search, generate
from spjax.models.hf_weights import load_gguf, load_safetensors, save_safetensors
from spjax.models.llama import KVCache, Llama, LlamaConfig, init_cache
from spjax.models.registry import load_decoder
from spjax.models.spvlm import SPVLM, TRAINABLE
from spjax.models.tokenizer import LMTokenizer
from spjax.models.weights import load_decoder_checkpoint, save_decoder

__all__ = [
    "classifiers",
    "encoder",
    "generation",
    "hf_weights",
    "llama",
    "registry",
    "spvlm",
    "tokenizer",
    "weights",
    "AttentionClassifier",
    "LinearClassifier",
    "MLPClassifier",
    "make_classifier",
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
