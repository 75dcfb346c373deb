"""A CPU stand-in for CuPy: NumPy arrays that behave like GPU arrays, to test the seam here.

Without a GPU, the question "does this op run on CuPy?" becomes "does it keep to the array
module of its inputs?". The stand-in answers it on the CPU: ``with standin.cuda(): ...``
makes ``'cuda'`` mean this module, whose arrays (``DeviceArray``) hold NumPy data but refuse
everything CuPy's refuse:

- NumPy functions on them (``np.exp(x)``, ``np.zeros_like(x)``, ``np.asarray(x)``), where
  the op should have called ``xp.exp``: a TypeError naming the function;
- mixing with a NumPy array (``x + host_array``, ``xp.add(x, host)``), which on a GPU would be
  host memory inside a device kernel;
- names CuPy does not have (``xp.errstate``, ``Generator.normal``): the stand-in offers exactly
  CuPy's public names (``backend/cupy_api.py``, generated from the CuPy wheel).

Like CuPy, reductions and scalar indexing give 0-d device arrays (``float(x.sum())`` is the
synchronising step), ``xp.asarray(host)`` copies to the device and ``xp.asnumpy(x)`` back.
What it cannot check: speed, CUDA-only numerics, kernels written in CUDA C.
"""
from __future__ import annotations

import contextlib
import functools
import types

import numpy as np

from foveanet.backend import cupy_api, devices as _device


class StandInError(TypeError):
    """Code used NumPy (or a name CuPy lacks) where CuPy would have been called."""


def _refuse(what: str):
    raise StandInError(f"{what}: on a CUDA device this would fail; use the array module of the "
                       f"input (xp = foveanet.backend.array_module(x)) instead of numpy")


def _operand(x):
    """The NumPy value behind ``x`` for a computation on the device; host arrays refused."""
    if type(x) is DeviceArray:
        return x._a
    if isinstance(x, np.ndarray):
        _refuse(f"a NumPy array of shape {x.shape} met a device array")
    if isinstance(x, (list, tuple)):
        return type(x)(_operand(v) for v in x)
    if isinstance(x, dict):
        return {k: _operand(v) for k, v in x.items()}
    return x


def _host_data(x):
    """The NumPy value of data being copied to the device: host arrays welcome."""
    if type(x) is DeviceArray:
        return x._a
    if isinstance(x, (list, tuple)):
        return type(x)(_host_data(v) for v in x)
    return x


def _wrap(r):
    if isinstance(r, np.ndarray):
        return DeviceArray(r)
    if isinstance(r, np.generic):  # CuPy gives 0-d arrays where NumPy gives scalars
        return DeviceArray(np.asarray(r))
    if isinstance(r, tuple):
        return tuple(_wrap(v) for v in r)
    if isinstance(r, list):
        return [_wrap(v) for v in r]
    return r


def _device_call(f, name):
    @functools.wraps(f)
    def call(*args, **kwargs):
        return _wrap(f(*_operand(args), **_operand(kwargs)))

    call.__qualname__ = name
    return call


class _StandInGPU:
    """What ``x.device`` is on a stand-in array: GPU 0 (``.id`` as CuPy's Device)."""

    id = 0

    def __repr__(self) -> str:
        return "<CUDA Device 0 (stand-in)>"


_GPU = _StandInGPU()


