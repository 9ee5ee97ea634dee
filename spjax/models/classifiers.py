"""Identity classifiers on measurement vectors: faces y (B, K) or clips y (B, T, K).

One family serves both sides of the privacy game: the training adversaries
(`spjax.privacy.terms`, trained beside the sensor) and the audit's fresh attackers
(`spjax.privacy.attackers`, trained from scratch after the fact). The audit stays independent of
training by training *new* models, not by re-implementing them.

Every classifier has `features(y)` (its embedding: penultimate layer; for clips the per-frame
features averaged over T) and `__call__(y)` (logits from the features), and records its
constructor arguments in `spec`, so that `type(m)(**m.spec, rngs=...)` re-initialises it.
`standardize=True` standardises each sample first (photon-scale and dark-offset invariant, as
the encoder does, so a sensor cannot defeat an adversary by rescaling its measurements); the
audit passes False because it standardises with train-split statistics instead.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from spjax.models.blocks import TransformerBlock


def standardize_rows(y, eps=1e-6):
    """Zero mean, unit RMS along the last axis (floored for near-constant rows)."""
    mean = jnp.mean(y, axis=-1, keepdims=True)
    c = y - mean
    return c / jnp.sqrt(jnp.mean(c * c, axis=-1, keepdims=True) + eps * eps * (1 + mean * mean))


def _check_int(owner, **values):
    for name, v in values.items():
        if not isinstance(v, int) or v < 1:
            raise ValueError(f"{owner} {name}: expected a positive int, got {v!r}")


class _Classifier(nnx.Module):
    """Input checks and per-sample standardisation shared by the family."""

    def _input(self, y):
        y = jnp.asarray(y, jnp.float32)
        if y.ndim not in (2, 3) or y.shape[-1] != self.k:
            raise ValueError(
                f"{type(self).__name__} y: expected shape (B, {self.k}) or (B, T, {self.k}), "
                f"got {y.shape}"
            )
        return standardize_rows(y) if self.standardize else y

    def __call__(self, y):
        return self.out(self.features(y))

    @property
    def spec(self) -> dict:
        """The constructor arguments (kept as a tuple: a hashable graph node is one jit key)."""
        return dict(self._spec)


class LinearClassifier(_Classifier):
    """Softmax regression. Its embedding is its (standardised) input: the logits span only the
    training identities and would discard unseen ones."""

    def __init__(self, k: int, n_classes: int, *, standardize: bool = True, rngs: nnx.Rngs):
        _check_int(type(self).__name__, k=k, n_classes=n_classes)
        self._spec = tuple({"k": k, "n_classes": n_classes, "standardize": standardize}.items())
        self.k, self.standardize = k, standardize
        # Named `linear` (not `out`): checkpoints of runs trained before the family existed
        # hold the adversary's weights under this name.
        self.linear = nnx.Linear(k, n_classes, rngs=rngs)

    def features(self, y):
        x = self._input(y)
        return x.mean(axis=1) if x.ndim == 3 else x

    def __call__(self, y):
        return self.linear(self.features(y))


class MLPClassifier(_Classifier):
    """MLP: Linear → LayerNorm → GELU per hidden layer, then a linear head."""

    def __init__(
        self,
        k: int,
        n_classes: int,
        *,
        hidden: tuple[int, ...] = (256, 256),
        standardize: bool = True,
        rngs: nnx.Rngs,
    ):
        name = type(self).__name__
        _check_int(name, k=k, n_classes=n_classes)
        hidden = tuple(hidden)
        _check_int(name, **{f"hidden[{i}]": h for i, h in enumerate(hidden)})
        self._spec = tuple(
            {"k": k, "n_classes": n_classes, "hidden": hidden, "standardize": standardize}.items()
        )
        self.k, self.standardize = k, standardize
        sizes = (k,) + hidden
        self.layers = nnx.List([nnx.Linear(a, b, rngs=rngs) for a, b in zip(sizes, sizes[1:])])
        self.norms = nnx.List([nnx.LayerNorm(b, rngs=rngs) for b in hidden])
        self.out = nnx.Linear(sizes[-1], n_classes, rngs=rngs)

    def features(self, y):
        h = self._input(y)
        for layer, norm in zip(self.layers, self.norms):
            h = jax.nn.gelu(norm(layer(h)))
        return h.mean(axis=1) if h.ndim == 3 else h


class AttentionClassifier(_Classifier):
    """A small transformer. Faces (B, K): the K measurements are cut into at most `tokens`
    chunks (zero-padded; measurement order carries frequency structure for ordered patterns),
    each embedded with its own position. Clips (B, T, K): one token per frame with a learned
    time position (needs `max_frames`).

    `pool="mean"` averages the normalised tokens; `pool="flatten"` (faces only: a fixed token
    count) keeps each token's position and projects the concatenation to 2·width."""

    def __init__(
        self,
        k: int,
        n_classes: int,
        *,
        width: int = 64,
        depth: int = 1,
        heads: int = 4,
        tokens: int = 16,
        max_frames: int | None = None,
        pool: str = "mean",
        standardize: bool = True,
        rngs: nnx.Rngs,
    ):
        name = type(self).__name__
        _check_int(
            name, k=k, n_classes=n_classes, width=width, depth=depth, heads=heads, tokens=tokens
        )
        if width % heads:
            raise ValueError(f"{name} width: expected a multiple of heads={heads}, got {width}")
        if max_frames is not None:
            _check_int(name, max_frames=max_frames)
        if pool not in ("mean", "flatten"):
            raise ValueError(f"{name} pool: expected 'mean' or 'flatten', got {pool!r}")
        if pool == "flatten" and max_frames is not None:
            raise ValueError(f"{name} pool='flatten' needs a fixed token count: faces only")
        self._spec = tuple(
            {
                "k": k,
                "n_classes": n_classes,
                "width": width,
                "depth": depth,
                "heads": heads,
                "tokens": tokens,
                "max_frames": max_frames,
                "pool": pool,
                "standardize": standardize,
            }.items()
        )
        self.k, self.max_frames, self.pool, self.standardize = k, max_frames, pool, standardize
        self.chunk = -(-k // min(tokens, k))
        self.n_tok = -(-k // self.chunk)  # no token is padding only
        init = nnx.initializers.normal(0.02)
        if max_frames is None:
            self.embed = nnx.Linear(self.chunk, width, rngs=rngs)
            self.pos = nnx.Param(init(rngs.params(), (self.n_tok, width)))
        else:
            self.embed = nnx.Linear(k, width, rngs=rngs)
            self.pos = nnx.Param(init(rngs.params(), (max_frames, width)))
        self.blocks = nnx.List([TransformerBlock(width, heads, rngs=rngs) for _ in range(depth)])
        if pool == "flatten":
            self.proj = nnx.Linear(self.n_tok * width, 2 * width, rngs=rngs)
            self.norm = nnx.LayerNorm(2 * width, rngs=rngs)
            self.out = nnx.Linear(2 * width, n_classes, rngs=rngs)
        else:
            self.norm = nnx.LayerNorm(width, rngs=rngs)
            self.out = nnx.Linear(width, n_classes, rngs=rngs)

    def features(self, y):
        name = type(self).__name__
        x = self._input(y)
        if self.max_frames is None:
            if x.ndim != 2:
                raise ValueError(
                    f"{name} y: built for faces (B, {self.k}); pass max_frames for clips, "
                    f"got {x.shape}"
                )
            x = jnp.pad(x, ((0, 0), (0, self.n_tok * self.chunk - self.k)))
            h = self.embed(x.reshape(x.shape[0], self.n_tok, self.chunk)) + self.pos[...][None]
        else:
            if x.ndim != 3 or x.shape[1] > self.max_frames:
                raise ValueError(
                    f"{name} y: expected clips (B, T<={self.max_frames}, {self.k}), got {x.shape}"
                )
            h = self.embed(x) + self.pos[: x.shape[1]][None]
        for block in self.blocks:
            h = block(h)
        if self.pool == "flatten":
            return self.norm(jax.nn.gelu(self.proj(h.reshape(h.shape[0], -1))))
        return self.norm(h).mean(axis=1)


CLASSIFIERS = {"linear": LinearClassifier, "mlp": MLPClassifier, "attention": AttentionClassifier}


def make_classifier(kind: str, k: int, n_classes: int, *, rngs: nnx.Rngs, **kwargs):
    """`CLASSIFIERS[kind](k, n_classes, rngs=rngs, **kwargs)` with a clear error for a bad kind."""
    if kind not in CLASSIFIERS:
        raise ValueError(f"classifier kind: expected one of {sorted(CLASSIFIERS)}, got {kind!r}")
    return CLASSIFIERS[kind](k, n_classes, rngs=rngs, **kwargs)
