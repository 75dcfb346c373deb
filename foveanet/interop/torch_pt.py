"""PyTorch's .pt/.pth checkpoints (the zip format of torch >= 1.6), read and written without
PyTorch and without running code from the file.

A checkpoint is a zip holding ``<prefix>/data.pkl`` (a pickle of the state dict in which every
tensor is a call ``torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)``),
one raw little-endian file per storage (``<prefix>/data/<key>``) and ``<prefix>/version``.
A pickle can name any importable callable, so loading one with ``pickle.load`` runs whatever the
file asks for. Here every global the pickle names is looked up in a whitelist that maps it to a
function of this module; anything else stops the load before it is called.
"""
from __future__ import annotations

import _compat_pickle
import collections
import os
import pickle
import zipfile

import numpy as np

from foveanet.serialization import atomic_write

__all__ = ["load_torch", "save_torch"]

# storage class -> dtype of its elements ("bf16": no numpy dtype, widened to float32 on load)
_STORAGE_DTYPES = {
    "FloatStorage": "f4", "DoubleStorage": "f8", "HalfStorage": "f2", "BFloat16Storage": "bf16",
    "LongStorage": "i8", "IntStorage": "i4", "ShortStorage": "i2", "CharStorage": "i1",
    "ByteStorage": "u1", "BoolStorage": "?", "UntypedStorage": "u1",
}
_TORCH_DTYPES = {
    "float32": "f4", "float": "f4", "float64": "f8", "double": "f8", "float16": "f2", "half": "f2",
    "bfloat16": "f4", "int64": "i8", "long": "i8", "int32": "i4", "int": "i4", "int16": "i2",
    "int8": "i1", "uint8": "u1", "bool": "?",
}
_LEGACY_MAGIC = b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19"


class _StorageType:
    """Stands in for ``torch.FloatStorage`` & co.: only its element type is needed."""

    def __init__(self, name: str):
        self.name, self.dtype = name, _STORAGE_DTYPES[name]


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False,
                       backward_hooks=None, metadata=None):
    return _from_storage(storage, storage_offset, size, stride)


def _rebuild_tensor(storage, storage_offset, size, stride):
    return _from_storage(storage, storage_offset, size, stride)


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None, state=None):
    return data


def _codecs_encode(text, encoding="latin1"):
    # protocol-2 pickles spell bytes objects as _codecs.encode(str, 'latin1')
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise ValueError("_codecs.encode: only the latin1 spelling of bytes is accepted")
    return text.encode("latin1")


def _device(*args):
    return str(args[0]) if args else "cpu"


_ALLOWED = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    ("torch", "Size"): tuple,
    ("torch", "device"): _device,
    ("_codecs", "encode"): _codecs_encode,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
}


class _Storage:
    """A storage read from the archive: a flat little-endian buffer and its element type."""

    def __init__(self, raw: bytes, dtype: str, numel: int, where: str, big_endian: bool):
        self.dtype = dtype
        if dtype == "bf16":
            np_dtype = np.dtype(">u2" if big_endian else "<u2")
        else:
            np_dtype = np.dtype(dtype).newbyteorder(">" if big_endian else "<")
        if len(raw) < numel * np_dtype.itemsize:
            raise ValueError(f"{where}: storage holds {len(raw)} bytes, {numel} elements of "
                             f"{np_dtype} need {numel * np_dtype.itemsize}")
        self.array = np.frombuffer(raw, dtype=np_dtype, count=numel)


def _from_storage(storage, offset, size, stride) -> np.ndarray:
    if not isinstance(storage, _Storage):
        raise ValueError("tensor rebuilt from something that is not a storage of the archive")
    size, stride, offset = tuple(int(s) for s in size), tuple(int(s) for s in stride), int(offset)
    if len(size) != len(stride) or offset < 0 or any(n < 0 for n in size) or any(s < 0 for s in stride):
        raise ValueError(f"bad tensor layout: size {size}, stride {stride}, offset {offset}")
    flat = storage.array
    if 0 not in size:
        # as_strided does no bounds checks: a crafted stride must not read past the buffer
        last = offset + sum((n - 1) * s for n, s in zip(size, stride))
        if last >= flat.size:
            raise ValueError(f"tensor of size {size}, stride {stride}, offset {offset} reaches "
                             f"element {last} of a storage of {flat.size}")
        view = np.lib.stride_tricks.as_strided(
            flat[offset:], shape=size, strides=tuple(s * flat.itemsize for s in stride), writeable=False)
    else:
        view = np.empty(size, dtype=flat.dtype)
    if storage.dtype == "bf16":
        # bfloat16 is the top half of a float32
        return (view.astype(np.uint32) << 16).view(np.float32)
    return view.astype(view.dtype.newbyteorder("="), copy=True)