class DeviceArray:
    """An array "on the GPU": NumPy data behind CuPy's ndarray interface and refusals.

    Args:
        a: the NumPy array it holds (not copied).

    Example::

        >>> from foveanet.backend import standin
        >>> x = standin.xp.arange(3.0)
        >>> (x * 2).sum()
        stand-in array(6.)
        >>> np.exp(x)
        Traceback (most recent call last):
            ...
        foveanet.backend.standin.StandInError: numpy.exp called on a device array: on a CUDA device this would fail; use the array module of the input (xp = foveanet.backend.array_module(x)) instead of numpy
    """

    __slots__ = ("_a", "__weakref__")
    __array_priority__ = 1000
    __hash__ = None            # as CuPy's: unhashable

    def __init__(self, a):
        self._a = a

    def __array__(self, dtype=None, copy=None):
        _refuse("implicit conversion of a device array to a NumPy array (np.asarray and the like)")

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        _refuse(f"numpy.{ufunc.__name__} called on a device array")

    def __array_function__(self, func, types_, args, kwargs):
        _refuse(f"numpy.{func.__name__} called on a device array")

    # -- what CuPy arrays expose directly
    @property
    def shape(self):
        return self._a.shape

    @property
    def dtype(self):
        return self._a.dtype

    @property
    def ndim(self):
        return self._a.ndim

    @property
    def size(self):
        return self._a.size

    @property
    def itemsize(self):
        return self._a.itemsize

    @property
    def nbytes(self):
        return self._a.nbytes

    @property
    def strides(self):
        return self._a.strides

    @property
    def flags(self):
        return self._a.flags

    @property
    def device(self):
        return _GPU

    @property
    def T(self):
        return DeviceArray(self._a.T)

    @property
    def base(self):
        return None if self._a.base is None else DeviceArray(self._a.base)

    def get(self):
        """The values on the host (CuPy's ``get``)."""
        return self._a.copy()

    def set(self, host):
        """Copy host values in (CuPy's ``set``)."""
        self._a[...] = host

    def item(self):
        return self._a.item()

    def tolist(self):
        return self._a.tolist()

    def __getattr__(self, name):
        if name not in cupy_api.NDARRAY:
            raise AttributeError(f"CuPy's ndarray has no attribute {name!r} (the stand-in offers "
                                 f"what CuPy {cupy_api.VERSION} offers)")
        value = getattr(self._a, name)
        return _device_call(value, name) if callable(value) else _wrap(value)

    # -- Python protocol
    def __len__(self):
        return len(self._a)

    def __iter__(self):
        return (_wrap(v) for v in self._a)

    def __bool__(self):
        return bool(self._a)

    def __float__(self):
        return float(self._a)

    def __int__(self):
        return int(self._a)

    def __index__(self):
        return self._a.__index__()

    def __complex__(self):
        return complex(self._a)

    def __repr__(self):
        return "stand-in " + repr(self._a)

    def __str__(self):
        return str(self._a)

    def __format__(self, spec):
        return format(self._a, spec)

    def __copy__(self):
        return DeviceArray(self._a.copy())

    def __deepcopy__(self, memo):
        return DeviceArray(self._a.copy())

    def __getitem__(self, key):
        return _wrap(self._a[_operand(key)])

    def __setitem__(self, key, value):
        self._a[_operand(key)] = _operand(value)


def _binary(name):
    def op(self, other):
        return _wrap(getattr(self._a, name)(_operand(other)))

    op.__name__ = name
    return op


def _inplace(name):
    def op(self, other):
        getattr(self._a, name)(_operand(other))
        return self

    op.__name__ = name
    return op


def _unary(name):
    def op(self):
        return _wrap(getattr(self._a, name)())

    op.__name__ = name
    return op


for _n in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "and", "or",
           "xor", "lshift", "rshift", "divmod"):
    setattr(DeviceArray, f"__{_n}__", _binary(f"__{_n}__"))
    setattr(DeviceArray, f"__r{_n}__", _binary(f"__r{_n}__"))
    if _n != "divmod":
        setattr(DeviceArray, f"__i{_n}__", _inplace(f"__i{_n}__"))
for _n in ("eq", "ne", "lt", "le", "gt", "ge"):
    setattr(DeviceArray, f"__{_n}__", _binary(f"__{_n}__"))
for _n in ("neg", "pos", "abs", "invert"):
    setattr(DeviceArray, f"__{_n}__", _unary(f"__{_n}__"))


class _UFunc:
    """A NumPy ufunc that runs on device arrays, with the methods CuPy's ufuncs have."""

    def __init__(self, uf):
        self._uf = uf
        self.__name__ = uf.__name__
        self.nin, self.nout = uf.nin, uf.nout

    def __call__(self, *args, **kwargs):
        return _wrap(self._uf(*_operand(args), **_operand(kwargs)))

    def __getattr__(self, name):
        if name not in cupy_api.UFUNC_METHODS:
            raise AttributeError(f"CuPy's ufunc has no method {name!r}")
        return _device_call(getattr(self._uf, name), f"{self.__name__}.{name}")

    def __repr__(self):
        return f"<stand-in ufunc {self.__name__!r}>"


