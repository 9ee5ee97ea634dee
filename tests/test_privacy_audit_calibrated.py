"""The calibrated privacy audit: a planted leak is found, a constant sensor reads as chance on
faces and scenes, Hadamard means the 2-D low-frequency order, the quick benchmark's leak rule
calls every 4x-chance cell a leak, and the real-photo section shares no file with the tests."""

import argparse
import os
from pathlib import Path

import numpy as np
import pytest

from spjax.privacy import leakage as L

TESTS = Path(__file__).resolve().parent


def _constant_sensor(size=16, k=8):
    """Measures nothing of the scene: zero patterns, so the counts are dark noise only."""
    from spjax.sensing import NoiseModel, Sensor

    return Sensor.from_patterns(
        np.zeros((k, size, size), np.float32), noise=NoiseModel(1e3, dark=20.0)
    )


def _audit(sensor, **kw):
    from spjax.privacy.audit import privacy_audit

    opts = dict(
        size=16,
        identities=6,
        per_identity=10,
        seeds=(0, 1),
        quick=True,
        attackers=("lda", "knn"),
        conv=True,
        reconstruction=False,
        recognizer=False,
        scenes=False,
    )
    opts.update(kw)
    return privacy_audit(sensor, **opts)


def test_planted_leak_is_found_by_the_calibrated_suite():
    from spjax.sensing import Sensor

    full = _audit(Sensor.hadamard(16, 16, 1.0, order="low_frequency"))
    assert full["leaks"] and full["leak"]["lower_bound"] >= 2 * full["chance"]["top1"]
    assert set(full["attackers"]) == {"lda", "knn", "conv:pinv"}
    # Calibrated: the ceiling on clean faces, and the suite on this full-rate noiseless sensor.
    cal = full["calibration"]
    assert 0 < full["ceiling"] <= 1 and full["ceiling"] == cal["ceiling"]["top1"]
    assert "this sensor" in cal["reference"]["sensor"]
    assert full["attacker_strength"] == pytest.approx(cal["reference"]["top1"] / full["ceiling"])
    assert full["attacker_strength"] >= 0.9
    # Per family: LDA sees the clean faces up to an orthogonal map, so it keeps its own power.
    assert set(cal["strength_by_attack"]) == {"lda", "knn", "conv:pinv"}
    assert cal["strength_by_attack"]["lda"] == pytest.approx(1.0, abs=0.02)
    assert cal["smoke_test"] and "smoke test" in cal["note"]


@pytest.mark.slow  # two calibrated audits (~40 s on a shared 2-core machine)
def test_low_rate_sensor_is_calibrated_against_a_full_rate_reference():
    from spjax.sensing import NoiseModel, Sensor

    full = _audit(Sensor.hadamard(16, 16, 1.0, order="low_frequency"))
    low = _audit(Sensor.hadamard(16, 16, k=2, order="low_frequency", noise=NoiseModel(1e3)))
    ref = low["calibration"]["reference"]
    assert "full-rate noiseless hadamard:low_frequency" in ref["sensor"]
    assert ref["top1"] == pytest.approx(full["calibration"]["reference"]["top1"])
    assert low["ceiling"] == full["ceiling"]  # same clean faces and splits
    assert low["worst_case"]["top1"] < full["worst_case"]["top1"]
    # A noisy sensor also meets the averaged-shots attacker, trained on re-measured faces.
    assert "lda@8shots" in low["attackers"] and low["setup"]["augment"] == 2


def test_constant_sensor_reads_as_chance_on_faces_and_scenes():
    rep = _audit(
        _constant_sensor(),
        conv=False,
        calibrate=False,
        scenes=True,
        scene=dict(
            identities=5,
            n_train=300,
            n_val=100,
            n_test=200,
            n_link=0,
            attackers=("ridge:stats", "lda:stats"),
        ),
    )
    chance, n = rep["chance"]["top1"], rep["leak"]["by_attack"]["lda"]["n"]
    assert not rep["leaks"]
    for m in rep["attackers"].values():  # within 4 binomial sigmas of chance
        assert m["pooled"]["correct"] / m["pooled"]["n"] <= chance + 4 * np.sqrt(
            chance * (1 - chance) / n
        )
    sc = rep["scene_reid"]
    assert sc["chance"] == pytest.approx(0.2) and not sc["leaks"]
    for m in sc["attackers"].values():
        assert m["top1"] <= 0.2 + 4 * np.sqrt(0.16 / 200)


