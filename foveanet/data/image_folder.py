"""ImageFolder: ``root/<class>/<image>`` read once into one uint8 array in memory.

Folders users bring to a NumPy framework are small enough to hold decoded (10,000 RGB
images of 64x64 are 120 MB), and holding them lets the DataLoader batch by fancy
indexing instead of decoding files every epoch.  Pillow is imported lazily: it is an
optional dependency (``pip install foveanet[vision]``).
"""
from __future__ import annotations

import os
import warnings
from numbers import Number
from pathlib import Path

import numpy as np

from foveanet.data.dataset import _UInt8ImageDataset
from foveanet.errors import UserError

IMG_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")
_GREY_MODES = ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F")


# what Pillow raises on damaged files, as its own fuzz tests list them (Tests/oss-fuzz), and
# Image.DecompressionBombError beyond twice Image.MAX_IMAGE_PIXELS
_PIL_ERRORS = (OSError, SyntaxError, ValueError, NotImplementedError, OverflowError)
# A header may declare this many pixels whatever the file's size (a 2048x2048 image)...
_PIXELS_FREE = 1 << 22
# ...and more only with a byte per this many: deflate (PNG) and LZW (GIF) stop near 1,000 to
# 3,000 pixels a byte and JPEG far below; only a blank image made to be tiny gets past it
_PIXELS_PER_BYTE = 1 << 14


class ImageFileError(UserError, ValueError):
    """A file ``load_image`` cannot read as an image: no format Pillow knows, damaged or
    truncated data, or more pixels than the file could hold; the message names the file.

    A ``ValueError`` too, so that code catching that keeps working.

    Example::

        >>> import os, tempfile
        >>> from foveanet.data.image_folder import ImageFileError
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     path = os.path.join(tmp, "cat.png")
        ...     with open(path, "wb") as f:
        ...         _ = f.write(b"not a picture")
        ...     try:
        ...         fn.data.load_image(path)
        ...     except ImageFileError as e:
        ...         print(str(e)[:18], os.path.basename(str(e).split(": ")[0]))
        cannot read image  cat.png
    """


def _pil():
    try:
        from PIL import Image, ImageOps
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("reading images needs Pillow: pip install pillow (or foveanet[vision])") from None
    return Image, ImageOps


def _size_pair(size):
    if size is None:
        return None
    if isinstance(size, Number):
        return int(size), int(size)
    h, w = size
    return int(h), int(w)


def _is_colour(im) -> bool:
    if im.mode in _GREY_MODES:
        return False
    if im.mode in ("P", "PA"):
        # a palette image is grey when every palette entry has r == g == b
        pal = np.asarray(im.getpalette() or [], dtype=np.int64).reshape(-1, 3)
        return bool(len(pal)) and not np.all((pal[:, 0] == pal[:, 1]) & (pal[:, 1] == pal[:, 2]))
    return True


def _decode(im, mode: str, size, fit: str = "stretch") -> np.ndarray:
    """An opened PIL image -> uint8 (C, H, W) in ``mode`` ('L' or 'RGB'), resized to size
    (``fit``: see ``load_image``)."""
    Image, ImageOps = _pil()
    im = ImageOps.exif_transpose(im)  # phone photos store their rotation in EXIF
    if im.mode.startswith("I;16") or im.mode in ("I", "F"):
        # Pillow's I->L conversion clips at 255 instead of rescaling 16-bit data
        a = np.asarray(im, dtype=np.float64)
        top = 65535.0 if im.mode.startswith("I;16") or a.max() > 255 else 255.0
        im = Image.fromarray(np.clip(a * (255.0 / top), 0, 255).astype(np.uint8), "L")
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        # transparent pixels become white, not whatever colour they happen to store
        im = im.convert("RGBA")
        bg = Image.new("RGBA", im.size, (255, 255, 255, 255))
        im = Image.alpha_composite(bg, im)
    im = im.convert(mode)
    if size is not None and (im.height, im.width) != size:
        if fit == "pad":
            return _fit_and_pad(im, size)
        im = im.resize((size[1], size[0]), Image.BILINEAR)
    return _chw(im)


