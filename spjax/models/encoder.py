"""TemporalEncoder: a single-pixel measurement stream → M prefix tokens for a frozen decoder.

    measurements y (B, T, K) ──sensor.lift──► image-domain clip x (B, T, H, W)
      ──clip normalisation──► per pixel: T scene values + T motion values
      ──pixel-wise temporal MLP──► ──3×3 conv trunk (one stride-2 stage)──► (G/2)² spatial tokens
      ──self-attention──► M learned queries (+ the clip summary) cross-attend ──► (B, M, out_dim)

Why lift first: a linear embedding of each frame's K numbers has to rediscover the geometry
of the patterns, and loses most of what the measurements carry (measured on the utility
ladder). `Sensor.lift` is the sensor's own (ridge-stabilised) pseudo-inverse: exact for
Hadamard rows, differentiable, and it follows learned patterns as they train — so the same
encoder serves every sensor family and any K, and the clean-frame rung of the ladder feeds
frames to the same trunk (`encode_frames`).

Invariances: each clip is divided by its mean radiance (photon scale, detector gain, global
lighting); the motion stream removes each pixel's temporal mean (static background).
Clip summary: the mean and max of the spatial tokens, projected and added to every query.
Without it the label loss sits on a plateau at the prior for 500–1,500 steps while the
randomly-initialised queries learn where to look (plain global pooling is the path a conv net
learns through first); with it the ladder's learned rung (64×64, r = 5 %, 1,000 steps) reaches
0.911 anomaly accuracy and count MAE 0.326 instead of 0.792 / 0.480.
Resolution: frames larger than `grid` pixels are folded space-to-depth onto a `grid`² lattice
(lossless, 4× cheaper convolutions per halving); time is folded into channels and mixed by a
per-pixel MLP before any spatial convolution (a cheap temporal model: 16 frames cost one
convolution trunk, not 16).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from einops import rearrange
from flax import nnx

from spjax.models.blocks import TransformerBlock


def _positive_int(owner: str, **values) -> None:
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{owner} {name}: expected a positive int, got {value!r}")


def normalize_clip(x, eps: float = 1e-6):
    """(B, T, H, W) → (B, T, H, W, 2): the clip over its mean radiance (minus 1), and the
    motion stream (each pixel minus its temporal mean, same scale). Finite for black clips."""
    level = jnp.mean(jnp.abs(x), axis=(1, 2, 3), keepdims=True) + eps
    scene = x / level - 1.0
    motion = (x - jnp.mean(x, axis=1, keepdims=True)) / level
    return jnp.stack([scene, 4.0 * motion], axis=-1)  # motion is small: bring it to unit scale


class ConvStage(nnx.Module):
    """3×3 conv (optionally stride 2) → GroupNorm → GELU."""

    def __init__(self, c_in: int, c_out: int, stride: int, *, rngs: nnx.Rngs):
        self.conv = nnx.Conv(
            c_in, c_out, (3, 3), strides=(stride, stride), padding="SAME", rngs=rngs
        )
        self.norm = nnx.GroupNorm(c_out, num_groups=min(8, c_out), rngs=rngs)

    def __call__(self, x):
        return jax.nn.gelu(self.norm(self.conv(x)))


class TemporalEncoder(nnx.Module):
    """Clips of `height`×`width` frames (T ≤ max_frames) → prefix tokens (B, num_queries, out_dim).

    `__call__(y, sensor)` lifts measurements with `sensor.lift`; `encode_frames(x)` takes
    image-domain clips directly (clean frames, or any reconstruction)."""

    def __init__(
        self,
        height: int,
        width: int,
        *,
        max_frames: int,
        out_dim: int,
        channels: int = 48,
        token_width: int = 128,
        depth: int = 1,
        heads: int = 4,
        num_queries: int = 8,
        cross_depth: int = 1,
        grid: int = 16,
        summary: bool = True,
        rngs: nnx.Rngs,
    ):
        _positive_int(
            "TemporalEncoder",
            height=height,
            width=width,
            max_frames=max_frames,
            out_dim=out_dim,
            channels=channels,
            token_width=token_width,
            heads=heads,
            num_queries=num_queries,
            cross_depth=cross_depth,
            grid=grid,
            depth=depth + 1,
        )
        if token_width % heads:
            raise ValueError(
                f"TemporalEncoder token_width: expected a multiple of heads={heads}, "
                f"got {token_width}"
            )
        g = min(grid, height, width)
        if height % g or width % g or g % 2:
            raise ValueError(
                f"TemporalEncoder frame size: expected height and width that are "
                f"multiples of min(grid, size) = {g}, itself even; got "
                f"{height}×{width} with grid={grid}"
            )
        self.height, self.width, self.max_frames = height, width, max_frames
        self.fh, self.fw = height // g, width // g
        self.num_queries, self.out_dim, self.token_width = num_queries, out_dim, token_width
        c_in = 2 * max_frames * self.fh * self.fw
        # Per-pixel temporal MLP (time and sub-pixels are channels here).
        self.temporal_in = nnx.Linear(c_in, 2 * channels, rngs=rngs)
        self.temporal_out = nnx.Linear(2 * channels, channels, rngs=rngs)
        self.trunk = nnx.List(
            [
                ConvStage(channels, channels, 1, rngs=rngs),
                ConvStage(channels, 2 * channels, 2, rngs=rngs),
                ConvStage(2 * channels, 2 * channels, 1, rngs=rngs),
                ConvStage(2 * channels, 2 * channels, 1, rngs=rngs),
            ]
        )
        n_tokens = (g // 2) ** 2
        init = nnx.initializers.normal(0.02)
        self.embed = nnx.Linear(2 * channels, token_width, rngs=rngs)
        self.pos = nnx.Param(init(rngs.params(), (n_tokens, token_width)))
        self.blocks = nnx.List(
            [TransformerBlock(token_width, heads, rngs=rngs) for _ in range(depth)]
        )
        self.queries = nnx.Param(init(rngs.params(), (num_queries, token_width)))
        # The clip summary (mean + max over the spatial tokens) is added to every query.
        self.summary = nnx.Linear(2 * token_width, token_width, rngs=rngs) if summary else None
        self.cross = nnx.List(
            [TransformerBlock(token_width, heads, rngs=rngs) for _ in range(cross_depth)]
        )
        self.norm = nnx.LayerNorm(token_width, rngs=rngs)
        self.proj = nnx.Linear(token_width, out_dim, rngs=rngs)

    def features(self, x):
        """Image-domain clips (B, T, H, W) → spatial tokens (B, (G/2)², token_width)."""
        x = jnp.asarray(x, jnp.float32)
        if (
            x.ndim != 4
            or x.shape[2:] != (self.height, self.width)
            or not 1 <= x.shape[1] <= self.max_frames
        ):
            raise ValueError(
                f"TemporalEncoder frames: expected shape (B, T<={self.max_frames}, "
                f"{self.height}, {self.width}), got {x.shape}"
            )
        t = x.shape[1]
        if t < self.max_frames:  # shorter clips: hold the last frame (no new motion)
            x = jnp.concatenate([x, jnp.repeat(x[:, -1:], self.max_frames - t, axis=1)], axis=1)
        z = normalize_clip(x)
        z = rearrange(z, "b t (h fh) (w fw) c -> b h w (t fh fw c)", fh=self.fh, fw=self.fw)
        h = self.temporal_out(jax.nn.gelu(self.temporal_in(z)))
        for stage in self.trunk:
            h = stage(h)
        h = rearrange(h, "b h w c -> b (h w) c")
        return self.embed(h) + self.pos[...][None]

    def encode_frames(self, x):
        """Image-domain clips (B, T, H, W) → prefix tokens (B, M, out_dim)."""
        h = self.features(x)
        for block in self.blocks:
            h = block(h)
        q = jnp.broadcast_to(
            self.queries[...][None], (h.shape[0], self.num_queries, self.token_width)
        )
        if self.summary is not None:
            pooled = jnp.concatenate([h.mean(axis=1), h.max(axis=1)], axis=-1)
            q = q + self.summary(pooled)[:, None]
        for block in self.cross:
            q = block(q, h)
        return self.proj(self.norm(q))

    def __call__(self, y, sensor):
        """Measurements (B, T, K) of `sensor` → prefix tokens (B, M, out_dim)."""
        y = jnp.asarray(y)
        if y.ndim != 3 or y.shape[-1] != sensor.k:
            raise ValueError(
                f"TemporalEncoder y: expected shape (B, T, {sensor.k}) for this "
                f"sensor, got {y.shape}"
            )
        if (sensor.h, sensor.w) != (self.height, self.width):
            raise ValueError(
                f"TemporalEncoder sensor: built for {self.height}×{self.width} "
                f"frames, the sensor measures {sensor.h}×{sensor.w}"
            )
        return self.encode_frames(sensor.lift(y.astype(jnp.float32)))
