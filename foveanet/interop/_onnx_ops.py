"""ONNX operators as foveanet ops, for ``foveanet.interop.onnx_import``.

Each entry of ``OPS`` takes ``(ctx, node, inputs)`` and returns the list of outputs. Values are
foveanet Tensors (differentiable) or numpy arrays: shape arithmetic (Shape, Gather, Concat of
ints...) stays in numpy, so a ``x.view(x.size(0), -1)`` exported by torch costs no graph nodes.
``ctx`` carries ``training`` and the opset.
"""
from __future__ import annotations

import math

import numpy as np

from foveanet import functional as F
from foveanet.autograd import Function, Tensor

# ------------------------------------------------------------------------------ helpers


def _np(v):
    return v.data if isinstance(v, Tensor) else np.asarray(v)


def _ints(v) -> list:
    return [int(i) for i in np.asarray(_np(v)).reshape(-1)]


def _t(v):
    return v if isinstance(v, Tensor) else Tensor._wrap(np.asarray(v), False, None)


def _input(inputs, i):
    return inputs[i] if i < len(inputs) else None


def _torch_pads(begins, ends) -> list:
    """ONNX pads (begin per axis, then end per axis) -> F.pad's order (last axis first)."""
    out = []
    for b, e in zip(reversed(begins), reversed(ends)):
        out += [int(b), int(e)]
    while len(out) > 2 and out[-1] == 0 and out[-2] == 0:
        out = out[:-2]
    return out


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


def _max_pool(ctx, node, ins):
    x = _t(ins[0])
    kernel = list(node.attrs["kernel_shape"])
    strides, dilations, begins, ends = _window(node, x, kernel)
    nd = len(kernel)
    ceil = bool(node.attrs.get("ceil_mode", 0))
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
    return [fn(x, kernel, stride=strides, padding=begins, dilation=dilations,
               ceil_mode=bool(node.attrs.get("ceil_mode", 0)))]


def _avg_pool(ctx, node, ins):
    x = _t(ins[0])
    kernel = list(node.attrs["kernel_shape"])
    strides, _, begins, ends = _window(node, x, kernel)
    nd = len(kernel)
    include = bool(node.attrs.get("count_include_pad", 0))
    ceil = bool(node.attrs.get("ceil_mode", 0))
    dilations = list(node.attrs.get("dilations", [1] * nd))
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


# ---------------------------------------------------------------------- activations


class _Erf(Function):
    """y = erf(x);  dx = g · 2/√π · exp(-x²)."""

    def forward(self, x):
        self.x = x if self.requires_grad else None
        return F.activation.erf(x).astype(x.dtype)

    def backward(self, g):
        x = self.x
        return g * (np.asarray(2.0 / math.sqrt(math.pi), dtype=x.dtype) * np.exp(-(x * x)))


def _softmax(fn, name):
    def op(ctx, node, ins):
        x = _t(ins[0])
        axis = node.attrs.get("axis", -1 if ctx.opset >= 13 else 1)
        if ctx.opset >= 13 or axis % x.ndim == x.ndim - 1:
            return [fn(x, dim=axis)]
        # before opset 13 the axis split the input into a 2-d (batch, features) matrix
        lead = int(np.prod(x.shape[:axis % x.ndim]))
        return [fn(x.reshape(lead, -1), dim=1).reshape(*x.shape)]
    return op


def _clip(ctx, node, ins):
    lo = node.attrs.get("min") if ctx.opset < 11 else _input(ins, 1)
    hi = node.attrs.get("max") if ctx.opset < 11 else _input(ins, 2)
    lo = None if lo is None else float(_np(lo))
    hi = None if hi is None else float(_np(hi))
    return [_t(ins[0]).clamp(lo, hi)]


def _batch_norm(ctx, node, ins):
    x, scale, bias, mean, var = ins[:5]
    momentum = node.attrs.get("momentum", 0.9)
    if node.attrs.get("training_mode", 0):
        # opset 14+: normalise with the batch's statistics and output the updated running ones
        # (running = momentum·running + (1 − momentum)·batch, with the biased batch variance)
        x = _t(x)
        dims = (0,) + tuple(range(2, x.ndim))
        shape = (1, -1) + (1,) * (x.ndim - 2)
        mu = x.mean(dim=dims, keepdim=True)
        d = x - mu
        v = (d * d).mean(dim=dims, keepdim=True)
        y = d / (v + node.attrs.get("epsilon", 1e-5)).sqrt() * _t(scale).reshape(*shape) \
            + _t(bias).reshape(*shape)
        run_mean = _np(mean) * momentum + mu.data.reshape(-1) * (1 - momentum)
        run_var = _np(var) * momentum + v.data.reshape(-1) * (1 - momentum)
        return [y, run_mean.astype(x.dtype), run_var.astype(x.dtype)]
    return [F.batch_norm(_t(x), mean, var, scale, bias, training=ctx.training,
                         momentum=1.0 - node.attrs.get("momentum", 0.9),
                         eps=node.attrs.get("epsilon", 1e-5))]


