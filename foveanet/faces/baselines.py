"""The face detectors before CNNs, scored on the same crops: Viola-Jones' Haar-like features
with AdaBoost, and OpenCV's trained Haar cascade as the anchor tool.

Haar-like features (Viola & Jones 2001) are differences of box sums, computed from an
integral image; a 25x25 window has 190,736 of them (the five types of scikit-image).
AdaBoost on decision stumps picks one feature per round, so it is itself a feature selector;
to keep training in seconds the stumps choose among a fixed random pool of the features
(``pool`` = 3000: 1.5 s to compute for 200 crops) pre-ranked on the training fold by a
one-way ANOVA F-score (the best ``keep`` = 300 go to AdaBoost; 100 stumps on all 3000 took
7 s a fold on the 2-core machine, 300 take under 1 s).
"""
from __future__ import annotations

import numpy as np

from foveanet.errors import UserError

__all__ = ["HaarAdaBoost", "CascadeOnCrops", "CASCADE_SETTINGS"]

# (upscale factor, border as a share of the upscaled side): OpenCV's frontal-face cascade
# looks at >= 24x24 windows of faces with some margin around them, and the crops are cut
# tight, at 25x25: it fires on 87% of the faces at 4x with no border, 97% with a 25% border
CASCADE_SETTINGS = ((4, 0.0), (4, 0.25), (4, 0.5), (8, 0.5))


def _require(what: str):
    try:
        import sklearn  # noqa: F401
        import skimage  # noqa: F401
    except ImportError as e:
        raise UserError(f"{what} needs scikit-learn and scikit-image ({e.name} is missing): "
                        "pip install 'foveanet[faces]'") from None


class HaarAdaBoost:
    """Viola-Jones' recipe on whole crops: Haar-like features, ANOVA pre-ranking, AdaBoost
    with decision stumps (scikit-image features, scikit-learn boosting).

    Args:
        pool: the random share of the 190,736 features computed (default 3000).
        keep: how many of them (best F-score on the training crops) AdaBoost sees (default 300).
        rounds: AdaBoost's stumps (default 100).
        seed: the pool's and AdaBoost's seed (default 0).
    """

    def __init__(self, pool: int = 3000, keep: int = 300, rounds: int = 100, seed: int = 0):
        _require("HaarAdaBoost")
        from skimage.feature import haar_like_feature_coord

        side = 25
        coords, types = haar_like_feature_coord(side, side)
        pick = np.random.default_rng(seed).choice(len(coords), min(pool, len(coords)), replace=False)
        self.coords, self.types = coords[pick], types[pick]
        self.keep, self.rounds, self.seed = keep, rounds, seed

    def features(self, images: np.ndarray) -> np.ndarray:
        """(N, pool) Haar-like feature values of (N, 25, 25) crops."""
        from skimage.feature import haar_like_feature
        from skimage.transform import integral_image

        return np.array([haar_like_feature(integral_image(im), 0, 0, im.shape[1], im.shape[0],
                                           feature_type=self.types, feature_coord=self.coords)
                         for im in images], np.float64)

    def fit(self, images=None, labels=None, features=None):
        """Train on crops (or their precomputed ``features``); returns self."""
        from sklearn.ensemble import AdaBoostClassifier
        from sklearn.feature_selection import f_classif

        f = self.features(images) if features is None else features
        with np.errstate(divide="ignore", invalid="ignore"):
            score = np.nan_to_num(f_classif(f, labels)[0], nan=0.0)
        self.selected = np.argsort(-score)[:self.keep]
        self.model = AdaBoostClassifier(n_estimators=self.rounds, random_state=self.seed)
        self.model.fit(f[:, self.selected], labels)
        return self

    def predict(self, images=None, features=None) -> np.ndarray:
        """1 face / 0 non-face per crop."""
        f = self.features(images) if features is None else features
        return self.model.predict(f[:, self.selected]).astype(np.int64)


class CascadeOnCrops:
    """OpenCV's pre-trained frontal-face Haar cascade as a crop classifier: a crop is a face
    when the cascade finds any face in it after upscaling (bilinear) by ``scale`` and adding
    a replicated border of ``border`` times the upscaled side.  ``fit`` picks the setting of
    ``CASCADE_SETTINGS`` with the best accuracy on the training crops (the cascade itself is
    not trained).

    Args:
        cascade: the file name in ``cv2.data.haarcascades`` (default the frontal-face one).
        min_neighbors: OpenCV's overlap vote (default 3).
    """

    def __init__(self, cascade: str = "haarcascade_frontalface_default.xml", min_neighbors: int = 3):
        try:
            import cv2
        except ImportError:
            raise UserError("the OpenCV baseline needs opencv-python-headless (< 5: OpenCV 5 "
                            "moved the Haar cascades out): pip install 'foveanet[faces]'") from None
        self.cv2 = cv2
        self.detector = cv2.CascadeClassifier(cv2.data.haarcascades + cascade)
        if self.detector.empty():
            raise UserError(f"OpenCV could not load the cascade {cv2.data.haarcascades + cascade}")
        self.min_neighbors = min_neighbors
        self.setting = CASCADE_SETTINGS[1]

    def _fires(self, images, setting) -> np.ndarray:
        cv2, (scale, border) = self.cv2, setting
        out = []
        for im in images:
            u = (np.clip(im, 0, 1) * 255).astype(np.uint8)
            u = cv2.resize(u, (u.shape[1] * scale, u.shape[0] * scale), interpolation=cv2.INTER_LINEAR)
            p = int(border * u.shape[0])
            if p:
                u = cv2.copyMakeBorder(u, p, p, p, p, cv2.BORDER_REPLICATE)
            # a face fills about the crop's upscaled side: windows under half of it are skipped
            # (their count is what the cascade's time grows with)
            side = max(24, 12 * scale)
            found = self.detector.detectMultiScale(u, scaleFactor=1.1, minNeighbors=self.min_neighbors,
                                                   minSize=(side, side))
            out.append(len(found) > 0)
        return np.array(out, np.int64)

    def fit(self, images, labels):
        """Choose the upscale/border setting on these (training) crops; returns self."""
        acc = [float((self._fires(images, s) == labels).mean()) for s in CASCADE_SETTINGS]
        self.setting = CASCADE_SETTINGS[int(np.argmax(acc))]
        return self

    def predict(self, images) -> np.ndarray:
        """1 face / 0 non-face per crop."""
        return self._fires(images, self.setting)
