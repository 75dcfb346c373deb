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
from foveanet.backend import array_module, kernels
from foveanet.functional._utils import COMPILED_DTYPES, as_tensor
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


def _windows(n: int, out: int) -> np.ndarray:
    """(out, longest window) host table of each window's cells; a shorter window repeats its
    last cell, which never beats the earlier original, so argmax and NaNs are unaffected."""
    start, end = _bounds(n, out)
    return np.minimum(start[:, None] + np.arange((end - start).max()), end[:, None] - 1)


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
        xp = array_module(x)
        Ah, Aw = (_averaging_matrix(n, o, x.dtype, xp) for n, o in zip(shape4[2:], out4))
        y = xp.matmul(Ah, xp.matmul(x.reshape(shape4), Aw.T))
        if self.requires_grad:
            self.Ah, self.Aw, self.in_shape, self.g_shape = Ah, Aw, x.shape, y.shape
        return y.reshape(out_shape)

    def backward(self, g):
        xp = array_module(g)
        return xp.matmul(self.Ah.T, xp.matmul(g.reshape(self.g_shape), self.Aw)).reshape(self.in_shape)


def _averaging_matrix(n: int, out: int, dtype, xp=np):
    """(out, n), row i = 1/len_i on window i; built on the host (it is small) and moved."""
    start, end = _bounds(n, out)
    cols = np.arange(n)
    inside = (cols >= start[:, None]) & (cols < end[:, None])
    a = (inside / (end - start)[:, None]).astype(dtype)
    return a if xp is np else xp.asarray(a)


class _AdaptiveMax(Function):
    """y[i] = max over window i;  dx[argmax of window i] += g[i]."""

    compiled = None  # the compiled kernels that ran forward (None: the NumPy gathers)

    def forward(self, x, *, shape4, out_shape, out4, index_box=None):
        (H, W), (OH, OW) = shape4[2:], out4
        ks = kernels(x)
        if ks.compiled is not None and x.dtype in COMPILED_DTYPES:
            return self._forward_compiled(ks, x, shape4, out_shape, out4, index_box)
        rows, cols = _windows(H, OH), _windows(W, OW)  # windows of unequal length, padded
        x4 = x.reshape(shape4)
        xp = array_module(x)
        if xp is not np:  # the window tables are small: built on the host, moved once
            rows, cols = xp.asarray(rows), xp.asarray(cols)
        views = [x4[:, :, rows[:, i, None], cols[None, :, j]]
                 for i in range(rows.shape[1]) for j in range(cols.shape[1])]
        out, arg = running_argmax(views, xp)
        kh, kw = xp.divmod(arg.astype(np.int64), cols.shape[1])
        index = rows[xp.arange(OH)[:, None], kh] * W + cols[xp.arange(OW), kw]
        if index_box is not None:
            index_box.append(index.reshape(out_shape))
        if self.requires_grad:
            self.index, self.in_shape = index, x.shape
            self.plane = H * W
        return out.reshape(out_shape)

    def _forward_compiled(self, ks, x, shape4, out_shape, out4, index_box):
        N, C, H, W = shape4
        planes, xp = N * C, array_module(x)  # NumPy: the compiled kernels are the CPU's
        (rs, re), (cs, ce) = _bounds(H, out4[0]), _bounds(W, out4[1])
        x3 = xp.ascontiguousarray(x).reshape(planes, H, W)
        y = xp.empty((planes,) + out4, dtype=x.dtype)
        index = xp.empty((N, C) + out4, dtype=np.int64)
        ks.each_channel_block(planes, x3.size, lambda sl: ks.compiled.adaptive_max_forward(
            x3, y, index.reshape(planes, *out4), rs, re, cs, ce, sl.start, sl.stop))
        if index_box is not None:
            index_box.append(index.reshape(out_shape))
        if self.requires_grad:
            self.compiled, self.index, self.in_shape, self.plane = ks, index, x.shape, H * W
        return y.reshape(out_shape)

    def backward(self, g):
        if self.compiled is not None:
            ks, planes = self.compiled, self.index.shape[0] * self.index.shape[1]
            xp = array_module(g)
            gx = xp.zeros((planes, self.plane), dtype=g.dtype)
            outs = self.index.shape[2] * self.index.shape[3]
            g2 = xp.ascontiguousarray(g).reshape(planes, outs)
            at = self.index.reshape(planes, outs)
            ks.each_channel_block(planes, gx.size, lambda sl: ks.compiled.adaptive_max_backward(
                gx, g2, at, sl.start, sl.stop))
            return gx.reshape(self.in_shape)
        xp = array_module(g)
        planes = self.index.shape[0] * self.index.shape[1]
        flat = (xp.arange(planes)[:, None] * self.plane + self.index.reshape(planes, -1)).ravel()
        # bincount sums repeated targets (overlapping windows) in one pass, in float64
        gx = xp.bincount(flat, weights=g.ravel(), minlength=planes * self.plane)
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
    """Adaptive average pooling over 2-d maps: the output size is given, the windows follow.

        y[i, j] = mean of x over rows [floor(i·H/out_h), ceil((i+1)·H/out_h))
                                 and columns [floor(j·W/out_w), ceil((j+1)·W/out_w))

    These are PyTorch's windows; they overlap by a cell when out does not divide the size.
    As matrices per plane, with A[i] = 1/len_i on window i:

        y = A_h x A_wᵀ
        backward: dx = A_hᵀ g A_w

    so each cell of a window receives g[i, j] / (window size), summed over overlapping
    windows. When out divides the size it runs as ``avg_pool2d`` with
    kernel = stride = size / out.

    Args:
        input: (N, C, H, W) or (C, H, W), float.
        output_size: (out_h, out_w), or an int for both; None in a pair keeps that size.
            1 is global average pooling.

    Shape:
        - Output: (N, C, out_h, out_w) or (C, out_h, out_w).

    Example::

        >>> x = fn.arange(16.).reshape(1, 1, 4, 4).requires_grad_()
        >>> F.adaptive_avg_pool2d(x, 1).numpy()
        array([[[[7.5]]]], dtype=float32)
        >>> y = F.adaptive_avg_pool2d(x, 3)  # 2x2 windows, overlapping by one cell
        >>> y.numpy()
        array([[[[ 2.5,  3.5,  4.5],
                 [ 6.5,  7.5,  8.5],
                 [10.5, 11.5, 12.5]]]], dtype=float32)
        >>> y.sum().backward()
        >>> x.grad.numpy()
        array([[[[0.25, 0.5 , 0.5 , 0.25],
                 [0.5 , 1.  , 1.  , 0.5 ],
                 [0.5 , 1.  , 1.  , 0.5 ],
                 [0.25, 0.5 , 0.5 , 0.25]]]], dtype=float32)
        >>> F.adaptive_avg_pool2d(fn.ones(2, 8, 7, 5), (1, None)).shape
        (2, 8, 1, 5)
    """
    return _adaptive_avg("adaptive_avg_pool2d", 2, input, output_size)


