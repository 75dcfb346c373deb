"""MNIST and Fashion-MNIST: found on disk, or downloaded once with checksums.

Where the four IDX files are looked for, in order:
  1. ``root`` (and ``root/<name>``, ``root/<TorchvisionName>/raw``) when given
  2. ``$FOVEANET_DATA/<name>``
  3. ``~/.cache/foveanet/<name>``
  4. the Debian package's copy (``apt-get install dataset-fashion-mnist``; Fashion only)
  5. a download from the official location into ``~/.cache/foveanet/<name>``

Downloads are verified against the MD5 sums the dataset authors publish before being
renamed into place, so an interrupted or tampered download never becomes the dataset.
Files found on disk are trusted after a format check (shape, dtype, label range); use
``verify_checksums`` to check a directory explicitly.
"""
from __future__ import annotations

import gzip
import hashlib
import http.client
import os
import sys
import tempfile
import urllib.request
from pathlib import Path

import numpy as np

from foveanet.data.dataset import _UInt8ImageDataset
from foveanet.data.idx import GZIP_MAGIC, read_idx
from foveanet.errors import UserError

_SPLIT_FILES = {
    True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}

# URLError and timeouts are OSErrors; a connection dropped mid-body is an HTTPException
_NETWORK_ERRORS = (OSError, http.client.HTTPException)


class DatasetNotFoundError(UserError, FileNotFoundError):
    """The dataset is on none of the searched paths and could not be downloaded.

    The message lists the directories searched and the ways to fix it. A
    ``FileNotFoundError``, and a ``foveanet.errors.UserError``: the ``foveanet`` command
    prints its text without a traceback.

    Example::

        >>> from foveanet.errors import UserError
        >>> issubclass(fn.data.DatasetNotFoundError, FileNotFoundError)
        True
        >>> issubclass(fn.data.DatasetNotFoundError, UserError)
        True
    """


class ChecksumError(UserError, ValueError):
    """A downloaded file does not have the published checksum (it is discarded, not used).

    A ``ValueError``, and a ``foveanet.errors.UserError``: the ``foveanet`` command prints
    its text without a traceback. To check files already on disk, use the dataset class's
    ``verify_checksums(directory)``.

    Example::

        >>> from foveanet.errors import UserError
        >>> issubclass(fn.data.ChecksumError, ValueError)
        True
        >>> issubclass(fn.data.ChecksumError, UserError)
        True
    """


def cache_dir(name: str) -> Path:
    return Path.home() / ".cache" / "foveanet" / name


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


