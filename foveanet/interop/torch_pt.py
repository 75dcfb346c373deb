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
import io
import math
import os
import pickle
import pickletools
import zipfile
import zlib

import numpy as np

from foveanet.errors import UserError
from foveanet.serialization import atomic_write, host_array

__all__ = ["load_torch", "save_torch", "TorchCheckpointError"]

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
# What one load may build (storages read, tensors and containers made), in bytes: a few
# times the file, plus room for small expanded (stride-0) tensors.  A 1 KB file cannot ask
# for gigabytes through a declared size, shared storages read N times or a memoised list
# passed to tuple() N times.
_BUDGET_PER_BYTE, _BUDGET_FLOOR = 8, 16 << 20
_MAX_DIMS = 64  # NumPy's limit
# pickle errors on bad bytes: the C unpickler and the whitelisted callables raise these when a
# crafted or damaged pickle gives them arguments of the wrong kind
_PICKLE_ERRORS = (pickle.UnpicklingError, EOFError, ValueError, TypeError, KeyError, IndexError,
                  AttributeError, OverflowError, RecursionError)
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError, ValueError,
               OverflowError, NotImplementedError, RuntimeError)


class TorchCheckpointError(UserError, ValueError):
    """A file ``foveanet.interop.load_torch`` refuses or cannot read: a pickled class or
    function outside the whitelist (named), a legacy or TorchScript file, a damaged zip or
    pickle, or tensors that do not fit their storages; the message names the file.

    A ``ValueError`` too, so that code catching that keeps working.

    Example::

        >>> import os, tempfile
        >>> from foveanet.interop.torch_pt import TorchCheckpointError
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     path = os.path.join(tmp, "model.pt")
        ...     with open(path, "wb") as f:
        ...         _ = f.write(b"PK\x03\x04 not really a zip")
        ...     try:
        ...         fn.interop.load_torch(path)
        ...     except TorchCheckpointError as e:
        ...         print(str(e).split(" ", 1)[1][:35])
        is not a PyTorch checkpoint (no zip
    """


class _StorageType:
    """Stands in for ``torch.FloatStorage`` & co.: only its element type is needed."""

    __slots__ = ("name", "dtype")

    def __init__(self, name: str):
        self.name, self.dtype = name, _STORAGE_DTYPES[name]

    def __setstate__(self, state):  # a BUILD opcode aimed at a global
        raise TorchCheckpointError(f"the pickle sets the state of torch.{self.name}")


class _Callable:
    """A whitelisted global as the pickle sees it: calls are charged to the load's budget,
    and a BUILD opcode cannot change it (a bare function's ``__defaults__`` could be set)."""

    __slots__ = ("name", "fn", "unpickler")

    def __init__(self, name: str, fn, unpickler):
        self.name, self.fn, self.unpickler = name, fn, unpickler

    def __call__(self, *args, **kwargs):
        # tuple(x), set(x), x.encode()... copy their arguments: charge the copy first
        self.unpickler._charge(sum(map(_cost, args)), f"a call of {self.name}")
        return self.fn(self.unpickler, *args, **kwargs)

    def __setstate__(self, state):
        raise TorchCheckpointError(f"the pickle sets the state of {self.name}")


def _cost(arg) -> int:
    """Bytes a copy of ``arg`` takes, roughly: a pointer per item of a container."""
    if isinstance(arg, (str, bytes, bytearray)):
        return len(arg)
    return 8 * len(arg) if isinstance(arg, (tuple, list, dict, set, frozenset)) else 0


def _rebuild_tensor_v2(up, storage, storage_offset, size, stride, requires_grad=False,
                       backward_hooks=None, metadata=None):
    return _from_storage(up, storage, storage_offset, size, stride)


def _rebuild_tensor(up, storage, storage_offset, size, stride):
    return _from_storage(up, storage, storage_offset, size, stride)


def _rebuild_parameter(up, data, requires_grad=False, backward_hooks=None, state=None):
    return data


def _codecs_encode(up, text, encoding="latin1"):
    # protocol-2 pickles spell bytes objects as _codecs.encode(str, 'latin1')
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise TorchCheckpointError("_codecs.encode: only the latin1 spelling of bytes is accepted")
    return text.encode("latin1")


def _device(up, *args):
    return str(args[0]) if args and isinstance(args[0], (str, int)) else "cpu"


_ALLOWED = {
    ("collections", "OrderedDict"): lambda up, *a, **k: collections.OrderedDict(*a, **k),
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    ("torch", "Size"): lambda up, *a: tuple(*a),
    ("torch", "device"): _device,
    ("_codecs", "encode"): _codecs_encode,
    ("builtins", "set"): lambda up, *a: set(*a),
    ("builtins", "frozenset"): lambda up, *a: frozenset(*a),
}


