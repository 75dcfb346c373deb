"""Adaptive pooling: the output size is given, the windows follow from it (PyTorch's chunks).

Output position ``i`` of ``out`` along an axis of size ``n`` pools the cells

    start = floor(i * n / out),   end = ceil((i + 1) * n / out)

so neighbouring windows may overlap by one cell when ``out`` does not divide ``n``, and a
window may be shared when ``out > n``. Global pooling is ``output_size=1``.

Gradients: avg spreads g / (window size) over the window; max adds g at the window's
argmax (first maximum in row-major order, as PyTorch), summed where windows overlap.
When ``out`` divides ``n`` the windows tile the input and the ops run as max/avg pooling
with kernel = stride = n / out.
"""
from __future__ import annotations

import numbers

import numpy as np

from foveanet.autograd.function import Function
from foveanet.autograd.tensor import Tensor
from foveanet.functional._utils import as_tensor
from foveanet.functional.pooling import Axis, Geometry, _AvgPool, _MaxPool, running_argmax, spatial_view

__all__ = ["adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_max_pool1d", "adaptive_max_pool2d"]


def _output_size(op: str, output_size, sizes: tuple) -> tuple:
    """int, or a tuple whose None entries keep the input's size -> a tuple of positive ints."""
    nd = len(sizes)
    given = output_size
    if isinstance(given, numbers.Integral) and not isinstance(given, bool):
        given = (given,) * nd
    try:
        given = tuple(given)
    except TypeError:
        raise TypeError(f"{op}: output_size must be an int or a tuple of {nd}, got {output_size!r}") from None
    if len(given) != nd:
        raise ValueError(f"{op}: output_size must have {nd} value(s), got {output_size!r}")
    out = tuple(n if o is None else int(o) for o, n in zip(given, sizes))
    if min(out) <= 0:
        raise ValueError(f"{op}: output_size must be positive, got {output_size!r}")
    return out


def _bounds(n: int, out: int) -> tuple:
    i = np.arange(out)
    return (i * n) // out, -((-(i + 1) * n) // out)


def _setup(op, input, nd, output_size):
    x = as_tensor(input, op=op)
    shape4, lead = spatial_view(x, nd, op)
    sizes = shape4[4 - nd:]
    outs = _output_size(op, output_size, sizes)
    out4 = (1,) * (2 - nd) + outs
    return x, shape4, lead + outs, out4


