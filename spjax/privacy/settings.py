"""The audit's settings as one frozen object.

`AuditSettings` is built once (by `spjax privacy-audit`, by a benchmark cell, or from keyword
arguments of `privacy_audit`), checked once, and handed whole to every part of the audit: the
attacker suite, the calibration (whose cache key it is), the T3 section and the report's
`setup`. Defaults that depend on `quick` are resolved here, so every part sees the same
numbers.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field


def _int_at_least(name: str, value, low: int, *, optional: bool = False) -> None:
    if optional and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{name}: expected an int >= {low}, got {value!r}")


@dataclass(frozen=True)
class SceneSettings:
    """T3 (`scene_reid.scene_reid`): who, which world and how many clips. None: the
    defaults of `scene_reid.SIZES` (quick or full) and as many link people as closed-set
    ones; empty `attackers`: every T3 attacker of the table."""

    identities: int = 50
    link_identities: int | None = None
    frames: int = 16
    world_seed: int = 0
    attackers: tuple[str, ...] = ()
    n_train: int | None = None
    n_val: int | None = None
    n_test: int | None = None
    n_link: int | None = None

    def __post_init__(self):
        from spjax.privacy.attacks import names

        object.__setattr__(self, "attackers", tuple(self.attackers))
        unknown = [a for a in self.attackers if a not in names(threat="T3")]
        if unknown:
            raise ValueError(
                f"scene attackers: expected names from {names(threat='T3')}, got {unknown}"
            )
        _int_at_least("scene identities", self.identities, 2)
        _int_at_least("scene link_identities", self.link_identities, 2, optional=True)
        _int_at_least("scene frames", self.frames, 2)
        _int_at_least("scene world_seed", self.world_seed, 0)
        for name in ("n_train", "n_val", "n_test"):
            _int_at_least(f"scene {name}", getattr(self, name), 1, optional=True)
        _int_at_least("scene n_link", self.n_link, 0, optional=True)

    def kwargs(self) -> dict:
        """Keyword arguments of `scene_reid` (the unset ones left to its defaults)."""
        out = {k: v for k, v in dataclasses.asdict(self).items() if v is not None}
        if not out["attackers"]:
            out.pop("attackers")
        return out


@dataclass(frozen=True)
class AuditSettings:
    """Everything `privacy_audit` does, beyond the sensor it audits.

    Faces: `identities` closed-set people (ids `identity_offset …`), `per_identity` faces
    each (None: 20 quick, 40 full), `heldout_identities` others for open-set verification
    (None: max(4, identities // 2)), re-split per seed of `seeds`. T2: the face attackers of
    `attackers` (+ `conv:pinv` with `conv`); a noisy sensor's train faces measured `augment`
    times (None: 2 quick, 4 full) and an LDA on `shots` averaged shots. T1: `reconstruction`
    and dlib (`recognizer`: True, False or "auto" = skip with the reason when dlib is absent;
    `photos`: an LFW-layout folder or None for the built-in photos). T3: `scenes` with
    `scene`. `calibrate`: ceilings and attacker strength for T2 and T3."""

    size: int = 32
    identities: int = 50
    seeds: tuple[int, ...] = (0, 1, 2)
    quick: bool = False
    per_identity: int | None = None
    heldout_identities: int | None = None
    attackers: tuple[str, ...] | None = None
    conv: bool = True
    augment: int | None = None
    shots: int = 8
    reconstruction: bool = True
    calibrate: bool = True
    scenes: bool = True
    scene: SceneSettings = field(default_factory=SceneSettings)
    recognizer: bool | str = "auto"
    photos: object = None  # an LFW-layout folder, a list of `recognizer.Photo`, or None
    data_seed: int = 0
    identity_offset: int = 0

    def __post_init__(self):
        from spjax.privacy.attackers import ATTACKERS

        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731  (frozen)
        _int_at_least("size", self.size, 4)
        _int_at_least("identities", self.identities, 2)
        seeds = range(self.seeds) if isinstance(self.seeds, int) else self.seeds
        set_("seeds", tuple(int(s) for s in seeds))
        if not self.seeds:
            raise ValueError("seeds: expected at least one seed, got none")
        attackers = ATTACKERS if self.attackers is None else tuple(self.attackers)
        unknown = [a for a in attackers if a not in ATTACKERS]
        if unknown:
            raise ValueError(f"attackers: expected names from {ATTACKERS}, got {unknown}")
        if not attackers and not self.conv:
            raise ValueError("attackers: expected at least one attacker (or conv=True), got none")
        set_("attackers", attackers)
        set_("per_identity", self.per_identity or (20 if self.quick else 40))
        if self.per_identity < 5:
            raise ValueError(
                f"per_identity: expected >= 5 (train/val/test), got {self.per_identity}"
            )
        if self.heldout_identities is None:
            set_("heldout_identities", max(4, self.identities // 2))
        _int_at_least("heldout_identities", self.heldout_identities, 2)
        set_("augment", (2 if self.quick else 4) if self.augment is None else self.augment)
        _int_at_least("augment", self.augment, 1)
        _int_at_least("shots", self.shots, 1)
        _int_at_least("identity_offset", self.identity_offset, 0)
        _int_at_least("data_seed", self.data_seed, 0)
        if self.recognizer not in (True, False, "auto"):
            raise ValueError(f"recognizer: expected True, False or 'auto', got {self.recognizer!r}")
        if isinstance(self.scene, dict):
            set_("scene", SceneSettings(**self.scene))
        elif not isinstance(self.scene, SceneSettings):
            raise TypeError(f"scene: expected SceneSettings or a dict, got {type(self.scene)}")

    def replace(self, **changes) -> AuditSettings:
        """A copy with `changes` (checked like a new object)."""
        return dataclasses.replace(self, **changes)

    @property
    def face_key(self) -> tuple:
        """What the face sets and the calibration depend on (the calibration's cache key)."""
        return (
            self.size,
            self.identities,
            self.per_identity,
            self.heldout_identities,
            self.seeds,
            self.quick,
            self.attackers,
            self.data_seed,
            self.identity_offset,
        )
