"""ONNX sliding-window operators for ``foveanet.interop.onnx_import``: Conv, ConvTranspose,
MaxPool (with indices), AveragePool and the global pools, with ONNX's padding rules (auto_pad,
asymmetric pads) and ceil mode (conventions: ``._onnx_common``)."""
from __future__ import annotations

import math

import numpy as np

from foveanet import functional as F
from foveanet.interop._onnx_common import _input, _t, _torch_pads


def _spatial_pads(node, x, kernel, strides, dilations):
    """Begin/end pads per spatial axis, resolving auto_pad against the input's size."""
    nd = len(kernel)
    mode = node.attrs.get("auto_pad", "NOTSET")
    if mode in ("SAME_UPPER", "SAME_LOWER"):
        begins, ends = [], []
        for n, k, s, d in zip(x.shape[2:], kernel, strides, dilations):
            total = max((-(-n // s) - 1) * s + (k - 1) * d + 1 - n, 0)
            small, big = total // 2, total - total // 2
            begins.append(small if mode == "SAME_UPPER" else big)
            ends.append(big if mode == "SAME_UPPER" else small)
        return begins, ends
    if mode == "VALID":
        return [0] * nd, [0] * nd
    pads = node.attrs.get("pads", [0] * (2 * nd))
    return list(pads[:nd]), list(pads[nd:])


def _window(node, x, kernel):
    nd = len(kernel)
    strides = list(node.attrs.get("strides", [1] * nd))
    dilations = list(node.attrs.get("dilations", [1] * nd))
    begins, ends = _spatial_pads(node, x, kernel, strides, dilations)
    return strides, dilations, begins, ends


# ---------------------------------------------------------------------- convolution


def _conv(ctx, node, ins):
    x, w, b = ins[0], ins[1], _input(ins, 2)
    nd = w.ndim - 2
    kernel = list(node.attrs.get("kernel_shape", w.shape[2:]))
    strides, dilations, begins, ends = _window(node, x, kernel)
    fn = {1: F.conv1d, 2: F.conv2d}.get(nd)
    if fn is None:
        raise ValueError(f"Conv: {nd}-d convolution is not supported (1-d and 2-d are)")
    if begins != ends:
        x, begins = F.pad(_t(x), _torch_pads(begins, ends)), [0] * nd
    return [fn(_t(x), w, b, stride=strides, padding=begins, dilation=dilations,
               groups=node.attrs.get("group", 1))]


def _conv_transpose(ctx, node, ins):
    x, w, b = _t(ins[0]), ins[1], _input(ins, 2)
    nd = w.ndim - 2
    kernel = list(node.attrs.get("kernel_shape", w.shape[2:]))
    strides = list(node.attrs.get("strides", [1] * nd))
    dilations = list(node.attrs.get("dilations", [1] * nd))
    out_pad = list(node.attrs.get("output_padding", [0] * nd))
    pads = list(node.attrs.get("pads", [0] * (2 * nd)))
    begins, ends = pads[:nd], pads[nd:]
    if "output_shape" in node.attrs or node.attrs.get("auto_pad", "NOTSET") not in ("NOTSET", "VALID"):
        want = list(node.attrs.get("output_shape", []))[-nd:] or [n * s for n, s in zip(x.shape[2:], strides)]
        begins, ends = [], []
        for i, (n, k, s, d, o) in enumerate(zip(x.shape[2:], kernel, strides, dilations, want)):
            total = s * (n - 1) + out_pad[i] + (k - 1) * d + 1 - o
            if total < 0:  # a longer output than the kernel reaches: grow it with output_padding
                out_pad[i], total = out_pad[i] - total, 0
            lower = node.attrs.get("auto_pad") == "SAME_LOWER"
            begins.append(total - total // 2 if lower else total // 2)
            ends.append(total // 2 if lower else total - total // 2)
    fn = {1: F.conv_transpose1d, 2: F.conv_transpose2d}.get(nd)
    if fn is None:
        raise ValueError(f"ConvTranspose: {nd}-d is not supported (1-d and 2-d are)")
    group = node.attrs.get("group", 1)
    if begins == ends:
        return [fn(x, w, b, stride=strides, padding=begins, output_padding=out_pad, groups=group,
                   dilation=dilations)]
    # asymmetric padding of a transposed conv is a crop of the unpadded result
    y = fn(x, w, b, stride=strides, padding=0, output_padding=out_pad, groups=group, dilation=dilations)
    key = (slice(None), slice(None)) + tuple(slice(bg, y.shape[2 + i] - e)
                                             for i, (bg, e) in enumerate(zip(begins, ends)))
    return [y[key]]


# -------------------------------------------------------------------------- pooling


def _pool_nd(x, kernel, strides, dilations, begins, ends, ceil, kind, include_pad=False):
    """Any-rank pooling as a max/sum over the k1·k2·... strided views of the padded input.

    out = ⌊ or ⌈(n + b + e − ((k−1)·d + 1)) / s⌉ + 1 per axis (a ceil window must start inside
    input + begin pad, as in PyTorch); "avg" divides by the count of real (or, with include_pad,
    explicitly padded) pixels under each window. Returns (y, argmax offsets or None).
    """
    import itertools

    spans = [(k - 1) * d + 1 for k, d in zip(kernel, dilations)]
    outs, extra = [], []
    for n, b, e, sp, s in zip(x.shape[2:], begins, ends, spans, strides):
        room = n + b + e - sp
        o = (-(-room // s) if ceil else room // s) + 1
        if ceil and (o - 1) * s >= n + b:
            o -= 1
        outs.append(o)
        extra.append(max((o - 1) * s + sp - (n + b + e), 0))
    if x.dtype.kind == "f":
        fill = -math.inf if kind == "max" else 0.0
    else:
        fill = np.iinfo(x.dtype).min if kind == "max" else 0
    pads = _torch_pads(begins, [e + x_ for e, x_ in zip(ends, extra)])
    xp = F.pad(x, pads, value=fill) if any(pads) else x
    offsets = list(itertools.product(*[range(k) for k in kernel]))

    def view(a, off):
        return a[(slice(None), slice(None)) + tuple(
            slice(o * d, o * d + (m - 1) * s + 1, s) for o, d, m, s in zip(off, dilations, outs, strides))]

    y, arg = None, None
    for i, off in enumerate(offsets):
        v = view(xp, off)
        if y is None:
            y = v
            arg = np.zeros(v.shape, dtype=np.int64) if kind == "max" else None
        elif kind == "max":
            arg = np.where(v.data > y.data, i, arg)
            y = y.maximum(v)
        else:
            y = y + v
    if kind == "avg":
        # counted region: the real pixels, or those plus the explicit pads (never the ceil tail)
        ones = np.ones((1, 1) + tuple(x.shape[2:]), dtype=np.float64)
        inner = np.pad(ones, [(0, 0), (0, 0)] + [(b, e) for b, e in zip(begins, ends)],
                       constant_values=1.0 if include_pad else 0.0)
        inner = np.pad(inner, [(0, 0), (0, 0)] + [(0, e) for e in extra])
        count = sum(view(inner, off) for off in offsets)
        y = y / np.asarray(count, dtype=x.dtype)
    return y, (arg, offsets, outs)


def _max_pool_indices(x, kernel, strides, dilations, begins, found, storage_order):
    """Flat NCHW (storage_order 1: column-major spatial) index of each window's maximum."""
    arg, offsets, outs = found
    offs = np.asarray(offsets)[arg]  # (..., nd) kernel offset of the winner
    grids = np.meshgrid(*[np.arange(m) for m in outs], indexing="ij")
    nd = len(kernel)
    pos = [grids[i] * strides[i] + offs[..., i] * dilations[i] - begins[i] for i in range(nd)]
    n, c = x.shape[:2]
    spatial = list(x.shape[2:])
    if storage_order:
        flat, mul = np.zeros_like(pos[0]), 1
        for i in range(nd):
            flat, mul = flat + pos[i] * mul, mul * spatial[i]
    else:
        flat = np.ravel_multi_index(tuple(pos), spatial)
    base = (np.arange(n)[:, None] * c + np.arange(c)[None, :]) * int(np.prod(spatial))
    return (flat + base.reshape((n, c) + (1,) * nd)).astype(np.int64)


def _pool_window(node, ins):
    """(x, kernel, strides, dilations, begins, ends, ceil_mode) of a MaxPool/AveragePool node."""
    x = _t(ins[0])
    kernel = list(node.attrs["kernel_shape"])
    strides, dilations, begins, ends = _window(node, x, kernel)
    return x, kernel, strides, dilations, begins, ends, bool(node.attrs.get("ceil_mode", 0))


def _max_pool(ctx, node, ins):
    x, kernel, strides, dilations, begins, ends, ceil = _pool_window(node, ins)
    nd = len(kernel)
    indices = len(node.outputs) > 1 and node.outputs[1]
    if indices or nd > 2 or x.dtype.kind != "f":
        y, found = _pool_nd(x, kernel, strides, dilations, begins, ends, ceil, "max")
        if not indices:
            return [y]
        return [y, _max_pool_indices(x, kernel, strides, dilations, begins, found,
                                     node.attrs.get("storage_order", 0))]
    if begins != ends or any(2 * p > k for p, k in zip(begins, kernel)):
        x, begins = F.pad(x, _torch_pads(begins, ends), value=-math.inf), [0] * nd
    fn = {1: F.max_pool1d, 2: F.max_pool2d}[nd]
    return [fn(x, kernel, stride=strides, padding=begins, dilation=dilations, ceil_mode=ceil)]


def _avg_pool(ctx, node, ins):
    x, kernel, strides, dilations, begins, ends, ceil = _pool_window(node, ins)
    nd = len(kernel)
    include = bool(node.attrs.get("count_include_pad", 0))
    if nd > 2 or any(d != 1 for d in dilations):
        return [_pool_nd(x, kernel, strides, dilations, begins, ends, ceil, "avg", include)[0]]
    fn = {1: F.avg_pool1d, 2: F.avg_pool2d}[nd]
    if begins == ends and all(2 * p <= k for p, k in zip(begins, kernel)):
        return [fn(x, kernel, stride=strides, padding=begins, ceil_mode=ceil, count_include_pad=include)]
    pads = _torch_pads(begins, ends)
    y = fn(F.pad(x, pads), kernel, stride=strides, ceil_mode=ceil)
    if include:
        return [y]
    # mean over the real pixels only: divide by the share of the window inside the input
    ones = np.ones((1, 1) + tuple(x.shape[2:]), dtype=x.dtype)
    share = fn(F.pad(_t(ones), pads), kernel, stride=strides, ceil_mode=ceil).data
    return [y / share]


def _global_pool(reduce):
    def op(ctx, node, ins):
        x = _t(ins[0])
        dims = tuple(range(2, x.ndim))
        return [x.mean(dim=dims, keepdim=True) if reduce == "mean" else x.amax(dim=dims, keepdim=True)]
    return op


WINDOW_OPS = {
    "Conv": _conv, "ConvTranspose": _conv_transpose,
    "MaxPool": _max_pool, "AveragePool": _avg_pool,
    "GlobalAveragePool": _global_pool("mean"), "GlobalMaxPool": _global_pool("max"),
}