class _SafeUnpickler(pickle.Unpickler):
    def __init__(self, fh, archive: zipfile.ZipFile, prefix: str, path: str, big_endian: bool):
        super().__init__(fh)
        self._zip, self._prefix, self._path, self._big = archive, prefix, path, big_endian
        self._storages: dict = {}

    def find_class(self, module, name):
        # protocol-2 pickles spell Python 3 names the Python 2 way (__builtin__, copy_reg)
        module, name = _compat_pickle.NAME_MAPPING.get((module, name), (module, name))
        module = _compat_pickle.IMPORT_MAPPING.get(module, module)
        if (module, name) in _ALLOWED:
            return _ALLOWED[(module, name)]
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name)
        if module == "torch.storage" and name == "UntypedStorage":
            return _StorageType(name)
        if module == "torch" and name in _TORCH_DTYPES:
            return np.dtype(_TORCH_DTYPES[name])
        raise ValueError(f"refusing to load '{module}.{name}' from {os.path.basename(self._path)}: "
                         "only tensors and plain containers are allowed")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"
                and isinstance(pid[1], _StorageType)):
            raise ValueError(f"{self._path}: unexpected persistent id {pid!r}")
        _, stype, key, _location, numel = pid
        key = str(key)
        if key not in self._storages:
            entry = f"{self._prefix}data/{key}"
            try:
                raw = self._zip.read(entry)
            except KeyError:
                raise ValueError(f"{self._path}: storage {entry!r} is missing from the archive") from None
            self._storages[key] = _Storage(raw, stype.dtype, int(numel), f"{self._path}:{entry}", self._big)
        return self._storages[key]


def load_torch(path):
    """Read a ``torch.save`` checkpoint (torch >= 1.6) without PyTorch or running code from it.

    Every global the pickle names is looked up in a whitelist (tensors, plain containers);
    anything else stops the load before it is called. Tensors become numpy arrays; bfloat16
    tensors become float32 (numpy has no bfloat16).

    Args:
        path: the ``.pt``/``.pth`` file (a zip archive).

    Returns:
        A state dict as an ``OrderedDict`` in its key order; a checkpoint dict (say
        ``{'state_dict': ..., 'epoch': 3}``) with its nesting, tensors replaced by arrays.

    Raises:
        ValueError: a pickled module, optimizer or any other class (naming the global), a
            legacy (pre-1.6) file, a TorchScript archive, or a file that is no checkpoint.

    Example::

        >>> import os, tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     path = os.path.join(tmp, "model.pt")
        ...     fn.interop.save_torch({"weight": np.arange(6, dtype=np.float32).reshape(2, 3),
        ...                            "epoch": 3}, path)
        ...     checkpoint = fn.interop.load_torch(path)
        >>> checkpoint["weight"]
        array([[0., 1., 2.],
               [3., 4., 5.]], dtype=float32)
        >>> checkpoint["epoch"]
        3
    """
    path = os.fspath(path)
    with open(path, "rb") as fh:
        head = fh.read(16)
    if head.startswith(_LEGACY_MAGIC) or (head[:1] == b"\x80" and not zipfile.is_zipfile(path)):
        raise ValueError(f"{path} is in PyTorch's legacy (pre-1.6) format, a bare pickle that "
                         "foveanet never unpickles (unpickling can run any code). Re-save it with "
                         "torch >= 1.6 on any machine that has torch, where loading is your own "
                         "decision: python -c \"import torch, sys; p = sys.argv[1]; "
                         "torch.save(torch.load(p, weights_only=True), p)\" FILE (or ask its "
                         "author for a safetensors file, which needs no torch)")
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{path} is not a PyTorch checkpoint (no zip archive)")
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        pkl = [n for n in names if n.endswith("data.pkl") and n.count("/") == 1]
        if not pkl:
            if any(n.endswith("constants.pkl") for n in names):
                raise ValueError(f"{path} is a TorchScript archive; save model.state_dict() with "
                                 "torch.save instead")
            raise ValueError(f"{path}: zip archive without data.pkl, not a torch.save checkpoint")
        prefix = pkl[0][: -len("data.pkl")]
        big = prefix + "byteorder" in names and archive.read(prefix + "byteorder").strip() == b"big"
        with archive.open(pkl[0]) as fh:
            return _SafeUnpickler(fh, archive, prefix, path, big).load()