class _Storage:
    """A storage read from the archive: a flat little-endian buffer and its element type."""

    def __init__(self, raw: bytes, dtype: str, numel: int, big_endian: bool):
        self.dtype = dtype
        self.array = np.frombuffer(raw, dtype=_np_dtype(dtype, big_endian), count=numel)


def _np_dtype(dtype: str, big_endian: bool) -> np.dtype:
    if dtype == "bf16":
        return np.dtype(">u2" if big_endian else "<u2")
    return np.dtype(dtype).newbyteorder(">" if big_endian else "<")


def _from_storage(up, storage, offset, size, stride) -> np.ndarray:
    if not isinstance(storage, _Storage):
        raise TorchCheckpointError("tensor rebuilt from something that is not a storage of the archive")
    if not all(isinstance(v, (tuple, list)) and len(v) <= _MAX_DIMS for v in (size, stride)):
        raise TorchCheckpointError(f"bad tensor layout: size {size!r:.100}, stride {stride!r:.100} "
                                   f"(expected tuples of at most {_MAX_DIMS} ints)")
    size, stride, offset = tuple(int(s) for s in size), tuple(int(s) for s in stride), int(offset)
    if len(size) != len(stride) or offset < 0 or any(n < 0 for n in size) or any(s < 0 for s in stride):
        raise TorchCheckpointError(f"bad tensor layout: size {size}, stride {stride}, offset {offset}")
    flat = storage.array
    itemsize = 4 if storage.dtype == "bf16" else flat.itemsize
    up._charge(math.prod(size) * itemsize, f"a tensor of size {size}")
    if 0 not in size:
        # as_strided does no bounds checks: a crafted stride must not read past the buffer
        last = offset + sum((n - 1) * s for n, s in zip(size, stride))
        if last >= flat.size:
            raise TorchCheckpointError(f"tensor of size {size}, stride {stride}, offset {offset} "
                                       f"reaches element {last} of a storage of {flat.size}")
        view = np.lib.stride_tricks.as_strided(
            flat[offset:], shape=size, strides=tuple(s * flat.itemsize for s in stride), writeable=False)
    else:
        view = np.empty(size, dtype=flat.dtype)
    if storage.dtype == "bf16":
        # bfloat16 is the top half of a float32
        return (view.astype(np.uint32) << 16).view(np.float32)
    return view.astype(view.dtype.newbyteorder("="), copy=True)


class _SafeUnpickler(pickle.Unpickler):
    def __init__(self, fh, archive: zipfile.ZipFile, prefix: str, path: str, big_endian: bool,
                 budget: int):
        super().__init__(fh)
        self._zip, self._prefix, self._path, self._big = archive, prefix, path, big_endian
        self._storages: dict = {}
        self._left = self._budget = budget

    def _charge(self, nbytes: int, what: str) -> None:
        self._left -= nbytes
        if self._left < 0:
            raise TorchCheckpointError(
                f"{what} would take the load past {self._budget} bytes, {_BUDGET_PER_BYTE} times "
                f"the file and {_BUDGET_FLOOR >> 20} MiB more (sizes that do not fit the file)")

    def find_class(self, module, name):
        # protocol-2 pickles spell Python 3 names the Python 2 way (__builtin__, copy_reg)
        module, name = _compat_pickle.NAME_MAPPING.get((module, name), (module, name))
        module = _compat_pickle.IMPORT_MAPPING.get(module, module)
        if (module, name) in _ALLOWED:
            return _Callable(f"{module}.{name}", _ALLOWED[(module, name)], self)
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name)
        if module == "torch.storage" and name == "UntypedStorage":
            return _StorageType(name)
        if module == "torch" and name in _TORCH_DTYPES:
            return np.dtype(_TORCH_DTYPES[name])
        raise TorchCheckpointError(f"refusing to load '{module}.{name}' from "
                                   f"{os.path.basename(self._path)}: only tensors and plain "
                                   "containers are allowed")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"
                and isinstance(pid[1], _StorageType) and isinstance(pid[2], (str, int))
                and isinstance(pid[4], int) and pid[4] >= 0):
            raise TorchCheckpointError(f"unexpected persistent id {pid!r:.200}")
        _, stype, key, _location, numel = pid
        key = str(key)
        if key not in self._storages:
            entry = f"{self._prefix}data/{key}"
            need = numel * _np_dtype(stype.dtype, self._big).itemsize
            try:
                raw = _read_member(self._zip, entry, self._left, need, self)
            except TorchCheckpointError as e:
                raise TorchCheckpointError(f"storage of {numel} elements of {stype.name}: {e}") from None
            self._storages[key] = _Storage(raw, stype.dtype, numel, self._big)
        return self._storages[key]


