"""ONNX Resize and Upsample for ``foveanet.interop.onnx_import`` (conventions: ``._onnx_common``):
nearest (four rounding modes), linear and cubic, every coordinate transformation mode, regions
of interest, antialiasing, as a separable resampling matrix per axis.
"""
from __future__ import annotations

import numpy as np

from foveanet import functional as F
from foveanet.interop._onnx_common import _input, _ints, _np, _t


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


RESIZE_OPS = {"Resize": _resize, "Upsample": _upsample}
