"""Photos in and out for the face tools: any image a user has, as grey float32 in [0, 1]."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from foveanet.data.image_folder import ImageFileError

__all__ = ["read_photo", "to_grey", "resize", "fit_square"]


def to_grey(img: np.ndarray) -> np.ndarray:
    """(H, W) float32 in [0, 1] from a grey, RGB(A), 8- or 16-bit or float array (ITU-R 601
    luma, as Pillow's ``L``)."""
    a = np.asarray(img)
    if a.dtype == np.uint8:
        a = a.astype(np.float32) / 255
    elif a.dtype == np.uint16:
        a = a.astype(np.float32) / 65535
    elif a.dtype.kind in "iu":
        top = max(float(a.max()), 1.0)
        a = a.astype(np.float32) / top
    else:
        a = a.astype(np.float32)
    if a.ndim == 3:
        if a.shape[2] == 4:
            a = a[..., :3]
        if a.shape[2] != 3:
            raise ImageFileError(f"expected a grey (H, W) or colour (H, W, 3/4) image, got shape {a.shape}")
        a = a @ np.array([0.299, 0.587, 0.114], np.float32)
    elif a.ndim != 2:
        raise ImageFileError(f"expected a grey (H, W) or colour (H, W, 3/4) image, got shape {a.shape}")
    return np.clip(a, 0, 1).astype(np.float32)


def resize(img: np.ndarray, factor: float) -> np.ndarray:
    """The grey image scaled by ``factor`` (area-averaged when shrinking, Pillow's box filter
    then bilinear), float32."""
    from PIL import Image

    h, w = img.shape
    size = (max(1, round(w * factor)), max(1, round(h * factor)))
    im = Image.fromarray(img.astype(np.float32), mode="F")
    return np.asarray(im.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0), np.float32)


def read_photo(path) -> np.ndarray:
    """A photo file as grey (H, W) float32 in [0, 1]: 8-bit, 16-bit (``I;16``, ``I``), grey,
    palette, RGB or RGBA.

    Raises:
        ImageFileError: a missing or unreadable file, naming it.

    Example::

        >>> import os, tempfile
        >>> from PIL import Image
        >>> from foveanet.faces import read_photo
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     path = os.path.join(tmp, "sixteen.png")
        ...     Image.fromarray(np.full((4, 6), 65535, np.uint16)).save(path)   # 16-bit white
        ...     g = read_photo(path)
        >>> g.shape, g.dtype, float(g.max())
        ((4, 6), dtype('float32'), 1.0)
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise ImageFileError(f"no image file at {path}")
    try:
        with Image.open(path) as im:
            mode = im.mode
            if mode.startswith("I;16"):
                return np.asarray(im, np.float32) / 65535
            if mode == "I":   # 16-bit PNGs open as 32-bit integers: a value over 255 says 16-bit
                a = np.asarray(im, np.int64)
                return np.clip(a.astype(np.float32) / (65535 if a.max() > 255 else 255), 0, 1)
            if mode == "F":
                a = np.asarray(im, np.float32)
                return np.clip(a / max(float(a.max()), 1.0), 0, 1)
            return to_grey(np.asarray(im.convert("RGB") if mode not in ("L", "RGB") else im))
    except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError) as e:
        raise ImageFileError(f"cannot read image {path}: {e}") from None


def fit_square(img: np.ndarray, side: int) -> np.ndarray:
    """The grey image scaled so its shorter side is ``side``, then its centre ``side`` x
    ``side`` cut out."""
    h, w = img.shape
    out = resize(img, side / min(h, w))
    y0, x0 = max(0, (out.shape[0] - side) // 2), max(0, (out.shape[1] - side) // 2)
    out = out[y0:y0 + side, x0:x0 + side]
    if out.shape != (side, side):   # rounding left a row or column short
        out = np.pad(out, ((0, side - out.shape[0]), (0, side - out.shape[1])), mode="edge")
    return out
