"""ONNX activation, normalization and arithmetic operators for
``foveanet.interop.onnx_import`` (conventions: ``._onnx_common``; windows in ``._onnx_window``,
shapes in ``._onnx_shape``, Resize in ``._onnx_resize``)."""
from __future__ import annotations

import math

import numpy as np

from foveanet import functional as F
from foveanet.autograd import Function, Tensor
from foveanet.interop._onnx_common import _input, _np, _t, _torch_pads


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
