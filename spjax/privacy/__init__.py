"""spjax.privacy: both sides of the privacy game, in one area.

Training side (`terms`): the identity adversaries trained beside the sensor and the privacy
terms the sensor minimises (adversarial, and the attacker-free face and identity capacities).

Audit side, after the fact, with fresh attackers only (docs/privacy.md):

- `attacks` — the one attacker table: name → threat model (T1, T2, T3) → what it reads
  (face measurements, images, photos, a scene stream) → builder → search grid;
- `settings` — `AuditSettings` / `SceneSettings`, the audit's one frozen settings object;
- `audit` — `privacy_audit(sensor, settings)`: T1, T2 and T3 side by side, with their
  calibration; `threat_models`, `t3_summary`, `format_summary`;
- runners: `attackers` (T2 on face measurements), `suite` (every T2 attacker for every seed),
  `identifier` (`conv:pinv`), `reconstruction` and `recognizer` (T1), `scene_reid` (T3);
  `fitting` (one training loop), `calibration` (ceilings, attacker strength), `leakage` (the
  leak rule, critical sampling rate), `figures`, `cli` (`spjax privacy-audit`).

Heavy modules import lazily.
"""

_LAZY = {
    "ATTACKS": "spjax.privacy.attacks",
    "Attack": "spjax.privacy.attacks",
    "AuditSettings": "spjax.privacy.settings",
    "SceneSettings": "spjax.privacy.settings",
    "privacy_audit": "spjax.privacy.audit",
    "threat_models": "spjax.privacy.audit",
    "t3_summary": "spjax.privacy.audit",
    "format_summary": "spjax.privacy.audit",
    "training_identities": "spjax.privacy.audit",
    "scene_reid": "spjax.privacy.scene_reid",
    "run_attacker": "spjax.privacy.attackers",
    "reconstruction_attack": "spjax.privacy.reconstruction",
    "recognizer_attack": "spjax.privacy.recognizer",
    "calibration": "spjax.privacy.calibration",
    "critical_sampling_rate": "spjax.privacy.leakage",
    "leak_test": "spjax.privacy.leakage",
    "worst_case": "spjax.privacy.leakage",
    "audit_figure": "spjax.privacy.figures",
    "AdversaryEnsemble": "spjax.privacy.terms",
    "make_adversary": "spjax.privacy.terms",
    "privacy_loss": "spjax.privacy.terms",
    "PRIVACY_TERMS": "spjax.privacy.terms",
}


def __getattr__(name):
    # The audit pulls in jax, flax and the data area; importing the package stays cheap.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'spjax.privacy' has no attribute {name!r}")


__all__ = sorted(_LAZY)
