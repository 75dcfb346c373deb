"""ONNX shape, layout, padding and reduction operators for
``foveanet.interop.onnx_import`` (conventions: ``._onnx_common``; Resize in ``._onnx_resize``).

Integer inputs (shapes, axes, indices) are numpy arrays; computing on them in numpy keeps the
shape bookkeeping that exporters emit (Shape -> Gather -> Concat -> Reshape) out of autograd.
"""
from __future__ import annotations

import numpy as np

from foveanet import functional as F
from foveanet.autograd import Tensor, cat
from foveanet.interop._onnx_common import _input, _ints, _np, _t, _torch_pads


def _flatten(ctx, node, ins):
    x = ins[0]
    axis = node.attrs.get("axis", 1) % max(np.ndim(_np(x)), 1) if np.ndim(_np(x)) else 0
    lead = int(np.prod(np.shape(_np(x))[:axis]))
    return [x.reshape(lead, -1)]


def _reshape(ctx, node, ins):
    x, shape = ins[0], _ints(ins[1])
    if not node.attrs.get("allowzero", 0):
        shape = [x.shape[i] if s == 0 else s for i, s in enumerate(shape)]
    return [x.reshape(*shape) if isinstance(x, Tensor) else np.reshape(x, shape)]


def _transpose(ctx, node, ins):
    x = ins[0]
    perm = node.attrs.get("perm", list(reversed(range(np.ndim(_np(x))))))
    return [x.permute(*perm) if isinstance(x, Tensor) else np.transpose(x, perm)]


def _concat(ctx, node, ins):
    axis = node.attrs["axis"]
    parts = [v for v in ins if v is not None and np.size(_np(v)) > 0]
    if not any(isinstance(v, Tensor) for v in parts):
        return [np.concatenate([np.asarray(v) for v in parts], axis=axis)]
    return [cat([_t(v) for v in parts], dim=axis)]


def _axes(ctx, node, ins, since: int):
    if ctx.opset >= since:
        return None if _input(ins, 1) is None else _ints(ins[1])
    return node.attrs.get("axes")


def _unsqueeze(ctx, node, ins):
    x, axes = ins[0], _axes(ctx, node, ins, 13)
    shape = list(np.shape(_np(x)))
    for a in sorted(a % (len(shape) + len(axes)) for a in axes):
        shape.insert(a, 1)
    return [x.reshape(*shape) if isinstance(x, Tensor) else np.reshape(x, shape)]


def _squeeze(ctx, node, ins):
    x, axes = ins[0], _axes(ctx, node, ins, 13)
    shape = np.shape(_np(x))
    drop = {a % len(shape) for a in axes} if axes else {i for i, n in enumerate(shape) if n == 1}
    keep = [n for i, n in enumerate(shape) if i not in drop]
    return [x.reshape(*keep) if isinstance(x, Tensor) else np.reshape(x, keep)]


def _shape(ctx, node, ins):
    shape = np.array(np.shape(_np(ins[0])), dtype=np.int64)
    start, end = node.attrs.get("start", 0), node.attrs.get("end")
    return [shape[start:end]]


def _gather(ctx, node, ins):
    x, idx = ins[0], np.asarray(_np(ins[1])).astype(np.int64)
    axis = node.attrs.get("axis", 0) % np.ndim(_np(x))
    if not isinstance(x, Tensor):
        return [np.take(x, idx, axis=axis)]
    return [x[(slice(None),) * axis + (idx if idx.ndim else int(idx),)]]


def _slice(ctx, node, ins):
    x = ins[0]
    nd = np.ndim(_np(x))
    starts, ends = _ints(ins[1]), _ints(ins[2])
    axes = _ints(ins[3]) if _input(ins, 3) is not None else list(range(len(starts)))
    steps = _ints(ins[4]) if _input(ins, 4) is not None else [1] * len(starts)
    key = [slice(None)] * nd
    for s, e, a, st in zip(starts, ends, axes, steps):
        n = np.shape(_np(x))[a]
        # ONNX clamps huge sentinels (INT64_MAX) that Python slices also accept, but not negative
        # steps past the start: slice(s, None, -1) spells "through index 0"
        e = None if st < 0 and e < -n else e
        key[a % nd] = slice(s, e, st)
    return [x[tuple(key)]]