def _dropout(ctx, node, ins):
    ratio = node.attrs.get("ratio", 0.5) if ctx.opset < 12 else _input(ins, 1)
    ratio = 0.5 if ratio is None else float(_np(ratio))
    mode = _input(ins, 2)  # opset 12+: training_mode input
    training = ctx.training or (mode is not None and bool(_np(mode)))
    want_mask = len(node.outputs) > 1 and bool(node.outputs[1])
    x = ins[0]
    if not training or not ratio:
        return [x, np.ones(np.shape(_np(x)), dtype=bool)] if want_mask else [x]
    if not want_mask:
        return [F.dropout(_t(x), p=ratio, training=True)]
    keep = F.dropout(_t(np.ones(np.shape(_np(x)), dtype=_np(x).dtype)), p=ratio, training=True).data
    return [_t(x) * keep, keep != 0]


def _layer_norm(ctx, node, ins):
    """y = (x − E[x]) / √(Var[x] + ε) · scale + B over axes axis..-1; also Mean and InvStdDev."""
    x, scale, bias = _t(ins[0]), ins[1], _input(ins, 2)
    axis = node.attrs.get("axis", -1) % x.ndim
    eps = node.attrs.get("epsilon", 1e-5)
    extra = [o for o in node.outputs[1:] if o]
    norm_shape = tuple(x.shape[axis:])
    if not extra and tuple(np.shape(_np(scale))) == norm_shape and \
            (bias is None or tuple(np.shape(_np(bias))) == norm_shape):
        return [F.layer_norm(x, norm_shape, scale, bias, eps=eps)]
    dims = tuple(range(axis, x.ndim))
    mu = x.mean(dim=dims, keepdim=True)
    d = x - mu
    inv = 1.0 / ((d * d).mean(dim=dims, keepdim=True) + eps).sqrt()
    y = d * inv * scale
    if bias is not None:
        y = y + bias
    return [y, mu, inv]


def _instance_norm(ctx, node, ins):
    x, scale, bias = _t(ins[0]), ins[1], ins[2]
    return [F.group_norm(x, x.shape[1], scale, bias, eps=node.attrs.get("epsilon", 1e-5))]


def _prelu(ctx, node, ins):
    """y = max(0, x) − slope · max(0, −x); the slope broadcasts to x (so it stays trainable)."""
    x, slope = _t(ins[0]), ins[1]
    return [F.relu(x) - F.relu(-x) * slope]


def _hard_sigmoid(ctx, node, ins):
    x = _t(ins[0])
    return [(x * node.attrs.get("alpha", 0.2) + node.attrs.get("beta", 0.5)).clamp(0.0, 1.0)]


def _hard_swish(ctx, node, ins):
    x = _t(ins[0])
    return [x * (x * (1.0 / 6.0) + 0.5).clamp(0.0, 1.0)]


def _selu(ctx, node, ins):
    """γ · elu(x, α) with SELU's α ≈ 1.6733, γ ≈ 1.0507."""
    alpha = node.attrs.get("alpha", 1.67326319217681884765625)
    gamma = node.attrs.get("gamma", 1.05070102214813232421875)
    return [F.elu(_t(ins[0]), alpha) * gamma]


def _lrn(ctx, node, ins):
    """y = x / (bias + α/size · Σ x² over the size channels around c)^β."""
    x = _t(ins[0])
    size = node.attrs["size"]
    alpha, beta = node.attrs.get("alpha", 1e-4), node.attrs.get("beta", 0.75)
    lo, hi = (size - 1) // 2, size - 1 - (size - 1) // 2
    begins, ends = [0] * x.ndim, [0] * x.ndim
    begins[1], ends[1] = lo, hi
    sq = F.pad(x * x, _torch_pads(begins, ends))
    c = x.shape[1]
    total = sq[:, 0:c]
    for i in range(1, size):
        total = total + sq[:, i:i + c]
    return [x / (total * (alpha / size) + node.attrs.get("bias", 1.0)) ** beta]


def _variadic(kind):
    def op(ctx, node, ins):
        vals = [v for v in ins if v is not None]
        if not any(isinstance(v, Tensor) for v in vals) or all(_np(v).dtype.kind != "f" for v in vals):
            arrs = [_np(v) for v in vals]
            fn = {"Max": np.maximum, "Min": np.minimum, "Sum": np.add, "Mean": np.add}[kind]
            out = arrs[0]
            for a in arrs[1:]:
                out = fn(out, a)
            return [out / len(arrs) if kind == "Mean" else np.array(out)]
        y = _t(vals[0])
        for v in vals[1:]:
            v = v if isinstance(v, Tensor) else np.asarray(v, dtype=y.dtype)
            y = {"Max": lambda a, b: a.maximum(_t(b)), "Min": lambda a, b: a.minimum(_t(b)),
                 "Sum": lambda a, b: a + b, "Mean": lambda a, b: a + b}[kind](y, v)
        if len(vals) == 1:
            y = y * 1.0 if kind == "Mean" else y
        return [y / float(len(vals)) if kind == "Mean" and len(vals) > 1 else y]
    return op


def _equal(ctx, node, ins):
    return [np.equal(_np(ins[0]), _np(ins[1]))]


