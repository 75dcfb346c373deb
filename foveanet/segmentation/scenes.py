"""Multi-object scenes composed from real Fashion-MNIST images, with per-pixel class masks.

These are *composed* data: each scene is a black canvas onto which a few genuine
Fashion-MNIST photographs of clothing are pasted, possibly overlapping (later items are
on top and hide what they cover).  The pixels are real; the layout is synthetic.

Labels.  11 classes: index 0 is the background, and Fashion-MNIST class c (0..9) is
index c + 1 (``CLASS_NAMES`` lists them in that order).

Item mask.  A pixel belongs to an item when its grey value exceeds ``THRESHOLD`` (25 of
255, about 10%): Fashion-MNIST items lie on an exact-zero background, and the faint halo
below 10% (JPEG-like ringing of the original product photos) carries no shape.  Only the
masked pixels are pasted, so the image and the mask always agree: what is visible of an
item is exactly where its class is written.

Splits.  Train scenes use only items of Fashion-MNIST's training set, test scenes only
items of its test set (``split``); ``split='val'`` uses the last ``VAL_ITEMS`` training
items, which ``'train'`` then leaves out, for model selection without touching the test
set.  ``generate_scenes`` returns the source indices so that this can be checked.

Reproducibility.  Everything random comes from ``np.random.default_rng(seed)``: the same
(n, split, seed, options) give bit-identical scenes.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["CLASS_NAMES", "THRESHOLD", "VAL_ITEMS", "Scenes", "generate_scenes", "compose",
           "item_pool", "item_range"]

ITEM_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
CLASS_NAMES = ["background"] + ITEM_CLASSES
THRESHOLD = 25          # on the uint8 item pixels: mask = pixel > THRESHOLD
VAL_ITEMS = 5000        # the last 5,000 training items are reserved for validation scenes


@dataclass
class Scenes:
    """A batch of composed scenes with their per-pixel class masks, as ``generate_scenes`` makes.

    Attributes:
        images: (N, 1, H, W) float32 in [0, 1].
        masks: (N, H, W) int64 class indices (0 background, c + 1 for Fashion-MNIST class c).
        split: ``'train'``, ``'val'`` or ``'test'``: which items were pasted.
        items: (K, 5) int64, one row per pasted item: (scene, source index in the split's
            Fashion-MNIST array, top, left, side), the provenance that the no-sharing check
            reads.

    Example::

        >>> from foveanet.segmentation import generate_scenes
        >>> squares = np.full((10, 28, 28), 200, np.uint8)   # stand-ins for the ten classes
        >>> scenes = generate_scenes(3, "test", size=32, items=(1, 2), data=squares,
        ...                          targets=np.arange(10))
        >>> len(scenes), scenes.images.shape, scenes.masks.shape, scenes.split
        (3, (3, 1, 32, 32), (3, 32, 32), 'test')
        >>> scenes.items.shape[1], int(scenes.items[:, 0].max())   # 5 fields per item; scenes 0..2
        (5, 2)
    """
    images: np.ndarray
    masks: np.ndarray
    split: str
    items: np.ndarray

    def __len__(self):
        return len(self.images)


def item_pool(split: str, data=None, targets=None):
    """(uint8 items (M, 28, 28), labels (M,), source indices (M,)) for ``split``.

    data/targets: the Fashion-MNIST arrays of the matching split (loaded when None)."""
    if split not in ("train", "val", "test"):
        raise ValueError(f"generate_scenes: split must be 'train', 'val' or 'test', got {split!r}")
    if data is None:
        from foveanet.data import FashionMNIST

        ds = FashionMNIST(train=split != "test")
        data, targets = ds.data, ds.targets
    idx = np.arange(len(data))
    if split == "train":
        idx = idx[:-VAL_ITEMS] if len(data) > VAL_ITEMS else idx
    elif split == "val":
        idx = idx[-VAL_ITEMS:]
    return data[idx], np.asarray(targets)[idx], idx


def item_range(items, what: str = "items") -> tuple:
    """(low, high) items per scene as ints, or a ValueError naming ``what``."""
    try:
        lo, hi = (int(v) for v in items)
    except (TypeError, ValueError):
        lo = hi = 0
    if not 1 <= lo <= hi:
        raise ValueError(f"{what} must be (low, high) with 1 <= low <= high, got {items}")
    return lo, hi


def _resize_matrix(n_in: int, n_out: int) -> np.ndarray:
    """Bilinear resampling as an (n_out, n_in) matrix (half-pixel centres), so that a whole
    batch of same-sized items resizes with two matmuls instead of a Python loop."""
    src = (np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5
    src = np.clip(src, 0, n_in - 1)
    lo = np.floor(src).astype(int)
    hi = np.minimum(lo + 1, n_in - 1)
    frac = src - lo
    a = np.zeros((n_out, n_in))
    a[np.arange(n_out), lo] += 1 - frac
    a[np.arange(n_out), hi] += frac
    return a


def compose(canvas_size, items, labels, positions, threshold: int = THRESHOLD):
    """Paste items onto a black canvas, in order, and write each one's class under it.

    Only an item's pixels above ``threshold`` are pasted (and labelled), so the image and the
    mask agree; a later item covers an earlier one. The reference composition:
    ``generate_scenes`` does the same for whole batches.

    Args:
        canvas_size: the canvas side, or (H, W).
        items: uint8 arrays, each (s0, s1).
        labels: their Fashion-MNIST classes, 0..9 (written as 1..10).
        positions: their (top, left) corners.
        threshold: grey values above it are item pixels (default ``THRESHOLD``, 25).

    Returns:
        tuple: (image float32 (H, W) in [0, 1], mask int64 (H, W)).

    Example::

        >>> from foveanet.segmentation import compose
        >>> white = np.full((2, 2), 255, np.uint8)
        >>> grey = np.full((2, 2), 51, np.uint8)
        >>> image, mask = compose(4, [white, grey], [0, 9], [(0, 0), (1, 1)])
        >>> mask                        # T-shirt (1) under an ankle boot (10)
        array([[ 1,  1,  0,  0],
               [ 1, 10, 10,  0],
               [ 0, 10, 10,  0],
               [ 0,  0,  0,  0]])
        >>> image[1]                    # 255 / 255, then 51 / 255 on top
        array([1.        , 0.20000002, 0.20000002, 0.        ], dtype=float32)
    """
    h, w = (canvas_size, canvas_size) if np.isscalar(canvas_size) else canvas_size
    img = np.zeros((h, w), np.uint8)
    mask = np.zeros((h, w), np.int64)
    for it, lab, (top, left) in zip(items, labels, positions):
        s0, s1 = it.shape
        on = it > threshold
        img[top:top + s0, left:left + s1][on] = it[on]
        mask[top:top + s0, left:left + s1][on] = int(lab) + 1
    return img.astype(np.float32) * np.float32(1 / 255), mask


def generate_scenes(n: int, split: str = "train", size: int = 64, items=(2, 4), scale=(0.75, 1.25),
                    seed: int = 0, threshold: int = THRESHOLD, data=None, targets=None,
                    flip: bool = False) -> Scenes:
    """``n`` scenes of ``size`` x ``size`` pixels, each of a few Fashion-MNIST items.

    Positions are uniform over the places where an item fits entirely on the canvas; later
    items of a scene cover earlier ones (see ``compose``). The same arguments give
    bit-identical scenes.

    Args:
        n: the number of scenes.
        split: ``'train'``, ``'val'`` (the last ``VAL_ITEMS`` training items, which
            ``'train'`` leaves out) or ``'test'`` (default ``'train'``).
        size: the canvas side, at least 8 (default 64).
        items: (low, high) items per scene, both included (default (2, 4)).
        scale: (low, high) for a random per-item scale of the 28-pixel side (sides rounded
            to even numbers, capped at the canvas), or None for unscaled items (default
            (0.75, 1.25)).
        seed: the generator's seed (default 0).
        threshold: grey values above it are item pixels (default ``THRESHOLD``, 25).
        data: the split's Fashion-MNIST images (M, 28, 28) uint8, for callers that hold
            them (default None: loaded).
        targets: their classes (M,) (default None: loaded with ``data``).
        flip: mirror each item left-right with probability 1/2 (augmentation; its draws
            come after all others, so the scenes without flips are the same either way)
            (default False).

    Returns:
        Scenes: the images, masks and provenance.

    Raises:
        ValueError: a negative ``n``, a bad ``items`` range, an unknown split or a canvas
            under 8 pixels.

    Example::

        >>> from foveanet.segmentation import generate_scenes
        >>> squares = np.full((10, 28, 28), 200, np.uint8)   # stand-ins for the ten classes
        >>> scenes = generate_scenes(2, "test", size=32, items=(1, 1), scale=None,
        ...                          data=squares, targets=np.arange(10))
        >>> scenes.images.shape, scenes.masks.dtype
        ((2, 1, 32, 32), dtype('int64'))
        >>> (scenes.masks > 0).sum(axis=(1, 2))              # one 28 x 28 item each
        array([784, 784])
        >>> scenes.items[:, 1] + 1, scenes.masks.max(axis=(1, 2))  # item index -> class + 1
        (array([9, 7]), array([9, 7]))
    """
    if n < 0:
        raise ValueError(f"generate_scenes: n must be >= 0, got {n}")
    lo, hi = item_range(items, "generate_scenes: items")
    pool, pool_labels, pool_idx = item_pool(split, data, targets)
    side = pool.shape[-1]
    if size < 8:
        raise ValueError(f"generate_scenes: size must be >= 8, got {size}")
    rng = np.random.default_rng(seed)
    counts = rng.integers(lo, hi + 1, size=n)
    total = int(counts.sum())
    pick = rng.integers(0, len(pool), size=total)
    if scale is None:
        sides = np.full(total, min(side, size))
    else:
        s = rng.uniform(scale[0], scale[1], size=total) * side
        sides = np.clip(2 * np.round(s / 2), 8, size).astype(int)
    tops = (rng.random(total) * (size - sides + 1)).astype(int)
    lefts = (rng.random(total) * (size - sides + 1)).astype(int)
    scene_of = np.repeat(np.arange(n), counts)
    flips = rng.random(total) < 0.5 if flip else np.zeros(total, bool)

    # resize all items of one side length at once, then threshold once
    resized = {}
    for s in np.unique(sides):
        sel = np.flatnonzero(sides == s)
        src = pool[pick[sel]].astype(np.float32)
        if s != side:
            a = _resize_matrix(side, s).astype(np.float32)
            src = np.clip(np.round(a @ src @ a.T), 0, 255)
        resized[s] = (sel, src.astype(np.uint8))
    patches = [None] * total
    for s, (sel, arr) in resized.items():
        for k, j in enumerate(sel):
            patches[j] = arr[k, :, ::-1] if flips[j] else arr[k]

    imgs = np.zeros((n, size, size), np.uint8)
    masks = np.zeros((n, size, size), np.int64)
    for j in range(total):  # in order, so that later items of a scene land on top
        it = patches[j]
        on = it > threshold
        sc, t, l, s = scene_of[j], tops[j], lefts[j], sides[j]
        imgs[sc, t:t + s, l:l + s][on] = it[on]
        masks[sc, t:t + s, l:l + s][on] = pool_labels[pick[j]] + 1
    record = np.stack([scene_of, pool_idx[pick], tops, lefts, sides], axis=1).astype(np.int64)
    images = (imgs.astype(np.float32) * np.float32(1 / 255))[:, None]
    return Scenes(images, masks, split, record)
