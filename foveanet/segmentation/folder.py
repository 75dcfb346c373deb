"""Read a user's segmentation data set from a folder.

Layout::

    root/images/<name>.<png|jpg|...>    the input images (any mode; converted to grey 'L'
                                        or kept 'RGB' as ``mode`` says)
    root/masks/<name>.png               the mask of the image with the same <name>

A mask is a single-channel PNG whose pixel values *are* the class indices (0 = background,
1, 2, ...), or a palette ('P' mode) PNG, whose palette indices are the class indices (the
colours only help humans look at it).  Masks are never resized or colour-converted:
interpolating class indices would invent classes.  Every mask must have its image's size.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from foveanet.data.image_folder import IMG_EXTENSIONS, load_image

__all__ = ["SegmentationFolder", "read_mask"]


def read_mask(path) -> np.ndarray:
    """Read a mask PNG as (H, W) int64 class indices.

    The pixel values of a single-channel PNG, or the palette indices of a palette ('P' mode)
    PNG, are the class indices; nothing is resized or colour-converted.

    Args:
        path: the PNG file.

    Returns:
        ndarray: (H, W) int64.

    Raises:
        ValueError: an unreadable file, or a multi-channel image (RGB masks are not read,
            since their colours would have to be mapped to classes).

    Example::

        >>> import os, tempfile
        >>> from PIL import Image
        >>> from foveanet.segmentation import read_mask
        >>> mask = np.zeros((4, 6), np.uint8)
        >>> mask[1:3, 2:5] = 7                          # a 2 x 3 object of class 7
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     path = os.path.join(tmp, "mask.png")
        ...     Image.fromarray(mask).save(path)
        ...     m = read_mask(path)
        >>> m.shape, m.dtype, int((m == 7).sum())
        ((4, 6), dtype('int64'), 6)
    """
    from PIL import Image

    path = Path(path)
    try:
        with Image.open(path) as im:
            if im.mode in ("P", "L", "I", "I;16", "I;16B", "I;16L", "1"):
                return np.asarray(im).astype(np.int64)
            raise ValueError(f"mask {path} has mode {im.mode!r}: expected a single-channel PNG "
                             f"with class indices as pixel values, or a palette (P mode) PNG")
    except OSError as e:
        raise ValueError(f"cannot read mask {path}: {e}") from None


class SegmentationFolder:
    """All (image, mask) pairs of a user's folder, decoded once into memory.

    ``root/images/<name>.<png|jpg|...>`` with ``root/masks/<name>.png`` (see the module
    docstring). All images must share one size (the masks cannot be resized to fit).
    ``ds[i]`` is (image (C, H, W), mask (H, W)).

    Args:
        root: the folder holding ``images/`` and ``masks/``.
        mode: ``'L'`` (grey, default), ``'RGB'``, or None to keep each file's own.

    Attributes:
        images: (N, C, H, W) float32 in [0, 1].
        masks: (N, H, W) int64 class indices.
        names: the <name>s, sorted.
        num_classes: the largest class index in the masks, plus one.

    Raises:
        FileNotFoundError: no ``images/`` or ``masks/``, no image, or an image without a mask.
        ValueError: a mask of another size than its image, or images of different sizes.

    Example::

        >>> import os, tempfile
        >>> from PIL import Image
        >>> from foveanet.segmentation import SegmentationFolder
        >>> with tempfile.TemporaryDirectory() as root:
        ...     for sub in ("images", "masks"):
        ...         os.makedirs(os.path.join(root, sub))
        ...     for name, cls in [("a", 1), ("b", 2)]:
        ...         mask = np.zeros((6, 8), np.uint8)
        ...         mask[2:4, 2:6] = cls                # a 2 x 4 object of class 1 or 2
        ...         Image.fromarray(mask * 100).save(os.path.join(root, "images", name + ".png"))
        ...         Image.fromarray(mask).save(os.path.join(root, "masks", name + ".png"))
        ...     ds = SegmentationFolder(root)
        >>> len(ds), ds.names, ds.num_classes
        (2, ['a', 'b'], 3)
        >>> ds.images.shape, ds.masks.shape
        ((2, 1, 6, 8), (2, 6, 8))
        >>> image, mask = ds[1]
        >>> int(mask.sum()), float(image.max())         # 8 pixels of class 2; grey 200 / 255
        (16, 0.7843137979507446)
    """

    def __init__(self, root, mode: str | None = "L"):
        root = Path(root)
        img_dir, mask_dir = root / "images", root / "masks"
        for d in (img_dir, mask_dir):
            if not d.is_dir():
                raise FileNotFoundError(f"segmentation folder {root}: missing {d.name}/ "
                                        f"(expected {root}/images/<name>.png and {root}/masks/<name>.png)")
        files = sorted(p for p in img_dir.iterdir() if p.suffix.lower() in IMG_EXTENSIONS)
        if not files:
            raise FileNotFoundError(f"segmentation folder {root}: no images in {img_dir}")
        images, masks = [], []
        for f in files:
            mpath = mask_dir / f"{f.stem}.png"
            if not mpath.is_file():
                raise FileNotFoundError(f"segmentation folder {root}: image {f.name} has no mask "
                                        f"(expected {mpath})")
            img = load_image(f, mode=mode)
            mask = read_mask(mpath)
            if img.shape[1:] != mask.shape:
                raise ValueError(f"segmentation folder {root}: image {f.name} is {img.shape[2]}x{img.shape[1]} "
                                 f"(WxH) but its mask {mpath.name} is {mask.shape[1]}x{mask.shape[0]}")
            if images and img.shape != images[0].shape:
                raise ValueError(f"segmentation folder {root}: image {f.name} is {img.shape[2]}x{img.shape[1]} "
                                 f"(WxH, {img.shape[0]} channels) but {files[0].name} is "
                                 f"{images[0].shape[2]}x{images[0].shape[1]} ({images[0].shape[0]} channels): "
                                 f"all images must share one size")
            images.append(img)
            masks.append(mask)
        self.root, self.names = root, [f.stem for f in files]
        self.images = np.stack(images)
        self.masks = np.stack(masks)

    @property
    def num_classes(self) -> int:
        return int(self.masks.max()) + 1

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i):
        return self.images[i], self.masks[i]

    def __repr__(self):
        return f"SegmentationFolder({self.root}, {len(self)} images of {tuple(self.images.shape[1:])})"