def _where(ctx, node, ins):
    from foveanet.autograd import where

    cond, a, b = np.asarray(_np(ins[0])).astype(bool), ins[1], ins[2]
    if _np(a).dtype.kind != "f" and _np(b).dtype.kind != "f":
        return [np.where(cond, _np(a), _np(b))]
    return [where(cond, _t(a), _t(b))]


def _unary(fn):
    return lambda ctx, node, ins: [fn(_t(ins[0]))]


def _binary(name):
    np_fn = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Div": None, "Pow": np.power}[name]

    def op(ctx, node, ins):
        a, b = ins
        if _np(a).dtype.kind in "iub" and _np(b).dtype.kind in "iub":
            # integer arithmetic (shape values) stays in numpy; Div truncates toward zero
            a, b = np.asarray(_np(a)), np.asarray(_np(b))
            if name == "Div":
                q = np.abs(a) // np.abs(b) if a.dtype.kind == "i" or b.dtype.kind == "i" else a // b
                return [np.where((a < 0) != (b < 0), -q, q).astype(np.result_type(a, b))
                        if a.dtype.kind == "i" or b.dtype.kind == "i" else q]
            return [np_fn(a, b)]
        if not isinstance(a, Tensor) and not isinstance(b, Tensor):
            a, b = np.asarray(a), np.asarray(b)
            if name == "Div":
                return [a // b if a.dtype.kind in "iu" else a / b]
            return [np_fn(a, b)]
        if isinstance(a, Tensor) and not isinstance(b, Tensor):
            b = np.asarray(b, dtype=a.dtype)
        elif isinstance(b, Tensor) and not isinstance(a, Tensor):
            a = np.asarray(a, dtype=b.dtype)
        a = _t(a)
        return [{"Add": a.__add__, "Sub": a.__sub__, "Mul": a.__mul__, "Div": a.__truediv__,
                 "Pow": a.__pow__}[name](b)]
    return op


def _gemm(ctx, node, ins):
    a, b, c = ins[0], ins[1], _input(ins, 2)
    ta, tb = node.attrs.get("transA", 0), node.attrs.get("transB", 0)
    alpha, beta = node.attrs.get("alpha", 1.0), node.attrs.get("beta", 1.0)
    if not ta and tb and alpha == 1.0 and beta == 1.0 and (c is None or np.ndim(_np(c)) == 1):
        return [F.linear(_t(a), b, c)]  # the Linear layer's layout: one fused GEMM
    a, b = _t(a), _t(b)
    y = (a.T if ta else a) @ (b.T if tb else b)
    if alpha != 1.0:
        y = y * alpha
    if c is not None:
        y = y + (c * beta if beta != 1.0 else c)
    return [y]


def _matmul(ctx, node, ins):
    a, b = ins
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        return [np.matmul(a, b)]
    return [_t(a) @ (b if isinstance(b, Tensor) else np.asarray(b))]


def _gelu(ctx, node, ins):
    return [F.gelu(_t(ins[0]), approximate=node.attrs.get("approximate", "none"))]


OPS = {
    "Conv": _conv, "ConvTranspose": _conv_transpose,
    "MaxPool": _max_pool, "AveragePool": _avg_pool,
    "GlobalAveragePool": _global_pool("mean"), "GlobalMaxPool": _global_pool("max"),
    "Relu": _unary(F.relu), "Sigmoid": _unary(F.sigmoid), "Tanh": _unary(F.tanh),
    "LeakyRelu": lambda c, n, i: [F.leaky_relu(_t(i[0]), n.attrs.get("alpha", 0.01))],
    "Elu": lambda c, n, i: [F.elu(_t(i[0]), n.attrs.get("alpha", 1.0))],
    "Softplus": _unary(F.softplus), "Gelu": _gelu, "Erf": _unary(_Erf.apply),
    "Softmax": _softmax(F.softmax, "Softmax"), "LogSoftmax": _softmax(F.log_softmax, "LogSoftmax"),
    "Clip": _clip, "Neg": _unary(lambda x: -x), "Abs": _unary(lambda x: x.abs()),
    "Exp": _unary(lambda x: x.exp()), "Log": _unary(lambda x: x.log()),
    "Sqrt": _unary(lambda x: x.sqrt()), "Reciprocal": _unary(lambda x: 1.0 / x),
    "BatchNormalization": _batch_norm, "Dropout": _dropout,
    "Identity": lambda c, n, i: [i[0]],
    "Add": _binary("Add"), "Sub": _binary("Sub"), "Mul": _binary("Mul"), "Div": _binary("Div"),
    "Pow": _binary("Pow"), "Gemm": _gemm, "MatMul": _matmul,
    "LayerNormalization": _layer_norm, "InstanceNormalization": _instance_norm,
    "PRelu": _prelu, "HardSigmoid": _hard_sigmoid, "HardSwish": _hard_swish, "Selu": _selu,
    "LRN": _lrn, "Max": _variadic("Max"), "Min": _variadic("Min"), "Sum": _variadic("Sum"),
    "Mean": _variadic("Mean"), "Equal": _equal, "Where": _where,
}
