"""Reductions (sum, mean, var, max/min) and their gradients. ``g`` is dL/d(output)."""
from __future__ import annotations

import math
from collections import namedtuple

import numpy as np

from foveanet.backend import devices as _device
from foveanet.backend.arrays import array_module
from foveanet.autograd.function import Function
from foveanet.autograd.tensor import Tensor


def normalize_dims(dim, ndim: int):
    """None (all axes), an int or a sequence of ints -> None or a sorted tuple of axes."""
    if dim is None:
        return None
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    out = []
    for d in dims:
        if not -max(ndim, 1) <= d < max(ndim, 1):
            raise IndexError(f"dimension {d} out of range for a tensor with {ndim} dims")
        out.append(int(d) % max(ndim, 1))
    return tuple(sorted(set(out)))


# ------------------------------------------------------------------- reductions


def _expand_back(g, shape, dim, keepdim):
    """Re-insert reduced axes so that ``g`` broadcasts against the input shape."""
    xp = array_module(g)
    if dim is None:
        return xp.broadcast_to(g.reshape((1,) * len(shape)) if not keepdim else g, shape)
    if not keepdim:
        g = xp.expand_dims(g, dim)
    return xp.broadcast_to(g, shape)


class Sum(Function):
    """y = sum_i a_i over ``dim``;  da = g broadcast back over the summed axes."""

    def forward(self, a, dim=None, keepdim=False):
        self.shape, self.dim, self.keepdim = a.shape, dim, keepdim
        return array_module(a).asarray(a.sum(axis=dim, keepdims=keepdim))

    def backward(self, g):
        return _expand_back(g, self.shape, self.dim, self.keepdim)


class Mean(Function):
    """y = (1/n) sum_i a_i;  da = g / n."""

    def forward(self, a, dim=None, keepdim=False):
        self.shape, self.dim, self.keepdim = a.shape, dim, keepdim
        self.n = a.size if dim is None else math.prod(a.shape[d] for d in dim)
        return array_module(a).asarray(a.mean(axis=dim, keepdims=keepdim))

    def backward(self, g):
        return _expand_back(g / self.n, self.shape, self.dim, self.keepdim)


class Var(Function):
    """y = sum (a - mean)^2 / (n - unbiased);  da = g * 2 (a - mean) / (n - unbiased)."""

    def forward(self, a, dim=None, keepdim=False, unbiased=True):
        self.shape, self.dim, self.keepdim = a.shape, dim, keepdim
        n = a.size if dim is None else math.prod(a.shape[d] for d in dim)
        self.denom = n - int(unbiased)
        self.centered = a - a.mean(axis=dim, keepdims=True)
        return array_module(a).asarray((self.centered ** 2).sum(axis=dim, keepdims=keepdim) / self.denom)

    def backward(self, g):
        return _expand_back(g, self.shape, self.dim, self.keepdim) * (2 / self.denom) * self.centered


class AMax(Function):
    """y = max (or min) over ``dim``;  da = g / (number of ties) at the extreme values."""

    def forward(self, a, dim=None, keepdim=False, largest=True):
        self.shape, self.dim, self.keepdim = a.shape, dim, keepdim
        y = (a.max if largest else a.min)(axis=dim, keepdims=True)
        self.mask = a == y
        return array_module(a).asarray(y if keepdim else (y.reshape(()) if dim is None else y.squeeze(axis=dim)))

    def backward(self, g):
        xp = array_module(g)
        ties = self.mask.sum(axis=self.dim, keepdims=True)
        gk = g if self.keepdim else (g.reshape((1,) * len(self.shape)) if self.dim is None else xp.expand_dims(g, self.dim))
        return xp.where(self.mask, gk / ties, 0).astype(g.dtype)


class TakeAlongDim(Function):
    """y = a[..., idx, ...] along ``dim``;  da = g scattered back to ``idx`` (added on repeats)."""

    def forward(self, a, idx, dim):
        self.shape, self.idx, self.dim = a.shape, idx, dim
        return array_module(a).take_along_axis(a, idx, axis=dim)

    def backward(self, g):
        xp = array_module(g)
        da = xp.zeros(self.shape, dtype=g.dtype)
        if self.idx.shape[self.dim] == 1:  # one index per line (max over dim): no repeats
            xp.put_along_axis(da, self.idx, g, axis=self.dim)
        else:
            _add_along(xp, da, self.idx, g, self.dim)
        return da, None


def _add_along(xp, da, idx, g, dim):
    # np.indices(shape, sparse=True) by hand: CuPy's indices has no ``sparse``
    nd = idx.ndim
    grids = [xp.arange(n).reshape((1,) * i + (n,) + (1,) * (nd - i - 1)) for i, n in enumerate(idx.shape)]
    grids[dim] = idx
    xp.add.at(da, tuple(grids), g)


def gather(a: Tensor, dim: int, index) -> Tensor:
    """``torch.gather``: ``out[i][j] = a[i][index[i][j]]`` along ``dim``.

    Spelled out for dim = 1 (dim = 0 reads ``out[i][j] = a[index[i][j]][j]``); the backward
    adds each ``g[i][j]`` into the entry of ``a`` it was read from.

    Args:
        a: the source Tensor.
        dim: the axis along which ``index`` picks.
        index: an int Tensor or array with as many dims as ``a``.

    Shape:
        - Output: ``index``'s shape.

    Example::

        >>> a = fn.tensor([[1, 2, 3], [4, 5, 6]])
        >>> fn.gather(a, 1, fn.tensor([[2, 0], [1, 1]]))
        tensor([[3, 1],
                [5, 5]])
        >>> fn.gather(a, 0, fn.tensor([[1, 0, 1]]))
        tensor([[4, 2, 6]])
    """
    idx = index.data if isinstance(index, Tensor) else _device.to_device(index, a.device)
    if not hasattr(idx, "shape"):  # a list or a scalar: an array on a's device
        idx = array_module(a.data).asarray(idx)
    return TakeAlongDim.apply(a, idx, dim=dim % a.ndim)


MaxResult = namedtuple("MaxResult", ["values", "indices"])


def reduce_extreme(t: Tensor, dim, keepdim, largest):
    if dim is None:
        return AMax.apply(t, dim=None, keepdim=False, largest=largest)
    dim = int(dim) % t.ndim
    idx = (t.data.argmax if largest else t.data.argmin)(axis=dim)
    idx = array_module(idx).expand_dims(idx, dim)
    values = TakeAlongDim.apply(t, idx, dim=dim)
    if not keepdim:
        values = values.squeeze(dim)
        idx = idx.squeeze(axis=dim)
    return MaxResult(values, Tensor._wrap(idx.astype(np.int64), False, None))


def argextreme(t: Tensor, dim, keepdim, largest: bool):
    """The index of the largest (smallest) value, over all (flat index) or along ``dim``."""
    find = t.data.argmax if largest else t.data.argmin
    if dim is None:
        return Tensor._wrap(array_module(t.data).asarray(find(), dtype=np.int64), False, None)
    idx = find(axis=dim)
    if keepdim:
        idx = array_module(idx).expand_dims(idx, dim)
    return Tensor._wrap(idx.astype(np.int64), False, None)
