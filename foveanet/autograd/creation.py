"""Tensor constructors in PyTorch's names (float32 unless told otherwise)."""
from __future__ import annotations

import numpy as np

from foveanet import backend
from foveanet.backend import devices as _devices
from foveanet.autograd.tensor import Tensor
from foveanet.autograd.tracing import traceable


def _shape(size):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        return tuple(size[0])
    return tuple(size)


def _xp(device):
    return np if device is None else _devices.module_for(device)


def _make(array, requires_grad, device=None):
    if device is not None:
        array = _devices.to_device(array, device)
    t = Tensor._wrap(array, False, None)
    return t.requires_grad_(True) if requires_grad else t


def _like(t, dtype, requires_grad, device, value):
    a = t.data if isinstance(t, Tensor) else t
    if not hasattr(a, "shape"):
        a = np.asarray(a)
    if device is None:
        device = _devices.device_of(a)
    xp = _devices.module_for(device)
    return _make(xp.full(a.shape, value, dtype=a.dtype if dtype is None else dtype), requires_grad)


def tensor(data, requires_grad: bool = False, dtype=None, device=None) -> Tensor:
    """A new tensor holding a copy of ``data`` (list, scalar, ndarray or Tensor).

    Python floats become the default float dtype (float32), Python ints int64, and a NumPy
    array keeps its dtype, as ``torch.tensor`` does.

    Args:
        data: the values: a nested list, a scalar, an ndarray or a Tensor (copied).
        requires_grad: record operations on the result for autograd (default False).
        dtype: NumPy dtype of the result (default None: inferred from ``data`` as above).
        device: where the result lives: ``'cpu'`` or ``'cuda'`` (default None: the CPU).

    Returns:
        Tensor: a leaf tensor that owns its memory.

    Example::

        >>> t = fn.tensor([[1, 2], [3, 4]])
        >>> t.dtype, t.shape
        (dtype('int64'), (2, 2))
        >>> fn.tensor([0.5, 1.5], requires_grad=True)
        tensor([0.5, 1.5], requires_grad=True)
        >>> fn.tensor(2.0, dtype=fn.float64).item()
        2.0
    """
    return Tensor(data, requires_grad=requires_grad, dtype=dtype, device=device)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with ``array`` (no copy), like torch.from_numpy.

    Writes to the array show in the tensor and back; the dtype is the array's own.

    Args:
        array: an ``np.ndarray``.

    Returns:
        Tensor: a leaf tensor viewing ``array``.

    Example::

        >>> a = np.array([1.0, 2.0, 3.0])
        >>> t = fn.from_numpy(a)
        >>> a[0] = 7.0
        >>> t
        tensor([7., 2., 3.], dtype=float64)
    """
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected an np.ndarray, got {type(array).__name__}")
    return Tensor._wrap(array, False, None)


@traceable
def zeros(*size, dtype=None, requires_grad=False, device=None) -> Tensor:
    """A tensor of the given shape filled with 0.

    Args:
        *size: the shape, as ints or one tuple.
        dtype: NumPy dtype (default None: ``fn.get_default_dtype()``, float32).
        requires_grad: record operations on the result for autograd (default False).
        device: where the result lives: ``'cpu'`` or ``'cuda'`` (default None: the CPU).

    Returns:
        Tensor: a new leaf tensor.

    Example::

        >>> fn.zeros(2, 3)
        tensor([[0., 0., 0.],
                [0., 0., 0.]])
        >>> fn.zeros((2, 3)).shape
        (2, 3)
        >>> fn.zeros(2, dtype=fn.int64)
        tensor([0, 0])
    """
    return _make(_xp(device).zeros(_shape(size), dtype=dtype or backend.get_default_dtype()), requires_grad, device)


@traceable
def ones(*size, dtype=None, requires_grad=False, device=None) -> Tensor:
    """A tensor of the given shape filled with 1.

    Args:
        *size: the shape, as ints or one tuple.
        dtype: NumPy dtype (default None: ``fn.get_default_dtype()``, float32).
        requires_grad: record operations on the result for autograd (default False).
        device: where the result lives: ``'cpu'`` or ``'cuda'`` (default None: the CPU).

    Returns:
        Tensor: a new leaf tensor.

    Example::

        >>> fn.ones(2, 2)
        tensor([[1., 1.],
                [1., 1.]])
        >>> fn.ones(3, requires_grad=True).requires_grad
        True
    """
    return _make(_xp(device).ones(_shape(size), dtype=dtype or backend.get_default_dtype()), requires_grad, device)


@traceable
def full(size, fill_value, dtype=None, requires_grad=False, device=None) -> Tensor:
    """A tensor of shape ``size`` filled with ``fill_value``.

    Args:
        size: the shape, a tuple or list of ints.
        fill_value: the value of every element.
        dtype: NumPy dtype (default None: ``fn.get_default_dtype()``, float32).
        requires_grad: record operations on the result for autograd (default False).
        device: where the result lives: ``'cpu'`` or ``'cuda'`` (default None: the CPU).

    Returns:
        Tensor: a new leaf tensor.

    Example::

        >>> fn.full((2, 3), 7.5)
        tensor([[7.5, 7.5, 7.5],
                [7.5, 7.5, 7.5]])
    """
    return _make(_xp(device).full(tuple(size), fill_value, dtype=dtype or backend.get_default_dtype()), requires_grad, device)


@traceable
def empty(*size, dtype=None, requires_grad=False, device=None) -> Tensor:
    """A tensor of the given shape whose values are not initialised (whatever memory held).

    Use it for buffers that are written before they are read, such as a weight about to
    be filled by ``nn.init``.

    Args:
        *size: the shape, as ints or one tuple.
        dtype: NumPy dtype (default None: ``fn.get_default_dtype()``, float32).
        requires_grad: record operations on the result for autograd (default False).
        device: where the result lives: ``'cpu'`` or ``'cuda'`` (default None: the CPU).

    Returns:
        Tensor: a new leaf tensor.

    Example::

        >>> x = fn.empty(2, 3)
        >>> x.shape, x.dtype
        ((2, 3), dtype('float32'))
    """
    return _make(_xp(device).empty(_shape(size), dtype=dtype or backend.get_default_dtype()), requires_grad, device)


@traceable
def zeros_like(t, dtype=None, requires_grad=False, device=None) -> Tensor:
    """A tensor of zeros with the shape (and, by default, the dtype) of ``t``.

    Args:
        t: a Tensor or array-like whose shape is copied.
        dtype: NumPy dtype (default None: ``t``'s dtype).
        requires_grad: record operations on the result for autograd (default False).
        device: where the result lives (default None: ``t``'s device).

    Returns:
        Tensor: a new leaf tensor.

    Example::

        >>> x = fn.tensor([[1, 2, 3]])
        >>> fn.zeros_like(x)
        tensor([[0, 0, 0]])
        >>> fn.zeros_like(x, dtype=fn.float32)
        tensor([[0., 0., 0.]])
    """
    return _like(t, dtype, requires_grad, device, 0)


@traceable
def ones_like(t, dtype=None, requires_grad=False, device=None) -> Tensor:
    """A tensor of ones with the shape (and, by default, the dtype) of ``t``.

    Args:
        t: a Tensor or array-like whose shape is copied.
        dtype: NumPy dtype (default None: ``t``'s dtype).
        requires_grad: record operations on the result for autograd (default False).
        device: where the result lives (default None: ``t``'s device).

    Returns:
        Tensor: a new leaf tensor.

    Example::

        >>> fn.ones_like(fn.zeros(2, 2))
        tensor([[1., 1.],
                [1., 1.]])
    """
    return _like(t, dtype, requires_grad, device, 1)


def eye(n, m=None, dtype=None, device=None) -> Tensor:
    """A 2-d tensor with ones on the diagonal and zeros elsewhere.

    Args:
        n: the number of rows.
        m: the number of columns (default None: ``n``).
        dtype: NumPy dtype (default None: ``fn.get_default_dtype()``, float32).
        device: where the result lives: ``'cpu'`` or ``'cuda'`` (default None: the CPU).

    Returns:
        Tensor: a new leaf tensor of shape (n, m).

    Example::

        >>> fn.eye(3)
        tensor([[1., 0., 0.],
                [0., 1., 0.],
                [0., 0., 1.]])
        >>> fn.eye(2, 3)
        tensor([[1., 0., 0.],
                [0., 1., 0.]])
    """
    return _make(_xp(device).eye(n, m, dtype=dtype or backend.get_default_dtype()), False, device)


def arange(start, end=None, step=1, dtype=None, device=None) -> Tensor:
    """A 1-d tensor of the values start, start + step, ... up to but excluding ``end``.

    With one argument, ``arange(n)`` counts 0, 1, ..., n - 1. Integer arguments give int64,
    float ones the default float dtype, as ``torch.arange``.

    Args:
        start: the first value (or, alone, the end with start 0).
        end: the bound, not included (default None: see above).
        step: the gap between values (default 1).
        dtype: NumPy dtype (default None: inferred as above).

    Shape:
        - Output: (ceil((end - start) / step),).
        device: where the result lives: ``'cpu'`` or ``'cuda'`` (default None: the CPU).

    Returns:
        Tensor: a new leaf tensor.

    Example::

        >>> fn.arange(5)
        tensor([0, 1, 2, 3, 4])
        >>> fn.arange(1, 2, 0.25)
        tensor([1.  , 1.25, 1.5 , 1.75])
        >>> fn.arange(0, 10, 3).tolist()
        [0, 3, 6, 9]
    """
    if end is None:
        start, end = 0, start
    arr = np.arange(start, end, step)
    if dtype is not None:
        arr = arr.astype(dtype)
    elif arr.dtype.kind == "f":
        arr = arr.astype(backend.get_default_dtype())
    return _make(arr, False, device)


def linspace(start, end, steps, dtype=None, device=None) -> Tensor:
    """A 1-d tensor of ``steps`` values evenly spaced from ``start`` to ``end``, both included.

    Value i is ``start + i * (end - start) / (steps - 1)``.

    Args:
        start: the first value.
        end: the last value.
        steps: how many values.
        dtype: NumPy dtype (default None: ``fn.get_default_dtype()``, float32).
        device: where the result lives: ``'cpu'`` or ``'cuda'`` (default None: the CPU).

    Returns:
        Tensor: a new leaf tensor of shape (steps,).

    Example::

        >>> fn.linspace(0, 1, 5)
        tensor([0.  , 0.25, 0.5 , 0.75, 1.  ])
    """
    return _make(np.linspace(start, end, steps).astype(dtype or backend.get_default_dtype()), False, device)


def randn(*size, dtype=None, requires_grad=False, device=None) -> Tensor:
    """A tensor of the given shape drawn from the standard normal distribution N(0, 1).

    Draws from the global generator, so ``fn.manual_seed`` makes the values reproducible.

    Args:
        *size: the shape, as ints or one tuple.
        dtype: NumPy dtype (default None: ``fn.get_default_dtype()``, float32).
        requires_grad: record operations on the result for autograd (default False).
        device: where the result lives: ``'cpu'`` or ``'cuda'`` (default None: the CPU).

    Returns:
        Tensor: a new leaf tensor.

    Example::

        >>> _ = fn.manual_seed(0)
        >>> x = fn.randn(1000)
        >>> x.shape, x.dtype
        ((1000,), dtype('float32'))
        >>> round(float(x.mean()), 1), round(float(x.std()), 1)
        (-0.0, 1.0)
        >>> _ = fn.manual_seed(0)
        >>> np.array_equal(fn.randn(1000).numpy(), x.numpy())
        True
    """
    dt = np.dtype(dtype or backend.get_default_dtype())
    return _make(backend.generator().standard_normal(_shape(size), dtype=np.float64).astype(dt), requires_grad, device)


def rand(*size, dtype=None, requires_grad=False, device=None) -> Tensor:
    """A tensor of the given shape drawn uniformly from [0, 1).

    Draws from the global generator, so ``fn.manual_seed`` makes the values reproducible.

    Args:
        *size: the shape, as ints or one tuple.
        dtype: NumPy dtype (default None: ``fn.get_default_dtype()``, float32).
        requires_grad: record operations on the result for autograd (default False).
        device: where the result lives: ``'cpu'`` or ``'cuda'`` (default None: the CPU).

    Returns:
        Tensor: a new leaf tensor.

    Example::

        >>> _ = fn.manual_seed(0)
        >>> fn.rand(2, 3)
        tensor([[0.637 , 0.2698, 0.041 ],
                [0.0165, 0.8133, 0.9128]])
        >>> x = fn.rand(10000)
        >>> float(x.min()) >= 0, float(x.max()) < 1, round(float(x.mean()), 2)
        (True, True, 0.5)
    """
    dt = np.dtype(dtype or backend.get_default_dtype())
    return _make(backend.generator().random(_shape(size)).astype(dt), requires_grad, device)


def randint(low, high=None, size=(), dtype=np.int64, device=None) -> Tensor:
    """A tensor of shape ``size`` of integers drawn uniformly from [low, high).

    With one bound, ``randint(high, size=...)`` draws from [0, high). Draws from the global
    generator (see ``fn.manual_seed``).

    Args:
        low: the smallest value (or, alone, the bound ``high`` with low 0).
        high: one past the largest value (default None: see above).
        size: the shape, a tuple of ints (default (): a 0-d tensor).
        dtype: NumPy dtype (default int64).
        device: where the result lives: ``'cpu'`` or ``'cuda'`` (default None: the CPU).

    Returns:
        Tensor: a new leaf tensor.

    Example::

        >>> _ = fn.manual_seed(0)
        >>> fn.randint(10, size=(5,))
        tensor([8, 6, 5, 2, 3])
        >>> x = fn.randint(3, 6, size=(1000,))
        >>> sorted(set(x.tolist())), x.dtype
        ([3, 4, 5], dtype('int64'))
    """
    if high is None:
        low, high = 0, low
    return _make(backend.generator().integers(low, high, size=size).astype(dtype), False, device)


def randperm(n: int, device=None) -> Tensor:
    """A random permutation of 0, 1, ..., n - 1, as an int64 tensor.

    Draws from the global generator (see ``fn.manual_seed``).

    Args:
        n: how many values.
        device: where the result lives: ``'cpu'`` or ``'cuda'`` (default None: the CPU).

    Returns:
        Tensor: a new leaf tensor of shape (n,).

    Example::

        >>> _ = fn.manual_seed(0)
        >>> p = fn.randperm(6)
        >>> p
        tensor([3, 2, 5, 4, 0, 1])
        >>> sorted(p.tolist())
        [0, 1, 2, 3, 4, 5]
    """
    return _make(backend.generator().permutation(n).astype(np.int64), False, device)
