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
from foveanet.backend import devices
from foveanet.backend.arrays import array_module

__all__ = ["cross_entropy", "dice_loss", "ce_dice", "one_hot"]


def _targets(target) -> np.ndarray:
    t = target.data if isinstance(target, Tensor) else \
        target if devices.device_array_module(target) is not None else np.asarray(target)
    if t.dtype.kind not in "iu":
        raise TypeError(f"segmentation loss: target must hold integer class indices, got dtype {t.dtype}")
    return t


def one_hot(target, num_classes: int, dtype=np.float32) -> np.ndarray:
    """Class-index masks as one-hot planes, one per class.

    Args:
        target: (N, H, W) integer class indices (an array or a Tensor); any value outside
            0..C-1 (an ignore index) becomes all zeros.
        num_classes: C.
        dtype: the output's dtype (default float32).

    Returns:
        ndarray: (N, C, H, W).

    Raises:
        TypeError: a target that does not hold integers.

    Example::

        >>> from foveanet.segmentation import one_hot
        >>> y = one_hot(np.array([[[0, 2], [1, -100]]]), 3)
        >>> y.shape
        (1, 3, 2, 2)
        >>> y[0, 2]                     # class 2's plane; the ignored pixel is 0 in every plane
        array([[0., 1.],
               [0., 0.]], dtype=float32)
    """
    t = _targets(target)
    out = (t[:, None] == array_module(t).arange(num_classes).reshape(1, -1, 1, 1)).astype(dtype)
    return out


def cross_entropy(logits, target, weight=None, ignore_index: int = -100):
    """Pixel-wise softmax cross-entropy, the mean over the (weighted) non-ignored pixels.

    Args:
        logits: (N, C, H, W) Tensor.
        target: (N, H, W) class indices.
        weight: (C,) class weights (default None: all 1).
        ignore_index: pixels with this target count nowhere (default -100).

    Returns:
        Tensor: the scalar loss.

    Example::

        >>> from foveanet.segmentation import cross_entropy
        >>> logits = fn.zeros((1, 4, 2, 2))                  # every class 1/4 at every pixel
        >>> cross_entropy(logits, np.array([[[0, 1], [2, 3]]])).item()   # log 4
        1.3862943649291992
    """
    return F.cross_entropy(logits, target, weight=weight, ignore_index=ignore_index)


def dice_loss(logits, target, eps: float = 1.0, ignore_index: int = -100):
    """Soft Dice loss, one Dice score per class over the whole batch, averaged over classes:

        p = softmax(logits, dim=1),  y = one_hot(target)
        dice_c = (2 sum_{n,h,w} p_c y_c + eps) / (sum p_c + sum y_c + eps)
        loss = 1 - (1/C) sum_c dice_c

    eps smooths the ratio: a class absent from both truth and prediction scores ~1 instead
    of 0/0, and the gradient stays finite.  Pixels with target ``ignore_index`` count
    neither in p nor in y.

    Args:
        logits: (N, C, H, W) Tensor.
        target: (N, H, W) class indices.
        eps: the smoothing term (default 1).
        ignore_index: pixels with this target count nowhere (default -100).

    Returns:
        Tensor: the scalar loss, in [0, 1].

    Example::

        >>> from foveanet.segmentation import dice_loss
        >>> logits = fn.zeros((1, 2, 2, 2), requires_grad=True)   # p = 1/2 everywhere
        >>> target = np.array([[[0, 0], [1, 1]]])                  # two pixels per class
        >>> loss = dice_loss(logits, target)                       # 1 - (2*1 + 1)/(4 + 1)
        >>> loss.item()
        0.3999999761581421
        >>> loss.backward()
        >>> logits.grad.shape
        (1, 2, 2, 2)
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
    """Cross-entropy plus weighted Dice loss, the segmentation pipeline's training loss.

    ``cross_entropy(logits, target, weight) + dice_weight * dice_loss(logits, target, eps)``:
    the cross-entropy scores every pixel, the Dice term every class as a whole.

    Args:
        logits: (N, C, H, W) Tensor.
        target: (N, H, W) class indices.
        weight: (C,) class weights of the cross-entropy (default None: all 1).
        dice_weight: the Dice term's factor; 0 leaves it out (default 1).
        eps: the Dice loss's smoothing term (default 1).
        ignore_index: pixels with this target count nowhere (default -100).

    Returns:
        Tensor: the scalar loss.

    Example::

        >>> from foveanet.segmentation import ce_dice
        >>> logits = fn.zeros((1, 2, 2, 2))
        >>> target = np.array([[[0, 0], [1, 1]]])
        >>> ce_dice(logits, target).item()                 # log 2 + 0.4
        1.0931471586227417
        >>> ce_dice(logits, target, dice_weight=0).item()  # log 2
        0.6931471824645996
    """
    ce = cross_entropy(logits, target, weight, ignore_index)
    if not dice_weight:
        return ce
    return ce + dice_loss(logits, target, eps, ignore_index) * dice_weight
