"""The attacker table and the audit's one frozen settings object."""

import dataclasses

import pytest

from spjax.privacy import attacks
from spjax.privacy.settings import AuditSettings, SceneSettings


def test_every_attacker_has_one_row_with_a_builder_and_a_grid():
    for name, row in attacks.ATTACKS.items():
        assert row.name == name and row.threat in attacks.THREATS and row.reads in attacks.READS
        assert callable(row.build()), name
        assert row.grid and row.search_grid(True) and len(row.search_grid(True)) <= len(row.grid)
    # Every threat model has attackers, and the runners take their names from the table.
    by_threat = {t: attacks.names(threat=t) for t in attacks.THREATS}
    assert all(by_threat.values())
    from spjax.privacy.attackers import ATTACKERS
    from spjax.privacy.scene_reid import SCENE_ATTACKS

    assert set(ATTACKERS) == set(attacks.names(reads="faces")) <= set(by_threat["T2"])
    assert SCENE_ATTACKS == attacks.names(threat="T3") == attacks.names(reads="scene")


def test_table_rows_are_read_only_and_unknown_names_are_refused():
    row = attacks.ATTACKS["knn"]
    with pytest.raises(TypeError):
        row.grid[0]["k"] = 99  # a grid point cannot be changed in place
    assert len(row.search_grid(quick=True)) == row.quick_points < len(row.search_grid(False))
    with pytest.raises(ValueError, match="expected one of"):
        attacks.attack("svm")
    with pytest.raises(ValueError, match="expected one of"):
        attacks.attack("crop:lift", reads="faces")


def test_settings_resolve_quick_defaults_once_and_stay_frozen():
    quick, full = AuditSettings(quick=True), AuditSettings()
    assert (quick.per_identity, quick.augment) == (20, 2)
    assert (full.per_identity, full.augment, full.heldout_identities) == (40, 4, 25)
    assert AuditSettings(seeds=2).seeds == (0, 1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        full.identities = 3
    changed = full.replace(identity_offset=50)
    assert changed.identity_offset == 50 and full.identity_offset == 0
    # The calibration's cache key changes with what the faces depend on, not with T1/T3.
    assert full.face_key != changed.face_key
    assert full.face_key == full.replace(scenes=False, reconstruction=False).face_key


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(identities=1), "identities"),
        (dict(seeds=()), "seeds"),
        (dict(attackers=("svm",)), "attackers"),
        (dict(attackers=(), conv=False), "at least one attacker"),
        (dict(shots=0), "shots"),
        (dict(identity_offset=-1), "identity_offset"),
        (dict(per_identity=3), "per_identity"),
        (dict(recognizer="yes"), "recognizer"),
        (dict(scene=dict(attackers=("lda",))), "scene attackers"),
        (dict(scene=dict(n_train=0)), "scene n_train"),
    ],
)
def test_bad_settings_are_refused_with_the_setting_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        AuditSettings(**kwargs)


def test_scene_settings_pass_only_what_was_set():
    s = AuditSettings(scene=dict(identities=5, n_train=30, attackers=["lda:stats"]))
    assert isinstance(s.scene, SceneSettings)
    kw = s.scene.kwargs()
    assert kw["identities"] == 5 and kw["n_train"] == 30 and kw["attackers"] == ("lda:stats",)
    assert "n_val" not in kw and "attackers" not in SceneSettings().kwargs()


def test_cli_lists_every_attacker(capsys):
    from spjax.cli import main

    assert main(["privacy-audit", "--list-attackers"]) == 0
    out = capsys.readouterr().out
    for name, row in attacks.ATTACKS.items():
        assert name in out and row.builder in out


def test_a_world_t3_cannot_render_is_refused_before_any_attacker_runs():
    from spjax.privacy.audit import privacy_audit
    from spjax.sensing import Sensor

    with pytest.raises(ValueError, match="size"):  # T3 clips need >= 16 px
        privacy_audit(Sensor.hadamard(8, 8, 0.5), size=8, identities=4, per_identity=5)


def test_cli_scene_clips_need_four_counts(capsys):
    from spjax.cli import main

    args = ["privacy-audit", "--family", "hadamard", "--rate", "0.5", "--size", "16"]
    assert main([*args, "--scene-clips", "1,2,3", "--out", "x.json"]) == 2
    assert "--scene-clips" in capsys.readouterr().err


def test_fit_options_resolve_quick_and_full_training():
    conv = attacks.ATTACKS["conv:pinv"]
    quick, full = conv.fit_options(True), conv.fit_options(False)
    assert (quick["epochs"], full["epochs"]) == (25, 80)
    assert quick["lr"] == full["lr"] and quick["batch"] == full["batch"] == 64