def _chw(im) -> np.ndarray:
    a = np.asarray(im, dtype=np.uint8)
    return a[None] if a.ndim == 2 else a.transpose(2, 0, 1)


def border_pixels(a: np.ndarray) -> np.ndarray:
    """The one-pixel frame of a (C, H, W) image as (C, 2H + 2W - 4) (every edge pixel once)."""
    if a.shape[1] < 3 or a.shape[2] < 3:
        return a.reshape(a.shape[0], -1)
    return np.concatenate([a[:, 0, :], a[:, -1, :], a[:, 1:-1, 0], a[:, 1:-1, -1]], axis=1)


def _fit_and_pad(im, size) -> np.ndarray:
    """Scale ``im`` to fit inside ``size`` = (h, w), aspect kept, centred on a canvas of its
    own border colour."""
    Image, _ = _pil()
    h, w = size
    scale = min(h / im.height, w / im.width)
    nh, nw = max(1, min(h, round(im.height * scale))), max(1, min(w, round(im.width * scale)))
    small = _chw(im.resize((nw, nh), Image.BILINEAR))
    fill = np.median(border_pixels(small), axis=1).round().astype(np.uint8)
    out = np.empty((small.shape[0], h, w), np.uint8)
    out[...] = fill[:, None, None]
    top, left = (h - nh) // 2, (w - nw) // 2
    out[:, top:top + nh, left:left + nw] = small
    return out


def load_image(path, mode: str | None = None, size=None, fit: str = "stretch") -> np.ndarray:
    """Read one image file as a float32 (C, H, W) array in [0, 1].

    The EXIF rotation of phone photos is applied, transparent pixels become white and 16-bit
    grey images are rescaled to 8 bits before the conversion to ``mode``. Needs Pillow.

    Args:
        path: the image file (any format Pillow reads).
        mode: ``'L'`` (grey, 1 channel), ``'RGB'`` (3 channels), or None (grey images stay
            1-channel, anything else becomes RGB) (default None).
        size: resize to this: None (keep), an int (square) or (h, w) (default None).
        fit: how an image of another aspect ratio meets ``size``: ``'stretch'`` resizes each
            side on its own (the shape distorts), ``'pad'`` scales the whole image to fit
            inside ``size`` and pads the rest with the image's own border colour (the median
            of its edge pixels), as a photo of one object on a plain background should be
            read (default ``'stretch'``).

    Returns:
        ndarray: float32 (C, H, W), values in [0, 1].

    Raises:
        ImageFileError: (a ``ValueError``) naming the file, when Pillow cannot read it, or
            when its header declares more pixels than the file's size allows (more than 4
            megapixels and more than 16,384 pixels per byte of file, which only a blank
            image made to be tiny reaches) or than Pillow's decompression-bomb limit.

    Example::

        >>> import os, tempfile
        >>> from PIL import Image
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     path = os.path.join(tmp, "red.png")
        ...     Image.new("RGB", (6, 4), (255, 0, 0)).save(path)     # 6 wide, 4 high
        ...     rgb = fn.data.load_image(path)
        ...     grey = fn.data.load_image(path, mode="L", size=2)
        >>> rgb.shape, rgb[:, 0, 0]
        ((3, 4, 6), array([1., 0., 0.], dtype=float32))
        >>> grey.shape, round(float(grey[0, 0, 0]) * 255)           # L = 0.299 R + ...
        ((1, 2, 2), 76)
    """
    if fit not in ("stretch", "pad"):
        raise ValueError(f"load_image: fit must be 'stretch' or 'pad', got {fit!r}")
    Image, _ = _pil()
    path = Path(path)
    try:
        with Image.open(path) as im:
            _check_pixels(im, path)
            if mode is None:
                mode = "RGB" if _is_colour(im) else "L"
            a = _decode(im, mode, _size_pair(size), fit)
    except (*_PIL_ERRORS, Image.DecompressionBombError) as e:
        raise ImageFileError(f"cannot read image {path}: {e}") from None
    return a.astype(np.float32) * np.float32(1 / 255)


