"""Where a pattern lands on the DMD: orientation, integer zoom and offset.

Order of operations (fixed, and recorded in the manifest so the mapping can be undone):
rotate the pattern counter-clockwise by ``rotate`` degrees, mirror it (``flip_h`` left-right,
``flip_v`` up-down), upscale by an integer ``zoom`` (nearest neighbour: every pattern pixel
becomes a ``zoom × zoom`` block of mirrors), then paste it with its top-left corner at
``offset = (row, col)`` on an all-off device frame. Mirrors outside that *measured region*
are off, so they add no light to the single-pixel detector.
"""

from __future__ import annotations

import dataclasses

import numpy as np

ROTATIONS = (0, 90, 180, 270)


@dataclasses.dataclass(frozen=True)
class Placement:
    """How a ``(H, W)`` pattern maps onto a ``(device_h, device_w)`` DMD frame."""

    h: int
    w: int
    device_h: int
    device_w: int
    zoom: int
    offset: tuple[int, int]
    flip_h: bool = False
    flip_v: bool = False
    rotate: int = 0

    @property
    def oriented_shape(self) -> tuple[int, int]:
        """Pattern shape after rotation (90/270 swap height and width)."""
        return (self.w, self.h) if self.rotate in (90, 270) else (self.h, self.w)

    @property
    def region(self) -> dict[str, int]:
        """Measured region in device pixels (top, left, height, width)."""
        oh, ow = self.oriented_shape
        return {
            "top": self.offset[0],
            "left": self.offset[1],
            "height": oh * self.zoom,
            "width": ow * self.zoom,
        }

    def orient(self, patterns: np.ndarray) -> np.ndarray:
        """Rotate then flip ``(..., H, W)`` patterns into device orientation (pre-zoom)."""
        out = np.rot90(patterns, k=self.rotate // 90, axes=(-2, -1))
        if self.flip_h:
            out = out[..., :, ::-1]
        if self.flip_v:
            out = out[..., ::-1, :]
        return np.ascontiguousarray(out)

    def unorient(self, oriented: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`orient`."""
        out = oriented
        if self.flip_v:
            out = out[..., ::-1, :]
        if self.flip_h:
            out = out[..., :, ::-1]
        out = np.rot90(out, k=-(self.rotate // 90), axes=(-2, -1))
        return np.ascontiguousarray(out)

    def embed(self, oriented: np.ndarray) -> np.ndarray:
        """Zoom oriented ``(..., h', w')`` data and paste it on all-zero device frames."""
        oh, ow = self.oriented_shape
        if oriented.shape[-2:] != (oh, ow):
            raise ValueError(
                f"embed: expected oriented patterns (..., {oh}, {ow}), got shape {oriented.shape}"
            )
        zoomed = np.repeat(np.repeat(oriented, self.zoom, axis=-2), self.zoom, axis=-1)
        out = np.zeros(oriented.shape[:-2] + (self.device_h, self.device_w), oriented.dtype)
        r = self.region
        out[..., r["top"] : r["top"] + r["height"], r["left"] : r["left"] + r["width"]] = zoomed
        return out

    def embed_rgb(self, oriented_rgb: np.ndarray) -> np.ndarray:
        """:meth:`embed` for one ``(h', w', 3)`` image -> ``(device_h, device_w, 3)``."""
        return np.moveaxis(self.embed(np.moveaxis(oriented_rgb, -1, 0)), 0, -1)

    def extract(self, device: np.ndarray, what: str = "frame") -> np.ndarray:
        """Inverse of :meth:`embed` for ``(..., device_h, device_w)`` data, with checks.

        Raises ``ValueError`` if light is on outside the measured region or a zoom block is
        not uniform: either means the file does not hold what the manifest says.
        """
        if device.shape[-2:] != (self.device_h, self.device_w):
            raise ValueError(
                f"{what}: expected device resolution "
                f"{self.device_w}x{self.device_h} (WxH), got "
                f"{device.shape[-1]}x{device.shape[-2]}"
            )
        r = self.region
        rows = slice(r["top"], r["top"] + r["height"])
        cols = slice(r["left"], r["left"] + r["width"])
        outside = (
            device[..., : rows.start, :],
            device[..., rows.stop :, :],
            device[..., rows, : cols.start],
            device[..., rows, cols.stop :],
        )
        if any(part.any() for part in outside):
            raise ValueError(
                f"{what}: mirrors are on outside the measured region {r}; "
                "the file does not match its manifest"
            )
        inside = device[..., rows, cols]
        z = self.zoom
        oh, ow = self.oriented_shape
        blocks = inside.reshape(inside.shape[:-2] + (oh, z, ow, z))
        small = blocks[..., :, 0, :, 0]
        if not (blocks == small[..., :, None, :, None]).all():
            raise ValueError(
                f"{what}: a {z}x{z} zoom block is not uniform; the file does not match its manifest"
            )
        return np.ascontiguousarray(small)

    def extract_rgb(self, device_rgb: np.ndarray, what: str = "image") -> np.ndarray:
        """:meth:`extract` for one ``(device_h, device_w, 3)`` image -> ``(h', w', 3)``."""
        return np.moveaxis(self.extract(np.moveaxis(device_rgb, -1, 0), what), 0, -1)

    def to_json(self) -> dict:
        return {
            "zoom": self.zoom,
            "offset": list(self.offset),
            "flip_h": self.flip_h,
            "flip_v": self.flip_v,
            "rotate": self.rotate,
            "region": self.region,
        }

    @classmethod
    def from_json(
        cls, geometry: dict, *, h: int, w: int, device_h: int, device_w: int
    ) -> Placement:
        p = make_placement(
            h,
            w,
            (device_h, device_w),
            zoom=geometry["zoom"],
            offset=tuple(geometry["offset"]),
            flip_h=geometry["flip_h"],
            flip_v=geometry["flip_v"],
            rotate=geometry["rotate"],
        )
        if "region" in geometry and geometry["region"] != p.region:
            raise ValueError(
                f"manifest geometry: recorded region {geometry['region']} "
                f"does not match zoom/offset (expected {p.region})"
            )
        return p


def _check_int(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name}: expected an integer, got {value!r} ({type(value).__name__})")
    if value < minimum:
        raise ValueError(f"{name}: expected an integer >= {minimum}, got {value}")
    return int(value)


def make_placement(
    h: int,
    w: int,
    device: tuple[int, int] | None,
    *,
    zoom: int | None = None,
    offset: tuple[int, int] | None = None,
    flip_h: bool = False,
    flip_v: bool = False,
    rotate: int = 0,
) -> Placement:
    """Validate geometry and fill defaults.

    ``device`` is ``(height, width)``; ``None`` means "exactly the zoomed pattern" (no
    border). ``zoom=None`` picks the largest integer zoom that fits the device (1 when
    ``device`` is ``None``); ``offset=None`` centres the pattern (rounding towards top-left).
    """
    h = _check_int("h", h, 1)
    w = _check_int("w", w, 1)
    if rotate not in ROTATIONS:
        raise ValueError(f"rotate: expected one of {ROTATIONS} degrees, got {rotate!r}")
    oh, ow = (w, h) if rotate in (90, 270) else (h, w)
    if zoom is not None:
        zoom = _check_int("zoom", zoom, 1)
    if device is None:
        zoom = 1 if zoom is None else zoom
        device = (oh * zoom, ow * zoom)
    if len(device) != 2:
        raise ValueError(f"device: expected (height, width), got {device!r}")
    dh = _check_int("device height", device[0], 1)
    dw = _check_int("device width", device[1], 1)
    if zoom is None:
        zoom = min(dh // oh, dw // ow)
        if zoom < 1:
            raise ValueError(
                f"device: a {ow}x{oh} (WxH) pattern does not fit the "
                f"{dw}x{dh} device even at zoom 1"
            )
    if oh * zoom > dh or ow * zoom > dw:
        raise ValueError(
            f"zoom: a {ow}x{oh} (WxH) pattern at zoom {zoom} needs "
            f"{ow * zoom}x{oh * zoom} mirrors but the device has {dw}x{dh}; "
            f"the largest zoom that fits is {min(dh // oh, dw // ow)}"
        )
    if offset is None:
        offset = ((dh - oh * zoom) // 2, (dw - ow * zoom) // 2)
    if len(offset) != 2:
        raise ValueError(f"offset: expected (row, col), got {offset!r}")
    oy = _check_int("offset row", offset[0], 0)
    ox = _check_int("offset col", offset[1], 0)
    if oy + oh * zoom > dh or ox + ow * zoom > dw:
        raise ValueError(
            f"offset: region {ow * zoom}x{oh * zoom} (WxH) at (row {oy}, "
            f"col {ox}) runs past the {dw}x{dh} device"
        )
    return Placement(h, w, dh, dw, zoom, (oy, ox), bool(flip_h), bool(flip_v), int(rotate))
