"""Export hard sensing patterns to DMD hardware files (PNG, NPZ, ViALUX ALP-4, TI DLPC900,
TI DLPC350) with a checksummed manifest, and import them back bit for bit."""

from spjax.export.api import (
    export_patterns,
    import_patterns,
    parse_device,
    read_export,
    read_frames,
)
from spjax.export.formats import FORMATS
from spjax.export.frames import as_hard_patterns, from_frames, to_frames
from spjax.export.geometry import Placement, make_placement
from spjax.export.manifest import MANIFEST, config_hash, patterns_sha256

__all__ = [
    "FORMATS",
    "MANIFEST",
    "Placement",
    "as_hard_patterns",
    "config_hash",
    "export_patterns",
    "from_frames",
    "import_patterns",
    "make_placement",
    "parse_device",
    "patterns_sha256",
    "read_export",
    "read_frames",
    "to_frames",
]
