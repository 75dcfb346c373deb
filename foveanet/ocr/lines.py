"""Line images in, model batches out: reading an image file, splitting a page into lines by
its projection profile, normalising a line to the recognizer's height, and the user-data
folder reader (line images + labels.tsv)."""
from __future__ import annotations

import unicodedata
from pathlib import Path

import numpy as np

from foveanet.errors import UserError

__all__ = ["ImageError", "read_gray", "split_lines", "ink_rows", "fit_body", "normalise_line", "batch_lines", "read_folder"]

MODES = ("1", "L", "LA", "P", "RGB", "RGBA", "I;16")
MIN_HEIGHT = 8   # below this a line holds too few rows to scale up to 32 meaningfully


class ImageError(UserError, ValueError):
    """An image the recognizer cannot read: empty, too small, or of an unsupported mode."""


def read_gray(path) -> np.ndarray:
    """An image file as (H, W) uint8 grey, with one-line ImageErrors for what cannot be read."""
    from PIL import Image, UnidentifiedImageError

    p = Path(path)
    if not p.is_file():
        raise ImageError(f"{p}: no such image file")
    try:
        img = Image.open(p)
        img.load()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as e:
        raise ImageError(f"{p}: not an image Pillow can read ({e})") from None
    if img.mode not in MODES:
        raise ImageError(f"{p}: unsupported image mode {img.mode!r}; expected one of {', '.join(MODES)} "
                         "(convert it to greyscale or RGB first)")
    if img.mode == "I;16":
        arr = (np.asarray(img, np.float32) / 257).astype(np.uint8)
    else:
        if img.mode in ("LA", "RGBA", "P"):
            img = img.convert("RGBA")
            white = Image.new("RGBA", img.size, (255, 255, 255, 255))
            img = Image.alpha_composite(white, img)   # transparent means paper
        arr = np.asarray(img.convert("L"), np.uint8)
    return check_line(arr, str(p), min_height=1)


def check_line(img: np.ndarray, where: str, min_height: int = MIN_HEIGHT) -> np.ndarray:
    if img.size == 0:
        raise ImageError(f"{where}: the image is empty ({img.shape[1] if img.ndim > 1 else 0}x{img.shape[0]} pixels)")
    if img.shape[0] < min_height:
        raise ImageError(f"{where}: the line is {img.shape[0]} pixel(s) high; expected at least "
                         f"{min_height} (a text line scanned at a readable size)")
    if int(img.max()) == int(img.min()):
        raise ImageError(f"{where}: the image is blank (every pixel is {int(img.max())}): no text to read")
    return img


def _ink(img: np.ndarray) -> np.ndarray:
    """Ink in [0, 1], dark text on light paper or the reverse (the majority is paper)."""
    x = img.astype(np.float32) / 255
    if np.median(x) < 0.5:
        x = 1 - x   # light text on a dark background
    x = 1 - x
    lo, hi = np.percentile(x, 2), x.max()
    return np.clip((x - lo) / max(hi - lo, 1e-3), 0, 1)


