"""safetensors files, as written by ``safetensors.torch.save_file`` (Hugging Face, timm...).

Layout: an 8-byte little-endian header length, a JSON header
``{name: {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, "__metadata__": {...}}``
and one byte buffer the offsets point into. Nothing in it is executable, so the reader only
has to check that the offsets describe the shapes it claims (a crafted header must not make it
read outside the buffer): ``foveanet.serialization.parse_header`` makes those checks for both
readers. Decoded here rather than through the ``safetensors`` numpy API so that bfloat16 files,
which that API cannot return, still load.
"""
from __future__ import annotations

import json
import os
import struct
from collections import OrderedDict

import numpy as np

from foveanet.serialization import atomic_write, host_array, parse_header

__all__ = ["load_safetensors", "save_safetensors"]

_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "BF16": "<u2", "I64": "<i8", "I32": "<i4",
           "I16": "<i2", "I8": "i1", "U64": "<u8", "U32": "<u4", "U16": "<u2", "U8": "u1",
           "BOOL": "?"}
_NAMES = {np.dtype(v).newbyteorder("="): k for k, v in _DTYPES.items() if k != "BF16"}
_ITEMSIZES = {code: np.dtype(d).itemsize for code, d in _DTYPES.items()}


def load_safetensors(path, with_metadata: bool = False):
    """Read a safetensors file as a name -> numpy array dict, in the file's storage order.

    The header's offsets are checked against the shapes before anything is read, so a crafted
    file cannot make the reader go outside the buffer. BF16 tensors are widened to float32
    (exact: bfloat16 is the top half of a float32), since numpy has no bfloat16; F8 formats
    are refused.

    Args:
        path: the ``.safetensors`` file.
        with_metadata: also return the ``__metadata__`` string dict (default False).

    Returns:
        ``OrderedDict`` name -> array, or ``(tensors, metadata)`` with ``with_metadata``.

    Raises:
        SafetensorsError: (``foveanet.serialization``; a ``ValueError``) naming the file,
            when its header is not one safetensors writes: a length out of range, bad
            JSON, a dtype NumPy cannot hold, offsets that do not match the shapes or do not
            fill the data buffer in turn (checked before any tensor is read).

    Example::

        >>> import os, tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     path = os.path.join(tmp, "w.safetensors")
        ...     fn.interop.save_safetensors({"scale": np.full(2, 0.5, np.float16)}, path,
        ...                                 metadata={"format": "pt"})
        ...     tensors, metadata = fn.interop.load_safetensors(path, with_metadata=True)
        >>> tensors["scale"], metadata
        (array([0.5, 0.5], dtype=float16), {'format': 'pt'})
    """
    path = os.fspath(path)
    with open(path, "rb") as fh:
        raw = fh.read()
    header, metadata = parse_header(raw, path, _ITEMSIZES)
    n = int.from_bytes(raw[:8], "little")
    data = memoryview(raw)[8 + n:]
    entries = sorted(header.items(), key=lambda kv: kv[1].get("data_offsets", [0])[0])
    out: OrderedDict = OrderedDict()
    for name, info in entries:
        code = info["dtype"]
        dt = np.dtype(_DTYPES[code])
        shape = tuple(int(s) for s in info["shape"])
        begin, end = (int(o) for o in info["data_offsets"])
        count = int(np.prod(shape, dtype=np.int64))
        arr = np.frombuffer(data[begin:end], dtype=dt, count=count).reshape(shape)
        if code == "BF16":
            arr = (arr.astype(np.uint32) << 16).view(np.float32)
        out[name] = arr.astype(dt.newbyteorder("="), copy=True) if code != "BF16" else arr
    return (out, dict(metadata)) if with_metadata else out


def save_safetensors(state_dict, path, metadata: dict | None = None) -> None:
    """Write a name -> array dict as a safetensors file that ``safetensors.torch.load_file`` reads.

    Layout: an 8-byte little-endian header length, the JSON header (dtype, shape and byte
    offsets of each tensor, padded to 8 bytes), then the tensors' bytes. Written to a
    temporary file and moved into place.

    Args:
        state_dict: name -> array or Tensor (float64/32/16, int64/32/16/8, uint64/32/16/8
            or bool).
        path: the file to write.
        metadata: string -> string pairs stored as ``__metadata__`` (default None).

    Raises:
        TypeError: an array of another dtype.

    Example::

        >>> import os, tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     path = os.path.join(tmp, "w.safetensors")
        ...     fn.interop.save_safetensors({"bias": np.array([1.5, -2.0], np.float32)}, path)
        ...     with open(path, "rb") as f:
        ...         raw = f.read()
        >>> int.from_bytes(raw[:8], "little")          # the header's length, a multiple of 8
        64
        >>> raw[8:72].rstrip()                         # the header, padded with spaces
        b'{"bias":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}'
        >>> np.frombuffer(raw[72:], "<f4")
        array([ 1.5, -2. ], dtype=float32)
    """
    path = os.fspath(path)
    header: dict = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    blobs, offset = [], 0
    for name, value in state_dict.items():
        arr = host_array(value)
        code = _NAMES.get(arr.dtype.newbyteorder("="))
        if code is None:
            raise TypeError(f"save_safetensors: {name!r} has dtype {arr.dtype}, not storable")
        blob = np.asarray(arr, dtype=arr.dtype.newbyteorder("<"), order="C").tobytes()
        header[str(name)] = {"dtype": code, "shape": list(arr.shape),
                             "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)  # the reference writer keeps the buffer 8-byte aligned
    atomic_write(path, b"".join([struct.pack("<Q", len(text)), text, *blobs]))
