"""Export formats by name. Each provides ``write`` and ``read`` (see ``base.Format``)."""

from spjax.export.formats import alp4, dlpc, npz, png
from spjax.export.formats.base import Format

FORMATS: dict[str, Format] = {
    f.name: f for f in (png.FORMAT, npz.FORMAT, alp4.FORMAT, dlpc.DLPC900, dlpc.DLPC350)
}


def get_format(name: str) -> Format:
    if name not in FORMATS:
        raise ValueError(f"format: expected one of {sorted(FORMATS)}, got {name!r}")
    return FORMATS[name]


__all__ = ["FORMATS", "Format", "get_format"]