def split_lines(img: np.ndarray, min_gap: int = 2) -> list:
    """A page image -> its text lines, top to bottom, each cropped with a margin, by the
    horizontal projection profile: rows whose ink sum is above 2% of the busiest row are
    text, and a run of at least ``min_gap`` rows below it separates two lines."""
    ink = _ink(img) > 0.5
    profile = ink.sum(axis=1)
    rows = profile > max(1, 0.02 * profile.max())
    lines, start, gap = [], None, 0
    for y, on in enumerate(list(rows) + [False] * min_gap):
        if on:
            start = y if start is None else start
            gap = 0
        elif start is not None:
            gap += 1
            if gap >= min_gap:
                lines.append((start, y - gap + 1))
                start, gap = None, 0
    out = []
    for top, bottom in lines:
        h = bottom - top
        if h < 3:
            continue   # specks, not text
        m = max(2, h // 4)
        band = img[max(0, top - m):bottom + m]
        cols = np.nonzero(ink[top:bottom].any(axis=0))[0]
        left, right = max(0, cols[0] - m), cols[-1] + m + 1
        out.append(band[:, left:right])
    return out


def ink_rows(img: np.ndarray, cut: float = 0.01) -> tuple:
    """(top, bottom) rows of a line's text body, bottom exclusive: the rows between the
    ``cut`` and 1 - ``cut`` quantiles of the row counts of ink pixels (ink above 0.5), so that a speck or a scanner
    edge a few pixels from the text does not stretch the body (a 1% cut drops a 2x2 speck
    beside a 20-pixel-high word of 60 columns)."""
    # thresholded: a scan's grain spreads faint ink over every row and would widen the body
    mass = (_ink(img) > 0.5).sum(axis=1).astype(np.float64)
    cum = np.cumsum(mass) / max(mass.sum(), 1e-9)
    top = int(np.searchsorted(cum, cut, side="right"))
    bottom = int(np.searchsorted(cum, 1 - cut, side="left")) + 1
    return top, max(bottom, top + 1)


def fit_body(img: np.ndarray, body: float) -> np.ndarray:
    """The band of paper around the text body (``ink_rows``) whose height makes the body
    ``body`` of it, centred on the body and padded with the line's paper where it runs past
    the image: after the resize to the model's height every line's body has the same
    pixel height, whatever its face's line spacing or the scan's crop."""
    top, bottom = ink_rows(img)
    want = max(MIN_HEIGHT, round((bottom - top) / body))
    start = (top + bottom - want) // 2
    paper = int(np.median(img))
    above, below = max(0, -start), max(0, start + want - img.shape[0])
    padded = np.pad(img, ((above, below), (0, 0)), constant_values=paper)
    return padded[start + above:start + above + want]


def normalise_line(img: np.ndarray, height: int = 32, where: str = "line", body: float | None = None,
                   widen: float = 1.0) -> np.ndarray:
    """(H, W) uint8 line -> (height, W') float32 ink in [0, 1], aspect ratio kept (times
    ``widen``: W' = W * height / H * widen); with ``body`` (a fraction in (0, 1]) the line is
    first cut or padded so that its text body fills that fraction of the height
    (``fit_body``)."""
    from PIL import Image

    check_line(img, where)
    if body is not None:
        if not 0 < body <= 1:
            raise ValueError(f"body must be a fraction of the line height in (0, 1], got {body}")
        img = fit_body(img, body)
    if img.shape[0] != height or widen != 1.0:
        w = max(4, round(img.shape[1] * height / img.shape[0] * widen))
        img = np.asarray(Image.fromarray(img).resize((w, height), Image.BILINEAR))
    return _ink(img)


def widen(line: np.ndarray, factor: float) -> np.ndarray:
    """A normalised line resized in width by ``factor`` (bilinear), its height kept.

    Example::

        >>> widen(np.zeros((32, 40), np.float32), 1.25).shape
        (32, 50)
    """
    from PIL import Image

    h, w = line.shape
    size = (max(4, round(w * factor)), h)
    return np.asarray(Image.fromarray(line.astype(np.float32), mode="F").resize(size, Image.BILINEAR))


def batch_lines(lines: list, multiple: int = 4):
    """Normalised lines -> ((N, 1, H, Wmax) float32 padded with paper, (N,) frame counts
    ``ceil(W / multiple)``)."""
    h = lines[0].shape[0]
    wmax = -(-max(x.shape[1] for x in lines) // multiple) * multiple
    out = np.zeros((len(lines), 1, h, wmax), np.float32)
    for i, x in enumerate(lines):
        out[i, 0, :, :x.shape[1]] = x
    frames = np.array([-(-x.shape[1] // multiple) for x in lines])
    return out, frames


def read_folder(folder, alphabet) -> tuple:
    """(images, texts) of a user folder: line images and a ``labels.tsv`` of
    ``file<TAB>text`` rows (a header row ``file<TAB>text`` is allowed; texts are NFC
    normalised); one-line errors for a
    missing file, a malformed row or a character outside the alphabet."""
    d = Path(folder)
    tsv = d / "labels.tsv"
    if not tsv.is_file():
        raise UserError(f"{d}: no labels.tsv (expected rows of file<TAB>text beside the line images)")
    try:  # utf-8-sig: a byte-order mark (as spreadsheets write it) is not part of the header
        rows = tsv.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError as e:
        line = tsv.read_bytes()[:e.start].count(b"\n") + 1
        raise UserError(f"{tsv}:{line}: not UTF-8 text ({e.reason}); save labels.tsv as UTF-8") from None
    images, texts = [], []
    for n, row in enumerate(rows, 1):
        if not row.strip() or (n == 1 and row.lower().startswith("file\ttext")):
            continue
        if "\t" not in row:
            raise UserError(f"{tsv}:{n}: expected file<TAB>text, got {row[:60]!r}")
        name, text = row.split("\t", 1)
        text = unicodedata.normalize("NFC", text)   # one spelling per label (alphabet's docstring)
        alphabet.encode(text, where=f"{tsv}:{n}")
        path = d / name
        if not path.is_file():
            raise UserError(f"{tsv}:{n}: image {name} not found in {d}")
        images.append(read_gray(path))
        texts.append(text)
    if not images:
        raise UserError(f"{tsv}: no labelled lines")
    return images, texts
