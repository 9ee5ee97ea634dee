"""Reconstruction attack and the dlib recognizer on real photos."""

import numpy as np
import pytest

from spjax.privacy import reconstruction as R


def test_psnr_ssim_by_hand():
    ref = np.zeros((1, 8, 8))
    est = np.full((1, 8, 8), 0.1)
    # MSE = 0.01 at data range 1 -> 20 dB
    assert R.psnr(ref, est) == pytest.approx(20.0)
    assert R.psnr(ref, ref) == 100.0
    img = np.random.default_rng(0).random((2, 16, 16))
    assert R.ssim(img, img) == pytest.approx(1.0)
    assert R.ssim(img, 1 - img) < 0.0
    with pytest.raises(ValueError, match="reference/estimate"):
        R.psnr(ref, np.zeros((1, 4, 4)))


@pytest.fixture(scope="module")
def faces():
    from spjax.data.faces import generate_faces

    d = generate_faces(6, 10, size=16, seed=0)
    idx = np.arange(len(d["identity"])) % 10
    masks = {"train": idx < 6, "val": (idx >= 6) & (idx < 8), "test": idx >= 8}
    return {k: (d["image"][m], d["identity"][m]) for k, m in masks.items()}


def _attack(sensor, faces):
    y = {k: np.asarray(sensor(v[0])) for k, v in faces.items()}
    return R.reconstruction_attack(sensor, faces, y, seed=0, quick=True, keep_examples=2)


@pytest.mark.slow  # trains a U-Net and a CNN (~35 s on a shared 2-core machine)
def test_reconstruction_attack_full_and_low_rate(faces):
    from spjax.sensing import Sensor

    full = _attack(Sensor.hadamard(16, 16, 1.0), faces)
    low = _attack(Sensor.hadamard(16, 16, k=2), faces)
    # A complete Hadamard basis inverts exactly; two patterns cannot.
    assert full["methods"]["pinv"]["psnr"] > 60
    assert low["methods"]["pinv"]["psnr"] < 25
    # Recognising exact reconstructions is recognising clean faces.
    assert full["methods"]["pinv"]["top1"] == pytest.approx(full["clean_top1"])
    assert full["clean_top1"] > 3 * full["chance"]
    assert low["methods"]["pinv"]["ssim"] < full["methods"]["pinv"]["ssim"]
    assert set(low["examples"]) == {"clean", "pinv", "tikhonov", "unet"}
    assert low["best"]["top1"] == max(m["top1"] for m in low["methods"].values())


@pytest.fixture(scope="module")
def dlib_recognizer():
    try:
        from spjax.privacy.recognizer import DlibRecognizer, RecognizerUnavailable

        return DlibRecognizer()
    except RecognizerUnavailable as err:
        pytest.skip(f"dlib/face_recognition_models missing (pip install spjax[faces]): {err}")


def _test_photos():
    """Real photos used by the tests only (the audit's default photos are another file)."""
    from skimage import data

    from spjax.privacy.recognizer import Photo, _to_rgb8

    return [
        Photo("astronaut", _to_rgb8(data.astronaut()), "skimage:astronaut.png"),
        Photo("cameraman", _to_rgb8(data.camera()), "skimage:camera.png"),
    ]


def test_dlib_recognizer_on_real_photos(dlib_recognizer):
    from spjax.privacy.recognizer import SAME_PHOTO, recognizer_attack
    from spjax.sensing import Sensor

    photos = _test_photos()
    assert photos[0].image.shape == (512, 512, 3)
    # The astronaut's face is found by dlib's detector in the clean photo.
    assert dlib_recognizer.detect(photos[0].image) is not None
    full = recognizer_attack(photos, Sensor.hadamard(32, 32, 1.0), recognizer=dlib_recognizer)
    dc = recognizer_attack(photos, Sensor.hadamard(32, 32, k=1), recognizer=dlib_recognizer)
    assert full["mode"] == SAME_PHOTO and full["n_gallery"] == 2 and full["same_photo_probes"] == 2
    assert full["clean_detection_rate"] == pytest.approx(0.5)  # not the cameraman
    # Exact reconstruction at full rate = the clean photo at sensor resolution.
    assert full["sensed"]["rank1"] == full["clean_sensor_res"]["rank1"]
    assert full["clean_full_res"]["rank1"] == 1.0
    # One flat pattern (K=1) keeps only brightness: less identity than full rate.
    assert dc["sensed"]["median_genuine_distance"] > full["sensed"]["median_genuine_distance"]
    assert dc["recon_detection_rate"] <= full["recon_detection_rate"]


def test_lfw_folder_layout(tmp_path):
    from PIL import Image

    from spjax.privacy.recognizer import load_lfw_folder

    rng = np.random.default_rng(0)
    for person in ("Ann_A", "Bob_B"):
        (tmp_path / person).mkdir()
        for i in range(2):
            Image.fromarray(rng.integers(0, 255, (20, 20, 3), dtype=np.uint8)).save(
                tmp_path / person / f"{person}_{i:04d}.jpg"
            )
    (tmp_path / "README.txt").write_text("not a person")
    photos = load_lfw_folder(tmp_path, size=20)
    assert [p.identity for p in photos] == ["Ann_A", "Ann_A", "Bob_B", "Bob_B"]
    assert photos[0].image.shape == (20, 20, 3) and photos[0].image.dtype == np.uint8
    with pytest.raises(FileNotFoundError, match="photos"):
        load_lfw_folder(tmp_path / "missing")
