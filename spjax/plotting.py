"""Figures as files: matplotlib on the Agg backend (no display needed), and one way to save.

Every area that draws (training, the audit, the sweep, export previews, the sensing demo)
goes through here, so the backend choice and the save conventions live in one place."""

from __future__ import annotations

import os
from pathlib import Path


def pyplot():
    """`matplotlib.pyplot`, on the Agg backend unless the caller chose another already."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path, *, dpi: int = 110, rect=None) -> str:
    """Lay out `fig`, write it to `path` (creating its folder), close it; returns the path."""
    fig.tight_layout(**({} if rect is None else {"rect": rect}))
    Path(os.fspath(path)).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    pyplot().close(fig)
    return os.fspath(path)
