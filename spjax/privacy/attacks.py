"""Every attacker of the privacy audit in one table: name → threat model → what it reads →
builder → search grid.

The runners look their attackers up here: `attackers.run_attacker` (T2, face measurements),
`suite.run_suite` (T2's `conv:pinv` and averaged shots), `reconstruction.reconstruction_attack`
and `recognizer.recognizer_attack` (T1), `scene_reid` (T3). A new attacker is one row here and
one builder function; the audit, the benchmark and the CLI pick it up by name.

Builders are named "module:function" and imported when run, so this table imports nothing
heavy and every runner can read it. Builder signatures, by what the attacker reads:

- `faces`: `fn(name, train, val, test, heldout_x, n_classes, *, seed, quick, grid)` on
  `attackers.Split`s of face measurements (standardised, except the closed-form attackers,
  which choose their own basis on val);
- `scene`: `fn(name, views, n_classes, *, seed, quick, grid)` on `scene_reid.SceneViews`;
- `images` / `photos`: run by their own functions (their inputs need the sensor); the grid
  holds their training settings, `(quick, full)` pairs where the two differ.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import MappingProxyType

THREATS = {
    "T1": "the paper's: a pretrained face recognizer and a clean-trained identifier on "
    "reconstructions",
    "T2": "informed attackers on close-up face measurements (the worst case)",
    "T3": "re-identification of people in the room stream, across clips",
}
READS = {
    "faces": "a sensor's measurements of close-up faces, one vector per face (N, K)",
    "images": "images lifted from a sensor's face measurements (pseudo-inverse, Tikhonov, U-Net)",
    "photos": "real face photos measured through the sensor and reconstructed",
    "scene": "the measurement stream of a room clip with one person (N, T, K)",
}


@dataclass(frozen=True)
class Attack:
    name: str
    threat: str  # a key of THREATS
    reads: str  # a key of READS
    builder: str  # "module:function": trains the attacker from scratch and scores it
    grid: tuple  # hyper-parameter points searched on val (read-only mappings)
    quick_points: int | None  # how many grid points `quick` keeps (None: all)
    what: str

    def __post_init__(self):
        if self.threat not in THREATS or self.reads not in READS:
            raise ValueError(f"attack {self.name}: unknown threat {self.threat!r} or reads")
        object.__setattr__(self, "grid", tuple(MappingProxyType(dict(p)) for p in self.grid))

    def search_grid(self, quick: bool) -> list[dict]:
        """The grid points to search (`quick`: the first `quick_points`)."""
        points = (
            self.grid if not quick or self.quick_points is None else self.grid[: self.quick_points]
        )
        return [dict(p) for p in points]

    def fit_options(self, quick: bool) -> dict:
        """The first grid point as `fitting.fit` keywords, `(quick, full)` pairs resolved."""
        return {
            k: v[0 if quick else 1] if isinstance(v, tuple) and k in ("epochs", "patience") else v
            for k, v in self.grid[0].items()
        }

    def build(self):
        """The builder function (imported now)."""
        module, func = self.builder.split(":")
        return getattr(importlib.import_module(module), func)


_LDA_GRID = [dict(shrinkage=a) for a in (1e-4, 1e-3, 1e-2, 3e-2, 0.1, 0.3, 0.6, 0.9)]
_RIDGE_GRID = [dict(alpha=a) for a in (1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0)]
_FACES = "spjax.privacy.attackers"
_SCENE = "spjax.privacy.scene_reid"

ATTACKS: dict[str, Attack] = {
    a.name: a
    for a in (
        # T2: fresh attackers on face measurements. Closed form: every grid point costs one
        # small solve, so quick keeps the whole grid.
        Attack(
            "lda",
            "T2",
            "faces",
            f"{_FACES}:fit_closed_form",
            _LDA_GRID,
            None,
            "shrinkage Fisher LDA",
        ),
        Attack(
            "ridge",
            "T2",
            "faces",
            f"{_FACES}:fit_closed_form",
            _RIDGE_GRID,
            None,
            "ridge regression to one-hot labels",
        ),
        Attack(
            "linear",
            "T2",
            "faces",
            f"{_FACES}:fit_neural",
            [dict(lr=1e-2, weight_decay=1e-3), dict(lr=1e-2, weight_decay=1e-1)],
            1,
            "softmax regression",
        ),
        Attack(
            "mlp",
            "T2",
            "faces",
            f"{_FACES}:fit_neural",
            [
                dict(lr=1e-3, weight_decay=1e-2, hidden=(256, 256)),
                dict(lr=1e-3, weight_decay=1e-1, hidden=(512, 512)),
            ],
            1,
            "two-layer perceptron",
        ),
        Attack(
            "attention",
            "T2",
            "faces",
            f"{_FACES}:fit_neural",
            [
                dict(lr=1e-3, weight_decay=1e-2, width=64),
                dict(lr=3e-4, weight_decay=1e-2, width=96),
            ],
            1,
            "a small transformer over chunks of the measurement vector",
        ),
        Attack(
            "knn",
            "T2",
            "faces",
            f"{_FACES}:fit_knn",
            [dict(k=k, metric=m) for m in ("cosine", "euclidean") for k in (1, 3, 5, 9, 15)],
            3,
            "k nearest neighbours",
        ),
        Attack(
            "conv:pinv",
            "T2",
            "images",
            "spjax.privacy.identifier:identifier_attack",
            [dict(lr=2e-3, weight_decay=1e-2, epochs=(25, 80), patience=(6, 12), batch=64)],
            None,
            "a conv identifier trained on the sensor's pseudo-inverse reconstructions",
        ),
        # T1: attackers that never saw the sensor's measurements of the people they identify.
        Attack(
            "reconstruction:pinv",
            "T1",
            "images",
            "spjax.privacy.reconstruction:reconstruction_attack",
            [{}],
            None,
            "clean-trained identifier on pseudo-inverse reconstructions",
        ),
        Attack(
            "reconstruction:tikhonov",
            "T1",
            "images",
            "spjax.privacy.reconstruction:reconstruction_attack",
            [dict(rel_lambda=r) for r in (1e-3, 1e-2, 1e-1, 1.0)],
            None,
            "clean-trained identifier on Tikhonov reconstructions (λ chosen by val PSNR)",
        ),
        Attack(
            "reconstruction:unet",
            "T1",
            "images",
            "spjax.privacy.reconstruction:reconstruction_attack",
            [dict(lr=2e-3, weight_decay=1e-4, epochs=(15, 120), patience=(5, 15), batch=32)],
            None,
            "clean-trained identifier on a U-Net's reconstructions (U-Net trained on the "
            "clean train faces)",
        ),
        Attack(
            "dlib",
            "T1",
            "photos",
            "spjax.privacy.recognizer:recognizer_attack",
            [{}],
            None,
            "dlib's pretrained face recognizer on reconstructed photos",
        ),
        # T3: re-identification in the room stream.
        Attack(
            "ridge:stats",
            "T3",
            "scene",
            f"{_SCENE}:fit_stats",
            _RIDGE_GRID,
            None,
            "ridge probe on per-channel temporal statistics",
        ),
        Attack(
            "lda:stats",
            "T3",
            "scene",
            f"{_SCENE}:fit_stats",
            _LDA_GRID,
            None,
            "shrinkage LDA on temporal and motion statistics",
        ),
        Attack(
            "temporal",
            "T3",
            "scene",
            f"{_SCENE}:fit_temporal",
            [dict(lr=1e-3, epochs=(12, 40), batch=256)],
            None,
            "a temporal conv net on the whole stream",
        ),
        Attack(
            "crop:lift",
            "T3",
            "scene",
            f"{_SCENE}:fit_crops",
            [dict(lr=2e-3, epochs=(10, 40), batch=64)],
            None,
            "a conv net on the person, followed through the lifted stream",
        ),
    )
}


def names(*, threat: str | None = None, reads: str | None = None) -> tuple[str, ...]:
    """Attack names in table order, filtered by threat model and input."""
    return tuple(
        n
        for n, a in ATTACKS.items()
        if (threat is None or a.threat == threat) and (reads is None or a.reads == reads)
    )


def attack(name: str, *, reads: str | None = None) -> Attack:
    """The table row of `name` (ValueError naming the choices when unknown, or when it does
    not read `reads`)."""
    choices = names(reads=reads)
    if name not in choices:
        raise ValueError(f"attacker name: expected one of {choices}, got {name!r}")
    return ATTACKS[name]


def table() -> list[dict]:
    """The table as rows (docs, `spjax privacy-audit --list-attackers`)."""
    return [
        {
            "name": a.name,
            "threat": a.threat,
            "reads": a.reads,
            "builder": a.builder,
            "grid": [dict(p) for p in a.grid],
            "quick_points": a.quick_points,
            "what": a.what,
        }
        for a in ATTACKS.values()
    ]
