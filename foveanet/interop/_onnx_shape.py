"""ONNX shape, layout, padding, resizing and reduction operators for
``foveanet.interop.onnx_import`` (same conventions as ``._onnx_ops``).

Integer inputs (shapes, axes, indices) are numpy arrays; computing on them in numpy keeps the
shape bookkeeping that exporters emit (Shape -> Gather -> Concat -> Reshape) out of autograd.
"""
from __future__ import annotations

import numpy as np

from foveanet import functional as F
from foveanet.autograd import Tensor, cat
from foveanet.interop._onnx_ops import _input, _ints, _np, _t, _torch_pads


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


def _resize_coeffs(mode, ratio, scale, a, antialias, nearest):
    """Weights of the n neighbours of a source coordinate whose fraction is ratio ∈ (0, 1]."""
    if mode == "nearest":
        if float(ratio).is_integer():
            return np.array([0.0, 1.0])
        up = {"round_prefer_floor": ratio > 0.5, "round_prefer_ceil": ratio >= 0.5,
              "floor": False, "ceil": True}[nearest]
        return np.array([0.0, 1.0]) if up else np.array([1.0, 0.0])
    if not antialias or scale >= 1.0:
        if mode == "linear":
            return np.array([1.0 - ratio, ratio])
        r = np.array([ratio + 1, ratio, 1 - ratio, 2 - ratio])  # cubic: |distance| to 4 taps
    else:
        # antialias: the kernel stretched by 1/scale when shrinking
        half = 1 if mode == "linear" else 2
        start = int(np.floor(-half / scale) + 1)
        r = np.abs((np.arange(start, 2 - start) - ratio) * scale)
        if mode == "linear":
            w = np.clip(1 - r, 0, 1)
            return w / w.sum()
    w = np.where(r <= 1, ((a + 2) * r - (a + 3)) * r * r + 1,
                 np.where(r < 2, ((a * r - 5 * a) * r + 8 * a) * r - 4 * a, 0.0))
    return w / w.sum() if antialias and scale < 1.0 else w


