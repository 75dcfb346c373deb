"""IDX files, the format of MNIST and Fashion-MNIST (LeCun et al.).

Layout: two zero bytes, a dtype code, the number of dimensions ``d``; then ``d`` big-endian
uint32 sizes; then the values, big-endian, in C order.  Files are often gzip-compressed;
compression is recognised by its magic bytes, not by the file name, because renamed and
re-compressed copies are common (Debian ships recompressed ``.gz`` files, some mirrors
serve them already decompressed).
"""
from __future__ import annotations

import gzip
import math
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from foveanet.errors import UserError
from foveanet.serialization import atomic_write

GZIP_MAGIC = b"\x1f\x8b"

# dtype code -> big-endian NumPy dtype
IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODE_OF = {dt.newbyteorder("="): code for code, dt in IDX_DTYPES.items()}
# deflate's ceiling: one 258-byte match per 2 bits, so a gzip stream of n bytes never holds
# more than 1032 n bytes; a header declaring more is corrupt, whatever the stream says
_DEFLATE_MAX_RATIO = 1032
_MAX_DIMS = 64  # NumPy's limit


class IDXError(UserError, ValueError):
    """A file that is not a well-formed IDX file; the message names the file and what is wrong.

    A ``ValueError`` (and a ``foveanet.errors.UserError``), raised by ``read_idx`` on a
    bad magic number, a truncated header or data, or trailing bytes.

    Example::

        >>> import os, tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     path = os.path.join(tmp, "notes.txt")
        ...     with open(path, "wb") as f:
        ...         _ = f.write(b"hello")
        ...     try:
        ...         fn.data.read_idx(path)
        ...     except fn.data.IDXError as e:
        ...         print(str(e).split(": ", 1)[1][:45])
        not an IDX file: bad magic number 68 65 6c 6c
    """


def is_gzip(path) -> bool:
    with open(path, "rb") as f:
        return f.read(2) == GZIP_MAGIC


def _open(path):
    return gzip.open(path, "rb") if is_gzip(path) else open(path, "rb")


def _read_exact(f, n: int, path, what: str) -> bytes:
    try:
        b = f.read(n)
    except (EOFError, OSError, zlib.error) as e:
        # a gzip stream cut short or damaged surfaces here rather than as a short read
        raise IDXError(f"{path}: truncated or corrupt compressed data while reading the {what} ({e})") from None
    if len(b) != n:
        raise IDXError(f"{path}: truncated {what}: expected {n} bytes, got {len(b)}")
    return b


def read_idx_header(path) -> tuple[np.dtype, tuple[int, ...]]:
    """The (dtype, shape) an IDX file declares, without reading its values."""
    path = Path(path)
    with _open(path) as f:
        return _parse_header(f, path)


def _parse_header(f, path):
    magic = _read_exact(f, 4, path, "magic number")
    if magic[0] != 0 or magic[1] != 0 or magic[2] not in IDX_DTYPES:
        raise IDXError(
            f"{path}: not an IDX file: bad magic number {magic.hex(' ')} (expected 00 00 <type> <ndim> "
            f"with type one of {', '.join(f'0x{c:02X}' for c in IDX_DTYPES)})"
        )
    ndim = magic[3]
    shape = struct.unpack(f">{ndim}I", _read_exact(f, 4 * ndim, path, f"header ({ndim} dimension sizes)"))
    if ndim > _MAX_DIMS:
        raise IDXError(f"{path}: the header declares {ndim} dimensions; NumPy holds at most {_MAX_DIMS}")
    return IDX_DTYPES[magic[2]], tuple(int(s) for s in shape)


def _check_size(path, gz: bool, dtype, shape) -> int:
    """The byte count of the values the header declares, checked against the file's size
    before anything that large is allocated."""
    nbytes = math.prod(shape) * dtype.itemsize
    size, head = os.path.getsize(path), 4 + 4 * len(shape)
    what = f"shape {shape} of {dtype.newbyteorder('=')} needs {nbytes} bytes of values"
    if not gz and head + nbytes > size:
        raise IDXError(f"{path}: truncated data: {what}, file has {size - head}")
    if not gz and head + nbytes < size:
        raise IDXError(f"{path}: trailing bytes after the {nbytes} bytes of values for shape {shape}")
    if gz and head + nbytes > _DEFLATE_MAX_RATIO * size:
        raise IDXError(f"{path}: truncated or corrupt: {what}, more than a {size}-byte gzip "
                       f"file can hold ({_DEFLATE_MAX_RATIO} times its size)")
    return nbytes


