"""A real, pretrained face recognizer against sensed-and-reconstructed photos.

dlib's ResNet face descriptor (`dlib.face_recognition_model_v1`, model files from
`face_recognition_models`, dlib from `dlib-bin`; the `faces` extra). For identity-labelled
photos (an LFW-layout folder: `root/<person>/<image>`), each identity's first photo is the clean
colour gallery; every probe photo is cropped around its face, turned grey, resized to the
sensor's H×W, sensed (with the sensor's noise), reconstructed, upscaled and described. We
report rank-1 identification against the gallery and verification at dlib's 0.6 distance
threshold, next to two references: the clean photo at full resolution and the clean photo at
the sensor's resolution (what perfect reconstruction could give at most).

The face box of a probe comes from the clean photo (the attacker is granted alignment), so
the number is an upper bound for a detector-based pipeline; the share of reconstructions on
which dlib's own detector still finds a face is reported too.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import jax
import numpy as np

THRESHOLD = 0.6  # dlib's documented same-person distance
_CHIP = 150  # dlib's descriptor chip size
_IMAGE_EXT = (".jpg", ".jpeg", ".png", ".bmp", ".pgm", ".ppm", ".tif", ".tiff")


class RecognizerUnavailable(RuntimeError):
    """dlib or the face_recognition_models files are not installed."""


@dataclass(frozen=True)
class Photo:
    """One identity-labelled photo, `image` uint8 RGB `(H, W, 3)`."""

    identity: str
    image: np.ndarray
    source: str = ""


def _to_rgb8(img) -> np.ndarray:
    a = np.asarray(img)
    if a.dtype != np.uint8:
        a = np.clip(np.round(np.asarray(a, np.float64) * (255.0 if a.max(initial=0) <= 1.0 else 1.0)), 0, 255).astype(np.uint8)
    if a.ndim == 2:
        a = np.stack([a] * 3, axis=-1)
    if a.ndim != 3 or a.shape[-1] not in (3, 4):
        raise ValueError(f"image: expected (H, W), (H, W, 3) or (H, W, 4), got shape {a.shape}")
    return np.ascontiguousarray(a[..., :3])


def load_lfw_folder(root, *, max_identities: int | None = None,
                    max_per_identity: int | None = None) -> list[Photo]:
    """Photos of an LFW-layout folder `root/<person>/<image>`, identities in sorted order."""
    from PIL import Image

    root = os.fspath(root)
    if not os.path.isdir(root):
        raise FileNotFoundError(f"photos: expected an LFW-layout folder, got {root!r}")
    photos = []
    people = sorted(p for p in os.listdir(root) if os.path.isdir(os.path.join(root, p)))
    for person in people[:max_identities]:
        files = sorted(f for f in os.listdir(os.path.join(root, person))
                       if f.lower().endswith(_IMAGE_EXT))
        for f in files[:max_per_identity]:
            path = os.path.join(root, person, f)
            with Image.open(path) as im:
                photos.append(Photo(person, _to_rgb8(np.asarray(im.convert("RGB"))), path))
    if not photos:
        raise ValueError(f"photos: no images found under {root!r} (expected root/<person>/<image>)")
    return photos


def builtin_photos(n_lfw: int = 24) -> list[Photo]:
    """Real face photos shipped with scikit-image (no download): the astronaut portrait and
    the first `n_lfw` LFW face crops of `lfw_subset()` (25×25, identities unlabelled, so each
    crop is its own identity and the probes are sensed copies of the gallery photos)."""
    from skimage import data

    photos = [Photo("astronaut", _to_rgb8(data.astronaut()), "skimage.data.astronaut")]
    faces = data.lfw_subset()[:100]  # the first 100 images are faces, the rest are not
    for i in range(min(n_lfw, 100)):
        photos.append(Photo(f"lfw_subset_{i:03d}", _to_rgb8(faces[i]), f"skimage.data.lfw_subset[{i}]"))
    return photos


class DlibRecognizer:
    """dlib HOG detector + 5-point landmarks + ResNet descriptor."""

    def __init__(self):
        try:
            import dlib
            import face_recognition_models as frm
        except ImportError as err:  # the optional `faces` extra
            raise RecognizerUnavailable(
                f"the dlib recognizer needs `pip install spjax[faces]` (dlib-bin, "
                f"face_recognition_models): {err}") from err
        self._dlib = dlib
        self.detector = dlib.get_frontal_face_detector()
        self.shape = dlib.shape_predictor(frm.pose_predictor_five_point_model_location())
        self.encoder = dlib.face_recognition_model_v1(frm.face_recognition_model_location())

    def detect(self, image: np.ndarray):
        """Largest detected face box `(left, top, right, bottom)`, or None."""
        img = _to_rgb8(image)
        boxes = self.detector(img, 1 if min(img.shape[:2]) < 400 else 0)
        if len(boxes) == 0:
            return None
        b = max(boxes, key=lambda r: r.width() * r.height())
        return (b.left(), b.top(), b.right(), b.bottom())

    def describe(self, image: np.ndarray, box) -> np.ndarray:
        img = _to_rgb8(image)
        rect = self._dlib.rectangle(*[int(v) for v in box])
        return np.asarray(self.encoder.compute_face_descriptor(img, self.shape(img, rect)), np.float64)


def _square_crop(image: np.ndarray, box, margin: float = 0.3):
    """A square crop around `box` with `margin` of the box size on each side (clamped to the
    image), and the box in crop coordinates."""
    h, w = image.shape[:2]
    left, top, right, bottom = box
    side = max(right - left, bottom - top)
    cx, cy = (left + right) / 2, (top + bottom) / 2
    half = min(side * (0.5 + margin), h / 2, w / 2)
    x0 = int(round(min(max(cx - half, 0), w - 2 * half)))
    y0 = int(round(min(max(cy - half, 0), h - 2 * half)))
    s = int(round(2 * half))
    crop = image[y0 : y0 + s, x0 : x0 + s]
    return crop, (left - x0, top - y0, right - x0, bottom - y0)


def _grey(rgb8: np.ndarray) -> np.ndarray:
    return (rgb8.astype(np.float64) @ np.array([0.299, 0.587, 0.114])) / 255.0


def _chip(grey: np.ndarray, box, crop_shape):
    """Upscale a grey image to the chip size; map `box` (in pixels of a crop of shape
    `crop_shape`) with it, per axis (a non-square crop is stretched to the square chip)."""
    from skimage.transform import resize

    img = resize(np.clip(grey, 0, 1), (_CHIP, _CHIP), order=1, anti_aliasing=False)
    sy, sx = _CHIP / crop_shape[0], _CHIP / crop_shape[1]
    left, top, right, bottom = box
    return _to_rgb8(img), (left * sx, top * sy, right * sx, bottom * sy)


def recognizer_attack(
    photos: list[Photo],
    sensor,
    *,
    method: str = "pinv",
    tikhonov_lambda: float = 1e-2,
    seed: int = 0,
    threshold: float = THRESHOLD,
    recognizer: DlibRecognizer | None = None,
) -> dict:
    """Rank-1 identification and verification at `threshold` of sensed-and-reconstructed probe
    photos against the clean gallery (first photo per identity). Identities with a single
    photo use a sensed copy of it as probe (counted in `same_photo_probes`).

    `method`: `pinv` or `tikhonov` (λ relative to the mean squared pattern energy)."""
    from skimage.transform import resize

    if method not in ("pinv", "tikhonov"):
        raise ValueError(f"method: expected 'pinv' or 'tikhonov', got {method!r}")
    if not photos:
        raise ValueError("photos: expected at least one photo, got none")
    rec = recognizer or DlibRecognizer()
    h, w = int(sensor.h), int(sensor.w)
    gallery_ids, gallery, probes = [], [], []
    seen: dict[str, int] = {}
    for p in photos:
        if p.identity not in seen:
            seen[p.identity] = len(gallery)
            gallery_ids.append(p.identity)
            gallery.append(p)
        else:
            probes.append((p, False))
    with_probe = {p.identity for p, _ in probes}
    probes += [(g, True) for g in gallery if g.identity not in with_probe]

    def locate(img):
        box = rec.detect(img)
        return (box, True) if box is not None else ((0, 0, img.shape[1] - 1, img.shape[0] - 1), False)

    g_desc = np.stack([rec.describe(g.image, locate(g.image)[0]) for g in gallery])
    energy = float(np.mean(np.sum(np.asarray(sensor.patterns(), np.float64) ** 2, axis=(1, 2))))
    key = jax.random.key(seed)
    rows = {"sensed": [], "clean_sensor_res": [], "clean_full_res": []}
    labels, detected_clean, detected_recon = [], 0, 0
    for i, (p, _) in enumerate(probes):
        box, found = locate(p.image)
        detected_clean += found
        crop, cbox = _square_crop(p.image, box) if found else (p.image, box)
        grey = _grey(crop)
        small = resize(grey, (h, w), order=1, anti_aliasing=True).astype(np.float32)
        y = sensor(small[None], jax.random.fold_in(key, i))
        if method == "pinv":
            recon = np.asarray(sensor.pinv(y))[0]
        else:
            recon = np.asarray(sensor.tikhonov(y, tikhonov_lambda * energy))[0]
        chip, cb = _chip(recon, cbox, crop.shape[:2])
        detected_recon += rec.detect(chip) is not None
        rows["sensed"].append(rec.describe(chip, cb))
        chip0, cb0 = _chip(small, cbox, crop.shape[:2])
        rows["clean_sensor_res"].append(rec.describe(chip0, cb0))
        rows["clean_full_res"].append(rec.describe(p.image, box))
        labels.append(seen[p.identity])
    labels = np.asarray(labels)
    out = {
        "method": method,
        "threshold": threshold,
        "sensor_hw": [h, w],
        "n_gallery": len(gallery),
        "n_probes": len(probes),
        "same_photo_probes": int(sum(s for _, s in probes)),
        "chance_rank1": 1.0 / len(gallery),
        "clean_detection_rate": detected_clean / len(probes),
        "recon_detection_rate": detected_recon / len(probes),
    }
    for name, descs in rows.items():
        d = np.linalg.norm(np.stack(descs)[:, None, :] - g_desc[None, :, :], axis=-1)
        genuine = d[np.arange(len(labels)), labels]
        impostor_mask = np.ones_like(d, dtype=bool)
        impostor_mask[np.arange(len(labels)), labels] = False
        out[name] = {
            "rank1": float(np.mean(np.argmin(d, axis=1) == labels)),
            f"tar@{threshold:g}": float(np.mean(genuine < threshold)),
            f"far@{threshold:g}": float(np.mean(d[impostor_mask] < threshold)) if impostor_mask.any() else float("nan"),
            "median_genuine_distance": float(np.median(genuine)),
        }
    return out