class _IDXImageDataset(_UInt8ImageDataset):
    """The shared machinery; subclasses name the dataset, its files and checksums."""

    name: str = ""
    torchvision_name: str = ""
    mirrors: tuple = ()
    # md5 of the .gz files as published, and of their decompressed content: the second
    # also recognises re-compressed copies (Debian's .gz bytes differ from upstream's)
    md5_gz: dict = {}
    md5_raw: dict = {}
    system_dirs: tuple = ()
    classes: list = []
    download_timeout: float = 60.0  # seconds without progress before giving up

    def __init__(self, root=None, train: bool = True, transform=None, target_transform=None,
                 download: bool = True):
        self.root = None if root is None else Path(root).expanduser()
        self.train = bool(train)
        self.transform = transform
        self.target_transform = target_transform
        img_name, lbl_name = _SPLIT_FILES[self.train]
        directory = self._find(download)
        self.directory = directory
        images = read_idx(_existing(directory, img_name))
        labels = read_idx(_existing(directory, lbl_name))
        self._check(images, labels, directory)
        self.data = images                       # (N, 28, 28) uint8
        self.targets = labels.astype(np.int64)   # (N,) int64
        self.class_to_idx = {c: i for i, c in enumerate(self.classes)}

    # ------------------------------------------------------------------ lookup
    def search_dirs(self) -> list[Path]:
        dirs = []
        if self.root is not None:
            dirs += [self.root, self.root / self.name, self.root / self.torchvision_name / "raw"]
        env = os.environ.get("FOVEANET_DATA")
        if env:
            dirs.append(Path(env).expanduser() / self.name)
        dirs.append(cache_dir(self.name))
        dirs += [Path(d) for d in self.system_dirs]
        return dirs

    def _find(self, download: bool) -> Path:
        wanted = _SPLIT_FILES[self.train]
        searched = self.search_dirs()
        for d in searched:
            if all(_existing(d, f) is not None for f in wanted):
                return d
        failure = "download=False"
        if download:
            try:
                return self.download()
            except _NETWORK_ERRORS as e:
                failure = f"download failed: {e}"
        raise DatasetNotFoundError(self._not_found_message(searched, failure))

    def _not_found_message(self, searched, failure) -> str:
        cache = cache_dir(self.name)
        files = ", ".join(f + ".gz" for f in self.md5_gz)
        lines = [f"{type(self).__name__}: the {'train' if self.train else 'test'} files were not found "
                 f"and could not be fetched ({failure}).", "Searched:"]
        lines += [f"  {d}" for d in searched]
        lines.append("To fix, do one of:")
        if self.system_dirs:
            lines.append(f"  sudo apt-get install dataset-fashion-mnist   (installs to {self.system_dirs[0]})")
        lines.append(f"  put the 4 files ({files}) in {cache}")
        lines.append(f"    e.g. mkdir -p {cache} && cd {cache} && "
                     + " && ".join(f"wget {self.mirrors[0]}{f}.gz" for f in self.md5_gz))
        lines.append("  or set FOVEANET_DATA=/some/dir with the files in /some/dir/" + self.name)
        return "\n".join(lines)

    # ---------------------------------------------------------------- download
    def download(self) -> Path:
        """Fetch the 4 files into the cache directory (skipping ones already there)."""
        target = cache_dir(self.name)
        target.mkdir(parents=True, exist_ok=True)
        for fname in self.md5_gz:
            if _existing(target, fname) is not None:
                continue
            errors = []
            for base in self.mirrors:
                url = base + fname + ".gz"
                try:
                    _download(url, target / (fname + ".gz"), self.md5_gz[fname], self.download_timeout)
                    break
                except _NETWORK_ERRORS as e:
                    errors.append(f"{url}: {getattr(e, 'reason', e)}")
            else:
                raise OSError("; ".join(errors) or "no mirror configured")
        return target

    # ----------------------------------------------------------------- checks
    def _check(self, images, labels, directory):
        where = f"{type(self).__name__} files in {directory}"
        if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28):
            raise ValueError(f"{where}: images should be uint8 (N, 28, 28), got {images.dtype} {images.shape}")
        if labels.ndim != 1 or len(labels) != len(images):
            raise ValueError(f"{where}: {len(images)} images but labels of shape {labels.shape}")
        if labels.size and int(labels.max()) >= len(self.classes):
            raise ValueError(f"{where}: label {int(labels.max())} out of range for {len(self.classes)} classes")

    @classmethod
    def verify_checksums(cls, directory) -> dict:
        """{file name: True/False/None (missing)} for the 4 files in ``directory``: a file
        passes when its .gz bytes or its decompressed content have the published MD5."""
        out = {}
        for fname in cls.md5_gz:
            path = _existing(Path(directory), fname)
            if path is None:
                out[fname] = None
                continue
            blob = path.read_bytes()
            raw = gzip.decompress(blob) if blob[:2] == GZIP_MAGIC else blob
            out[fname] = _md5(blob) == cls.md5_gz[fname] or _md5(raw) == cls.md5_raw.get(fname)
        return out

    # ---------------------------------------------------------------- access
    def _nchw(self) -> np.ndarray:
        """``data`` (N, 28, 28) viewed as (N, 1, 28, 28): ``ds[i]`` is (1, 28, 28) float32."""
        return self.data[:, None]

    def __repr__(self):
        return (f"{type(self).__name__}({'train' if self.train else 'test'}, {len(self)} images, "
                f"from {self.directory})")


