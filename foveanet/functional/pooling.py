"""Pooling: the max or the average of every window of a feature map (PyTorch's names).

Window geometry, per spatial axis of size ``n`` with kernel ``k``, stride ``s``, padding ``p``
and dilation ``d`` (window ``o`` covers ``o*s - p + j*d`` for ``j < k``)::

    out = floor((n + 2p - d(k-1) - 1) / s + 1)
    ceil_mode: ceil instead of floor, then out -= 1 if (out-1)*s >= n + p
               (the last window must start inside the input or the left padding)

``padding <= kernel_size // 2`` (else a window could hold padding only) and ``out >= 1``.

Gradients (``g`` = dL/d(output)):
  max:  g of each window goes to its argmax (first maximum in row-major scan order, as
        PyTorch); an input element that is the argmax of several windows receives the sum.
  avg:  each element of a window receives g / divisor (padding's share is dropped).

The adaptive family (``adaptive_avg_pool1d/2d``, ``adaptive_max_pool1d/2d``) lives in
``adaptive_pooling.py``, which builds on this module (never the other way round).
"""
from __future__ import annotations

import numbers
from typing import NamedTuple

import numpy as np

from foveanet.autograd.function import Function
from foveanet.autograd.tensor import Tensor
from foveanet.backend import array_module, kernels
from foveanet.functional._utils import COMPILED_DTYPES, as_tensor, check_float, check_ndim, ntuple
from foveanet.geometry import pool_output

__all__ = ["max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d"]


# ------------------------------------------------------------------------- geometry


class Axis(NamedTuple):
    """One spatial axis: input size n, kernel k, stride s, padding p, dilation d, output out."""
    n: int
    k: int
    s: int
    p: int
    d: int
    out: int

    @property
    def span(self) -> int:
        """Rows of the padded buffer that the windows read: [0, span)."""
        return max(self.p + self.n, (self.out - 1) * self.s + self.d * (self.k - 1) + 1)


class Geometry(NamedTuple):
    """Everything a pooling Function needs; 1-d ops run as 2-d with a height-1 axis."""
    h: Axis
    w: Axis
    shape4: tuple      # the input seen as (N, C, H, W)
    out_shape: tuple   # the output in the caller's layout (batched or not, 1-d or 2-d)


_UNIT = Axis(1, 1, 1, 0, 1, 1)


def spatial_view(x: Tensor, nd: int, op: str) -> tuple:
    """Validate the layout and return (shape4, leading dims kept in the output)."""
    layout = "(N, C, L) or (C, L)" if nd == 1 else "(N, C, H, W) or (C, H, W)"
    check_ndim(x, (nd + 1, nd + 2), op, layout)
    check_float(x, op)
    shape = tuple(x.shape)
    if any(n == 0 for n in shape[-nd - 1:]):
        raise ValueError(f"{op}: expected non-empty channel and spatial dims {layout}, got shape {shape}")
    lead = shape[:-nd]
    nc = lead if len(lead) == 2 else (1,) + lead
    return nc + ((1,) + shape[-1:] if nd == 1 else shape[-2:]), lead


