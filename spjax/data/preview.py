"""Contact sheets (PNG) and animated previews (GIF) of faces and clips, for `spjax data show`."""

from __future__ import annotations

import numpy as np
from PIL import Image


def _to_uint8(x) -> np.ndarray:
    x = np.asarray(x)
    if x.dtype != np.uint8:
        x = np.clip(np.nan_to_num(np.asarray(x, np.float32)), 0, 1) * 255 + 0.5
    return x.astype(np.uint8)


def grid(images, cols: int, scale: int = 4, gap: int = 1) -> np.ndarray:
    """(N, H, W) images → one (rows·(H+gap), cols·(W+gap)) uint8 mosaic, upscaled ×scale."""
    images = _to_uint8(images)
    n, h, w = images.shape
    rows = -(-n // cols)
    sheet = np.full((rows * (h + gap) + gap, cols * (w + gap) + gap), 255, np.uint8)
    for i, im in enumerate(images):
        r, c = divmod(i, cols)
        sheet[
            gap + r * (h + gap) : gap + r * (h + gap) + h,
            gap + c * (w + gap) : gap + c * (w + gap) + w,
        ] = im
    return np.kron(sheet, np.ones((scale, scale), np.uint8))


def save_faces_sheet(images, path, cols: int = 8, scale: int = 4) -> None:
    Image.fromarray(grid(images, cols, scale)).save(path)


def save_clips(frames, path, cols: int = 4, scale: int = 4, fps: int = 4) -> None:
    """(N, T, H, W) clips → a PNG contact sheet (one row of frames per clip) or, for a
    `.gif` path, an animation with the clips tiled side by side."""
    frames = np.asarray(frames)
    n, t = frames.shape[:2]
    if str(path).lower().endswith(".gif"):
        tiles = [Image.fromarray(grid(frames[:, k], cols, scale)) for k in range(t)]
        tiles[0].save(
            path, save_all=True, append_images=tiles[1:], duration=int(1000 / fps), loop=0
        )
    else:
        Image.fromarray(grid(frames.reshape(n * t, *frames.shape[2:]), t, scale)).save(path)