def test_scene_reid_finds_people_through_a_full_rate_sensor():
    from spjax.privacy.scene_reid import SceneClips, scene_config, scene_reid
    from spjax.sensing import Sensor

    clips = SceneClips(
        scene_config(16, identities=5), n_train=300, n_val=100, n_test=200, keep=True
    )
    full = scene_reid(
        Sensor.hadamard(16, 16, 1.0, order="low_frequency"),
        identities=5,
        quick=True,
        clips=clips,
        attackers=("ridge:stats", "lda:stats"),
    )
    assert full["best"]["top1"] >= 2 * full["chance"]
    assert (
        set(full["attackers"]) == {"ridge:stats", "lda:stats"}
        and full["baseline"]["name"] == "ridge:stats"
    )
    assert full["attackers"]["lda:stats"]["pooled"]["n"] == 200
    lk = L.leak_test({k: v["pooled"] for k, v in full["attackers"].items()}, full["chance"])
    assert lk["leaks"]
    # The same clips (kept after the first pass) for another sensor; its size must match.
    with pytest.raises(ValueError, match="clips"):
        scene_reid(Sensor.hadamard(32, 32, 0.1), identities=5, clips=clips)
    with pytest.raises(ValueError, match="attackers"):
        scene_reid(Sensor.hadamard(16, 16, 0.1), identities=5, attackers=("svm",), clips=clips)


def test_hadamard_means_the_2d_low_frequency_order():
    from spjax.privacy.cli import sensor_from_args
    from spjax.sensing import Sensor
    from spjax.sensing.patterns import canonical_family, sensor_label

    assert canonical_family("hadamard") == "hadamard:low_frequency"
    assert canonical_family("hadamard:sequency") == "hadamard:sequency"
    args = argparse.Namespace(
        family="hadamard", rate=0.05, photons=None, size=32, run=None, patterns=None
    )
    sensor = sensor_from_args(args)
    desc = sensor.describe()
    assert desc["family"] == "hadamard:low_frequency" and desc["order"] == "low_frequency"
    assert sensor.k == round(0.05 * 32 * 32)
    assert sensor_label(desc) == "hadamard, 2-D low-frequency order"
    assert "sequency" in sensor_label(Sensor.hadamard(16, 16, 0.1, order="sequency").describe())
    assert sensor_label(Sensor.family("dct", 16, 16, 0.1).describe()) == "dct, zig-zag order"


def test_quick_bench_calls_every_4x_chance_cell_a_leak():
    """With the quick grid's pooled test size and number of attacks compared, any worst
    attacker at 4x chance or more is a leak, whatever the other attackers score."""
    from spjax.bench.grid import GRIDS

    g = GRIDS["quick"]
    n_test_per_identity = max(1, round(0.2 * g["per_identity"]))
    n = g["identities"] * n_test_per_identity * g["seeds"]
    m = len(g["attackers"]) + int(g["conv"]) + 1  # + an averaged-shots LDA on noisy cells
    chance = 1 / g["identities"]
    for k in range(int(np.ceil(4 * chance * n)), n + 1):
        pooled = {f"a{i}": {"correct": k if i == 0 else 0, "n": n} for i in range(m)}
        assert L.leak_test(pooled, chance)["leaks"], (k, n, m)


def test_real_photo_section_shares_no_file_with_the_tests():
    from spjax.privacy import recognizer as R

    needle = R.BUILTIN_PHOTO_FILE.rsplit(".", 1)[0]
    photos = R.builtin_photos(5)
    assert all(p.source.startswith(f"skimage:{R.BUILTIN_PHOTO_FILE}[") for p in photos)
    for f in sorted(TESTS.glob("*.py")):
        text = f.read_text()
        assert needle not in text, f"{f.name} uses the audit's photos ({R.BUILTIN_PHOTO_FILE})"
        assert "builtin_photos(" not in text or f.name == Path(__file__).name, f.name
    # The photos the tests use (astronaut, cameraman) are other files, and other pixels.
    from skimage import data

    test_pixels = {R._to_rgb8(data.astronaut()).tobytes(), R._to_rgb8(data.camera()).tobytes()}
    assert not any(p.image.tobytes() in test_pixels for p in R.builtin_photos())


