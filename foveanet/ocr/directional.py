"""Directional decomposition features for character images, the hand-crafted baseline of the
course's reference "Directional Decomposition for Odia Character Recognition".

The paper's text is not available offline here, so this is the standard form of the idea it
names, as used for Indic and CJK character recognition (Kato et al. 1999, "directional
element features"; Liu, Nakashima, Sako & Fujisawa 2003, "gradient direction feature"),
written out so every step can be checked:

1. **Gradient.** Sobel derivatives ``gx``, ``gy`` of the grey image (ink bright), edges
   replicated. Magnitude ``|g|``, direction ``theta = atan2(gy, gx)`` (y grows downwards).
2. **Decomposition** into ``directions`` standard directions. With 8 (``directional``),
   the directions are ``k * 45`` degrees, signed: a stroke's two edges fall in opposite
   planes. With 4, they are orientations ``k * 45`` degrees modulo 180 (horizontal, one
   diagonal, vertical, the other diagonal), as a stroke-direction decomposition counts them.
   A gradient vector lying between two neighbouring standard directions ``d_k`` and
   ``d_k+1`` (``step`` apart) is split between them by the parallelogram rule:
   ``g = a d_k + b d_k+1`` with ``a = |g| sin((k+1) step - theta) / sin(step)`` and
   ``b = |g| sin(theta - k step) / sin(step)``, so nothing is lost to quantisation.
3. **Zoning.** Each directional plane is summed over a ``zones x zones`` grid of equal
   cells, giving ``directions * zones**2`` numbers (8 x 4 x 4 = 128 by default).
4. **Variable transformation.** Each number is raised to the power 0.5 (Liu's
   Box-Cox-like transform, which makes the features closer to Gaussian for a linear
   classifier), then the vector is scaled to unit Euclidean length (stroke width and
   contrast change the total gradient, not its distribution).

The classifier beside it is a linear SVM (``run_directional_baseline``), as with HOG.
"""
from __future__ import annotations

import time

import numpy as np

from foveanet.errors import UserError

__all__ = ["sobel", "decompose", "directional_features", "run_directional_baseline"]


def sobel(image: np.ndarray):
    """(gx, gy) Sobel derivatives of a 2-D image, edges replicated; x to the right, y down.

    Example::

        >>> from foveanet.ocr.directional import sobel
        >>> gx, gy = sobel(np.array([[0, 0, 1, 1]] * 3, float))
        >>> gx[1].tolist(), gy[1].tolist()
        ([0.0, 4.0, 4.0, 0.0], [0.0, 0.0, 0.0, 0.0])
    """
    p = np.pad(np.asarray(image, np.float64), 1, mode="edge")
    dx = p[:, 2:] - p[:, :-2]            # central difference along x, then smoothed along y
    dy = p[2:, :] - p[:-2, :]
    gx = dx[:-2] + 2 * dx[1:-1] + dx[2:]
    gy = dy[:, :-2] + 2 * dy[:, 1:-1] + dy[:, 2:]
    return gx, gy


def decompose(gx: np.ndarray, gy: np.ndarray, directions: int = 8) -> np.ndarray:
    """(directions, H, W) planes: each gradient vector split between its two neighbouring
    standard directions by the parallelogram rule (module docstring, step 2).

    Example::

        >>> from foveanet.ocr.directional import decompose
        >>> # a gradient at 30 degrees, length 2: mostly direction 0, some direction 45
        >>> p = decompose(np.array([[np.sqrt(3.0)]]), np.array([[1.0]]))
        >>> np.round(p[:, 0, 0], 4).tolist()
        [0.7321, 1.4142, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    """
    if directions not in (4, 8):
        raise UserError(f"directional features: directions must be 4 or 8, got {directions!r}")
    mag = np.hypot(gx, gy)
    theta = np.arctan2(gy, gx)
    period = 2 * np.pi if directions == 8 else np.pi
    step = period / directions
    theta = np.mod(theta, period)
    k = np.minimum(np.floor(theta / step).astype(np.int64), directions - 1)
    a = mag * np.sin((k + 1) * step - theta) / np.sin(step)
    b = mag * np.sin(theta - k * step) / np.sin(step)
    planes = np.zeros((directions,) + mag.shape)
    rows, cols = np.indices(mag.shape)
    np.add.at(planes, (k, rows, cols), a)
    np.add.at(planes, ((k + 1) % directions, rows, cols), b)
    return planes


def directional_features(images: np.ndarray, directions: int = 8, zones: int = 4) -> np.ndarray:
    """(N, directions * zones**2) float32 features of (N, H, W) images (H and W multiples of
    ``zones``): Sobel gradient, parallelogram decomposition, zone sums, power 0.5, unit length.

    Example::

        >>> from foveanet.ocr.directional import directional_features
        >>> directional_features(np.zeros((3, 32, 32), np.uint8)).shape
        (3, 128)
    """
    images = np.asarray(images)
    if images.ndim != 3:
        raise UserError(f"directional features: expected (N, H, W) images, got shape {images.shape}")
    n, h, w = images.shape
    if h % zones or w % zones:
        raise UserError(f"directional features: image size {h}x{w} is not a multiple of {zones} zones")
    out = np.empty((n, directions * zones * zones), np.float32)
    for i, img in enumerate(images):
        planes = decompose(*sobel(img.astype(np.float64) / 255), directions)
        z = planes.reshape(directions, zones, h // zones, zones, w // zones).sum(axis=(2, 4))
        f = np.sqrt(z.ravel())
        norm = np.linalg.norm(f)
        out[i] = f / norm if norm > 0 else f
    return out


def run_directional_baseline(train_images, train_labels, test_images, test_labels,
                             directions: int = 8, zones: int = 4, C: float = 1.0) -> dict:
    """Directional features + a linear SVM (scikit-learn's LinearSVC), fitted on the training
    images; returns the test accuracy, predictions and timings, like
    ``foveanet.baselines.image.run_image_baseline``."""
    from sklearn.svm import LinearSVC

    t0 = time.perf_counter()
    f_train = directional_features(train_images, directions, zones)
    f_test = directional_features(test_images, directions, zones)
    t1 = time.perf_counter()
    clf = LinearSVC(C=C, dual=False).fit(f_train, np.asarray(train_labels))
    pred = clf.predict(f_test)
    t2 = time.perf_counter()
    return {"model": f"directional features ({directions} directions, {zones}x{zones} zones) + linear SVM (C={C})",
            "num_features": int(f_train.shape[1]),
            "test_accuracy": float((pred == np.asarray(test_labels)).mean()),
            "feature_seconds": round(t1 - t0, 2), "fit_seconds": round(t2 - t1, 2), "predictions": pred}