def _tiling_geometry(shape4, out_shape, out4) -> Geometry | None:
    """Max/avg-pool geometry with kernel = stride = n / out, or None if out does not divide n."""
    if any(n % o for n, o in zip(shape4[2:], out4)):
        return None
    h, w = (Axis(n, n // o, n // o, 0, 1, o) for n, o in zip(shape4[2:], out4))
    return Geometry(h, w, shape4, out_shape)


class _AdaptiveAvg(Function):
    """y = A_h x A_w^T per plane, A[i, j] = 1/len_i on window i;  dx = A_h^T g A_w."""

    uses_blas = True

    def forward(self, x, *, shape4, out_shape, out4):
        Ah, Aw = (_averaging_matrix(n, o, x.dtype) for n, o in zip(shape4[2:], out4))
        y = np.matmul(Ah, np.matmul(x.reshape(shape4), Aw.T))
        if self.requires_grad:
            self.Ah, self.Aw, self.in_shape, self.g_shape = Ah, Aw, x.shape, y.shape
        return y.reshape(out_shape)

    def backward(self, g):
        return np.matmul(self.Ah.T, np.matmul(g.reshape(self.g_shape), self.Aw)).reshape(self.in_shape)


def _averaging_matrix(n: int, out: int, dtype) -> np.ndarray:
    start, end = _bounds(n, out)
    cols = np.arange(n)
    inside = (cols >= start[:, None]) & (cols < end[:, None])
    return (inside / (end - start)[:, None]).astype(dtype)


class _AdaptiveMax(Function):
    """y[i] = max over window i;  dx[argmax of window i] += g[i]."""

    def forward(self, x, *, shape4, out_shape, out4, index_box=None):
        (H, W), (OH, OW) = shape4[2:], out4
        (hs, he), (ws, we) = _bounds(H, OH), _bounds(W, OW)
        # windows of unequal length: index each with the longest length and repeat its last
        # cell; a repeat never beats the earlier original, so argmax and NaNs are unaffected
        rows = np.minimum(hs[:, None] + np.arange((he - hs).max()), he[:, None] - 1)
        cols = np.minimum(ws[:, None] + np.arange((we - ws).max()), we[:, None] - 1)
        x4 = x.reshape(shape4)
        views = [x4[:, :, rows[:, i, None], cols[None, :, j]]
                 for i in range(rows.shape[1]) for j in range(cols.shape[1])]
        out, arg = running_argmax(views)
        kh, kw = np.divmod(arg.astype(np.int64), cols.shape[1])
        index = rows[np.arange(OH)[:, None], kh] * W + cols[np.arange(OW), kw]
        if index_box is not None:
            index_box.append(index.reshape(out_shape))
        if self.requires_grad:
            self.index, self.in_shape = index, x.shape
            self.plane = H * W
        return out.reshape(out_shape)

    def backward(self, g):
        planes = int(np.prod(self.index.shape[:2]))
        flat = (np.arange(planes)[:, None] * self.plane + self.index.reshape(planes, -1)).ravel()
        # bincount sums repeated targets (overlapping windows) in one pass, in float64
        gx = np.bincount(flat, weights=g.ravel(), minlength=planes * self.plane)
        return gx.astype(g.dtype).reshape(self.in_shape)


def _adaptive_avg(op, nd, input, output_size):
    x, shape4, out_shape, out4 = _setup(op, input, nd, output_size)
    geo = _tiling_geometry(shape4, out_shape, out4)
    if geo is not None:
        return _AvgPool.apply(x, geo=geo)
    return _AdaptiveAvg.apply(x, shape4=shape4, out_shape=out_shape, out4=out4)


def _adaptive_max(op, nd, input, output_size, return_indices):
    x, shape4, out_shape, out4 = _setup(op, input, nd, output_size)
    geo = _tiling_geometry(shape4, out_shape, out4)
    box = [] if return_indices else None
    if geo is not None:
        out = _MaxPool.apply(x, geo=geo, index_box=box)
    else:
        out = _AdaptiveMax.apply(x, shape4=shape4, out_shape=out_shape, out4=out4, index_box=box)
    return (out, Tensor._wrap(box[0], False, None)) if return_indices else out


def adaptive_avg_pool2d(input, output_size):
    """(N, C, H, W) or (C, H, W) -> (..., out_h, out_w); ``output_size`` an int or a pair
    (None keeps that dim). y[i, j] = mean of rows [floor(iH/out_h), ceil((i+1)H/out_h)) x
    the same for columns;  dx: g[i, j] / (window size) over the window (summed on overlaps).
    """
    return _adaptive_avg("adaptive_avg_pool2d", 2, input, output_size)


def adaptive_avg_pool1d(input, output_size):
    """(N, C, L) or (C, L) -> (..., out); windows and gradient as :func:`adaptive_avg_pool2d`."""
    return _adaptive_avg("adaptive_avg_pool1d", 1, input, output_size)


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """(N, C, H, W) or (C, H, W) -> (..., out_h, out_w); max over the windows of
    :func:`adaptive_avg_pool2d`. dx: g added at each window's argmax (first maximum in
    row-major order). ``return_indices``: also the argmax as flat indices into H*W (int64).
    """
    return _adaptive_max("adaptive_max_pool2d", 2, input, output_size, return_indices)


def adaptive_max_pool1d(input, output_size, return_indices=False):
    """(N, C, L) or (C, L) -> (..., out); as :func:`adaptive_max_pool2d` (indices into L)."""
    return _adaptive_max("adaptive_max_pool1d", 1, input, output_size, return_indices)
