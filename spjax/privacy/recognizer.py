"""A real, pretrained face recognizer against sensed-and-reconstructed photos.

dlib's ResNet face descriptor (`dlib.face_recognition_model_v1`, model files from
`face_recognition_models`, dlib from `dlib-bin`; the `faces` extra). Each identity's first
photo is the clean colour gallery; every probe photo is cropped around its face, turned grey,
resized to the sensor's H×W, sensed (with the sensor's noise), reconstructed, upscaled and
described. We report rank-1 identification against the gallery and verification at dlib's 0.6
distance threshold, next to two references: the clean photo at full resolution and the clean
photo at the sensor's resolution (what perfect reconstruction could give at most).

What is measured depends on the photos (`mode` in the result):

- **cross-photo identification** — identity-labelled photos (a local LFW copy, read with the
  data area's `spjax.data.local.read_lfw`): probes are *other* photos of gallery identities;
  identities with one photo stay in the gallery as distractors.
- **same-photo re-identification** — unlabelled photos (the default: the face thumbnails of
  scikit-image's `lfw_subset`, each its own identity): the probe is a sensed copy of the gallery
  photo itself, the easiest possible task for the attacker.

Small photos are upscaled (bilinear) to at least 150 px before dlib sees them. The face box of
a probe comes from the clean photo when dlib finds one there (the attacker is granted
alignment), else the whole photo; the detection rates on the clean gallery, the clean probes
and the reconstructions are all reported.

The default photos share no file with the test suite (the tests use `astronaut.png`,
`camera.png` and generated folders; the audit uses `BUILTIN_PHOTO_FILE`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import jax
import numpy as np

THRESHOLD = 0.6  # dlib's documented same-person distance
_CHIP = 150  # dlib's descriptor chip size
_MIN_SIDE = 150  # smaller photos are upscaled to this before detection and description
BUILTIN_PHOTO_FILE = "lfw_subset.npy"  # scikit-image's data file of the default photos
SAME_PHOTO = "same-photo re-identification"
CROSS_PHOTO = "cross-photo identification"


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
        a = np.clip(
            np.round(np.asarray(a, np.float64) * (255.0 if a.max(initial=0) <= 1.0 else 1.0)),
            0,
            255,
        ).astype(np.uint8)
    if a.ndim == 2:
        a = np.stack([a] * 3, axis=-1)
    if a.ndim != 3 or a.shape[-1] not in (3, 4):
        raise ValueError(f"image: expected (H, W), (H, W, 3) or (H, W, 4), got shape {a.shape}")
    return np.ascontiguousarray(a[..., :3])


def load_lfw_folder(
    root,
    *,
    max_identities: int | None = None,
    max_per_identity: int | None = None,
    min_per_identity: int = 1,
    size: int = 250,
) -> list[Photo]:
    """Photos of an LFW-layout folder `root/NAME/NAME_0001.jpg`, read with the data area's
    `spjax.data.local.read_lfw` (grey, resized to `size`; LFW photos are 250×250).

    Identities (sorted) with at least `min_per_identity` photos, at most `max_identities`
    of them and their first `max_per_identity` photos; the subset is read through a temporary
    folder of links, so a full LFW copy is never loaded whole."""
    import shutil
    import tempfile

    from spjax.data.local import read_lfw

    root = os.fspath(root)
    if not os.path.isdir(root):
        raise FileNotFoundError(f"photos: expected an LFW-layout folder, got {root!r}")
    for name, v in (("min_per_identity", min_per_identity), ("size", size)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{name}: expected an int >= 1, got {v!r}")
    people = sorted(
        p
        for p in os.listdir(root)
        if os.path.isdir(os.path.join(root, p)) and not p.startswith(".")
    )
    chosen = []
    for person in people:
        files = sorted(f for f in os.listdir(os.path.join(root, person)) if not f.startswith("."))
        if len(files) >= min_per_identity:
            chosen.append((person, files[:max_per_identity]))
        if max_identities is not None and len(chosen) >= max_identities:
            break
    if not chosen:
        raise ValueError(
            f"photos: no identity folder under {root!r} has {min_per_identity} or "
            f"more photos (expected root/NAME/NAME_0001.jpg)"
        )
    tmp = tempfile.mkdtemp(prefix="spjax_lfw_")
    try:
        for person, files in chosen:
            os.makedirs(os.path.join(tmp, person))
            for f in files:
                os.symlink(
                    os.path.abspath(os.path.join(root, person, f)), os.path.join(tmp, person, f)
                )
        try:
            data = read_lfw(tmp, size)
        except (ValueError, FileNotFoundError) as err:  # name the user's folder, not ours
            raise type(err)(str(err).replace(tmp, root)) from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    paths = [os.path.join(root, person, f) for person, files in chosen for f in files]
    return [
        Photo(data["names"][int(i)], _to_rgb8(img), path)
        for img, i, path in zip(data["image"], data["identity"], paths)
    ]


def builtin_photos(n: int = 100) -> list[Photo]:
    """The first `n` (≤ 100) face thumbnails of scikit-image's `lfw_subset()` (25×25 real LFW
    crops, no identity labels: each is its own identity, so the audit on them is same-photo
    re-identification). Shipped with scikit-image, no download."""
    from skimage import data

    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 100:
        raise ValueError(f"n: expected an int in [1, 100], got {n!r}")
    faces = data.lfw_subset()[:100]  # the first 100 images are faces, the rest are not
    return [
        Photo(f"lfw_subset_{i:03d}", _to_rgb8(faces[i]), f"skimage:{BUILTIN_PHOTO_FILE}[{i}]")
        for i in range(n)
    ]


def photo_set(photos=None, *, max_identities: int = 50, max_per_identity: int = 4):
    """The photos of an audit and a description of their source: None → `builtin_photos()`;
    a folder → `load_lfw_folder` (identities with ≥ 2 photos, for cross-photo identification);
    a list of `Photo` as given."""
    if photos is None:
        return builtin_photos(), f"scikit-image {BUILTIN_PHOTO_FILE} (100 face thumbnails)"
    if isinstance(photos, (list, tuple)):
        if not all(isinstance(p, Photo) for p in photos):
            raise TypeError("photos: expected a folder, None or a list of Photo")
        return list(photos), "given photos"
    return (
        load_lfw_folder(
            photos,
            max_identities=max_identities,
            max_per_identity=max_per_identity,
            min_per_identity=2,
        ),
        f"{os.fspath(photos)} (LFW layout, read with spjax.data.local.read_lfw)",
    )


class DlibRecognizer:
    """dlib HOG detector + 5-point landmarks + ResNet descriptor."""

    def __init__(self):
        try:
            import dlib
            import face_recognition_models as frm
        except ImportError as err:  # the optional `faces` extra
            raise RecognizerUnavailable(
                f"the dlib recognizer needs `pip install spjax[faces]` (dlib-bin, "
                f"face_recognition_models): {err}"
            ) from err
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
        return np.asarray(
            self.encoder.compute_face_descriptor(img, self.shape(img, rect)), np.float64
        )


def _upscale(image: np.ndarray, min_side: int = _MIN_SIDE) -> np.ndarray:
    """Bilinear upscale so that the shorter side is at least `min_side` (dlib's detector
    finds nothing in a 25-px thumbnail)."""
    from skimage.transform import resize

    h, w = image.shape[:2]
    if min(h, w) >= min_side:
        return image
    f = min_side / min(h, w)
    big = resize(
        image,
        (int(round(h * f)), int(round(w * f))),
        order=1,
        anti_aliasing=False,
        preserve_range=True,
    )
    return _to_rgb8(np.clip(np.round(big), 0, 255).astype(np.uint8))


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
    photos against the clean gallery (first photo per identity).

    When some identity has two or more photos this is **cross-photo identification**: the
    probes are the other photos, identities with one photo are gallery distractors. Otherwise
    (every photo its own identity) it is **same-photo re-identification**: each probe is a
    sensed copy of its gallery photo. `mode` and `same_photo_probes` say which.

    `method`: `pinv` or `tikhonov` (λ relative to the mean squared pattern energy)."""
    from skimage.transform import resize

    if method not in ("pinv", "tikhonov"):
        raise ValueError(f"method: expected 'pinv' or 'tikhonov', got {method!r}")
    if not photos:
        raise ValueError("photos: expected at least one photo, got none")
    rec = recognizer or DlibRecognizer()
    h, w = int(sensor.h), int(sensor.w)
    gallery, probes = [], []
    seen: dict[str, int] = {}
    for p in photos:
        p = Photo(p.identity, _upscale(p.image), p.source)
        if p.identity not in seen:
            seen[p.identity] = len(gallery)
            gallery.append(p)
        else:
            probes.append((p, False))
    mode = CROSS_PHOTO if probes else SAME_PHOTO
    if not probes:
        probes = [(g, True) for g in gallery]

    def locate(img):
        box = rec.detect(img)
        return (
            (box, True) if box is not None else ((0, 0, img.shape[1] - 1, img.shape[0] - 1), False)
        )

    located = [locate(g.image) for g in gallery]
    g_desc = np.stack([rec.describe(g.image, box) for g, (box, _) in zip(gallery, located)])
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
        "mode": mode,
        "measures": (
            "whether a sensed photo is matched to another photo of the same person"
            if mode == CROSS_PHOTO
            else "whether a sensed photo is matched to its own clean copy (an upper bound "
            "on re-identification; no second photo of anyone)"
        ),
        "method": method,
        "threshold": threshold,
        "sensor_hw": [h, w],
        "n_gallery": len(gallery),
        "n_probes": len(probes),
        "same_photo_probes": int(sum(s for _, s in probes)),
        "chance_rank1": 1.0 / len(gallery),
        "gallery_detection_rate": float(np.mean([found for _, found in located])),
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
            f"far@{threshold:g}": float(np.mean(d[impostor_mask] < threshold))
            if impostor_mask.any()
            else float("nan"),
            "median_genuine_distance": float(np.median(genuine)),
        }
    return out