class FashionMNIST(_IDXImageDataset):
    """Zalando's Fashion-MNIST: 70,000 28x28 grey images of 10 kinds of clothing.

    60,000 training and 10,000 test images, found on disk or downloaded once (the module
    docstring lists where it looks), read into memory as ``data`` (N, 28, 28) uint8 and
    ``targets`` (N,) int64. ``ds[i]`` is (float32 (1, 28, 28) in [0, 1], class index).

    Args:
        root: a directory to look in first (also ``root/fashion-mnist`` and torchvision's
            ``root/FashionMNIST/raw``) (default None).
        train: the training split, else the test split (default True).
        transform: applied to each image ``ds[i]`` returns (default None).
        target_transform: applied to each class index (default None).
        download: fetch the files when no copy is found (default True).

    Attributes:
        classes: the 10 class names, ``'T-shirt/top'`` to ``'Ankle boot'``.
        class_to_idx: class name -> index.
        directory: where the files were found.

    Raises:
        DatasetNotFoundError: no copy found and none downloaded.

    Example::

        >>> import os, tempfile
        >>> images = np.zeros((2, 28, 28), np.uint8)
        >>> images[1] = 255
        >>> with tempfile.TemporaryDirectory() as root:           # a 2-image stand-in
        ...     _ = fn.data.write_idx(os.path.join(root, "t10k-images-idx3-ubyte"), images)
        ...     _ = fn.data.write_idx(os.path.join(root, "t10k-labels-idx1-ubyte"),
        ...                           np.array([9, 0], np.uint8))
        ...     ds = fn.data.FashionMNIST(root, train=False, download=False)
        >>> len(ds), ds.classes[ds.targets[0]]
        (2, 'Ankle boot')
        >>> image, label = ds[1]
        >>> image.shape, float(image.max()), label
        ((1, 28, 28), 1.0, 0)
    """

    name = "fashion-mnist"
    torchvision_name = "FashionMNIST"
    mirrors = ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",)
    md5_gz = {  # published in the dataset's README
        "train-images-idx3-ubyte": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte": "25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte": "bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte": "bb300cfdad3c16e7a12a480ee83cd310",
    }
    md5_raw = {
        "train-images-idx3-ubyte": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
        "train-labels-idx1-ubyte": "9018921c3c673c538a1fc5bad174d6f9",
        "t10k-images-idx3-ubyte": "8181f5470baa50b63fa0f6fddb340f0a",
        "t10k-labels-idx1-ubyte": "15d484375f8d13e6eb1aabb0c3f46965",
    }
    system_dirs = ("/usr/share/datasets/fashion-mnist",)
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


class MNIST(_IDXImageDataset):
    """LeCun, Cortes and Burges' handwritten digits: 70,000 28x28 grey images.

    60,000 training and 10,000 test images, found on disk or downloaded once (the module
    docstring lists where it looks), read into memory as ``data`` (N, 28, 28) uint8 and
    ``targets`` (N,) int64. ``ds[i]`` is (float32 (1, 28, 28) in [0, 1], class index).

    Args:
        root: a directory to look in first (also ``root/mnist`` and torchvision's
            ``root/MNIST/raw``) (default None).
        train: the training split, else the test split (default True).
        transform: applied to each image ``ds[i]`` returns (default None).
        target_transform: applied to each class index (default None).
        download: fetch the files when no copy is found (default True).

    Attributes:
        classes: ``'0 - zero'`` to ``'9 - nine'``, as torchvision names them.
        class_to_idx: class name -> index.
        directory: where the files were found.

    Raises:
        DatasetNotFoundError: no copy found and none downloaded.

    Example::

        >>> import os, tempfile
        >>> with tempfile.TemporaryDirectory() as root:           # a 3-image stand-in
        ...     _ = fn.data.write_idx(os.path.join(root, "train-images-idx3-ubyte.gz"),
        ...                           np.full((3, 28, 28), 51, np.uint8))
        ...     _ = fn.data.write_idx(os.path.join(root, "train-labels-idx1-ubyte.gz"),
        ...                           np.array([7, 2, 7], np.uint8))
        ...     ds = fn.data.MNIST(root, download=False)
        >>> len(ds), ds.targets, ds.classes[7]
        (3, array([7, 2, 7]), '7 - seven')
        >>> round(float(ds[0][0][0, 0, 0]), 6)                  # 51 / 255
        0.2
    """

    name = "mnist"
    torchvision_name = "MNIST"
    # yann.lecun.com no longer serves the files reliably; this is the PyTorch project's copy
    mirrors = ("https://ossci-datasets.s3.amazonaws.com/mnist/",)
    md5_gz = {
        "train-images-idx3-ubyte": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte": "ec29112dd5afa0611ce80d1b7f02629c",
    }
    md5_raw = {
        "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
        "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
        "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
        "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
    }
    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four",
               "5 - five", "6 - six", "7 - seven", "8 - eight", "9 - nine"]


def _existing(directory: Path, fname: str) -> Path | None:
    for cand in (directory / (fname + ".gz"), directory / fname):
        if cand.is_file():
            return cand
    return None


def _download(url: str, dest: Path, md5: str, timeout: float) -> None:
    """Stream ``url`` into a temp file beside ``dest``, check its MD5, then rename it into
    place, so a crash or a concurrent reader never sees a partial file."""
    print(f"downloading {url} -> {dest}", file=sys.stderr, flush=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    try:
        h = hashlib.md5()
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
            while chunk := resp.read(1 << 20):
                h.update(chunk)
                out.write(chunk)
        if h.hexdigest() != md5:
            raise ChecksumError(f"{url}: MD5 {h.hexdigest()} does not match the published {md5}; "
                                f"the download was discarded (a proxy or a changed file?). Fetch the "
                                f"file by other means and put it at {dest}")
        os.replace(tmp, dest)
    finally:
        Path(tmp).unlink(missing_ok=True)
