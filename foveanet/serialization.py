"""save / load: checkpoints as safetensors files, written atomically, never pickled.

Arrays become safetensors tensors, named by their path in the object (``model.conv1.weight``,
``optim.state.0.exp_avg``). Everything else (nesting, ints, floats, strings, the RNG state)
goes as JSON into the header's ``__metadata__`` under ``foveanet.structure``, with every array
replaced by a reference to its tensor. A flat ``{name: tensor}`` state_dict therefore stays
an ordinary safetensors file whose tensor names are the state_dict keys, so
``safetensors.torch.load_file`` and other tools read it directly.

Why not pickle: unpickling runs whatever code the file names, so a downloaded checkpoint
could execute anything. load() refuses pickles and torch.save zips before parsing them.
"""
from __future__ import annotations

import errno
import json
import math
import os
import tempfile

import numpy as np
import safetensors.numpy

from foveanet.autograd import Tensor
from foveanet.backend import devices as _device
from foveanet.errors import UserError

__all__ = ["save", "load", "SafetensorsError"]

_STRUCTURE_KEY = "foveanet.structure"
_VERSION_KEY = "foveanet.version"
_SUPPORTED = {np.dtype(t) for t in (np.float16, np.float32, np.float64, np.int8, np.int16,
                                     np.int32, np.int64, np.uint8, np.uint16, np.uint32,
                                     np.uint64, np.bool_)}
_ITEMSIZE = {"F16": 2, "F32": 4, "F64": 8, "I8": 1, "I16": 2, "I32": 4, "I64": 8, "U8": 1,
             "U16": 2, "U32": 4, "U64": 8, "BOOL": 1}
# safetensors' own ceiling: a larger header is a corrupt length field, not a real header
_MAX_HEADER = 100_000_000
_MAX_DIMS = 64  # NumPy's limit
_TAGS = ("__tensor__", "__tuple__", "__dict__", "__float__", "__numpy__")
_NUMPY_NAMES = {t.name for t in _SUPPORTED}


class SafetensorsError(UserError, ValueError):
    """A file that ``foveanet.load`` or ``foveanet.interop.load_safetensors`` cannot read: no
    safetensors file (a pickle, a zip, a .npy), truncated, or a header that does not describe
    the data after it; the message names the file and what is wrong.

    A ``ValueError`` too, so that code catching that keeps working.

    Example::

        >>> import os, tempfile
        >>> from foveanet.serialization import SafetensorsError
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     path = os.path.join(tmp, "w.safetensors")
        ...     with open(path, "wb") as f:
        ...         _ = f.write((1 << 60).to_bytes(8, "little") + b"{}")
        ...     try:
        ...         fn.load(path)
        ...     except SafetensorsError as e:
        ...         print(str(e).split(": ", 1)[1])
        header length 1152921504606846976 out of range for a 10-byte file (truncated or not a
        safetensors file)
    """


# ---------------------------------------------------------------------- encoding
def host_array(value) -> np.ndarray:
    """The values of a Tensor, an array of any device or array-like data as a NumPy array:
    what a file writer stores (a GPU tensor is copied to the host)."""
    return _device.to_host(value.data if isinstance(value, Tensor) else value)


def _encode(obj, path, tensors):
    arr = obj.data if isinstance(obj, Tensor) else obj if isinstance(obj, np.ndarray) else None
    if arr is None and _device.device_array_module(obj) is not None:
        arr = obj
    if arr is not None:
        arr = _device.to_host(arr)  # a GPU array is written from a host copy
        if arr.dtype.newbyteorder("=") not in _SUPPORTED:
            raise TypeError(f"save: array at {path or 'top level'} has dtype {arr.dtype}; supported "
                            "are float16/32/64, int8..int64, uint8..uint64 and bool")
        name = path or "tensor"
        k = 1
        while name in tensors:  # a key with a dot can clash with a nested path
            k += 1
            name = f"{path or 'tensor'}#{k}"
        # safetensors is little-endian and wants contiguous memory
        # (not ascontiguousarray: it turns 0-d arrays into 1-d)
        tensors[name] = arr.astype(arr.dtype.newbyteorder("<"), order="C", copy=False)
        return {"__tensor__": name}
    if obj is None or isinstance(obj, str):
        return str(obj) if obj is not None else None
    if isinstance(obj, np.generic):  # before float: np.float64 subclasses float
        if obj.dtype not in _SUPPORTED:
            raise TypeError(f"save: NumPy scalar at {path or 'top level'} has dtype {obj.dtype}")
        return {"__numpy__": obj.dtype.name, "value": _encode(obj.item(), path, tensors)}
    if isinstance(obj, bool):
        return obj
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, float):
        # strict JSON has no inf/nan (ReduceLROnPlateau's initial best is inf)
        return float(obj) if math.isfinite(obj) else {"__float__": repr(float(obj))}
    if isinstance(obj, list):
        return [_encode(v, _join(path, i), tensors) for i, v in enumerate(obj)]
    if isinstance(obj, tuple):
        return {"__tuple__": [_encode(v, _join(path, i), tensors) for i, v in enumerate(obj)]}
    if isinstance(obj, dict):
        if all(isinstance(k, str) and not k.startswith("__") for k in obj):
            return {k: _encode(v, _join(path, k), tensors) for k, v in obj.items()}
        # int keys (optimizer state) and the like: keep the key types exactly
        items = []
        for k, v in obj.items():
            if isinstance(k, (Tensor, np.ndarray)):
                raise TypeError(f"save: arrays cannot be dict keys (at {path or 'top level'})")
            items.append([_encode(k, path, tensors), _encode(v, _join(path, k), tensors)])
        return {"__dict__": items}
    raise TypeError(f"save: cannot store a {type(obj).__name__} at {path or 'top level'}; "
                    "supported are Tensors, arrays, dicts, lists, tuples, int, float, bool, "
                    "str and None")


