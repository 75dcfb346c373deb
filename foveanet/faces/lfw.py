"""A face set the way users have one: Labeled Faces in the Wild's folder layout
(``root/person/image.jpg``, LFW names them ``Person_Name_0001.jpg``) and its ``pairs.txt``.

pairs.txt (LFW's View 1 and View 2 files): an optional header of integers (``10 300``: folds
and pairs per fold; or one count), then one pair per line, fields separated by tabs or
spaces:

    name      n1   n2          a same-person pair:       name/name_000n1.jpg, name/name_000n2.jpg
    name1     n1   name2  n2   a different-person pair
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from foveanet.errors import UserError

__all__ = ["PairsError", "LFWFolder", "read_pairs", "lfw_image_path"]

EXTENSIONS = (".jpg", ".jpeg", ".png", ".pgm", ".bmp", ".tif", ".tiff")


class PairsError(UserError, ValueError):
    """A pairs file that cannot be used: a malformed line, or images it names that are missing."""


def lfw_image_path(root, name: str, number: int) -> Path:
    """``root/name/name_%04d.jpg``, LFW's file name for a person's ``number``-th image."""
    return Path(root) / name / f"{name}_{number:04d}.jpg"


class LFWFolder:
    """People as sub-folders of ``root``, their images inside; every image read grey and
    fitted to ``size`` x ``size`` (the shorter side scaled to ``size``, the centre cut out).

    Args:
        root: the folder.
        size: the side the images are fitted to (default 28, the embedding CNN's input).
        crop: the central share of each image kept before fitting (default 1: all; LFW's
            250x250 photos hold the face in about the central 0.5).

    Raises:
        UserError: a missing folder, or one with no person sub-folder holding an image.

    Example::

        >>> import os, tempfile
        >>> from PIL import Image
        >>> from foveanet.faces import LFWFolder
        >>> with tempfile.TemporaryDirectory() as root:
        ...     for person in ("Ann", "Bob"):
        ...         os.mkdir(os.path.join(root, person))
        ...         for k in (1, 2):
        ...             Image.new("L", (50, 40)).save(os.path.join(root, person, f"{person}_{k:04d}.jpg"))
        ...     x, y = LFWFolder(root, size=16).load_all()
        >>> x.shape, y.tolist()
        ((4, 16, 16), [0, 0, 1, 1])
    """

    def __init__(self, root, size: int = 28, crop: float = 1.0):
        self.root, self.size, self.crop = Path(root), int(size), float(crop)
        if not self.root.is_dir():
            raise UserError(f"no face folder at {self.root} (expected ROOT/person/image.jpg)")
        self.files = {}
        for d in sorted(p for p in self.root.iterdir() if p.is_dir()):
            imgs = sorted(f for f in d.iterdir() if f.suffix.lower() in EXTENSIONS and f.is_file())
            if imgs:
                self.files[d.name] = imgs
        if not self.files:
            raise UserError(f"{self.root}: no person folder with images ({', '.join(EXTENSIONS)}) in it; "
                            "expected ROOT/person/image.jpg")
        self.identities = list(self.files)

    def images_of(self, person: str) -> list[Path]:
        """The image files of one person."""
        return self.files[person]

    def __len__(self) -> int:
        return sum(len(v) for v in self.files.values())

    def load(self, path) -> np.ndarray:
        """One image file as (size, size) float32 grey in [0, 1] (8- or 16-bit, grey or colour)."""
        from foveanet.faces.image import fit_square, read_photo

        g = read_photo(path)
        if self.crop < 1:
            h, w = g.shape
            ch, cw = max(1, round(h * self.crop)), max(1, round(w * self.crop))
            g = g[(h - ch) // 2:(h - ch) // 2 + ch, (w - cw) // 2:(w - cw) // 2 + cw]
        return fit_square(g, self.size)

    def load_all(self) -> tuple[np.ndarray, np.ndarray]:
        """(images (N, size, size), identity index (N,) into ``identities``)."""
        x, y = [], []
        for i, person in enumerate(self.identities):
            for f in self.files[person]:
                x.append(self.load(f))
                y.append(i)
        return np.stack(x).astype(np.float32), np.array(y, np.int64)


def _ints(fields) -> bool:
    return all(f.lstrip("-").isdigit() for f in fields)


def read_pairs(path, root=None, check: bool = True) -> list[tuple[Path, Path, bool]]:
    """The pairs of an LFW ``pairs.txt``: (image a, image b, same person) per line.

    Args:
        path: the pairs file.
        root: the image folder (default: the pairs file's folder).
        check: raise when an image a pair names does not exist (default True).

    Raises:
        PairsError: a line that is neither 3 nor 4 fields (naming the line), or missing
            images (the first few named, and how many).

    Example::

        >>> import os, tempfile
        >>> from foveanet.faces import read_pairs
        >>> with tempfile.TemporaryDirectory() as root:
        ...     with open(os.path.join(root, "pairs.txt"), "w") as f:
        ...         _ = f.write("1 2\\nAnn 1 2\\nAnn 1 Bob 3\\n")
        ...     pairs = read_pairs(os.path.join(root, "pairs.txt"), check=False)
        >>> [(a.name, b.name, same) for a, b, same in pairs]
        [('Ann_0001.jpg', 'Ann_0002.jpg', True), ('Ann_0001.jpg', 'Bob_0003.jpg', False)]
    """
    path = Path(path)
    if not path.is_file():
        raise PairsError(f"no pairs file at {path}")
    root = path.parent if root is None else Path(root)
    pairs, first = [], True
    for no, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        f = line.split()
        if not f:
            continue
        if first and len(f) <= 2 and _ints(f):    # the header: folds and pairs per fold
            first = False
            continue
        first = False
        try:
            if len(f) == 3:
                pairs.append((lfw_image_path(root, f[0], int(f[1])), lfw_image_path(root, f[0], int(f[2])), True))
            elif len(f) == 4:
                pairs.append((lfw_image_path(root, f[0], int(f[1])), lfw_image_path(root, f[2], int(f[3])), False))
            else:
                raise ValueError
        except ValueError:
            raise PairsError(f"{path}, line {no}: expected 'name n1 n2' (same person) or "
                             f"'name1 n1 name2 n2' (different people), got {line.strip()!r}") from None
    if not pairs:
        raise PairsError(f"{path}: no pairs in it")
    if check:
        missing = sorted({str(p) for a, b, _ in pairs for p in (a, b) if not p.is_file()})
        if missing:
            raise PairsError(f"{path}: {len(missing)} image(s) named in the pairs are missing under {root}, "
                             f"e.g. {', '.join(missing[:3])}")
    return pairs
