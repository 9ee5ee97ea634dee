"""privacy_audit on real sensors and procedural faces, and the `spjax privacy-audit` CLI."""

import json

import pytest

from spjax.cli import main


def _audit(sensor, **kw):
    from spjax.privacy.audit import privacy_audit

    opts = dict(
        size=16,
        identities=6,
        per_identity=10,
        seeds=(0, 1),
        quick=True,
        attackers=("linear", "knn"),
        conv=False,
        reconstruction=False,
        recognizer=False,
        calibrate=False,
        scenes=False,
    )
    opts.update(kw)
    return privacy_audit(sensor, **opts)


def test_audit_full_rate_leaks_and_reports_everything(tmp_path):
    from spjax.sensing import Sensor

    rep = _audit(Sensor.hadamard(16, 16, 1.0, order="sequency"), figure=str(tmp_path / "audit.png"))
    assert rep["chance"]["top1"] == pytest.approx(1 / 6)
    assert set(rep["attackers"]) == {"linear", "knn"}
    for m in rep["attackers"].values():
        assert len(m["top1"]["values"]) == 2 and m["top1"]["std"] >= 0
        assert "tar@far=0.01" in m
    w = rep["worst_case"]
    assert w["name"] in rep["attackers"]
    assert w["top1"] == max(m["top1"]["mean"] for m in rep["attackers"].values())
    # Every pixel is measured: the attackers identify faces far above chance.
    assert w["top1"] >= 2 * rep["chance"]["top1"] and rep["leaks"]
    assert rep["setup"]["n_test"] == 6 * 2
    # The leak decision pools both seeds' test predictions and states its rule.
    assert rep["leak"]["by_attack"][w["name"]]["n"] == 2 * 6 * 2
    assert "pooled over all seeds" in rep["leak"]["rule"] and rep["leak"]["comparisons"] == 2
    assert rep["sensor_label"] == "hadamard, 1-D sequency order"
    assert rep["recognizer"] == {
        "skipped": "disabled by the caller",
        "seconds": pytest.approx(0, abs=1),
    }
    assert (tmp_path / "audit.png").stat().st_size > 10_000


def test_audit_validates_arguments():
    from spjax.privacy.audit import privacy_audit
    from spjax.sensing import Sensor

    sensor = Sensor.hadamard(16, 16, 1.0)
    with pytest.raises(ValueError, match="size"):
        privacy_audit(sensor, size=32, identities=4)
    with pytest.raises(ValueError, match="attackers"):
        privacy_audit(sensor, size=16, identities=4, attackers=("svm",))
    with pytest.raises(ValueError, match="identities"):
        privacy_audit(sensor, size=16, identities=1)
    with pytest.raises(ValueError, match="seeds"):
        privacy_audit(sensor, size=16, identities=4, seeds=())
    with pytest.raises(ValueError, match="identity_offset"):
        privacy_audit(sensor, size=16, identities=4, identity_offset=-1)
    with pytest.raises(ValueError, match="shots"):
        privacy_audit(sensor, size=16, identities=4, shots=0)
    with pytest.raises(ValueError, match="attackers"):
        privacy_audit(sensor, size=16, identities=4, attackers=(), conv=False)


def test_audit_of_unseen_identities_still_finds_leakage():
    """Offset identities are other people (other traits), relabelled 0..N-1 for the attackers."""
    from spjax.sensing import Sensor

    rep = _audit(Sensor.hadamard(16, 16, 1.0), identity_offset=1000)
    assert rep["setup"]["identity_offset"] == 1000
    assert rep["chance"]["top1"] == pytest.approx(1 / 6) and rep["leaks"]


def test_training_identities_come_from_the_run_directory(tmp_path):
    from spjax.privacy.audit import training_identities

    (tmp_path / "config.json").write_text(json.dumps({"data": {"n_identities": 50}}))
    assert training_identities(tmp_path) == 50
    (tmp_path / "report.json").write_text(json.dumps({"privacy": {"training_identities": 37}}))
    assert training_identities(tmp_path) == 37  # what the trainer actually saw wins
    with pytest.raises(ValueError, match="identit"):
        training_identities(tmp_path / "missing")