def _resize_matrix(n_in, n_out, scale, attrs, roi):
    """(n_out, n_in) interpolation matrix of one axis (Resize is separable), and the mask of
    outputs that tf_crop_and_resize places outside the input (they get extrapolation_value)."""
    mode = attrs.get("mode", "nearest")
    coord = attrs.get("coordinate_transformation_mode", "half_pixel")
    y = np.arange(n_out, dtype=np.float64)
    length = scale * n_in
    outside = None
    if coord == "align_corners":
        x = np.zeros(n_out) if length == 1 else y * (n_in - 1) / (length - 1)
    elif coord == "asymmetric":
        x = y / scale
    elif coord == "tf_crop_and_resize":
        lo, hi = roi
        x = np.full(n_out, (hi - lo) * (n_in - 1) / 2) if length == 1 \
            else y * (hi - lo) * (n_in - 1) / (length - 1)
        x = x + lo * (n_in - 1)
        outside = (x < 0) | (x > n_in - 1)
    elif coord == "pytorch_half_pixel":
        x = np.full(n_out, -0.5) if length == 1 else (y + 0.5) / scale - 0.5
    elif coord == "half_pixel":
        x = (y + 0.5) / scale - 0.5
    elif coord == "half_pixel_symmetric":
        x = n_in / 2 * (1 - n_out / length) + (y + 0.5) / scale - 0.5
    else:
        raise ValueError(f"Resize: coordinate_transformation_mode {coord!r} is not supported")
    if mode not in ("nearest", "linear", "cubic"):
        raise ValueError(f"Resize: mode {mode!r} is not supported")
    base = np.floor(x)
    ratio = np.where(x == base, 1.0, x - base)
    args = (attrs.get("cubic_coeff_a", -0.75), bool(attrs.get("antialias", 0)),
            attrs.get("nearest_mode", "round_prefer_floor"))
    coeffs = np.stack([_resize_coeffs(mode, r, scale, *args) for r in ratio])
    n = coeffs.shape[1]
    # the n taps nearest to x, preferring the left one (so ratio ∈ (0, 1])
    pad = -(-n // 2)
    xp = x + pad
    frac = xp - np.floor(xp)
    if n % 2 == 0:
        offset = np.where(frac == 0, -(n // 2), -(n // 2) + 1)
    else:
        offset = np.where(frac <= 0.5, -((n - 1) // 2), -((n - 1) // 2) + 1)
    taps = (np.floor(xp).astype(np.int64) + offset)[:, None] + np.arange(n)[None, :] - pad
    if attrs.get("exclude_outside", 0):
        coeffs = np.where((taps < 0) | (taps >= n_in), 0.0, coeffs)
        total = coeffs.sum(axis=1, keepdims=True)
        coeffs = coeffs / np.where(total == 0, 1.0, total)
    w = np.zeros((n_out, n_in))
    np.add.at(w, (np.repeat(np.arange(n_out), n), np.clip(taps, 0, n_in - 1).reshape(-1)), coeffs.reshape(-1))
    if outside is not None:
        w[outside] = 0.0
    return w, outside


def _resize_general(x, attrs, scales, sizes, roi):
    """Any mode/coordinate rule as one matrix product per resized axis (stays differentiable)."""
    nd = x.ndim
    axes = [a % nd for a in attrs.get("axes", range(nd))]
    if sizes is not None:
        want = dict(zip(axes, sizes))
        factor = {a: want[a] / x.shape[a] for a in axes}
        policy = attrs.get("keep_aspect_ratio_policy", "stretch")
        if policy != "stretch":
            one = (min if policy == "not_larger" else max)(factor.values())
            factor = dict.fromkeys(axes, one)
            want = {a: int(one * x.shape[a] + 0.5) for a in axes}
    else:
        factor = dict(zip(axes, scales))
        want = {a: int(factor[a] * x.shape[a]) for a in axes}
    rois = {}
    if roi is not None and len(roi):
        k = len(roi) // 2
        rois = {a: (roi[i], roi[i + k]) for i, a in enumerate(axes)}
    mask = np.zeros((1,) * nd, dtype=bool)
    y = x
    for a in axes:
        lo_hi = rois.get(a, (0.0, 1.0))
        if np.isclose(factor[a], 1.0) and want[a] == x.shape[a] and np.allclose(lo_hi, (0.0, 1.0)):
            continue
        w, outside = _resize_matrix(x.shape[a], want[a], factor[a], attrs, lo_hi)
        perm = [i for i in range(nd) if i != a] + [a]
        inv = list(np.argsort(perm))
        y = (y.permute(*perm) @ w.T.astype(x.dtype)).permute(*inv)
        if outside is not None:
            mask = mask | outside.reshape((1,) * a + (-1,) + (1,) * (nd - a - 1))
    if mask.any():
        y = y + np.where(mask, attrs.get("extrapolation_value", 0.0), 0.0).astype(x.dtype)
    return y


def _resize(ctx, node, ins):
    x = _t(ins[0])
    mode = node.attrs.get("mode", "nearest")
    coord = node.attrs.get("coordinate_transformation_mode", "half_pixel")
    nearest = node.attrs.get("nearest_mode", "round_prefer_floor")
    scales = _input(ins, 1 if ctx.opset < 11 else 2)
    sizes = _input(ins, 3)
    roi = _input(ins, 1) if ctx.opset >= 11 else None

    def floats(v):  # an absent or empty input is None
        return None if v is None or not np.size(_np(v)) else [float(f) for f in np.asarray(_np(v)).reshape(-1)]

    scales, roi = floats(scales), floats(roi)
    sizes = None if sizes is None or not np.size(_np(sizes)) else _ints(sizes)
    simple = not any(k in node.attrs for k in ("axes", "antialias", "keep_aspect_ratio_policy",
                                               "exclude_outside")) and coord != "tf_crop_and_resize"
    attrs = dict(node.attrs)
    if ctx.opset < 11:  # Resize-10: asymmetric coordinates, nearest rounds down
        attrs.setdefault("coordinate_transformation_mode", "asymmetric")
        attrs.setdefault("nearest_mode", "floor")
        coord, nearest = attrs["coordinate_transformation_mode"], attrs["nearest_mode"]
    if simple and len(sizes or scales or ()) == x.ndim:
        # F.interpolate agrees with ONNX where each output length is scale · input exactly
        outs = sizes or [int(f * n) for f, n in zip(scales, x.shape)]
        factors = scales or [o / n for o, n in zip(sizes, x.shape)]
        simple = outs[:2] == list(x.shape[:2]) and all(
            o > 1 and np.isclose(f * n, o) for o, f, n in zip(outs[2:], factors[2:], x.shape[2:]))
    if not simple:
        return [_resize_general(x, attrs, scales, sizes, roi)]
    if mode == "nearest" and coord == "asymmetric" and nearest == "floor":
        fmode, align = "nearest", None
    elif mode == "nearest" and coord in ("half_pixel", "pytorch_half_pixel") and nearest == "round_prefer_ceil":
        fmode, align = "nearest-exact", None
    elif mode == "linear" and coord in ("half_pixel", "pytorch_half_pixel", "align_corners"):
        fmode, align = {3: "linear", 4: "bilinear"}.get(x.ndim), coord == "align_corners"
    else:
        fmode = None
    if fmode is None:  # no F.interpolate twin: the matrix form covers every mode
        return [_resize_general(x, attrs, scales, sizes, roi)]
    if sizes is not None:
        return [F.interpolate(x, size=sizes[2:], mode=fmode, align_corners=align)]
    return [F.interpolate(x, scale_factor=scales[2:], mode=fmode, align_corners=align)]


def _upsample(ctx, node, ins):
    """Upsample (deprecated in opset 10): Resize with asymmetric coordinates, nearest rounding down."""
    x = _t(ins[0])
    scales = node.attrs["scales"] if ctx.opset < 9 else np.asarray(_np(ins[1]), dtype=float).reshape(-1)
    mode = node.attrs.get("mode", "nearest")
    attrs = {"coordinate_transformation_mode": "asymmetric", "nearest_mode": "floor",
             "mode": "linear" if mode in ("linear", "bilinear") else mode}
    return [_resize_general(x, attrs, [float(f) for f in scales], None, None)]


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
    "Pad": _pad, "Resize": _resize, "Upsample": _upsample,
    "ReduceMean": _reduce("mean", 18), "ReduceSum": _reduce("sum", 13), "ReduceMax": _reduce("max", 18),
}
