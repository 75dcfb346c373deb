"""The face/non-face crops scikit-image ships, and the fixed folds they are scored on.

``skimage/data/lfw_subset.npy`` holds 200 grey 25x25 crops in [0, 1]: the first 100 are
tight face crops from Labeled Faces in the Wild (eyebrows to chin), the last 100 non-face
crops of the same size (looked at: mostly flat or smoothly shaded patches, a few of them
off-centre pieces of faces or of letters).  The set is small and the non-faces are mostly
easy, so one split says little: every method is scored by stratified k-fold
cross-validation with one fixed seed, mean and spread over the folds.
"""
from __future__ import annotations

import numpy as np

from foveanet.errors import UserError

__all__ = ["CROP", "load_crops", "kfold", "augment", "negative_patches"]

CROP = 25          # the crops' side, and the detector's window
N_FACES = 100      # lfw_subset: faces first, then as many non-faces
# skimage images with no human face, the detector's extra negatives (bootstrapping, as
# Viola-Jones did): the crops' non-faces are mostly flat, so a detector trained on them
# alone fires on any texture
FACE_FREE = ("brick", "grass", "gravel", "coins", "text", "page", "rocket", "coffee", "moon",
             "horse", "hubble_deep_field", "immunohistochemistry", "cell", "clock")


def _skimage_data():
    try:
        import skimage.data
    except ImportError:
        raise UserError("the face crops come with scikit-image: pip install 'foveanet[faces]'") from None
    return skimage.data


def load_crops() -> tuple[np.ndarray, np.ndarray]:
    """The 200 crops of scikit-image's ``lfw_subset``: (images (200, 25, 25) float32 in
    [0, 1], labels (200,) int64: 1 face, 0 non-face); the first 100 are the faces.

    Example::

        >>> from foveanet.faces import load_crops
        >>> x, y = load_crops()
        >>> x.shape, int(y.sum()), y[:2].tolist(), y[-2:].tolist()
        ((200, 25, 25), 100, [1, 1], [0, 0])
    """
    x = _skimage_data().lfw_subset().astype(np.float32)
    y = np.r_[np.ones(N_FACES, np.int64), np.zeros(len(x) - N_FACES, np.int64)]
    return x, y


def kfold(labels: np.ndarray, k: int = 5, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified folds: (train indices, test indices) per fold, each class dealt round-robin
    after one seeded shuffle, so every test fold holds the same share of faces.

    Example::

        >>> from foveanet.faces import kfold
        >>> folds = kfold(np.array([1, 1, 1, 1, 0, 0, 0, 0]), k=2)
        >>> [len(test) for _, test in folds], sorted(np.concatenate([t for _, t in folds]).tolist())
        ([4, 4], [0, 1, 2, 3, 4, 5, 6, 7])
    """
    if k < 2:
        raise ValueError(f"kfold: k must be >= 2, got {k}")
    rng = np.random.default_rng(seed)
    fold_of = np.empty(len(labels), np.int64)
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        fold_of[idx] = np.arange(len(idx)) % k
    return [(np.flatnonzero(fold_of != f), np.flatnonzero(fold_of == f)) for f in range(k)]


def _zoom(images: np.ndarray, rng: np.random.Generator, spread: float) -> np.ndarray:
    """Each image zoomed about its centre by a factor in [1 - spread, 1 + spread] (bilinear,
    edge values outside): a face in a photo falls between two pyramid levels."""
    from scipy.ndimage import affine_transform

    n, h, w = images.shape
    out = np.empty_like(images)
    c = np.array([(h - 1) / 2, (w - 1) / 2])
    for i, z in enumerate(rng.uniform(1 - spread, 1 + spread, n)):
        out[i] = affine_transform(images[i], np.eye(2) / z, offset=c - c / z, order=1, mode="nearest")
    return out


def augment(images: np.ndarray, rng: np.random.Generator, shift: int = 2, zoom: float = 0.1) -> np.ndarray:
    """Random left-right mirror, zoom by up to ``zoom``, shift by up to ``shift`` pixels
    (edge-padded) and a random contrast/brightness change: faces stay faces under each."""
    n, h, w = images.shape
    out = np.where(rng.random(n)[:, None, None] < 0.5, images[:, :, ::-1], images)
    if zoom:
        out = _zoom(out, rng, zoom)
    padded = np.pad(out, ((0, 0), (shift, shift), (shift, shift)), mode="edge")
    dy, dx = rng.integers(0, 2 * shift + 1, (2, n))
    out = np.stack([padded[i, dy[i]:dy[i] + h, dx[i]:dx[i] + w] for i in range(n)])
    gain = rng.uniform(0.7, 1.3, (n, 1, 1)).astype(np.float32)
    bias = rng.uniform(-0.15, 0.15, (n, 1, 1)).astype(np.float32)
    return np.clip(out * gain + bias, 0, 1).astype(np.float32)


def negative_patches(n: int, seed: int = 0, scales=(1.0, 0.5, 0.25)) -> np.ndarray:
    """``n`` random 25x25 grey patches from scikit-image's face-free photographs
    (``FACE_FREE``), at several scales: the detector's extra negatives."""
    from foveanet.faces.image import to_grey, resize

    data, rng = _skimage_data(), np.random.default_rng(seed)
    photos = []
    for name in FACE_FREE:
        img = to_grey(getattr(data, name)())
        photos += [resize(img, s) for s in scales if min(img.shape) * s >= 2 * CROP]
    out = np.empty((n, CROP, CROP), np.float32)
    for i in range(n):
        p = photos[rng.integers(len(photos))]
        y, x = rng.integers(0, p.shape[0] - CROP), rng.integers(0, p.shape[1] - CROP)
        out[i] = p[y:y + CROP, x:x + CROP]
    return out