def _split(ctx, node, ins):
    """Pieces along axis: sizes from the split input (opset 13+) or attribute, else
    num_outputs (opset 18: pieces of ⌈n / num_outputs⌉, the last smaller) or equal parts."""
    x = ins[0]
    shape = np.shape(_np(x))
    axis = node.attrs.get("axis", 0) % len(shape)
    n, count = shape[axis], len(node.outputs)
    split = (_ints(ins[1]) if _input(ins, 1) is not None else None) if ctx.opset >= 13 \
        else node.attrs.get("split")
    if not split:
        parts = node.attrs.get("num_outputs", count)
        step = -(-n // parts)
        split = [min(step, n - i * step) for i in range(parts)]
    out, start = [], 0
    for size in split:
        key = (slice(None),) * axis + (slice(start, start + size),)
        out.append(x[key])
        start += size
    return out


def _expand(ctx, node, ins):
    x, shape = ins[0], _ints(ins[1])
    out = list(np.broadcast_shapes(np.shape(_np(x)), tuple(shape)))
    if not isinstance(x, Tensor):
        return [np.array(np.broadcast_to(x, out))]
    x = x.reshape(*([1] * (len(out) - x.ndim) + list(x.shape)))
    return [x.expand(*out)]


def _constant_of_shape(ctx, node, ins):
    value = node.attrs.get("value", np.zeros(1, dtype=np.float32))
    return [np.full(_ints(ins[0]), value.reshape(-1)[0], dtype=value.dtype)]


def _cast(ctx, node, ins):
    from onnx import helper

    dtype = np.dtype(helper.tensor_dtype_to_np_dtype(node.attrs["to"]))
    x = ins[0]
    return [x.to(dtype) if isinstance(x, Tensor) else np.asarray(x).astype(dtype)]


def _pad(ctx, node, ins):
    x = _t(ins[0])
    mode = node.attrs.get("mode", "constant")
    if ctx.opset < 11:
        pads, value, axes = node.attrs["pads"], node.attrs.get("value", 0.0), None
    else:
        pads = _ints(ins[1])
        value = float(_np(ins[2]).reshape(-1)[0]) if _input(ins, 2) is not None and np.size(_np(ins[2])) else 0.0
        axes = _ints(ins[3]) if _input(ins, 3) is not None else None
    axes = [a % x.ndim for a in axes] if axes else list(range(x.ndim))
    begins, ends = [0] * x.ndim, [0] * x.ndim
    for i, a in enumerate(axes):
        begins[a], ends[a] = pads[i], pads[i + len(axes)]
    torch_mode = {"constant": "constant", "reflect": "reflect", "edge": "replicate", "wrap": "circular"}
    if mode not in torch_mode:
        raise ValueError(f"Pad: mode {mode!r} is not supported")
    return [F.pad(x, _torch_pads(begins, ends), mode=torch_mode[mode],
                  value=value if mode == "constant" else None)]


def _reduce(kind, since):
    def op(ctx, node, ins):
        x = ins[0]
        axes = (_ints(ins[1]) if _input(ins, 1) is not None else None) if ctx.opset >= since \
            else node.attrs.get("axes")
        if not axes and node.attrs.get("noop_with_empty_axes", 0):
            return [x]
        keep = bool(node.attrs.get("keepdims", 1))
        dims = tuple(axes) if axes else None
        if np.size(_np(x)) == 0 and kind == "max":
            # the max of nothing is the identity of max: -inf (or the dtype's least value)
            a = _np(x)
            low = {"f": -np.inf, "b": False}.get(a.dtype.kind) if a.dtype.kind in "fb" \
                else np.iinfo(a.dtype).min
            return [np.max(a, axis=dims, keepdims=keep, initial=low)]
        if not isinstance(x, Tensor):
            return [getattr(np, kind)(x, axis=dims, keepdims=keep)]
        return [{"mean": x.mean, "sum": x.sum, "max": x.amax}[kind](dim=dims, keepdim=keep)]
    return op


SHAPE_OPS = {
    "Flatten": _flatten, "Reshape": _reshape, "Transpose": _transpose, "Concat": _concat,
    "Unsqueeze": _unsqueeze, "Squeeze": _squeeze, "Shape": _shape, "Gather": _gather,
    "Slice": _slice, "ConstantOfShape": _constant_of_shape, "Cast": _cast,
    "Split": _split, "Expand": _expand,
    "Pad": _pad,
    "ReduceMean": _reduce("mean", 18), "ReduceSum": _reduce("sum", 13), "ReduceMax": _reduce("max", 18),
}