def _read_member(archive, name, most, least=0, up=None) -> bytes:
    """One member of the zip, refused when it is missing, encrypted, compressed in a way
    torch never writes, or when its declared size is outside [least, most] bytes; what it
    holds is charged to the load's budget (``up``) before it is read."""
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise TorchCheckpointError(f"{name!r} is missing from the archive") from None
    if info.flag_bits & 1:
        raise TorchCheckpointError(f"{name!r} is encrypted")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise TorchCheckpointError(f"{name!r} uses zip compression method {info.compress_type} "
                                   "(torch.save stores members uncompressed)")
    if info.file_size < least:
        raise TorchCheckpointError(f"{name!r} holds {info.file_size} bytes, {least} are needed")
    if info.file_size > most:
        raise TorchCheckpointError(f"{name!r} declares {info.file_size} bytes, more than the "
                                   f"{most} it may hold")
    if up is not None:
        up._charge(info.file_size, f"{name!r} ({info.file_size} bytes)")
    try:
        return archive.read(info)
    except _ZIP_ERRORS as e:
        raise TorchCheckpointError(f"{name!r} cannot be read ({type(e).__name__}: {e})") from None


def _check_pickle(data: bytes) -> None:
    """Walk the opcodes without running them: every length the pickle declares (BINBYTES,
    BINUNICODE8, LONG4, ...) must fit in the bytes that follow, since the C unpickler
    allocates a declared length before it reads. Raises ValueError."""
    for _op, _arg, _pos in pickletools.genops(io.BytesIO(data)):
        pass


def load_torch(path):
    """Read a ``torch.save`` checkpoint (torch >= 1.6) without PyTorch or running code from it.

    Every global the pickle names is looked up in a whitelist (tensors, plain containers);
    anything else stops the load before it is called. Tensors become numpy arrays; bfloat16
    tensors become float32 (numpy has no bfloat16). Sizes the file declares are checked
    against the file before memory is taken: one load builds at most 8 times the file's
    size plus 16 MiB.

    Args:
        path: the ``.pt``/``.pth`` file (a zip archive).

    Returns:
        A state dict as an ``OrderedDict`` in its key order; a checkpoint dict (say
        ``{'state_dict': ..., 'epoch': 3}``) with its nesting, tensors replaced by arrays.

    Raises:
        TorchCheckpointError: (a ``ValueError``) naming the file: a pickled module,
            optimizer or any other class (naming the global), a legacy (pre-1.6) file, a
            TorchScript archive, a damaged zip or pickle, or a file that is no checkpoint.

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
        size = os.fstat(fh.fileno()).st_size
    if head.startswith(_LEGACY_MAGIC) or (head[:1] == b"\x80" and not zipfile.is_zipfile(path)):
        raise TorchCheckpointError(
            f"{path} is in PyTorch's legacy (pre-1.6) format, a bare pickle that "
            "foveanet never unpickles (unpickling can run any code). Re-save it with "
            "torch >= 1.6 on any machine that has torch, where loading is your own "
            "decision: python -c \"import torch, sys; p = sys.argv[1]; "
            "torch.save(torch.load(p, weights_only=True), p)\" FILE (or ask its "
            "author for a safetensors file, which needs no torch)")
    try:
        archive = zipfile.ZipFile(path)
    except _ZIP_ERRORS as e:
        raise TorchCheckpointError(f"{path} is not a PyTorch checkpoint (no zip archive: "
                                   f"{type(e).__name__}: {e})") from None
    budget = _BUDGET_PER_BYTE * size + _BUDGET_FLOOR
    with archive:
        try:
            names = archive.namelist()
            pkl = [n for n in names if n.endswith("data.pkl") and n.count("/") == 1]
            if not pkl:
                if any(n.endswith("constants.pkl") for n in names):
                    raise TorchCheckpointError("a TorchScript archive; save model.state_dict() "
                                               "with torch.save instead")
                raise TorchCheckpointError("zip archive without data.pkl, not a torch.save checkpoint")
            prefix = pkl[0][: -len("data.pkl")]
            big = (prefix + "byteorder" in names
                   and _read_member(archive, prefix + "byteorder", 64).strip() == b"big")
            data = _read_member(archive, pkl[0], budget)
            try:
                _check_pickle(data)
            except ValueError as e:
                raise TorchCheckpointError(f"{pkl[0]} is not a readable pickle ({e})") from None
            unpickler = _SafeUnpickler(io.BytesIO(data), archive, prefix, path, big, budget)
            unpickler._charge(len(data), pkl[0])
            try:
                return unpickler.load()
            except TorchCheckpointError:
                raise
            except _PICKLE_ERRORS as e:
                raise TorchCheckpointError(f"{pkl[0]} is damaged or not a torch.save pickle "
                                           f"({type(e).__name__}: {e})") from None
        except TorchCheckpointError as e:  # worded without the file: name it here
            raise TorchCheckpointError(f"{path}: {e}") from None


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
    arr = host_array(value)
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