def _join(path, key):
    return f"{path}.{key}" if path else str(key)


def _decode(node, tensors, where, device=None):
    if isinstance(node, list):
        return [_decode(v, tensors, where, device) for v in node]
    if not isinstance(node, dict):
        return node
    if len(node) == 1 and "__tensor__" in node:
        name = node["__tensor__"]
        if not isinstance(name, str) or name not in tensors:
            raise SafetensorsError(f"{where}: the structure refers to tensor {name!r:.80}, which "
                                   "the file does not contain")
        return _tensor(tensors[name], device)
    if "__tuple__" in node:
        return tuple(_decode(v, tensors, where, device) for v in node["__tuple__"])
    if "__dict__" in node:
        return {_decode(k, tensors, where): _decode(v, tensors, where, device)
                for k, v in node["__dict__"]}
    if "__float__" in node:
        return float(node["__float__"])
    if "__numpy__" in node:
        if node["__numpy__"] not in _NUMPY_NAMES:
            raise SafetensorsError(f"{where}: the structure names NumPy type {node['__numpy__']!r:.80}; "
                                   f"expected one of {', '.join(sorted(_NUMPY_NAMES))}")
        return np.dtype(node["__numpy__"]).type(_decode(node["value"], tensors, where))
    return {k: _decode(v, tensors, where, device) for k, v in node.items()}


def _tensor(array, device):
    return Tensor._wrap(array if device is None else _device.to_device(array, device), False, None)


# -------------------------------------------------------------------------- save
def save(obj, path) -> None:
    """Write ``obj`` (a state_dict, or nested dicts/lists/tuples of Tensors, arrays and
    plain values) to ``path`` as a safetensors file.

    Atomic: the bytes go to a temporary file in the same directory, which is fsynced and
    then renamed over ``path``; a crash at any point leaves either the old file or the new
    one, never a torn mix. Arrays referenced twice are stored twice (no aliasing on load).
    Nothing is pickled, so loading the file runs no code.

    Args:
        obj: a state_dict, or nested dicts (str keys), lists and tuples of Tensors,
            ndarrays, numbers, strings, bools and None. Tensors on a GPU are written from
            a host copy, so the file loads on any device.
        path: the file to write (str or path-like); its directory must exist.

    Example::

        >>> import os, tempfile
        >>> with tempfile.TemporaryDirectory() as d:
        ...     path = os.path.join(d, "ckpt.safetensors")
        ...     fn.save({"model": nn.Linear(3, 2).state_dict(), "epoch": 3}, path)
        ...     ckpt = fn.load(path)
        >>> ckpt["epoch"], sorted(ckpt["model"]), ckpt["model"]["weight"].shape
        (3, ['bias', 'weight'], (2, 3))
    """
    path = os.fspath(path)
    tensors: dict = {}
    structure = _encode(obj, "", tensors)
    metadata = {_STRUCTURE_KEY: json.dumps(structure, allow_nan=False), _VERSION_KEY: "1"}
    blob = _canonical_header(safetensors.numpy.save(tensors, metadata=metadata))

    atomic_write(path, blob)


