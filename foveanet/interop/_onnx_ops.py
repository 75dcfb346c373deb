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
        for n, k, s, d, op, o in zip(x.shape[2:], kernel, strides, dilations, out_pad, want):
            total = s * (n - 1) + op + (k - 1) * d + 1 - o
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


def _max_pool(ctx, node, ins):
    x = _t(ins[0])
    kernel = list(node.attrs["kernel_shape"])
    strides, dilations, begins, ends = _window(node, x, kernel)
    nd = len(kernel)
    if len(node.outputs) > 1 and node.outputs[1]:
        raise ValueError("MaxPool: the Indices output is not supported")
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
    fn = {1: F.avg_pool1d, 2: F.avg_pool2d}[nd]
    include = bool(node.attrs.get("count_include_pad", 0))
    ceil = bool(node.attrs.get("ceil_mode", 0))
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
    return [F.batch_norm(_t(x), mean, var, scale, bias, training=ctx.training,
                         momentum=1.0 - node.attrs.get("momentum", 0.9),
                         eps=node.attrs.get("epsilon", 1e-5))]


def _dropout(ctx, node, ins):
    if len(node.outputs) > 1 and node.outputs[1]:
        raise ValueError("Dropout: the mask output is not supported")
    ratio = node.attrs.get("ratio", 0.5) if ctx.opset < 12 else _input(ins, 1)
    ratio = 0.5 if ratio is None else float(_np(ratio))
    return [F.dropout(_t(ins[0]), p=ratio, training=ctx.training) if ratio else ins[0]]


def _unary(fn):
    return lambda ctx, node, ins: [fn(_t(ins[0]))]


def _binary(name):
    np_fn = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Div": None, "Pow": np.power}[name]

    def op(ctx, node, ins):
        a, b = ins
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
}
