"""TemporalEncoder: a single-pixel measurement stream y (B, T, K) → M prefix tokens (B, M, D_lm).

Per-clip whitening into two streams, both invariant to the photon scale α and to a dark-count
offset: the *scene* stream standardises the clip with one mean and one scale over all T·K
values (keeping the relative size of channels and frames: layout, people present), the
*motion* stream removes each channel's temporal mean and standardises what is left (what
changes: falls, fights, walking; otherwise drowned by the static background). A linear
embedding per frame of both streams, learned time positions, a small pre-LN
transformer over time, then M learned queries that cross-attend to the frame tokens
(Perceiver / Q-Former style) and a projection to the decoder width.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx


def standardize_clip(y, eps: float = 1e-6):
    """(y − mean) / std over the last two axes (T, K), per clip; finite for constant clips."""
    mean = jnp.mean(y, axis=(-2, -1), keepdims=True)
    centred = y - mean
    var = jnp.mean(centred * centred, axis=(-2, -1), keepdims=True)
    scale = jnp.sqrt(var + eps * eps * (1.0 + mean * mean))
    return centred / scale


def motion_stream(y, eps: float = 1e-6):
    """Each channel minus its mean over time (T), over one scale per clip; finite if static."""
    centred = y - jnp.mean(y, axis=-2, keepdims=True)
    var = jnp.mean(centred * centred, axis=(-2, -1), keepdims=True)
    level = jnp.mean(jnp.abs(y), axis=(-2, -1), keepdims=True)
    return centred / jnp.sqrt(var + (eps * (1.0 + level)) ** 2)


class _MLP(nnx.Module):
    def __init__(self, width: int, ratio: int, *, rngs):
        self.up = nnx.Linear(width, ratio * width, rngs=rngs)
        self.down = nnx.Linear(ratio * width, width, rngs=rngs)

    def __call__(self, x):
        return self.down(jax.nn.gelu(self.up(x)))


class _Block(nnx.Module):
    """Pre-LN transformer block; with `context` it is a cross-attention block."""

    def __init__(self, width: int, heads: int, *, rngs):
        self.norm_q = nnx.LayerNorm(width, rngs=rngs)
        self.norm_kv = nnx.LayerNorm(width, rngs=rngs)
        self.attn = nnx.MultiHeadAttention(num_heads=heads, in_features=width, decode=False,
                                           rngs=rngs)
        self.norm_mlp = nnx.LayerNorm(width, rngs=rngs)
        self.mlp = _MLP(width, 4, rngs=rngs)

    def __call__(self, x, context=None):
        q = self.norm_q(x)
        kv = q if context is None else self.norm_kv(context)
        x = x + self.attn(q, kv, kv)
        return x + self.mlp(self.norm_mlp(x))


class TemporalEncoder(nnx.Module):
    """y (B, T, K) with T ≤ max_frames → prefix tokens (B, num_queries, out_dim)."""

    def __init__(self, k: int, *, max_frames: int, width: int = 128, depth: int = 2,
                 heads: int = 4, num_queries: int = 8, out_dim: int, cross_depth: int = 1,
                 rngs: nnx.Rngs):
        for name, value in (("k", k), ("max_frames", max_frames), ("width", width),
                            ("depth", depth + 1), ("heads", heads), ("num_queries", num_queries),
                            ("out_dim", out_dim), ("cross_depth", cross_depth)):
            if not isinstance(value, int) or value < 1:
                shown = value - 1 if name == "depth" else value
                raise ValueError(f"TemporalEncoder {name}: expected a positive int"
                                 f"{' or 0' if name == 'depth' else ''}, got {shown!r}")
        if width % heads:
            raise ValueError(f"TemporalEncoder width: expected a multiple of heads={heads}, got {width}")
        self.k, self.max_frames, self.width = k, max_frames, width
        self.num_queries, self.out_dim = num_queries, out_dim
        self.embed = nnx.Linear(2 * k, width, rngs=rngs)
        self.time = nnx.Param(nnx.initializers.normal(0.02)(rngs.params(), (max_frames, width)))
        self.blocks = nnx.List([_Block(width, heads, rngs=rngs) for _ in range(depth)])
        self.queries = nnx.Param(nnx.initializers.normal(0.02)(rngs.params(), (num_queries, width)))
        self.cross = nnx.List([_Block(width, heads, rngs=rngs) for _ in range(cross_depth)])
        self.norm = nnx.LayerNorm(width, rngs=rngs)
        self.proj = nnx.Linear(width, out_dim, rngs=rngs)

    def __call__(self, y):
        y = jnp.asarray(y)
        if y.ndim != 3 or y.shape[-1] != self.k or not 1 <= y.shape[1] <= self.max_frames:
            raise ValueError(f"TemporalEncoder y: expected shape (B, T<={self.max_frames}, "
                             f"{self.k}), got {y.shape}")
        y = y.astype(jnp.float32)
        x = jnp.concatenate([standardize_clip(y), motion_stream(y)], axis=-1)
        h = self.embed(x) + self.time[: y.shape[1]][None]
        for block in self.blocks:
            h = block(h)
        q = jnp.broadcast_to(self.queries[...][None], (y.shape[0], self.num_queries, self.width))
        for block in self.cross:
            q = block(q, h)
        return self.proj(self.norm(q))
