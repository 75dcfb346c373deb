"""Segmentation losses on logits (N, C, H, W) and class-index targets (N, H, W).

Cross-entropy scores every pixel on its own, so with ~77% background pixels a network
can look good while missing small classes; the soft Dice loss scores each class's overlap
as a whole, so every class weighs the same whatever its area.  ``ce_dice`` adds both.

The Dice loss is a composition of differentiable tensor ops (softmax, product, sums,
division), so its gradient comes from those ops' hand-written backwards; the tests check
value and gradient against PyTorch.
"""
from __future__ import annotations

import numpy as np

import foveanet.functional as F
from foveanet.autograd.tensor import Tensor

__all__ = ["cross_entropy", "dice_loss", "ce_dice", "one_hot"]


def _targets(target) -> np.ndarray:
    t = target.data if isinstance(target, Tensor) else np.asarray(target)
    if t.dtype.kind not in "iu":
        raise TypeError(f"segmentation loss: target must hold integer class indices, got dtype {t.dtype}")
    return t


def one_hot(target, num_classes: int, dtype=np.float32) -> np.ndarray:
    """(N, H, W) class indices -> (N, C, H, W) one-hot; ignore_index (any value outside
    0..C-1) becomes all zeros."""
    t = _targets(target)
    out = (t[:, None] == np.arange(num_classes).reshape(1, -1, 1, 1)).astype(dtype)
    return out


def cross_entropy(logits, target, weight=None, ignore_index: int = -100):
    """Pixel-wise softmax cross-entropy, mean over the (weighted) non-ignored pixels."""
    return F.cross_entropy(logits, target, weight=weight, ignore_index=ignore_index)


def dice_loss(logits, target, eps: float = 1.0, ignore_index: int = -100):
    """Soft Dice loss, one Dice score per class over the whole batch, averaged over classes:

        p = softmax(logits, dim=1),  y = one_hot(target)
        dice_c = (2 sum_{n,h,w} p_c y_c + eps) / (sum p_c + sum y_c + eps)
        loss = 1 - (1/C) sum_c dice_c

    eps smooths the ratio: a class absent from both truth and prediction scores ~1 instead
    of 0/0, and the gradient stays finite.  Pixels with target ``ignore_index`` count
    neither in p nor in y.  Output: a scalar Tensor.
    """
    C = logits.shape[1]
    t = _targets(target)
    y = one_hot(t, C, dtype=logits.dtype)
    p = F.softmax(logits, dim=1)
    valid = t != ignore_index
    if not valid.all():
        p = p * valid[:, None].astype(logits.dtype)
    dims = (0, 2, 3)
    inter = (p * y).sum(dim=dims)
    card = p.sum(dim=dims) + y.sum(axis=dims)
    e = np.float32(eps) if logits.dtype == np.float32 else float(eps)
    dice = (inter * 2 + e) / (card + e)
    return 1 - dice.mean()


def ce_dice(logits, target, weight=None, dice_weight: float = 1.0, eps: float = 1.0,
            ignore_index: int = -100):
    """cross_entropy(logits, target, weight) + dice_weight * dice_loss(logits, target, eps)."""
    ce = cross_entropy(logits, target, weight, ignore_index)
    if not dice_weight:
        return ce
    return ce + dice_loss(logits, target, eps, ignore_index) * dice_weight
