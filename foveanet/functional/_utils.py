"""Argument checking and conversion shared by the functional ops."""
from __future__ import annotations

import numbers

import numpy as np

from foveanet.autograd.tensor import Tensor
from foveanet.backend import devices

# the dtypes the compiled kernels (foveanet/kernels) are built for; others take the NumPy path
COMPILED_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def as_tensor(x, name: str = "input", op: str = "") -> Tensor:
    """Accept a Tensor or anything NumPy can read (arrays keep their dtype, no copy)."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, np.ndarray):
        return Tensor._wrap(x, False, None)
    if x is None:
        raise TypeError(f"{op + ': ' if op else ''}{name} is None, expected a tensor or array")
    return Tensor(x)


def as_optional(x, name: str, op: str = ""):
    return None if x is None else as_tensor(x, name, op)


def ntuple(value, n: int, name: str, op: str, expand_single: bool = True) -> tuple:
    """An int or a sequence of n ints -> a tuple of n ints.

    expand_single: a one-element sequence stands for all n axes, as PyTorch's functional ops
    read ``stride=(2,)``; its modules (``nn.Conv2d(kernel_size=(3,))``) take the sequence as
    given, so ``nn`` passes False."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return (int(value),) * n
    try:
        out = tuple(int(v) for v in value)
    except TypeError:
        raise TypeError(f"{op}: {name} must be an int or a tuple of {n} ints, got {value!r}") from None
    if len(out) == 1 and expand_single:
        return out * n
    if len(out) != n:
        raise ValueError(f"{op}: {name} must have {n} values, got {value!r}")
    return out


def check_ndim(x: Tensor, allowed: tuple, op: str, layout: str) -> None:
    if x.ndim not in allowed:
        want = " or ".join(f"{n}-d" for n in allowed)
        raise ValueError(f"{op}: expected a {want} input ({layout}), got shape {tuple(x.shape)}")


def check_float(x: Tensor, op: str, name: str = "input") -> None:
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: {name} must be a float tensor, got {x.dtype}")


def data_on(x, like: Tensor, dtype=None):
    """The values of ``x`` (a Tensor, an array or a list: labels, targets) as an array on
    ``like``'s device (moved there when they live elsewhere), of ``dtype`` when given."""
    a = x.data if isinstance(x, Tensor) else x
    a = devices.to_device(a, like.device)
    return a if dtype is None else a.astype(dtype, copy=False)