def read_idx(path) -> np.ndarray:
    """Read an IDX file (gzip-compressed or raw) into a native-byte-order, writable ndarray.

    Layout: 0, 0, a dtype code, the number of dimensions d; d big-endian uint32 sizes; the
    values, big-endian, in C order. Compression is recognised by the gzip magic bytes, not
    by the file name.

    Args:
        path: the file.

    Returns:
        ndarray: of the shape and dtype the header declares.

    Raises:
        IDXError: (a ``ValueError``) naming the file, on a bad magic number, a truncated
            header or data (with expected vs actual byte counts), or trailing bytes. The
            declared shape is checked against the file's size before the array is
            allocated, so a damaged header cannot ask for more memory than the file holds.

    Example::

        >>> import os, tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     path = fn.data.write_idx(os.path.join(tmp, "a.idx"),
        ...                              np.arange(6, dtype=np.uint8).reshape(2, 3))
        ...     fn.data.read_idx(path)
        array([[0, 1, 2],
               [3, 4, 5]], dtype=uint8)
    """
    path = Path(path)
    gz = is_gzip(path)
    with gzip.open(path, "rb") if gz else open(path, "rb") as f:
        dtype, shape = _parse_header(f, path)
        nbytes = _check_size(path, gz, dtype, shape)
        out = np.empty(nbytes // dtype.itemsize, dtype=dtype)
        # readinto avoids holding the file twice in memory (once as bytes, once as array)
        view = memoryview(out).cast("B")
        got = 0
        try:
            while got < nbytes:
                n = f.readinto(view[got:])
                if not n:
                    break
                got += n
            extra = len(f.read(1)) if got == nbytes else 0
        except (EOFError, OSError, zlib.error) as e:
            raise IDXError(
                f"{path}: truncated or corrupt compressed data: expected {nbytes} bytes of values "
                f"for shape {shape}, read {got} before the stream broke ({e})"
            ) from None
    if got != nbytes:
        raise IDXError(f"{path}: truncated data: shape {shape} of {dtype.newbyteorder('=')} needs "
                       f"{nbytes} bytes of values, file has {got}")
    if extra:
        raise IDXError(f"{path}: trailing bytes after the {nbytes} bytes of values for shape {shape}")
    out = out.reshape(shape)
    return out if dtype.itemsize == 1 else out.astype(dtype.newbyteorder("="))


def write_idx(path, array, compress: bool | None = None) -> Path:
    """Write an array as an IDX file, atomically (temp file + rename).

    Args:
        path: the file to write (its directory is created if needed).
        array: uint8, int8, int16, int32, float32 or float64 (the six the format defines).
        compress: gzip the file (default None: when the name ends in ``.gz``; written with
            mtime 0, so the same array gives the same bytes).

    Returns:
        Path: ``path``.

    Raises:
        TypeError: another dtype.

    Example::

        >>> import os, tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     path = fn.data.write_idx(os.path.join(tmp, "v.idx"), np.array([1.5], np.float32))
        ...     with open(path, "rb") as f:
        ...         print(f.read().hex(" "))     # 00 00, float32 code 0x0D, 1 dim; size 1; 1.5
        00 00 0d 01 00 00 00 01 3f c0 00 00
    """
    path = Path(path)
    a = np.asarray(array)
    code = _CODE_OF.get(a.dtype.newbyteorder("="))
    if code is None:
        raise TypeError(f"write_idx: dtype {a.dtype} has no IDX code; use one of uint8, int8, int16, "
                        f"int32, float32, float64 (e.g. array.astype(np.int32))")
    if a.ndim > 255 or any(s >= 2**32 for s in a.shape):
        raise ValueError(f"write_idx: shape {a.shape} does not fit the IDX header")
    if compress is None:
        compress = path.name.endswith(".gz")
    payload = bytes([0, 0, code, a.ndim]) + struct.pack(f">{a.ndim}I", *a.shape)
    payload += np.ascontiguousarray(a, dtype=IDX_DTYPES[code]).tobytes()
    if compress:
        # mtime=0 keeps the bytes (and so checksums) reproducible
        payload = gzip.compress(payload, mtime=0)
    atomic_write_bytes(path, payload)
    return path


def atomic_write_bytes(path, payload: bytes) -> None:
    """Write so that readers see either the old file or the complete new one, never half."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, payload)
