"""Transformer building blocks shared by the temporal encoder, the identity adversaries and the
audit's attackers (one block, so a fix or a change of norm lands everywhere at once)."""

from __future__ import annotations

import jax
from flax import nnx


class MLP(nnx.Module):
    """Two-layer GELU MLP with a hidden width of `ratio · width`."""

    def __init__(self, width: int, ratio: int = 4, *, rngs: nnx.Rngs):
        self.up = nnx.Linear(width, ratio * width, rngs=rngs)
        self.down = nnx.Linear(ratio * width, width, rngs=rngs)

    def __call__(self, x):
        return self.down(jax.nn.gelu(self.up(x)))


class TransformerBlock(nnx.Module):
    """Pre-LN transformer block; given `context` it is a cross-attention block (the queries
    `x` attend to `context`), otherwise self-attention."""

    def __init__(self, width: int, heads: int, *, rngs: nnx.Rngs):
        self.norm_q = nnx.LayerNorm(width, rngs=rngs)
        self.norm_kv = nnx.LayerNorm(width, rngs=rngs)
        self.attn = nnx.MultiHeadAttention(
            num_heads=heads, in_features=width, decode=False, rngs=rngs
        )
        self.norm_mlp = nnx.LayerNorm(width, rngs=rngs)
        self.mlp = MLP(width, 4, rngs=rngs)

    def __call__(self, x, context=None):
        q = self.norm_q(x)
        kv = q if context is None else self.norm_kv(context)
        x = x + self.attn(q, kv, kv)
        return x + self.mlp(self.norm_mlp(x))