class _Namespace(types.ModuleType):
    """A submodule (or the module) of the stand-in: NumPy's ``source`` limited to ``names``."""

    def __init__(self, name, source, names, extra=None):
        super().__init__(name)
        self._source, self._names = source, names
        for k, v in (extra or {}).items():
            setattr(self, k, v)

    def __getattr__(self, name):
        if name.startswith("__") or name not in self._names:
            raise AttributeError(f"{self.__name__}.{name}: CuPy {cupy_api.VERSION} has no such "
                                 f"name (the stand-in offers what CuPy offers)")
        obj = getattr(self._source, name, None)
        if obj is None:
            raise AttributeError(f"{self.__name__}.{name}: CuPy has it but the stand-in does not "
                                 f"emulate it (CuPy-only; test it on a GPU)")
        if isinstance(obj, np.ufunc):
            obj = _UFunc(obj)
        elif callable(obj) and not isinstance(obj, type):
            obj = _device_call(obj, f"{self.__name__}.{name}")
        setattr(self, name, obj)
        return obj


def _to_device(fn):
    @functools.wraps(fn)
    def call(obj, *args, **kwargs):
        return _wrap(fn(_host_data(obj), *_operand(args), **_operand(kwargs)))

    return call


def asnumpy(a, *args, **kwargs):
    """``cupy.asnumpy``: the values of a device array (or host data) as a NumPy array."""
    return np.asarray(_host_data(a), *args, **kwargs)


class _Generator:
    """CuPy's ``random.Generator``: the methods CuPy has, drawing with a NumPy Generator."""

    def __init__(self, seed=None):
        self._g = np.random.default_rng(seed)

    def __getattr__(self, name):
        if name not in cupy_api.GENERATOR:
            raise AttributeError(f"CuPy's random.Generator has no method {name!r} (it has: "
                                 f"{', '.join(sorted(cupy_api.GENERATOR))})")
        return _device_call(getattr(self._g, name), f"Generator.{name}")


class _CudaDevice:
    """``cupy.cuda.Device(i)``: a context that selects GPU ``i`` (the stand-in has one)."""

    def __init__(self, index=0):
        if index not in (0, None):
            raise RuntimeError(f"stand-in: there is one GPU (0), got cuda:{index}")
        self.id = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def synchronize(self):
        return None


def _get_array_module(*arrays):
    return xp if any(type(a) is DeviceArray for a in arrays) else np


xp = _Namespace("standin", np, cupy_api.MODULE, {
    "ndarray": DeviceArray,
    "asnumpy": asnumpy,
    "get_array_module": _get_array_module,
    "array": _to_device(np.array),
    "asarray": _to_device(np.asarray),
    "asanyarray": _to_device(np.asanyarray),
    "ascontiguousarray": _to_device(np.ascontiguousarray),
    "random": _Namespace("standin.random", np.random, cupy_api.RANDOM, {"default_rng": _Generator}),
    "linalg": _Namespace("standin.linalg", np.linalg, cupy_api.LINALG),
    "fft": _Namespace("standin.fft", np.fft, cupy_api.FFT),
    "lib": types.SimpleNamespace(stride_tricks=_Namespace(
        "standin.lib.stride_tricks", np.lib.stride_tricks, cupy_api.STRIDE_TRICKS)),
    "cuda": types.SimpleNamespace(Device=_CudaDevice, runtime=types.SimpleNamespace(
        getDeviceCount=lambda: 1)),
})
xp.__doc__ = "The stand-in's array module: NumPy limited to CuPy's names, on DeviceArrays."


@contextlib.contextmanager
def cuda():
    """``with standin.cuda(): ...``: the block's ``'cuda'`` device is the CPU stand-in.

    Inside it, ``fn.tensor(x, device='cuda')``, ``model.to('cuda')`` and every op run on
    ``DeviceArray``s, so an op that calls NumPy directly fails as it would on a GPU.

    Example::

        >>> from foveanet.backend import standin
        >>> with standin.cuda():
        ...     x = fn.tensor([1.0, -2.0], device="cuda")
        ...     y = F.relu(x)
        ...     print(y.device, y.cpu().numpy())
        cuda:0 [1. 0.]
    """
    before = _device._set_cuda_module(xp)
    _device.register_array_type(DeviceArray, xp, "cuda")
    try:
        yield xp
    finally:
        _device._set_cuda_module(*before)
        _device.unregister_array_type(DeviceArray)
