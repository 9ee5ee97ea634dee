"""The world's one renderer: planned clips → frames, on whatever device jax uses.

A chunk of planned clips (`scene_plan.plan_clips`) becomes a draw list on the host
(`draw_list`: integer sprite geometry, each person's tones, the empty room of each clip, the
far-to-near painting order; a few hundred small integers a clip), and `render` turns the draw
list plus one PRNG key per clip into frames `(n, T, S, S) float32` and `drawn_pixels` in two
jitted programs: gather the sprites from the bank (a device constant per size) and blend each
person's coverage channels into their tones (`_sprites`), then paint people far to near into
a padded canvas, crop, apply the lighting changes and the sensor noise (both `jax.random`
from the clip's key) and clip to [0, 1] (`_composite`). Nothing in it multiplies matrices, so
it is exact float32 on every backend. Training, the evaluation splits, TFDS preparation, person views and
`spjax sensing record` all render through it (`scenes.generate_scenes`); the training stream
keeps the frames on the device, so rendering runs there, dispatched asynchronously.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from spjax.data import layout as L
from spjax.data import people as P


def render_key(world: int, seeds: tuple[int, ...]) -> np.ndarray:
    """Key data (2 uint32 words, jax's threefry key) of the clips with seeds `seeds` in world
    `world`; clip i of them is lit and noised with `fold_in(key, i)`. The tuple's length is
    part of the entropy, so (s,) and (s, 0) key different streams."""
    from spjax.data import streams

    entropy = [int(world), streams.RENDER, len(seeds), *map(int, seeds)]
    return np.random.SeedSequence(entropy).generate_state(2, np.uint32)


@functools.lru_cache(maxsize=4)
def device_bank(size: int) -> tuple[jax.Array, int, int, int]:
    """(bank on the default device, box, lmin, number of body lengths) of `people.sprite_bank`:
    uploaded once per size, passed to the renderer as an argument (never a compiled constant)."""
    bank, box, lmin = P.sprite_bank(size)
    n_lengths = bank.shape[0] // (len(P.BUILDS) * len(P.POSES) * 4)
    return jax.device_put(bank), box, lmin, n_lengths


def canvas_pad(box: int) -> int:
    """Margin around the image so that any sprite whose anchor lies in the image fits."""
    return box // 2 + 1


def draw_list(cfg, plan: dict) -> dict:
    """What to draw of each planned clip (host NumPy, cheap), in painting order: entry k of
    axis 1 is the person painted k-th over frame t (far people first, so nearer ones cover
    them). `room (n, S, S)` the empty room; per entry `sprite` (bank row), `y0`, `x0`
    (top-left of the sprite box in the padded canvas), `visible`, `weights (n, P, T, 2,
    channels)` (coverage opacity and tone of each sprite channel, per 255 of bank coverage);
    `rank (n, P, T)` where each person slot lies in that order (for `drawn_pixels`)."""
    S = cfg.size
    _, box, lmin, n_lengths = device_bank(S)
    pad = canvas_pad(box)
    look = P.appearance(cfg.identity_offset + cfg.n_identities, cfg.seed)
    who = np.maximum(plan["identities"], 0)
    opacity = look["opacity"][who]  # (n, P, channels)
    weights = np.stack([opacity, look["tones"][who] * opacity], axis=2) / np.float32(255)
    height, build = look["height"][who], look["build"][who]
    pos, pose, vis = plan["pos"], plan["pose"], plan["visible"]
    layouts = [int(lid) for lid in plan["layout"]]
    wall = plan["wall"][:, None, None]
    persp = np.array([L.room_layout(cfg.seed, lid)["persp"] for lid in layouts], np.float32)
    persp = persp[:, None, None]
    depth = np.clip((pos[..., 1] - wall) / (1 - wall), 0, 1)
    # Body length in pixels: people look smaller towards the back wall (perspective).
    length = height[..., None] * (persp + (1 - persp) * depth) * P.BODY_SCALE * S
    li = np.clip(np.rint(length).astype(int), lmin, lmin + n_lengths - 1)
    anchor = pos * S + P.anchor_offset(pose) * li[..., None]
    half = np.rint(anchor * 2).astype(int)  # the bank holds half-pixel sub-positions
    ix, ox = half[..., 0] // 2, half[..., 0] % 2
    iy, oy = half[..., 1] // 2, half[..., 1] % 2
    sprite = P.sprite_index(build[..., None], li - lmin, pose, oy, ox, n_lengths)
    top = S + 2 * pad - box
    y0 = np.clip(iy - box // 2 + pad, 0, top)
    x0 = np.clip(ix - box // 2 + pad, 0, top)
    order = np.argsort(np.where(vis, pos[..., 1], -1.0), axis=1, kind="stable")  # far first

    def by_depth(x):
        return np.take_along_axis(x, order.reshape(*order.shape, *[1] * (x.ndim - 3)), axis=1)

    rooms = [L.render_room(cfg.seed, lid, S) for lid in layouts]
    return {
        "room": np.stack(rooms) if rooms else np.zeros((0, S, S), np.float32),
        "sprite": by_depth(sprite).astype(np.int32),
        "y0": by_depth(y0).astype(np.int32),
        "x0": by_depth(x0).astype(np.int32),
        "visible": by_depth(np.asarray(vis, bool)),
        "weights": by_depth(np.repeat(weights[:, :, None], pose.shape[2], axis=2)),
        "rank": np.argsort(order, axis=1).astype(np.int32),
    }


def _paint(canvas, cover, paint, y0, x0):
    """One person over one frame's canvas (Sp, Sp): coverage `cover` and premultiplied tone
    `paint` (box, box) at top-left (y0, x0). A person not drawn has zero coverage and paint,
    which leaves the canvas exactly as it was."""
    box = cover.shape[0]
    region = jax.lax.dynamic_slice(canvas, (y0, x0), (box, box))
    return jax.lax.dynamic_update_slice(canvas, region * (1 - cover) + paint, (y0, x0))


def _gauss_levels() -> np.ndarray:
    """256 equiprobable levels of a standard normal (the quantiles at (b + ½)/256), scaled
    to unit variance; symmetric, so their mean is exactly 0."""
    from scipy.special import ndtri

    q = ndtri((np.arange(256) + 0.5) / 256)
    return (q / np.sqrt(np.mean(q**2))).astype(np.float32)


_GAUSS_LEVELS = _gauss_levels()


def _unit(words):
    """Uniform floats in (0, 1) from random 32-bit words (their top 24 bits)."""
    return ((words >> 8).astype(jnp.float32) + 0.5) * np.float32(2.0**-24)


def _light_and_noise(key, frames, *, noise_std: float, lighting: bool):
    """One clip's lighting (a gain per clip, a little flicker per frame, and in 15 % of clips
    a step part-way through as lights dim or brighten) and zero-mean Gaussian sensor noise
    of standard deviation `noise_std`, then clipped to [0, 1]. Every draw comes from one
    `jax.random.bits` call of the clip's key (one threefry expansion to compile, not one per
    draw)."""
    T, H, W = frames.shape
    n_light = T + 4
    n_noise = -(-frames.size // 4) if noise_std > 0 else 0
    words = jax.random.bits(key, (n_light + n_noise,), jnp.uint32)
    if lighting:
        u = _unit(words[:n_light])
        gain = 0.8 + 0.35 * u[0] + 0.015 * jax.scipy.special.ndtri(u[4:])
        step = u[1] < 0.15
        when = 1 + jnp.floor(u[2] * (T - 1))  # the first frame the step applies to
        delta = -0.25 + 0.45 * u[3]
        gain = gain + jnp.where(step & (jnp.arange(T) >= when), delta, 0.0)
        frames = frames * gain[:, None, None]
    if noise_std > 0:
        # Gaussian noise quantised to 256 levels: one byte per pixel, four pixels per 32-bit
        # word (threefry would cost more than the rest of the render on a CPU at a word per
        # pixel); 256 levels are ample beside the 8-bit frames of a prepared dataset.
        shifts = jnp.arange(0, 32, 8, dtype=jnp.uint32)
        byte = (words[n_light:, None] >> shifts) & 0xFF
        unit = jnp.asarray(_GAUSS_LEVELS)[byte.reshape(-1)[: frames.size].astype(jnp.int32)]
        frames = frames + np.float32(noise_std) * unit.reshape(T, H, W)
    return jnp.clip(frames, 0.0, 1.0)


@jax.jit
def _sprites(bank, sprite, visible, weights):
    """Coverage and premultiplied tone `(n, P, T, 2, box²)` of every person in every frame:
    the bank's channels weighted by the person's opacities and tones (zero where the person
    is not drawn).

    A program of its own, so that the sum is computed once: inside the painting program XLA
    fuses it into every consumer (each paint step's scatter, the drawn-pixel count), which
    doubles the render's time on a CPU. Written as a sum over the 11 channels, not an einsum:
    exact float32 on every backend (no TF32 path), and one fused pass over the gathered bytes
    (an einsum first converts them all to float32: 7× slower on a CPU)."""
    a = bank[sprite]  # (n, P, T, channels, box²) uint8, 0 … 255
    w = jnp.where(visible[..., None, None], weights, 0.0)  # (n, P, T, 2, channels)
    out = jnp.zeros((*a.shape[:3], 2, a.shape[4]), jnp.float32)
    for c in range(a.shape[3]):
        out = out + w[..., :, c, None] * a[:, :, :, None, c].astype(jnp.float32)
    return out


@functools.partial(jax.jit, static_argnames=("noise_std", "lighting"))
def _composite(draws, sprites, key_data, index, *, noise_std, lighting):
    """Frames `(n, T, S, S)`: people painted far to near over the room, then lit and noised
    (clip j with the key `fold_in(key, index[j])`); and `drawn_pixels (n, P, T)`."""
    room, y0, x0 = draws["room"], draws["y0"], draws["x0"]
    n, Pm, T, _, q = sprites.shape
    box = int(round(np.sqrt(q)))
    S = room.shape[-1]
    pad = canvas_pad(box)
    sprites = sprites.reshape(n, Pm, T, 2, box, box)
    cover, paint = sprites[:, :, :, 0], sprites[:, :, :, 1]
    # Pixels inside the image that each person covers more than half (the rendered-count
    # label), back in person-slot order.
    r = jnp.arange(box) - pad
    rows = (y0[..., None] + r >= 0) & (y0[..., None] + r < S)
    cols = (x0[..., None] + r >= 0) & (x0[..., None] + r < S)
    solid = (cover > 0.5) & rows[..., :, None] & cols[..., None, :]
    drawn = jnp.sum(solid, axis=(-2, -1), dtype=jnp.int32)
    drawn = jnp.take_along_axis(drawn, draws["rank"], axis=1)
    # Painting: entry k of every frame over its canvas, k = 0 (farthest) first.
    canvas = jnp.pad(room, ((0, 0), (pad, pad), (pad, pad)))
    canvas = jnp.broadcast_to(canvas[:, None], (n, T, *canvas.shape[1:]))
    paint_frames = jax.vmap(jax.vmap(_paint))

    def layer(k, canvas):
        def kth(x):
            return jax.lax.dynamic_index_in_dim(x, k, axis=1, keepdims=False)

        return paint_frames(canvas, kth(cover), kth(paint), kth(y0), kth(x0))

    canvas = jax.lax.fori_loop(0, Pm, layer, canvas)
    out = canvas[:, :, pad : pad + S, pad : pad + S]
    key = jax.random.wrap_key_data(key_data, impl="threefry2x32")
    keys = jax.vmap(lambda i: jax.random.fold_in(key, i))(index)
    light = functools.partial(_light_and_noise, noise_std=noise_std, lighting=lighting)
    return jax.vmap(light)(keys, out), drawn


def render(cfg, draws: dict, key: np.ndarray, index: np.ndarray) -> tuple[jax.Array, jax.Array]:
    """Frames `(n, T, S, S) float32` in [0, 1] and `drawn_pixels (n, P, T) int32` of a
    `draw_list`, as device arrays (dispatched asynchronously: nothing waits for them). Clip j
    is lit and noised with `fold_in(key, index[j])` (`key` from `render_key`), so its lighting
    and noise depend on its seeds and index only."""
    bank, _, _, _ = device_bank(cfg.size)
    # Host arrays go straight into the jitted calls (jit's own transfer is ~5× cheaper than a
    # device_put of the dict first: this runs once per 32 clips on the stream's thread).
    sprites = _sprites(bank, draws["sprite"], draws["visible"], draws["weights"])
    return _composite(
        {k: draws[k] for k in ("room", "y0", "x0", "rank")},
        sprites,
        np.asarray(key, np.uint32),
        np.asarray(index, np.uint32),
        noise_std=float(cfg.noise_std),
        lighting=bool(cfg.lighting),
    )
