"""Tensor constructors in PyTorch's names (float32 unless told otherwise)."""
from __future__ import annotations

import numpy as np

from foveanet import backend
from foveanet.autograd.tensor import Tensor


def _shape(size):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        return tuple(size[0])
    return tuple(size)


def _make(array, requires_grad):
    t = Tensor._wrap(array, False, None)
    return t.requires_grad_(True) if requires_grad else t


def tensor(data, requires_grad: bool = False, dtype=None) -> Tensor:
    """A new tensor holding a copy of ``data`` (list, scalar, ndarray or Tensor)."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with ``array`` (no copy), like torch.from_numpy."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected an np.ndarray, got {type(array).__name__}")
    return Tensor._wrap(array, False, None)


def zeros(*size, dtype=None, requires_grad=False) -> Tensor:
    return _make(np.zeros(_shape(size), dtype=dtype or backend.get_default_dtype()), requires_grad)


def ones(*size, dtype=None, requires_grad=False) -> Tensor:
    return _make(np.ones(_shape(size), dtype=dtype or backend.get_default_dtype()), requires_grad)


def full(size, fill_value, dtype=None, requires_grad=False) -> Tensor:
    return _make(np.full(tuple(size), fill_value, dtype=dtype or backend.get_default_dtype()), requires_grad)


def empty(*size, dtype=None, requires_grad=False) -> Tensor:
    return _make(np.empty(_shape(size), dtype=dtype or backend.get_default_dtype()), requires_grad)


def zeros_like(t, dtype=None, requires_grad=False) -> Tensor:
    return _make(np.zeros_like(np.asarray(t), dtype=dtype), requires_grad)


def ones_like(t, dtype=None, requires_grad=False) -> Tensor:
    return _make(np.ones_like(np.asarray(t), dtype=dtype), requires_grad)


def eye(n, m=None, dtype=None) -> Tensor:
    return _make(np.eye(n, m, dtype=dtype or backend.get_default_dtype()), False)


def arange(start, end=None, step=1, dtype=None) -> Tensor:
    if end is None:
        start, end = 0, start
    arr = np.arange(start, end, step)
    if dtype is not None:
        arr = arr.astype(dtype)
    elif arr.dtype.kind == "f":
        arr = arr.astype(backend.get_default_dtype())
    return _make(arr, False)


def linspace(start, end, steps, dtype=None) -> Tensor:
    return _make(np.linspace(start, end, steps).astype(dtype or backend.get_default_dtype()), False)


def randn(*size, dtype=None, requires_grad=False) -> Tensor:
    dt = np.dtype(dtype or backend.get_default_dtype())
    return _make(backend.generator().standard_normal(_shape(size), dtype=np.float64).astype(dt), requires_grad)


def rand(*size, dtype=None, requires_grad=False) -> Tensor:
    dt = np.dtype(dtype or backend.get_default_dtype())
    return _make(backend.generator().random(_shape(size)).astype(dt), requires_grad)


def randint(low, high=None, size=(), dtype=np.int64) -> Tensor:
    if high is None:
        low, high = 0, low
    return _make(backend.generator().integers(low, high, size=size).astype(dtype), False)


def randperm(n: int) -> Tensor:
    return _make(backend.generator().permutation(n).astype(np.int64), False)
