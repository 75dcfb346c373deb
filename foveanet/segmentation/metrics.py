"""Segmentation metrics from one confusion matrix accumulated over batches.

``conf[t, p]`` counts pixels of true class t predicted as p.  From it, per class c:
IoU_c = TP / (TP + FP + FN), Dice_c = 2TP / (2TP + FP + FN), pixel accuracy = trace / total.

Mean IoU (``miou``) averages IoU over the classes *present* in the truth or in the
prediction (TP + FP + FN > 0): a class that never appears and is never predicted has
0/0 IoU and is left out rather than counted as 0 or 1.  ``miou_all`` averages over all
classes, counting such classes as 0 (on test scenes every class appears, so both agree).
"""
from __future__ import annotations

import numpy as np

__all__ = ["ConfusionMatrix", "confusion_matrix"]


def confusion_matrix(pred, target, num_classes: int, ignore_index: int = -100) -> np.ndarray:
    """Counts of (true class, predicted class) pairs over all pixels.

    Args:
        pred: predicted class indices, any shape.
        target: true class indices, of the same size.
        num_classes: C.
        ignore_index: pixels with this target are skipped, as are targets outside 0..C-1
            (default -100).

    Returns:
        ndarray: (C, C) int64, ``[t, p]`` counting pixels of class t predicted as p.

    Raises:
        ValueError: sizes that differ, or a prediction outside 0..C-1.

    Example::

        >>> from foveanet.segmentation import confusion_matrix
        >>> confusion_matrix(np.array([0, 1, 1, 2, 0]), np.array([0, 1, 2, 2, -100]), 3)
        array([[1, 0, 0],
               [0, 1, 0],
               [0, 1, 1]])
    """
    p = np.asarray(pred).ravel().astype(np.int64)
    t = np.asarray(target).ravel().astype(np.int64)
    if p.shape != t.shape:
        raise ValueError(f"confusion_matrix: prediction has {p.size} pixels, target {t.size}")
    keep = (t >= 0) & (t < num_classes) & (t != ignore_index)
    p, t = p[keep], t[keep]
    if p.size and (p.min() < 0 or p.max() >= num_classes):
        raise ValueError(f"confusion_matrix: predictions must lie in 0..{num_classes - 1}")
    return np.bincount(t * num_classes + p, minlength=num_classes ** 2).reshape(num_classes, num_classes)


class ConfusionMatrix:
    """A confusion matrix accumulated over batches, and the IoU / Dice metrics read from it.

    Per class c, with TP, FP, FN from ``matrix``: IoU_c = TP / (TP + FP + FN) and Dice_c =
    2TP / (2TP + FP + FN); both are NaN for a class absent from truth and prediction.
    ``miou`` averages IoU over the classes present, ``miou_all`` over all (absent ones as 0).

    Args:
        num_classes: C.
        class_names: names for ``report`` (default None: ``'0'``, ``'1'``, ...).
        ignore_index: pixels with this target are skipped (default -100).

    Attributes:
        matrix: (C, C) int64 counts, ``[t, p]``.

    Example::

        >>> from foveanet.segmentation import ConfusionMatrix
        >>> cm = ConfusionMatrix(3, ["background", "coat", "bag"])
        >>> _ = cm.update(np.array([[[0, 1], [1, 2]]]), np.array([[[0, 1], [2, 2]]]))
        >>> cm.iou()                    # coat: 1 / (1 + 1 + 0); bag: 1 / (1 + 0 + 1)
        array([1. , 0.5, 0.5])
        >>> cm.miou(), cm.pixel_accuracy()
        (0.6666666666666666, 0.75)
        >>> cm.report()["per_class_dice"]
        {'background': 1.0, 'coat': 0.6666666666666666, 'bag': 0.6666666666666666}
    """

    def __init__(self, num_classes: int, class_names=None, ignore_index: int = -100):
        self.num_classes = int(num_classes)
        self.class_names = list(class_names) if class_names is not None else [str(c) for c in range(num_classes)]
        self.ignore_index = ignore_index
        self.matrix = np.zeros((num_classes, num_classes), np.int64)

    def update(self, pred, target) -> "ConfusionMatrix":
        """pred: class indices (N, H, W), or logits/probabilities (N, C, H, W) (argmax'ed)."""
        pred = np.asarray(getattr(pred, "data", pred))
        target = np.asarray(getattr(target, "data", target))
        if pred.ndim == target.ndim + 1:
            pred = pred.argmax(axis=1)
        self.matrix += confusion_matrix(pred, target, self.num_classes, self.ignore_index)
        return self

    def _parts(self):
        m = self.matrix.astype(np.float64)
        tp = np.diag(m)
        return tp, m.sum(axis=0) - tp, m.sum(axis=1) - tp

    def pixel_accuracy(self) -> float:
        total = self.matrix.sum()
        return float(np.trace(self.matrix) / total) if total else float("nan")

    def iou(self) -> np.ndarray:
        """Per-class IoU; NaN for classes absent from truth and prediction."""
        tp, fp, fn = self._parts()
        den = tp + fp + fn
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(den > 0, tp / den, np.nan)

    def dice(self) -> np.ndarray:
        tp, fp, fn = self._parts()
        den = 2 * tp + fp + fn
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(den > 0, 2 * tp / den, np.nan)

    def miou(self) -> float:
        v = self.iou()
        return float(np.nanmean(v)) if np.isfinite(v).any() else float("nan")

    def miou_all(self) -> float:
        return float(np.nan_to_num(self.iou(), nan=0.0).mean())

    def mean_dice(self) -> float:
        v = self.dice()
        return float(np.nanmean(v)) if np.isfinite(v).any() else float("nan")

    def report(self) -> dict:
        """Everything as plain JSON-ready numbers (NaN -> None)."""
        def named(v):
            return {n: (None if np.isnan(x) else float(x)) for n, x in zip(self.class_names, v)}

        iou = self.iou()
        items = iou[1:] if self.num_classes > 1 else iou
        return {
            "miou": self.miou(),
            "miou_all_classes": self.miou_all(),
            "miou_items": float(np.nanmean(items)) if np.isfinite(items).any() else None,
            "pixel_accuracy": self.pixel_accuracy(),
            "dice": self.mean_dice(),
            "per_class_iou": named(iou),
            "per_class_dice": named(self.dice()),
            "confusion": self.matrix.tolist(),
        }
