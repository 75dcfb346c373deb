"""Reductions (sum, mean, var, max/min) and their gradients. ``g`` is dL/d(output)."""
from __future__ import annotations

from collections import namedtuple

import numpy as np

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
    if dim is None:
        return np.broadcast_to(g.reshape((1,) * len(shape)) if not keepdim else g, shape)
    if not keepdim:
        g = np.expand_dims(g, dim)
    return np.broadcast_to(g, shape)


class Sum(Function):
    """y = sum_i a_i over ``dim``;  da = g broadcast back over the summed axes."""

    def forward(self, a, dim=None, keepdim=False):
        self.shape, self.dim, self.keepdim = a.shape, dim, keepdim
        return np.asarray(a.sum(axis=dim, keepdims=keepdim))

    def backward(self, g):
        return _expand_back(g, self.shape, self.dim, self.keepdim)


class Mean(Function):
    """y = (1/n) sum_i a_i;  da = g / n."""

    def forward(self, a, dim=None, keepdim=False):
        self.shape, self.dim, self.keepdim = a.shape, dim, keepdim
        self.n = a.size if dim is None else int(np.prod([a.shape[d] for d in dim]))
        return np.asarray(a.mean(axis=dim, keepdims=keepdim))

    def backward(self, g):
        return _expand_back(g / self.n, self.shape, self.dim, self.keepdim)


class Var(Function):
    """y = sum (a - mean)^2 / (n - unbiased);  da = g * 2 (a - mean) / (n - unbiased)."""

    def forward(self, a, dim=None, keepdim=False, unbiased=True):
        self.shape, self.dim, self.keepdim = a.shape, dim, keepdim
        n = a.size if dim is None else int(np.prod([a.shape[d] for d in dim]))
        self.denom = n - int(unbiased)
        self.centered = a - a.mean(axis=dim, keepdims=True)
        return np.asarray((self.centered ** 2).sum(axis=dim, keepdims=keepdim) / self.denom)

    def backward(self, g):
        return _expand_back(g, self.shape, self.dim, self.keepdim) * (2 / self.denom) * self.centered


class AMax(Function):
    """y = max (or min) over ``dim``;  da = g / (number of ties) at the extreme values."""

    def forward(self, a, dim=None, keepdim=False, largest=True):
        self.shape, self.dim, self.keepdim = a.shape, dim, keepdim
        y = (a.max if largest else a.min)(axis=dim, keepdims=True)
        self.mask = a == y
        return np.asarray(y if keepdim else (y.reshape(()) if dim is None else np.squeeze(y, dim)))

    def backward(self, g):
        ties = self.mask.sum(axis=self.dim, keepdims=True)
        gk = g if self.keepdim else (g.reshape((1,) * len(self.shape)) if self.dim is None else np.expand_dims(g, self.dim))
        return np.where(self.mask, gk / ties, 0).astype(g.dtype)


class TakeAlongDim(Function):
    """y = a[..., idx, ...] along ``dim``;  da = g scattered back to ``idx`` (added on repeats)."""

    def forward(self, a, idx, dim):
        self.shape, self.idx, self.dim = a.shape, idx, dim
        return np.take_along_axis(a, idx, axis=dim)

    def backward(self, g):
        da = np.zeros(self.shape, dtype=g.dtype)
        if self.idx.shape[self.dim] == 1:  # one index per line (max over dim): no repeats
            np.put_along_axis(da, self.idx, g, axis=self.dim)
        else:
            _add_along(da, self.idx, g, self.dim)
        return da, None


def _add_along(da, idx, g, dim):
    grids = list(np.indices(idx.shape, sparse=True))
    grids[dim] = idx
    np.add.at(da, tuple(grids), g)


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
    idx = index.data if isinstance(index, Tensor) else np.asarray(index)
    return TakeAlongDim.apply(a, idx, dim=dim % a.ndim)


MaxResult = namedtuple("MaxResult", ["values", "indices"])


def reduce_extreme(t: Tensor, dim, keepdim, largest):
    if dim is None:
        return AMax.apply(t, dim=None, keepdim=False, largest=largest)
    dim = int(dim) % t.ndim
    idx = (np.argmax if largest else np.argmin)(t.data, axis=dim)
    idx = np.expand_dims(idx, dim)
    values = TakeAlongDim.apply(t, idx, dim=dim)
    if not keepdim:
        values = values.squeeze(dim)
        idx = np.squeeze(idx, dim)
    return MaxResult(values, Tensor._wrap(idx.astype(np.int64), False, None))


def argextreme(t: Tensor, dim, keepdim, fn):
    if dim is None:
        return Tensor._wrap(np.asarray(fn(t.data), dtype=np.int64), False, None)
    idx = fn(t.data, axis=dim)
    if keepdim:
        idx = np.expand_dims(idx, dim)
    return Tensor._wrap(idx.astype(np.int64), False, None)
