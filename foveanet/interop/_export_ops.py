"""ONNX nodes for each traced foveanet.functional op (used by ``foveanet.interop.onnx_export``;
Tensor methods are in ``._export_tensor_ops``).

A handler gets the tracer, the op's bound arguments (defaults filled in) and the op's output,
and emits the nodes that compute that output from the values already in the graph.
"""
from __future__ import annotations

import math
import numbers

import numpy as np


def _tuple(v, n):
    if isinstance(v, numbers.Integral):
        return [int(v)] * n
    v = [int(i) for i in v]
    return v * n if len(v) == 1 else v


# ---------------------------------------------------------------------- convolution


def _conv(tr, a, out):
    x, w = a["input"], a["weight"]
    nd = w.ndim - 2
    k = list(w.shape[2:])
    d = _tuple(a["dilation"], nd)
    pad = a["padding"]
    if isinstance(pad, str):
        total = [0] * nd if pad == "valid" else [di * (ki - 1) for di, ki in zip(d, k)]
        pads = [t // 2 for t in total] + [t - t // 2 for t in total]
    else:
        pads = _tuple(pad, nd) * 2
    ins = [tr.name(x), tr.name(w)] + ([tr.name(a["bias"])] if a["bias"] is not None else [])
    tr.emit("Conv", ins, out, kernel_shape=k, strides=_tuple(a["stride"], nd), pads=pads,
            dilations=d, group=int(a["groups"]))


def _conv_transpose(tr, a, out):
    x, w = a["input"], a["weight"]
    nd = w.ndim - 2
    ins = [tr.name(x), tr.name(w)] + ([tr.name(a["bias"])] if a["bias"] is not None else [])
    tr.emit("ConvTranspose", ins, out, kernel_shape=list(w.shape[2:]),
            strides=_tuple(a["stride"], nd), pads=_tuple(a["padding"], nd) * 2,
            output_padding=_tuple(a["output_padding"], nd), dilations=_tuple(a["dilation"], nd),
            group=int(a["groups"]))


def _linear(tr, a, out):
    x, w, b = a["input"], a["weight"], a["bias"]
    if x.ndim == 2:
        ins = [tr.name(x), tr.name(w)] + ([tr.name(b)] if b is not None else [])
        tr.emit("Gemm", ins, out, transB=1)
        return
    (wt,) = tr.node("Transpose", [tr.name(w)], perm=[1, 0])
    if b is None:
        tr.emit("MatMul", [tr.name(x), wt], out)
        return
    (y,) = tr.node("MatMul", [tr.name(x), wt])
    tr.emit("Add", [y, tr.name(b)], out)


def _batch_norm(tr, a, out):
    x = a["input"]
    if a["training"] or a["running_mean"] is None:
        raise ValueError("batch_norm with batch statistics (training, or no running stats) "
                         "cannot be exported; call model.eval() with track_running_stats")
    c = x.shape[1]
    w = a["weight"] if a["weight"] is not None else np.ones(c, dtype=x.dtype)
    b = a["bias"] if a["bias"] is not None else np.zeros(c, dtype=x.dtype)
    tr.emit("BatchNormalization", [tr.name(x), tr.name(w), tr.name(b), tr.name(a["running_mean"]),
                                   tr.name(a["running_var"])], out, epsilon=float(a["eps"]))


# ---------------------------------------------------------------------- activations


def _simple(op, **fixed):
    def handler(tr, a, out):
        x = a.get("input", a.get("self"))
        tr.emit(op, [tr.name(x)], out, **fixed)
    return handler


def _alpha(op, key):
    def handler(tr, a, out):
        tr.emit(op, [tr.name(a["input"])], out, alpha=float(a[key]))
    return handler


def _clip(lo_key, hi_key, lo_default=None, hi_default=None):
    def handler(tr, a, out):
        x = a.get("input", a.get("self"))
        lo, hi = a.get(lo_key, lo_default), a.get(hi_key, hi_default)
        ins = [tr.name(x), "" if lo is None else tr.const(np.asarray(lo, x.dtype)),
               "" if hi is None else tr.const(np.asarray(hi, x.dtype))]
        while ins[-1] == "":
            ins.pop()
        tr.emit("Clip", ins, out)
    return handler


def _silu(tr, a, out):
    x = tr.name(a["input"])
    (s,) = tr.node("Sigmoid", [x])
    tr.emit("Mul", [x, s], out)


def _hardswish(tr, a, out):
    x = tr.name(a["input"])
    if tr.opset >= 14:
        tr.emit("HardSwish", [x], out)
        return
    (s,) = tr.node("HardSigmoid", [x], alpha=1.0 / 6.0, beta=0.5)
    tr.emit("Mul", [x, s], out)


def _gelu(tr, a, out):
    xt = a["input"]
    x, dt = tr.name(xt), xt.dtype
    if tr.opset >= 20:
        tr.emit("Gelu", [x], out, approximate=a["approximate"])
        return
    half, one = tr.const(np.asarray(0.5, dt)), tr.const(np.asarray(1.0, dt))
    if a["approximate"] == "tanh":
        # 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
        (x3,) = tr.node("Pow", [x, tr.const(np.asarray(3.0, dt))])
        (t,) = tr.node("Mul", [x3, tr.const(np.asarray(0.044715, dt))])
        (t,) = tr.node("Add", [x, t])
        (t,) = tr.node("Mul", [t, tr.const(np.asarray(math.sqrt(2 / math.pi), dt))])
        (t,) = tr.node("Tanh", [t])
    else:
        # 0.5 x (1 + erf(x / sqrt 2)): the pattern runtimes fuse into one Gelu kernel
        (t,) = tr.node("Div", [x, tr.const(np.asarray(math.sqrt(2.0), dt))])
        (t,) = tr.node("Erf", [t])
    (t,) = tr.node("Add", [t, one])
    (t,) = tr.node("Mul", [x, t])
    tr.emit("Mul", [t, half], out)


def _softmax(op):
    def handler(tr, a, out):
        x = a["input"]
        dim = a["dim"] if a["dim"] is not None else (0 if x.ndim in (0, 1, 3) else 1)
        tr.emit(op, [tr.name(x)], out, axis=int(dim))
    return handler


def _softplus(tr, a, out):
    x, beta = a["input"], float(a["beta"])
    if beta == 1.0:
        tr.emit("Softplus", [tr.name(x)], out)
        return
    b = tr.const(np.asarray(beta, x.dtype))
    (t,) = tr.node("Mul", [tr.name(x), b])
    (t,) = tr.node("Softplus", [t])
    tr.emit("Div", [t, b], out)


# -------------------------------------------------------------------------- pooling


def _max_pool(tr, a, out):
    if a["return_indices"]:
        raise ValueError("max pooling with return_indices=True has no export")
    x = a["input"]
    nd = x.ndim - 2
    k = _tuple(a["kernel_size"], nd)
    s = _tuple(a["stride"] if a["stride"] not in (None, ()) else k, nd)
    tr.emit("MaxPool", [tr.name(x)], out, kernel_shape=k, strides=s, pads=_tuple(a["padding"], nd) * 2,
            dilations=_tuple(a["dilation"], nd), ceil_mode=int(bool(a["ceil_mode"])))


def _avg_pool(tr, a, out):
    if a.get("divisor_override") is not None:
        raise ValueError("avg pooling with divisor_override has no export")
    x = a["input"]
    nd = x.ndim - 2
    k = _tuple(a["kernel_size"], nd)
    s = _tuple(a["stride"] if a["stride"] not in (None, ()) else k, nd)
    tr.emit("AveragePool", [tr.name(x)], out, kernel_shape=k, strides=s,
            pads=_tuple(a["padding"], nd) * 2, ceil_mode=int(bool(a["ceil_mode"])),
            count_include_pad=int(bool(a["count_include_pad"])))


def _adaptive(kind):
    def handler(tr, a, out):
        x = a["input"]
        if kind == "max" and a.get("return_indices"):
            raise ValueError("adaptive max pooling with return_indices=True has no export")
        ins, outs = list(x.shape[2:]), list(out.shape[2:])
        if all(o == 1 for o in outs):
            tr.emit("GlobalAveragePool" if kind == "avg" else "GlobalMaxPool", [tr.name(x)], out)
            return
        if all(o % i == 0 for i, o in zip(ins, outs)):
            # every window is one input pixel (VGG's 1x1 -> 7x7 on small inputs): a nearest upsample
            scales = tr.const(np.asarray([1, 1] + [o / i for i, o in zip(ins, outs)], np.float32), "scales")
            tr.emit("Resize", [tr.name(x), "", scales], out, mode="nearest",
                    coordinate_transformation_mode="asymmetric", nearest_mode="floor")
            return
        if any(i % o for i, o in zip(ins, outs)):
            raise ValueError(f"adaptive pooling from {tuple(ins)} to {tuple(outs)}: only sizes that "
                             "divide the input or are multiples of it can be exported")
        k = [i // o for i, o in zip(ins, outs)]
        tr.emit("AveragePool" if kind == "avg" else "MaxPool", [tr.name(x)], out, kernel_shape=k, strides=k)
    return handler


def _dropout(tr, a, out):
    if out is not a["input"]:
        if a["training"] and a["p"] > 0:
            raise ValueError("dropout in training mode cannot be exported; call model.eval()")
        tr.emit("Identity", [tr.name(a["input"])], out)


# ---------------------------------------------------------------------------- shape


def _pad(tr, a, out):
    x, pad, mode = a["input"], list(a["pad"]), a["mode"]
    onnx_mode = {"constant": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}
    if mode not in onnx_mode or (mode == "circular" and tr.opset < 19):
        raise ValueError(f"pad mode {mode!r} has no ONNX Pad equivalent at opset {tr.opset}")
    begins, ends = [0] * x.ndim, [0] * x.ndim
    for i in range(len(pad) // 2):
        begins[x.ndim - 1 - i], ends[x.ndim - 1 - i] = int(pad[2 * i]), int(pad[2 * i + 1])
    ins = [tr.name(x), tr.ints(begins + ends)]
    if mode == "constant":
        ins.append(tr.const(np.asarray(a["value"] or 0.0, dtype=x.dtype)))
    tr.emit("Pad", ins, out, mode=onnx_mode[mode])


def _interpolate(tr, a, out):
    x, mode = a["input"], a["mode"]
    if mode == "nearest":
        attrs = dict(mode="nearest", coordinate_transformation_mode="asymmetric", nearest_mode="floor")
    elif mode == "nearest-exact":
        attrs = dict(mode="nearest", coordinate_transformation_mode="half_pixel",
                     nearest_mode="round_prefer_ceil")
    elif mode in ("linear", "bilinear"):
        attrs = dict(mode="linear", coordinate_transformation_mode=(
            "align_corners" if a["align_corners"] else "pytorch_half_pixel"))
    else:
        raise ValueError(f"interpolate mode {mode!r} has no export")
    ins_sp, out_sp = list(x.shape[2:]), list(out.shape[2:])
    sf = a["scale_factor"]
    if sf is not None and not a["recompute_scale_factor"]:
        factors = [float(s) for s in (sf if isinstance(sf, (tuple, list)) else [sf] * len(ins_sp))]
    elif all(o % i == 0 for i, o in zip(ins_sp, out_sp)):
        factors = [o / i for i, o in zip(ins_sp, out_sp)]
    else:
        factors = None
    if factors is not None:
        scales = tr.const(np.asarray([1.0, 1.0] + factors, dtype=np.float32), "scales")
        tr.emit("Resize", [tr.name(x), "", scales], out, **attrs)
        return
    (shape,) = tr.node("Shape", [tr.name(x)])
    (lead,) = tr.node("Slice", [shape, tr.ints([0]), tr.ints([2])])
    (sizes,) = tr.node("Concat", [lead, tr.ints(out_sp)], axis=0)
    tr.emit("Resize", [tr.name(x), "", "", sizes], out, **attrs)


FUNCTIONAL = {
    "conv1d": _conv, "conv2d": _conv, "conv_transpose1d": _conv_transpose,
    "conv_transpose2d": _conv_transpose, "linear": _linear, "batch_norm": _batch_norm,
    "relu": _simple("Relu"), "sigmoid": _simple("Sigmoid"), "tanh": _simple("Tanh"),
    "leaky_relu": _alpha("LeakyRelu", "negative_slope"), "elu": _alpha("Elu", "alpha"),
    "silu": _silu, "gelu": _gelu, "softplus": _softplus,
    "relu6": _clip("min", "max", 0.0, 6.0), "hardtanh": _clip("min_val", "max_val"),
    "softmax": _softmax("Softmax"), "log_softmax": _softmax("LogSoftmax"),
    "max_pool1d": _max_pool, "max_pool2d": _max_pool, "avg_pool1d": _avg_pool, "avg_pool2d": _avg_pool,
    "adaptive_avg_pool1d": _adaptive("avg"), "adaptive_avg_pool2d": _adaptive("avg"),
    "adaptive_max_pool1d": _adaptive("max"), "adaptive_max_pool2d": _adaptive("max"),
    "dropout": _dropout, "dropout1d": _dropout, "dropout2d": _dropout, "dropout3d": _dropout,
    "pad": _pad, "interpolate": _interpolate,
    "hardsigmoid": _simple("HardSigmoid", alpha=1.0 / 6.0, beta=0.5), "hardswish": _hardswish,
}