def adaptive_avg_pool1d(input, output_size):
    """Adaptive average pooling over 1-d sequences: the output length is given, the windows follow.

        y[i] = mean of x[floor(i·L/out) : ceil((i+1)·L/out)]
        backward: g[i] / (window length) to each cell of window i, summed over overlaps

    Neighbouring windows overlap by a cell when out does not divide L.

    Args:
        input: (N, C, L) or (C, L), float.
        output_size: out, an int (or a 1-tuple); 1 is global average pooling.

    Shape:
        - Output: (N, C, out) or (C, out).

    Example::

        >>> x = fn.tensor([[[1., 2., 3., 4., 5.]]], requires_grad=True)
        >>> y = F.adaptive_avg_pool1d(x, 3)  # windows [0, 2), [1, 4), [3, 5)
        >>> y.numpy().round(4)
        array([[[1.5, 3. , 4.5]]], dtype=float32)
        >>> y.sum().backward()
        >>> x.grad.numpy().round(4)
        array([[[0.5   , 0.8333, 0.3333, 0.8333, 0.5   ]]], dtype=float32)
    """
    return _adaptive_avg("adaptive_avg_pool1d", 1, input, output_size)


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Adaptive max pooling over 2-d maps: the output size is given, the windows follow.

    Over the windows of ``adaptive_avg_pool2d``:

        y[i, j] = max of x over rows [floor(i·H/out_h), ceil((i+1)·H/out_h))
                                and columns [floor(j·W/out_w), ceil((j+1)·W/out_w))
        backward: g[i, j] is added at the window's argmax (its first maximum in row-major
                  order), summed where windows overlap

    Args:
        input: (N, C, H, W) or (C, H, W), float.
        output_size: (out_h, out_w), or an int for both; None in a pair keeps that size.
        return_indices: also return the argmax as int64 flat indices into each ``H*W`` plane
            (default False).

    Shape:
        - Output: (N, C, out_h, out_w) or (C, out_h, out_w).

    Example::

        >>> x = fn.tensor([[[[1., 2., 0.], [3., 4., 8.], [5., 0., 6.]]]], requires_grad=True)
        >>> y, idx = F.adaptive_max_pool2d(x, 2, return_indices=True)  # 2x2 windows
        >>> y.numpy()
        array([[[[4., 8.],
                 [5., 8.]]]], dtype=float32)
        >>> idx.numpy()
        array([[[[4, 5],
                 [6, 5]]]])
        >>> y.sum().backward()
        >>> x.grad.numpy()
        array([[[[0., 0., 0.],
                 [0., 1., 2.],
                 [1., 0., 0.]]]], dtype=float32)
    """
    return _adaptive_max("adaptive_max_pool2d", 2, input, output_size, return_indices)


def adaptive_max_pool1d(input, output_size, return_indices=False):
    """Adaptive max pooling over 1-d sequences: the output length is given, the windows follow.

        y[i] = max of x[floor(i·L/out) : ceil((i+1)·L/out)]
        backward: g[i] is added at the window's argmax (its first maximum), summed where
                  windows overlap

    Args:
        input: (N, C, L) or (C, L), float.
        output_size: out, an int (or a 1-tuple).
        return_indices: also return the argmax as int64 indices into L (default False).

    Shape:
        - Output: (N, C, out) or (C, out).

    Example::

        >>> x = fn.tensor([[[1., 5., 2., 4., 3.]]], requires_grad=True)
        >>> y, idx = F.adaptive_max_pool1d(x, 3, return_indices=True)  # [0, 2), [1, 4), [3, 5)
        >>> y.numpy(), idx.numpy()
        (array([[[5., 5., 4.]]], dtype=float32), array([[[1, 1, 3]]]))
        >>> y.sum().backward()
        >>> x.grad.numpy()
        array([[[0., 2., 0., 1., 0.]]], dtype=float32)
    """
    return _adaptive_max("adaptive_max_pool1d", 1, input, output_size, return_indices)