def test_cli_rejects_bad_arguments(tmp_path, capsys):
    assert (
        main(
            [
                "privacy-audit",
                "--family",
                "hadamard",
                "--size",
                "16",
                "--out",
                str(tmp_path / "x.json"),
            ]
        )
        == 2
    )
    assert "--rate" in capsys.readouterr().err
    assert (
        main(["privacy-audit", "--run", str(tmp_path / "nope"), "--out", str(tmp_path / "x.json")])
        == 2
    )
    with pytest.raises(SystemExit):
        main(["privacy-audit", "--family", "hadamard", "--rate", "2", "--out", "x.json"])


@pytest.mark.slow  # full pipeline incl. reconstruction U-Net (~50 s on a shared 2-core machine)
def test_cli_quick_run_from_saved_sensor(tmp_path):
    from spjax.sensing import Sensor, save_sensor

    save_sensor(Sensor.family("dct", 16, 16, 0.25), tmp_path / "sensor")
    out = tmp_path / "audit.json"
    rc = main(
        [
            "privacy-audit",
            "--patterns",
            str(tmp_path / "sensor"),
            "--size",
            "16",
            "--identities",
            "5",
            "--seeds",
            "1",
            "--quick",
            "--no-recognizer",
            "--no-scenes",
            "--out",
            str(out),
        ]
    )
    assert rc == 0
    rep = json.loads(out.read_text())
    assert {"chance", "attackers", "worst_case", "reconstruction", "sensor"} <= set(rep)
    assert rep["worst_case"]["name"] and 0 <= rep["worst_case"]["top1"] <= 1
    assert set(rep["attackers"]) == {
        "lda",
        "ridge",
        "linear",
        "mlp",
        "attention",
        "knn",
        "conv:pinv",
    }
    assert rep["sensor"]["k"] == 64
    assert rep["ceiling"] > 0 and rep["attacker_strength"] > 0
    assert rep["calibration"]["smoke_test"] and "smoke test" in rep["calibration"]["note"]
    assert (tmp_path / "audit.png").exists()


def test_pattern_timed_sensor_measures_faces_as_still_frames():
    import numpy as np

    from spjax.privacy.audit import still_image_sensor
    from spjax.sensing import Sensor

    timed = Sensor.family("rademacher", 16, 16, 0.1, timing="pattern")
    still = still_image_sensor(timed)
    assert still.timing == "frame" and still.split == timed.split
    faces = np.random.default_rng(0).random((3, 16, 16)).astype(np.float32)
    y = np.asarray(still(faces))
    assert y.shape == (3, timed.k)
    np.testing.assert_allclose(
        y[1], np.asarray(timed(np.stack([faces[1]] * 2)))[0], rtol=1e-5, atol=1e-4
    )
    frame = Sensor.hadamard(16, 16, 0.5)
    assert still_image_sensor(frame) is frame


def test_cli_audits_a_run_on_identities_it_was_not_trained_on(tmp_path):
    from spjax.sensing import Sensor, save_sensor

    run = tmp_path / "run"
    save_sensor(Sensor.family("dct", 16, 16, 0.1), run)
    (run / "config.json").write_text(json.dumps({"data": {"n_identities": 7}}))
    out = tmp_path / "audit.json"
    args = [
        "privacy-audit",
        "--run",
        str(run),
        "--size",
        "16",
        "--identities",
        "4",
        "--seeds",
        "1",
        "--quick",
        "--no-recognizer",
        "--no-reconstruction",
        "--no-calibration",
        "--no-scenes",
        "--out",
        str(out),
    ]
    assert main(args) == 0
    assert json.loads(out.read_text())["setup"]["identity_offset"] == 7
    assert main(args + ["--identity-offset", "0"]) == 0  # explicit choice wins
    assert json.loads(out.read_text())["setup"]["identity_offset"] == 0
