"""The embedded privacy-sensitive world: identity faces, behaviour scenes, text, datasets.

Heavy optional pieces (TFDS builders, grain pipelines, local loaders) are imported from their
modules (`spjax.data.tfds_builders`, `spjax.data.pipeline`, `spjax.data.local`)."""

from spjax.data import faces, layout, people, scenes, text
from spjax.data.answers import parse_answer
from spjax.data.faces import generate_faces, identity_traits
from spjax.data.scenes import ACTIVITIES, ANOMALY_TYPES, SceneConfig, generate_scenes
from spjax.data.text import corpus
from spjax.data.word_tokenizer import WordTokenizer

__all__ = [
    "ACTIVITIES",
    "ANOMALY_TYPES",
    "SceneConfig",
    "WordTokenizer",
    "corpus",
    "faces",
    "generate_faces",
    "generate_scenes",
    "identity_traits",
    "layout",
    "parse_answer",
    "people",
    "scenes",
    "text",
]