def out_size(op: str, name: str, n: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    out = pool_output(n, k, s, p, d, ceil_mode)
    if out <= 0:
        raise ValueError(
            f"{op}: kernel_size {k}" + (f" (dilation {d}: spans {d * (k - 1) + 1})" if d > 1 else "")
            + f" is larger than the padded input along {name} (size {n} + 2*padding {p} = {n + 2 * p});"
            f" output size would be {out}")
    return out


def geometry(op, x, nd, kernel_size, stride, padding, dilation, ceil_mode) -> Geometry:
    shape4, lead = spatial_view(x, nd, op)
    k = ntuple(kernel_size, nd, "kernel_size", op)
    no_stride = stride is None or (not isinstance(stride, numbers.Integral) and len(stride) == 0)
    s = k if no_stride else ntuple(stride, nd, "stride", op)
    p = ntuple(padding, nd, "padding", op)
    d = ntuple(dilation, nd, "dilation", op)
    for name, vals, low in (("kernel_size", k, 1), ("stride", s, 1), ("dilation", d, 1), ("padding", p, 0)):
        if min(vals) < low:
            raise ValueError(f"{op}: {name} must be {'positive' if low else 'non-negative'}, got {vals}")
    if any(pi > ki // 2 for pi, ki in zip(p, k)):
        raise ValueError(f"{op}: padding must be at most half of kernel_size (kernel_size // 2), "
                         f"got padding={p} with kernel_size={k}")
    names = ("L",) if nd == 1 else ("H", "W")
    axes = [Axis(n, ki, si, pi, di, out_size(op, nm, n, ki, si, pi, di, ceil_mode))
            for n, ki, si, pi, di, nm in zip(shape4[4 - nd:], k, s, p, d, names)]
    if nd == 1:
        axes.insert(0, _UNIT)
    outs = (axes[1].out,) if nd == 1 else (axes[0].out, axes[1].out)
    return Geometry(axes[0], axes[1], shape4, lead + outs)


# The windows are reduced separably: first along W (one pass per kernel column, giving a
# (N, C, rows, W_out) array), then along H. Row-major "first maximum" survives this order:
# the H stage keeps the first row reaching the max, the W stage the first column within it.
# NumPy's loops over stride-s columns are several times slower than over contiguous ones, so
# the padded input is first split into its s column phases (phase r holds padded columns r,
# r+s, r+2s, ...): kernel column j then reads phase (j*d) % s, shifted by (j*d) // s, as a
# contiguous slice. The H stage slices whole rows, which is contiguous already.


def _taps(w: Axis) -> list:
    """(phase, shift) of each kernel column."""
    return [((j * w.d) % w.s, (j * w.d) // w.s) for j in range(w.k)]


def _phase_range(w: Axis, r: int, width: int) -> tuple:
    """Columns [lo, hi) of phase r that hold input columns (r + c*s - p), and the first."""
    lo = max(0, -(-(w.p - r) // w.s))
    hi = min(width, (w.n - 1 + w.p - r) // w.s + 1)
    return lo, max(lo, hi), r + lo * w.s - w.p


def split_phases(x4, h: Axis, w: Axis, value, xp=np) -> dict:
    """{phase r: (N, C, rows, width) buffer}, padding filled with ``value``; ``xp`` the
    array module of ``x4``."""
    if w.s == 1 and h.p == w.p == 0 and (h.span, w.span) == x4.shape[2:]:
        return {0: x4}  # the input is its own (only) phase
    widths = {}
    for r, q in _taps(w):
        widths[r] = max(widths.get(r, 0), q + w.out)
    phases = {}
    for r, width in widths.items():
        buf = xp.empty(x4.shape[:2] + (h.span, width), x4.dtype)
        lo, hi, first = _phase_range(w, r, width)
        buf[:, :, :h.p] = value
        buf[:, :, h.p + h.n:] = value
        buf[:, :, :, :lo] = value
        buf[:, :, :, hi:] = value
        buf[:, :, h.p:h.p + h.n, lo:hi] = x4[:, :, :, first::w.s][..., :hi - lo]
        phases[r] = buf
    return phases


def merge_phases(phases: dict, h: Axis, w: Axis, shape4: tuple, xp=np):
    """Inverse of split_phases for gradients: the input's columns, padding dropped."""
    dtype = next(iter(phases.values())).dtype
    gx = xp.zeros(shape4, dtype)  # columns no window reads keep a zero gradient
    for r, buf in phases.items():
        lo, hi, first = _phase_range(w, r, buf.shape[3])
        gx[:, :, :, first::w.s][..., :hi - lo] = buf[:, :, h.p:h.p + h.n, lo:hi]
    return gx


def column_views(phases: dict, w: Axis) -> list:
    """Per kernel column j: (N, C, rows, W_out) view of the cells that column j reads."""
    return [phases[r][:, :, :, q:q + w.out] for r, q in _taps(w)]


def row_views(a: np.ndarray, h: Axis) -> list:
    """Per kernel row i: (N, C, H_out, W_out) view of the rows that row i reads."""
    return [a[:, :, i * h.d:i * h.d + (h.out - 1) * h.s + 1:h.s] for i in range(h.k)]


def is_tiling(h: Axis, w: Axis) -> bool:
    """Windows that tile the input exactly: no padding, no gaps, no overlap, no remainder."""
    return all(a.p == 0 and a.d == 1 and a.s == a.k and a.out * a.k == a.n for a in (h, w))


# ------------------------------------------------------------------------ max pooling


def running_argmax(views: list, xp=np) -> tuple:
    """Max over the views and the position (index into ``views``) of the first maximum
    (``xp``: the array module of the views)."""
    arg = xp.zeros(views[0].shape, np.uint8 if len(views) <= 256 else np.int32)
    if len(views) == 1:
        return views[0], arg
    m = views[0].copy()
    better = xp.empty(m.shape, bool)
    step = xp.empty(m.shape, arg.dtype)
    for k, v in enumerate(views[1:], 1):
        xp.greater(v, m, out=better)
        xp.maximum(m, v, out=m)  # maximum (not a masked copy) so that a NaN sticks
        # arg < k so far, so max(arg, better*k) sets k exactly where v won; masked writes
        # (copyto/where=) are many times slower on the random masks pooling produces
        xp.multiply(better, arg.dtype.type(k), out=step)
        xp.maximum(arg, step, out=arg)
    nan = xp.isnan(m)
    if nan.any():  # PyTorch takes a NaN as the max and reports the last NaN of the window
        for k, v in enumerate(views):
            xp.copyto(arg, arg.dtype.type(k), where=nan & xp.isnan(v))
    return m, arg


def route(views: list, arg, g, xp=np) -> None:
    """views[k] += g where arg == k (add, not assign: overlapping windows share cells)."""
    hit = xp.empty(arg.shape, bool)
    part = xp.empty(g.shape, g.dtype)
    for k, v in enumerate(views):
        xp.equal(arg, arg.dtype.type(k), out=hit)
        xp.multiply(g, hit, out=part)
        v += part


def _running_max(views: list, xp=np):
    if len(views) == 1:
        return views[0]
    m = xp.maximum(views[0], views[1])
    for v in views[2:]:
        xp.maximum(m, v, out=m)
    return m


def _own(out, x, shape: tuple, xp=np):
    # a 1x1 kernel reduces nothing and would hand back a view of the input
    out = xp.ascontiguousarray(out)
    return (out.copy() if xp.may_share_memory(out, x) else out).reshape(shape)


def _first_inside(a: Axis) -> np.ndarray:
    """Per output position, the first kernel index whose cell is inside the input (host)."""
    start = np.arange(a.out) * a.s - a.p
    return np.where(start < 0, (-start + a.d - 1) // a.d, 0).astype(np.uint8)


def _reach_inside(m, arg, first, xp=np):
    """A window of -inf only has padding as its first max; PyTorch reports the first cell
    of the window inside the input instead."""
    lost = m == -np.inf
    if lost.any():
        first = first if xp is np else xp.asarray(first)
        xp.copyto(arg, xp.broadcast_to(first, arg.shape), where=lost, casting="unsafe")


class _MaxPool(Function):
    """y[window] = max over the window (padding counts as -inf);
    dx[argmax of window] += g[window]."""

    compiled = None  # the compiled kernels that ran forward (None: the NumPy views)
    device_kernel = None  # a device's max-pool kernels that ran forward (backend/cuda)

    def forward(self, x, *, geo: Geometry, index_box=None):
        h, w = geo.h, geo.w
        x4 = x.reshape(geo.shape4)
        ks = kernels(x)
        if ks.max_pool is not None and ks.max_pool.handles(x.dtype):
            y, idx = ks.max_pool.forward(x4, geo, self.requires_grad or index_box is not None)
            if index_box is not None:
                index_box.append(idx.astype(np.int64).reshape(geo.out_shape))
            if self.requires_grad:
                self.device_kernel, self.geo, self.idx, self.in_shape = ks.max_pool, geo, idx, x.shape
            return y.reshape(geo.out_shape)
        if ks.compiled is not None and x.dtype in COMPILED_DTYPES:  # kernels/route.py
            return self._forward_compiled(ks, x4, geo, index_box, x.shape)
        xp = array_module(x)
        phases = split_phases(x4, h, w, -np.inf, xp)
        if not (self.requires_grad or index_box is not None):
            out = _running_max(row_views(_running_max(column_views(phases, w), xp), h), xp)
            return _own(out, x, geo.out_shape, xp)

        rowmax, col_arg = running_argmax(column_views(phases, w), xp)
        if w.p:
            _reach_inside(rowmax, col_arg, _first_inside(w), xp)
        out, row_arg = running_argmax(row_views(rowmax, h), xp)
        if h.p:
            _reach_inside(out, row_arg, _first_inside(h)[:, None], xp)
        if index_box is not None:
            oh = xp.arange(h.out)[:, None]
            rows = oh * h.s + row_arg.astype(np.int64) * h.d  # buffer rows of the argmax
            kw = xp.take_along_axis(col_arg, rows, axis=2).astype(np.int64)
            cols = xp.arange(w.out) * w.s + kw * w.d
            index_box.append(((rows - h.p) * w.n + cols - w.p).reshape(geo.out_shape))
        if self.requires_grad:
            self.geo, self.col_arg, self.row_arg, self.in_shape = geo, col_arg, row_arg, x.shape
            self.widths = {r: b.shape[3] for r, b in phases.items()}
        return _own(out, x, geo.out_shape, xp)

    def _forward_compiled(self, ks, x4, geo: Geometry, index_box, in_shape):
        """One scan per window (``foveanet.kernels.pooling``), keeping the flat argmax when
        a backward or the indices want it."""
        h, w = geo.h, geo.w
        N, C = geo.shape4[:2]
        x4 = np.ascontiguousarray(x4)
        y = np.empty((N, C, h.out, w.out), x4.dtype)
        keep = self.requires_grad or index_box is not None
        idx = np.empty(y.shape if keep else (0, 0, 0, 0), np.int32)
        # windows that tile the input (2x2 / 2): one scalar pass, and a backward without
        # the zeroing pass (kernels/pool_tiled.py)
        tiled = (h.k == h.s and w.k == w.s and h.p == w.p == 0 and h.d == w.d == 1
                 and h.out * h.k <= h.n and w.out * w.k <= w.n)
        if not keep:
            ks.each_channel_block(C, x4.size, lambda sl: ks.compiled.max_pool_values(
                x4, y, sl.start, sl.stop, h.k, w.k, h.s, w.s, h.d, w.d, h.p, w.p))
        elif tiled:
            ks.each_channel_block(C, x4.size, lambda sl: ks.compiled.max_pool_tiled_forward(
                x4, y, idx, sl.start, sl.stop, h.k, w.k))
        else:
            ks.each_channel_block(C, x4.size, lambda sl: ks.compiled.max_pool_forward(
                x4, y, idx, sl.start, sl.stop, h.k, w.k, h.s, w.s, h.d, w.d, h.p, w.p))
        if index_box is not None:
            index_box.append(idx.astype(np.int64).reshape(geo.out_shape))
        if self.requires_grad:
            self.compiled, self.geo, self.idx, self.in_shape = ks, geo, idx, in_shape
            self.tiled = tiled
        return y.reshape(geo.out_shape)

    def backward(self, g):
        geo, h, w = self.geo, self.geo.h, self.geo.w
        if self.device_kernel is not None:
            return self.device_kernel.backward(g, self.idx, geo).reshape(self.in_shape)
        if self.compiled is not None:
            return self._backward_compiled(g)
        xp = array_module(g)
        g4 = g.reshape(self.row_arg.shape)
        g_rows = xp.zeros(self.col_arg.shape, g.dtype)
        route(row_views(g_rows, h), self.row_arg, g4, xp)
        phases = {r: xp.zeros(geo.shape4[:2] + (h.span, n), g.dtype) for r, n in self.widths.items()}
        route(column_views(phases, w), self.col_arg, g_rows, xp)
        return merge_phases(phases, h, w, geo.shape4, xp).reshape(self.in_shape)

    def _backward_compiled(self, g):
        """Each window's g added at its flat argmax (``foveanet.kernels.pooling``, the CPU's)."""
        ks, idx = self.compiled, self.idx
        g4 = np.ascontiguousarray(g.reshape(idx.shape))
        dx = np.empty(self.geo.shape4, g.dtype)
        if self.tiled:
            kh, kw = self.geo.h.k, self.geo.w.k
            ks.each_channel_block(idx.shape[1], dx.size,
                                  lambda sl: ks.compiled.max_pool_tiled_backward(
                                      g4, idx, dx, sl.start, sl.stop, kh, kw))
        else:
            ks.each_channel_block(idx.shape[1], dx.size, lambda sl: ks.compiled.max_pool_backward(
                g4, idx, dx, sl.start, sl.stop))
        return dx.reshape(self.in_shape)


def _max_pool(op, nd, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    x = as_tensor(input, op=op)
    geo = geometry(op, x, nd, kernel_size, stride, padding, dilation, ceil_mode)
    box = [] if return_indices else None
    out = _MaxPool.apply(x, geo=geo, index_box=box)
    return (out, Tensor._wrap(box[0], False, None)) if return_indices else out


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """Max pooling over 2-d maps: each output is the largest input in its window.

        y[n, c, i, j] = max over (p, q) < (kH, kW) of xpad[n, c, s·i + d·p, s·j + d·q]
        backward: the g of each window is added at its argmax

    The padding is -inf, so it is never the maximum of a window that touches the input. The
    argmax is the first maximum in row-major order (a NaN counts as the maximum), so an input
    that wins several windows gets the sum.

    Args:
        input: (N, C, H, W) or (C, H, W), float.
        kernel_size: k, an int or (kH, kW).
        stride: s, an int or a pair (default None: kernel_size).
        padding: p, an int or a pair, at most kernel_size // 2 (default 0).
        dilation: d, the spacing of the window's cells, an int or a pair (default 1).
        ceil_mode: round the output size up instead of down (default False).
        return_indices: also return the argmax as int64 flat indices into each ``H*W`` plane,
            as PyTorch (default False).

    Shape:
        - Output: (N, C, H_out, W_out) or (C, H_out, W_out), per axis
          H_out = floor((H + 2p - d(k-1) - 1) / s + 1); with ceil_mode, ceil instead of
          floor, then H_out -= 1 if (H_out - 1)·s >= H + p (the last window must start
          inside the input or the left padding).

    Example::

        >>> x = fn.tensor([[[[1., 2., 0.], [3., 4., 8.], [5., 0., 6.]]]], requires_grad=True)
        >>> y, idx = F.max_pool2d(x, 2, stride=1, return_indices=True)
        >>> y.numpy()
        array([[[[4., 8.],
                 [5., 8.]]]], dtype=float32)
        >>> idx.numpy()
        array([[[[4, 5],
                 [6, 5]]]])
        >>> y.sum().backward()
        >>> x.grad.numpy()  # the 8 is the max of two windows
        array([[[[0., 0., 0.],
                 [0., 1., 2.],
                 [1., 0., 0.]]]], dtype=float32)
        >>> F.max_pool2d(fn.ones(1, 3, 7, 7), 2, ceil_mode=True).shape
        (1, 3, 4, 4)
    """
    return _max_pool("max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices)


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """Max pooling over 1-d sequences: each output is the largest input in its window.

        y[n, c, i] = max over q < k of xpad[n, c, s·i + d·q]  (the padding is -inf)
        backward: the g of each window is added at its argmax (the first maximum), summed
                  where windows overlap

    Args:
        input: (N, C, L) or (C, L), float.
        kernel_size: k, an int or a 1-tuple.
        stride: s (default None: kernel_size).
        padding: p, at most kernel_size // 2 (default 0).
        dilation: d, the spacing of the window's cells (default 1).
        ceil_mode: round L_out up instead of down (default False).
        return_indices: also return the argmax as int64 indices into L (default False).

    Shape:
        - Output: (N, C, L_out) or (C, L_out), L_out = floor((L + 2p - d(k-1) - 1) / s + 1);
          with ceil_mode, ceil instead of floor, then L_out -= 1 if (L_out - 1)·s >= L + p.

    Example::

        >>> x = fn.tensor([[[1., 3., 2., 5., 4.]]], requires_grad=True)
        >>> y = F.max_pool1d(x, 2)
        >>> y.numpy()
        array([[[3., 5.]]], dtype=float32)
        >>> y.sum().backward()
        >>> x.grad.numpy()
        array([[[0., 1., 0., 1., 0.]]], dtype=float32)
        >>> F.max_pool1d(x, 2, ceil_mode=True).numpy()
        array([[[3., 5., 4.]]], dtype=float32)
    """
    return _max_pool("max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices)


# ------------------------------------------------------------------------ avg pooling


def divisor(h: Axis, w: Axis, count_include_pad: bool, divisor_override, dtype, xp=np):
    """Per window: the cells inside input+padding (count_include_pad) or inside the input
    only. A ceil_mode window that hangs past the right padding never counts the overhang.
    A scalar where every window has the same count (a Python float when ``xp`` is a
    device's module, so that no host array meets a device one), else an ``xp`` array."""
    if divisor_override is not None:
        return np.asarray(divisor_override, dtype) if xp is np else float(divisor_override)
    sizes = []
    for a in (h, w):
        start = np.arange(a.out) * a.s - a.p
        end = np.minimum(start + a.k, a.n + a.p)
        sizes.append(end - start if count_include_pad
                     else np.minimum(end, a.n) - np.maximum(start, 0))
    div = np.outer(*sizes)
    if (div == div[0, 0]).all():
        return np.asarray(div[0, 0], dtype) if xp is np else float(div[0, 0])
    return xp.asarray(div.astype(dtype))


class _AvgPool(Function):
    """y[window] = sum(window, padding = 0) / divisor;  dx[cell] += g[window] / divisor
    for every window containing the cell."""

    def forward(self, x, *, geo: Geometry, count_include_pad=True, divisor_override=None):
        h, w = geo.h, geo.w
        x4 = x.reshape(geo.shape4)
        xp = array_module(x)
        div = divisor(h, w, count_include_pad, divisor_override, x.dtype, xp)
        if is_tiling(h, w):  # each window as two axes of a reshape: one reduction
            N, C = geo.shape4[:2]
            out = x4.reshape(N, C, h.out, h.k, w.out, w.k).sum(axis=(3, 5))
        else:
            phases = split_phases(x4, h, w, 0, xp)
            out = _sum(row_views(_sum(column_views(phases, w)), h))
            if self.requires_grad:
                self.widths = {r: b.shape[3] for r, b in phases.items()}
        out /= div
        if self.requires_grad:
            self.geo, self.div, self.in_shape = geo, div, x.shape
        return out.reshape(geo.out_shape)

    def backward(self, g):
        geo, h, w = self.geo, self.geo.h, self.geo.w
        N, C = geo.shape4[:2]
        share = g.reshape(N, C, h.out, w.out) / self.div
        xp = array_module(g)
        if is_tiling(h, w):  # every cell in exactly one window: one broadcast copy
            blocks = xp.broadcast_to(share[:, :, :, None, :, None], (N, C, h.out, h.k, w.out, w.k))
            return blocks.reshape(self.in_shape)
        g_rows = xp.zeros((N, C, h.span, w.out), g.dtype)
        for v in row_views(g_rows, h):
            v += share
        phases = {r: xp.zeros((N, C, h.span, n), g.dtype) for r, n in self.widths.items()}
        for v in column_views(phases, w):
            v += g_rows
        return merge_phases(phases, h, w, geo.shape4, xp).reshape(self.in_shape)


def _sum(views: list):
    acc = views[0].copy()
    for v in views[1:]:
        acc += v
    return acc


def _avg_pool(op, nd, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
              divisor_override):
    x = as_tensor(input, op=op)
    geo = geometry(op, x, nd, kernel_size, stride, padding, 1, ceil_mode)
    if divisor_override is not None and (not isinstance(divisor_override, numbers.Integral)
                                         or divisor_override == 0):
        raise ValueError(f"{op}: divisor_override must be a non-zero int, got {divisor_override!r}")
    return _AvgPool.apply(x, geo=geo, count_include_pad=bool(count_include_pad),
                          divisor_override=divisor_override)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """Average pooling over 2-d maps: each output is the mean of its window.

        y[n, c, i, j] = Σ over (p, q) < (kH, kW) of xpad[n, c, s·i + p, s·j + q] / divisor
        backward: every cell of a window receives g / divisor, summed over the windows
                  that contain it

    The padding is zeros. The divisor is ``divisor_override`` if given, else the window's
    cells inside input + padding (``count_include_pad=True``) or inside the input only.

    Args:
        input: (N, C, H, W) or (C, H, W), float.
        kernel_size: k, an int or (kH, kW).
        stride: s, an int or a pair (default None: kernel_size).
        padding: p, an int or a pair, at most kernel_size // 2 (default 0).
        ceil_mode: round the output size up instead of down (default False).
        count_include_pad: the divisor counts the padding cells (default True).
        divisor_override: a non-zero int used as every window's divisor (default None).

    Shape:
        - Output: (N, C, H_out, W_out) or (C, H_out, W_out), per axis
          H_out = floor((H + 2p - k) / s + 1); with ceil_mode, ceil instead of floor, then
          H_out -= 1 if (H_out - 1)·s >= H + p.

    Example::

        >>> x = fn.arange(16.).reshape(1, 1, 4, 4).requires_grad_()
        >>> y = F.avg_pool2d(x, 2)
        >>> y.numpy()
        array([[[[ 2.5,  4.5],
                 [10.5, 12.5]]]], dtype=float32)
        >>> y.sum().backward()
        >>> x.grad.numpy()[0, 0, 0]  # g / 4 to each cell
        array([0.25, 0.25, 0.25, 0.25], dtype=float32)
        >>> ones = fn.ones(1, 1, 3, 3)
        >>> F.avg_pool2d(ones, 3, stride=1, padding=1).numpy()[0, 0, 0]  # corners: 4 of 9
        array([0.44444445, 0.6666667 , 0.44444445], dtype=float32)
        >>> F.avg_pool2d(ones, 3, stride=1, padding=1, count_include_pad=False).numpy()[0, 0, 0]
        array([1., 1., 1.], dtype=float32)
    """
    return _avg_pool("avg_pool2d", 2, input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, divisor_override)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True):
    """Average pooling over 1-d sequences: each output is the mean of its window.

        y[n, c, i] = Σ over q < k of xpad[n, c, s·i + q] / divisor
        backward: every cell of a window receives g / divisor, summed over the windows
                  that contain it

    The padding is zeros; the divisor is k, or the window's cells inside the input with
    ``count_include_pad=False``.

    Args:
        input: (N, C, L) or (C, L), float.
        kernel_size: k, an int or a 1-tuple.
        stride: s (default None: kernel_size).
        padding: p, at most kernel_size // 2 (default 0).
        ceil_mode: round L_out up instead of down (default False).
        count_include_pad: the divisor counts the padding cells (default True).

    Shape:
        - Output: (N, C, L_out) or (C, L_out), L_out = floor((L + 2p - k) / s + 1); with
          ceil_mode, ceil instead of floor, then L_out -= 1 if (L_out - 1)·s >= L + p.

    Example::

        >>> x = fn.tensor([[[3., 6., 9., 12.]]], requires_grad=True)
        >>> y = F.avg_pool1d(x, 2)
        >>> y.numpy()
        array([[[ 4.5, 10.5]]], dtype=float32)
        >>> y.sum().backward()
        >>> x.grad.numpy()
        array([[[0.5, 0.5, 0.5, 0.5]]], dtype=float32)
        >>> F.avg_pool1d(x, 3, stride=2, padding=1).numpy()  # (0 + 3 + 6) / 3, (6 + 9 + 12) / 3
        array([[[3., 9.]]], dtype=float32)
        >>> F.avg_pool1d(x, 3, stride=2, padding=1, count_include_pad=False).numpy()
        array([[[4.5, 9. ]]], dtype=float32)
    """
    return _avg_pool("avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, None)