# ------------------------------------------------------------------------------ writing

_NP_TO_STORAGE = {"f4": "FloatStorage", "f8": "DoubleStorage", "f2": "HalfStorage",
                  "i8": "LongStorage", "i4": "IntStorage", "i2": "ShortStorage",
                  "i1": "CharStorage", "u1": "ByteStorage", "b1": "BoolStorage"}


class _Global:
    """A name the pickle refers to (written as a GLOBAL opcode), without importing it here."""

    def __init__(self, module: str, name: str):
        self.module, self.name = module, name

    def __call__(self, *args):  # pickle insists that a reduce function be callable
        raise TypeError(f"{self.module}.{self.name} is only a name in a pickle")


_REBUILD = _Global("torch._utils", "_rebuild_tensor_v2")
_STORAGE_GLOBALS = {k: _Global("torch", v) for k, v in _NP_TO_STORAGE.items()}


class _StorageRef:
    def __init__(self, key: str, kind: str, numel: int):
        self.key, self.kind, self.numel = key, kind, numel


class _TensorRef:
    def __init__(self, storage: _StorageRef, shape: tuple):
        self.storage, self.shape = storage, shape

    def __reduce__(self):
        strides, acc = [], 1
        for n in reversed(self.shape):
            strides.append(acc)
            acc *= n
        return (_REBUILD, (self.storage, 0, tuple(self.shape), tuple(reversed(strides)), False,
                           collections.OrderedDict()))


class _TorchPickler(pickle._Pickler):
    # the pure-Python pickler, because only its dispatch table can be taught to write a
    # GLOBAL for a name (torch._utils...) that is not importable in this process
    dispatch = dict(pickle._Pickler.dispatch)

    def _save_global_name(self, obj):
        self.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode("ascii"))
        self.memoize(obj)

    dispatch[_Global] = _save_global_name

    def persistent_id(self, obj):
        if isinstance(obj, _StorageRef):
            return ("storage", _STORAGE_GLOBALS[obj.kind], obj.key, "cpu", obj.numel)
        return None


def _proxy(value, blobs: list):
    if isinstance(value, dict):
        return collections.OrderedDict((k, _proxy(v, blobs)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return type(value)(_proxy(v, blobs) for v in value)
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    arr = np.asarray(value)
    kind = arr.dtype.kind + str(arr.dtype.itemsize)
    if kind not in _NP_TO_STORAGE:
        raise TypeError(f"save_torch: no torch storage for dtype {arr.dtype}")
    arr = np.asarray(arr, dtype=arr.dtype.newbyteorder("<"), order="C")  # keeps 0-d 0-d
    ref = _StorageRef(str(len(blobs)), kind, int(arr.size))
    blobs.append(arr.tobytes())
    return _TensorRef(ref, arr.shape)


def save_torch(state_dict, path) -> None:
    """Write a state dict as a checkpoint that ``torch.load(path, weights_only=True)`` reads.

    The zip archive ``torch.save`` writes: ``archive/data.pkl``, one raw little-endian file
    per tensor, the byte order and version. The file is written to a temporary name and moved
    into place, so a crash never leaves half a checkpoint.

    Args:
        state_dict: name -> array or Tensor; nested dicts and lists, strings, numbers and
            None are allowed too.
        path: the file to write.

    Raises:
        TypeError: an array whose dtype has no torch storage.

    Example::

        >>> import os, tempfile, zipfile
        >>> model = nn.Linear(3, 2)
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     path = os.path.join(tmp, "linear.pt")
        ...     fn.interop.save_torch(model.state_dict(), path)
        ...     members = zipfile.ZipFile(path).namelist()
        ...     weights = fn.interop.load_torch(path)
        >>> members                               # data/0 is the weight, data/1 the bias
        ['archive/data.pkl', 'archive/byteorder', 'archive/data/0', 'archive/data/1',
         'archive/version']
        >>> {name: w.shape for name, w in weights.items()}
        {'weight': (2, 3), 'bias': (2,)}
    """
    path = os.fspath(path)
    blobs: list = []
    obj = _proxy(state_dict, blobs)
    import io

    buf = io.BytesIO()
    _TorchPickler(buf, protocol=2).dump(obj)
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("archive/data.pkl", buf.getvalue())
        archive.writestr("archive/byteorder", "little")
        for key, blob in enumerate(blobs):
            archive.writestr(f"archive/data/{key}", blob)
        archive.writestr("archive/version", "3\n")
    atomic_write(path, zipped.getvalue())