def _canonical_header(blob: bytes) -> bytes:
    """The same file with its metadata keys sorted.  The safetensors library keeps metadata
    in a hash map whose order changes from process to process, so the same state saved by two
    processes (a run and its resumed twin) would differ in bytes; sorted, they are equal.  The
    header is padded with spaces to a multiple of 8 bytes, as the library pads it, so the
    tensor data stays aligned."""
    n = int.from_bytes(blob[:8], "little")
    header = json.loads(blob[8:8 + n])
    meta = header.pop("__metadata__", None)
    ordered = ({"__metadata__": dict(sorted(meta.items()))} if meta else {}) | header
    text = json.dumps(ordered, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return len(text).to_bytes(8, "little") + text + blob[8 + n:]


def atomic_write(path, data: bytes, before_replace=None) -> None:
    """Write ``data`` to ``path`` so that a crash leaves the old file or the new one, never a
    torn mix: temp file in the same directory, fsync, rename, fsync the directory. The file
    gets the mode a plain ``open()`` would give it. ``before_replace`` runs just before the
    rename (tests use it to die mid-save)."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(errno.ENOENT, "foveanet.save: directory does not exist", directory)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            _set_mode(f.fileno(), path)
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if before_replace is not None:
            before_replace()
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_dir(directory)


def _set_mode(fd, path):
    """mkstemp makes 0600 files; give the checkpoint the mode a plain open() would."""
    if not hasattr(os, "fchmod"):
        return
    try:
        mode = os.stat(path).st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    os.fchmod(fd, mode)


def _fsync_dir(directory):
    # makes the rename itself durable; not every platform/filesystem can fsync a directory
    try:
        dfd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)


# -------------------------------------------------------------------------- load
def load(path, map_location=None):
    """Read a file written by ``foveanet.save`` (or any safetensors file: a file without
    foveanet metadata comes back as ``{name: Tensor}``). Arrays come back as Tensors.

    A file holds host arrays only (``save`` copies GPU arrays to the host), so the tensors
    come back on the CPU unless ``map_location`` names a device; ``load_state_dict`` into a
    model on a GPU copies them there in any case. A pickle (such as a ``torch.save`` file)
    is refused, never unpickled.

    Args:
        path: the file to read (str or path-like).
        map_location: the device the tensors go to (``'cpu'``, ``'cuda'``, a Device);
            default None: the CPU.

    Returns:
        the object saved, with its dicts, lists, tuples and values; arrays as Tensors.

    Raises:
        FileNotFoundError: no file at ``path``.
        SafetensorsError: (a ``ValueError``) naming the file, when it is not a readable
            safetensors file: a pickle or zip, truncated, a header that does not match the
            data, or a foveanet structure that does not match the tensors.

    Example::

        >>> import os, tempfile
        >>> with tempfile.TemporaryDirectory() as d:
        ...     path = os.path.join(d, "state.safetensors")
        ...     fn.save({"w": fn.ones(2, 2), "lrs": (0.1, 0.01), "note": "warm-up"}, path)
        ...     state = fn.load(path)
        >>> state["w"]
        tensor([[1., 1.],
                [1., 1.]])
        >>> state["lrs"], state["note"]
        ((0.1, 0.01), 'warm-up')
    """
    path = os.fspath(path)
    device = None if map_location is None else _device.Device(map_location)
    if device is not None and device.type == "cuda":
        _device.module_for(device)  # the clear error where CuPy or the GPU is missing, first
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise FileNotFoundError(errno.ENOENT, "foveanet.load: no such file", path) from None
    _refuse_foreign(data, path)
    header, metadata = parse_header(data, path)
    try:
        tensors = safetensors.numpy.load(data)
    except Exception as e:  # the library's own checks, phrased for the user
        raise SafetensorsError(f"{path}: not a readable safetensors file ({e})") from None
    text = metadata.get(_STRUCTURE_KEY)
    if text is None:
        return {name: _tensor(tensors[name], device) for name in header}
    if not isinstance(text, str):
        raise SafetensorsError(f"{path}: the foveanet structure in the metadata is a "
                               f"{type(text).__name__}, not a JSON string")
    try:
        structure = json.loads(text)
    except (ValueError, RecursionError) as e:  # JSONDecodeError, an int of 5,000 digits, nesting
        raise SafetensorsError(f"{path}: the foveanet structure in the metadata is bad JSON "
                               f"({type(e).__name__}: {e})") from None
    try:
        return _decode(structure, tensors, path, device)
    except SafetensorsError:
        raise
    except (TypeError, ValueError, KeyError, IndexError, OverflowError, RecursionError) as e:
        # a node of the wrong shape ({"__tuple__": 3}, a list as dict key, ...): the JSON
        # parsed, but save() never writes it
        raise SafetensorsError(f"{path}: malformed foveanet structure in the metadata "
                               f"({type(e).__name__}: {e})") from None


def _refuse_foreign(data: bytes, path: str) -> None:
    """Recognise formats that must not (pickle) or cannot be read here, from magic bytes
    alone: nothing of them is parsed."""
    if data[:1] == b"\x80":
        protocol = data[1] if len(data) > 1 else "?"
        raise SafetensorsError(f"{path}: this is a Python pickle (protocol {protocol}), not a "
                               "safetensors file; foveanet.load never unpickles, since unpickling "
                               "can run arbitrary code. For a PyTorch checkpoint use "
                               "foveanet.interop.load_torch.")
    if data[:4] == b"PK\x03\x04":
        raise SafetensorsError(f"{path}: this is a zip archive (PyTorch's torch.save .pt/.pth format), "
                               "not a safetensors file; foveanet.load never unpickles. Read PyTorch "
                               ".pt files with foveanet.interop.load_torch.")
    if data[:6] == b"\x93NUMPY":
        raise SafetensorsError(f"{path}: this is a NumPy .npy file, not a safetensors file; "
                               "use numpy.load(path, allow_pickle=False)")


def parse_header(data: bytes, path: str, itemsizes: dict | None = None):
    """Check a safetensors header against the file before any tensor is read, so a truncated
    or corrupt file gives a message saying what is wrong rather than a library error.
    ``itemsizes`` maps the dtype codes the caller can hold to their byte sizes (default: the
    ones NumPy holds natively). Returns ``(header, metadata)``; every tensor's offsets are
    then known to lie inside the file's data buffer, and the tensors tile that buffer without
    gaps or overlaps (as the reference library requires), so reading them all takes no more
    memory than the file. Raises ``SafetensorsError``."""
    itemsizes = _ITEMSIZE if itemsizes is None else itemsizes
    size = len(data)
    if size < 8:
        raise SafetensorsError(f"{path}: file is {size} bytes, too short for a safetensors header "
                               "(truncated or not a safetensors file)")
    n = int.from_bytes(data[:8], "little")
    if n < 2 or n > _MAX_HEADER or 8 + n > size:
        raise SafetensorsError(f"{path}: header length {n} out of range for a {size}-byte file "
                               "(truncated or not a safetensors file)")
    try:
        header = json.loads(data[8:8 + n].decode("utf-8"))
    except (ValueError, RecursionError) as e:  # UnicodeDecodeError, JSONDecodeError, nesting
        raise SafetensorsError(f"{path}: safetensors header is bad JSON ({type(e).__name__}: {e})") from None
    if not isinstance(header, dict):
        raise SafetensorsError(f"{path}: safetensors header is a {type(header).__name__}, not an object")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise SafetensorsError(f"{path}: safetensors __metadata__ is not an object of strings")
    spans = []
    for name, info in header.items():
        shape = info.get("shape") if isinstance(info, dict) else None
        offsets = info.get("data_offsets") if isinstance(info, dict) else None
        if not (isinstance(shape, list) and all(_is_count(d) for d in shape)
                and isinstance(offsets, list) and len(offsets) == 2 and all(map(_is_count, offsets))
                and isinstance(info.get("dtype"), str)):
            raise SafetensorsError(f"{path}: malformed header entry for tensor {name!r}: {info!r:.200} "
                                   "(expected dtype: a string, shape: a list of sizes >= 0, "
                                   "data_offsets: [begin, end])")
        dtype, (begin, stop) = info["dtype"], offsets
        if len(shape) > _MAX_DIMS:
            raise SafetensorsError(f"{path}: tensor {name!r} has {len(shape)} dimensions; NumPy "
                                   f"holds at most {_MAX_DIMS}")
        if dtype not in itemsizes:
            raise SafetensorsError(f"{path}: tensor {name!r} has dtype {dtype:.20}, which NumPy/foveanet "
                                   f"cannot hold (expected one of {', '.join(itemsizes)})")
        count = math.prod(shape)
        if not begin <= stop or stop - begin != count * itemsizes[dtype]:
            raise SafetensorsError(f"{path}: data size mismatch for tensor {name!r}: offsets "
                                   f"[{begin}, {stop}) for shape {shape} of {dtype}")
        spans.append((begin, stop, name))
    body = size - 8 - n
    end = max((stop for _, stop, _ in spans), default=0)
    if end != body:
        raise SafetensorsError(f"{path}: data size mismatch: the header describes {end} bytes of "
                               f"tensor data, the file holds {body} (truncated?)")
    at = 0
    for begin, stop, name in sorted(spans):
        if begin != at:
            what = "overlaps the tensor before it" if begin < at else f"leaves bytes [{at}, {begin}) unused"
            raise SafetensorsError(f"{path}: tensor {name!r} at offsets [{begin}, {stop}) {what}; "
                                   "the tensors of a safetensors file fill its data buffer in turn")
        at = stop
    return header, metadata


def _is_count(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) and x >= 0
