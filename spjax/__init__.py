"""spjax: differentiable single-pixel sensing and privacy-preserving SP-VLMs in JAX."""

__version__ = "0.1.0"