def _generated_lfw(root: Path) -> Path:
    """Two people, two photos each, from scikit-image's astronaut and cameraman."""
    from PIL import Image
    from skimage import data

    for name, img in (("Eileen_Collins", data.astronaut()), ("Camera_Man", data.camera())):
        (root / name).mkdir(parents=True)
        Image.fromarray(img).save(root / name / f"{name}_0001.png")
        Image.fromarray(np.ascontiguousarray(img[:, ::-1][16:, 8:])).save(
            root / name / f"{name}_0002.png"
        )
    (root / "Solo_Person").mkdir()
    Image.fromarray(data.camera()[::2, ::2]).save(root / "Solo_Person" / "Solo_Person_0001.png")
    return root


def test_lfw_folder_goes_through_the_data_areas_reader(tmp_path):
    from spjax.privacy.recognizer import load_lfw_folder, photo_set

    root = _generated_lfw(tmp_path / "lfw")
    photos = load_lfw_folder(root, size=64)
    assert [p.identity for p in photos] == ["Camera_Man"] * 2 + ["Eileen_Collins"] * 2 + [
        "Solo_Person"
    ]
    assert photos[0].image.shape == (64, 64, 3) and photos[0].image.dtype == np.uint8
    assert photos[0].source == os.path.join(root, "Camera_Man", "Camera_Man_0001.png")
    two = load_lfw_folder(root, min_per_identity=2, max_identities=1, max_per_identity=1, size=32)
    assert [p.identity for p in two] == ["Camera_Man"]
    chosen, source = photo_set(root)
    assert {p.identity for p in chosen} == {"Camera_Man", "Eileen_Collins"} and "read_lfw" in source
    with pytest.raises(ValueError, match="no identity folder"):
        load_lfw_folder(root, min_per_identity=3)
    with pytest.raises(FileNotFoundError, match="photos"):
        load_lfw_folder(tmp_path / "missing")
    (root / "Camera_Man" / "notes.txt").write_text("not a photo")
    with pytest.raises(ValueError, match=f"{root}.*notes.txt"):  # named in the given folder
        load_lfw_folder(root)


def test_cross_photo_identification_on_a_generated_folder(tmp_path):
    from spjax.privacy.recognizer import (
        CROSS_PHOTO,
        SAME_PHOTO,
        DlibRecognizer,
        Photo,
        RecognizerUnavailable,
        load_lfw_folder,
        recognizer_attack,
    )
    from spjax.sensing import Sensor

    try:
        rec = DlibRecognizer()
    except RecognizerUnavailable as err:
        pytest.skip(f"dlib/face_recognition_models missing (pip install spjax[faces]): {err}")
    photos = load_lfw_folder(_generated_lfw(tmp_path / "lfw"), size=250)
    full = recognizer_attack(photos, Sensor.hadamard(32, 32, 1.0), recognizer=rec)
    assert full["mode"] == CROSS_PHOTO and full["same_photo_probes"] == 0
    # Solo_Person has one photo: a gallery distractor, never a probe.
    assert full["n_gallery"] == 3 and full["n_probes"] == 2
    for key in ("gallery_detection_rate", "clean_detection_rate", "recon_detection_rate"):
        assert 0 <= full[key] <= 1
    assert full["gallery_detection_rate"] == pytest.approx(1 / 3)  # dlib finds the astronaut only
    # Full rate, noiseless: the sensed probe is the clean probe at sensor resolution.
    assert full["sensed"]["rank1"] == full["clean_sensor_res"]["rank1"]
    single = recognizer_attack(
        [Photo("a", photos[0].image), Photo("b", photos[2].image)],
        Sensor.hadamard(32, 32, 1.0),
        recognizer=rec,
    )
    assert single["mode"] == SAME_PHOTO and single["same_photo_probes"] == 2