def _check_pixels(im, path) -> None:
    """Refuse a header that declares far more pixels than the file could encode, before
    Pillow allocates them: a 1 KB file must not decode into gigabytes. (A ValueError that
    load_image words as an ImageFileError.)"""
    w, h = im.size
    size = os.path.getsize(path)
    limit = max(_PIXELS_FREE, _PIXELS_PER_BYTE * size)
    if w * h > limit:
        raise ValueError(f"its header declares {w}x{h} = {w * h} pixels, more than a {size}-byte "
                         f"file holds (at most {limit}); the file is damaged or crafted")


class ImageFolder(_UInt8ImageDataset):
    """The images in ``root/<class name>/`` as a dataset held in memory, classes sorted by name.

    ``ds[i]`` is (float32 (C, H, W) in [0, 1], class index). Images in subfolders of a class
    folder belong to that class; hidden files and folders are left out. Needs Pillow.

    Args:
        root: the folder holding one folder per class.
        transform: applied to each image ``ds[i]`` returns (default None).
        target_transform: applied to each class index (default None).
        size: resize every image to (h, w) (an int: square); needed when sizes differ
            (default None).
        mode: ``'L'``, ``'RGB'``, or None (RGB if any image has colour, else L) (default None).
        on_error: ``'skip'`` unreadable images (a warning gives the count) or ``'raise'``
            (default ``'skip'``).
        extensions: the file suffixes read as images (default :data:`IMG_EXTENSIONS`).

    Attributes:
        images: uint8 (N, C, H, W) (also as ``data``).
        targets: int64 (N,) class indices.
        classes: the class folder names, sorted.
        class_to_idx: class name -> index.
        samples: [(path, class index)] of the images read.
        skipped: [(path, reason)] of the images that could not be read.

    Example::

        >>> import os, tempfile
        >>> from PIL import Image
        >>> with tempfile.TemporaryDirectory() as root:
        ...     for name, grey in (("cat", 0), ("dog", 255)):
        ...         os.mkdir(os.path.join(root, name))
        ...         Image.new("L", (6, 4), grey).save(os.path.join(root, name, "a.png"))
        ...     ds = fn.data.ImageFolder(root)
        >>> ds.classes, len(ds), ds.images.shape
        (['cat', 'dog'], 2, (2, 1, 4, 6))
        >>> image, label = ds[1]
        >>> float(image.mean()), label                 # the white dog
        (1.0, 1)
    """

    def __init__(self, root, transform=None, target_transform=None, size=None, mode=None,
                 on_error: str = "skip", extensions=IMG_EXTENSIONS):
        if mode not in (None, "L", "RGB"):
            raise ValueError(f"ImageFolder: mode must be 'L', 'RGB' or None, got {mode!r}")
        if on_error not in ("skip", "raise"):
            raise ValueError(f"ImageFolder: on_error must be 'skip' or 'raise', got {on_error!r}")
        self.root = Path(root).expanduser()
        self.transform, self.target_transform = transform, target_transform
        self.extensions = tuple(e.lower() for e in extensions)
        self.size = _size_pair(size)
        self.skipped: list[tuple[str, str]] = []
        self.classes, files = self._scan()
        self.class_to_idx = {c: i for i, c in enumerate(self.classes)}
        self._load(files, mode, on_error)

    def _scan(self):
        if not self.root.is_dir():
            raise FileNotFoundError(f"ImageFolder: {self.root} is not a directory")
        classes = sorted(e.name for e in os.scandir(self.root) if e.is_dir() and not e.name.startswith("."))
        if not classes:
            raise ValueError(f"ImageFolder: no class folders in {self.root}: expected {self.root}/<class>/<image>")
        files, empty = [], []
        for ci, c in enumerate(classes):
            found = sorted(p for p in (self.root / c).rglob("*")
                           if p.suffix.lower() in self.extensions and p.is_file()
                           and not any(part.startswith(".") for part in p.relative_to(self.root).parts))
            if not found:
                empty.append(c)
            files += [(p, ci) for p in found]
        if empty:
            raise ValueError(f"ImageFolder: no images ({', '.join(self.extensions)}) in the class "
                             f"folder(s) {', '.join(empty)} under {self.root}; remove them or add images")
        return classes, files

    def _fail(self, path, reason, on_error):
        if on_error == "raise":
            raise ValueError(f"ImageFolder: cannot read image {path}: {reason}")
        self.skipped.append((str(path), reason))

    def _load(self, files, mode, on_error):
        Image, _ = _pil()
        # pass 1 reads headers only: the mode and size checks need all images, decoding
        # happens once we know the target array's shape
        headers = []
        for path, ci in files:
            try:
                with Image.open(path) as im:
                    hw = (im.height, im.width)
                    if im.getexif().get(0x0112) in (5, 6, 7, 8):  # EXIF orientation: rotated 90
                        hw = hw[::-1]
                    headers.append((path, ci, _is_colour(im), hw))
            except (OSError, ValueError, SyntaxError) as e:
                self._fail(path, str(e) or type(e).__name__, on_error)
        if mode is None:
            mode = "RGB" if any(h[2] for h in headers) else "L"
        self.mode = mode
        size = self.size
        if size is None:
            sizes = {}
            for path, _, _, hw in headers:
                sizes.setdefault(hw, path)
            if len(sizes) > 1:
                (s1, p1), (s2, p2) = list(sizes.items())[:2]
                raise ValueError(f"ImageFolder: images under {self.root} have different sizes ({len(sizes)} "
                                 f"in all), e.g. {p1} is {s1[0]}x{s1[1]} and {p2} is {s2[0]}x{s2[1]} (HxW); "
                                 f"pass size=(h, w) (or size=n for n x n) to resize them all")
            size = next(iter(sizes), None)
        channels = 3 if mode == "RGB" else 1
        images = np.empty((len(headers), channels) + (size or (0, 0)), dtype=np.uint8)
        samples, n = [], 0
        for path, ci, _, _ in headers:
            try:
                with Image.open(path) as im:
                    images[n] = _decode(im, mode, size)
            except (OSError, ValueError, SyntaxError) as e:  # header fine, pixel data broken
                self._fail(path, str(e) or type(e).__name__, on_error)
                continue
            samples.append((str(path), ci))
            n += 1
        if self.skipped:
            names = ", ".join(Path(p).name for p, _ in self.skipped[:5])
            more = f" and {len(self.skipped) - 5} more" if len(self.skipped) > 5 else ""
            warnings.warn(f"ImageFolder: skipped {len(self.skipped)} unreadable image(s) under {self.root}: "
                          f"{names}{more} (see .skipped for the reasons)", stacklevel=3)
        if n == 0:
            raise ValueError(f"ImageFolder: none of the {len(files)} image files under {self.root} could be read")
        self.images = images[:n] if n < len(images) else images
        self.samples = samples
        self.targets = np.asarray([ci for _, ci in samples], dtype=np.int64)

    @property
    def data(self) -> np.ndarray:
        return self.images

    def _nchw(self) -> np.ndarray:
        return self.images

    def __repr__(self):
        c, h, w = self.images.shape[1:]
        return (f"ImageFolder({self.root}, {len(self)} images {c}x{h}x{w}, {len(self.classes)} classes"
                f"{f', {len(self.skipped)} skipped' if self.skipped else ''})")
