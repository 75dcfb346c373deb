"""One image through a run's network: every layer's output, the class probabilities, the
saliency map and Grad-CAM, all from one forward and one backward pass of foveanet's engine.

Saliency (Simonyan et al. 2014) and Grad-CAM (Selvaraju et al. 2017), with ``s_c`` the
score (logit) of the top class ``c``, ``x`` the input and ``A`` the last conv layer's output:

    saliency[i, j] = max over channels of |d s_c / d x[:, i, j]|
    alpha_k        = mean over (i, j) of d s_c / d A_k[i, j]
    grad_cam       = relu(sum_k alpha_k * A_k), upsampled to the input size

For a segmentation network (per-pixel scores) ``s_c`` is the sum over pixels of each
pixel's winning score, and the "probabilities" are the share of the pixels each class gets.

The backward pass runs with the parameters' requires_grad switched off (only the input
and the retained conv output need gradients), so no weight gradient is computed or kept.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from foveanet.explore.errors import bad_request

__all__ = ["Analysis", "analyse", "dot_product", "ACTIVATIONS"]

# module types whose output is "the activation" of the conv or linear layer before them
ACTIVATIONS = ("ReLU", "ReLU6", "LeakyReLU", "ELU", "GELU", "SiLU", "Sigmoid", "Tanh", "Hardswish")


@dataclass
class Analysis:
    """What the network computed for one image (arrays without the batch axis)."""

    image: np.ndarray                   # (C, H, W) in [0, 1], as the model sees it
    label: int | None
    notes: list
    outputs: dict                       # layer name -> output array
    inputs: dict                        # conv layer name -> its input (C, H, W)
    probs: np.ndarray
    saliency: np.ndarray                # (H, W)
    grad_cam: np.ndarray | None         # (H, W), None without a conv layer
    cam_layer: str | None
    seconds: float = 0.0
    order: list = field(default_factory=list)   # layer names in execution order


def _np(t) -> np.ndarray:
    return np.asarray(t.numpy() if hasattr(t, "numpy") else t)


def _upsample(a: np.ndarray, h: int, w: int) -> np.ndarray:
    """Bilinear resize of a 2-d map (align_corners=False, as F.interpolate)."""
    def axis(n_in, n_out):
        pos = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
        lo = np.floor(pos).astype(int)
        hi = np.minimum(lo + 1, n_in - 1)
        return lo, hi, (pos - lo).astype(np.float32)
    (y0, y1, fy), (x0, x1, fx) = axis(a.shape[0], h), axis(a.shape[1], w)
    top = a[y0][:, x0] * (1 - fx) + a[y0][:, x1] * fx
    bottom = a[y1][:, x0] * (1 - fx) + a[y1][:, x1] * fx
    return (top * (1 - fy)[:, None] + bottom * fy[:, None]).astype(np.float32)


def analyse(run, img: np.ndarray, label=None, notes=()) -> Analysis:
    """Forward ``img`` through ``run.net`` with hooks on every layer, then back from the top
    class's score; the caller holds ``run.lock``."""
    import time

    import foveanet as fn
    from foveanet.vision.features import _convs

    t0 = time.perf_counter()
    net = run.net
    layers = [r.name for r in run.summary().layers]
    modules = dict(net.named_modules())
    convs = {n for n, _ in _convs(net)}
    cam_layer = [n for n, _ in _convs(net)][-1] if convs else None
    outputs, inputs, kept, handles, order = {}, {}, {}, [], []

    def hook_for(name):
        def hook(module, args, output):
            if name in outputs:        # a shared layer's second call: the first is shown
                return None
            order.append(name)
            outputs[name] = _np(output)[0].copy()
            if name in convs:
                inputs[name] = _np(args[0])[0].copy()
            if name == cam_layer:
                output.retain_grad()
                kept[name] = output
            return None
        return hook

    params = list(net.parameters())
    flags = [p.requires_grad for p in params]
    try:
        for n in layers:
            handles.append(modules[n].register_forward_hook(hook_for(n)))
        for p in params:
            p.requires_grad = False
        x = fn.tensor(run.transform(img), requires_grad=True)
        with fn.enable_grad():
            scores = net(x)
            z = _np(scores)[0].astype(np.float64)
            onehot = np.zeros(scores.shape, dtype=np.float32)
            if z.ndim == 1:
                onehot[0, int(np.argmax(z))] = 1
            else:   # per-pixel scores (segmentation): the sum of each pixel's winning score
                np.put_along_axis(onehot[0], z.argmax(axis=0)[None], 1, axis=0)
            (scores * fn.tensor(onehot)).sum().backward()
    finally:
        for h in handles:
            h.remove()
        for p, f in zip(params, flags):
            p.requires_grad = f
    if z.ndim == 1:
        e = np.exp(z - z.max())
        probs = (e / e.sum()).astype(np.float32)
    else:   # the share of the pixels given to each class
        probs = (np.bincount(z.argmax(axis=0).ravel(), minlength=z.shape[0]) / z[0].size).astype(np.float32)
    grad = _np(x.grad)[0]
    saliency = np.abs(grad).max(axis=0).astype(np.float32)
    cam = None
    if cam_layer is not None and kept[cam_layer].grad is not None:
        a, g = outputs[cam_layer], _np(kept[cam_layer].grad)[0]
        alpha = g.mean(axis=(1, 2))
        cam = np.maximum((alpha[:, None, None] * a).sum(axis=0), 0).astype(np.float32)
        cam = _upsample(cam, *img.shape[1:])
    return Analysis(img, label, list(notes), outputs, inputs, probs, saliency, cam, cam_layer,
                    time.perf_counter() - t0, order)


def _pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def dot_product(run, an: Analysis, layer: str, c: int, y: int, x: int) -> dict:
    """The numbers behind output pixel (c, y, x) of conv layer ``layer``:

        z = sum over (k, i, j) of window[k, i, j] * filter[k, i, j] + bias

    with ``window`` the layer's (zero-padded) input under the filter, and the activation
    the next layer applies to ``z`` when that layer is an activation function."""
    from foveanet.vision.features import receptive_field_box

    m = run.module(layer)
    if layer not in an.inputs:
        raise bad_request(f"layer {layer!r} is a {type(m).__name__}, not a 2-d convolution: "
                          "pick a Conv2d layer for the dot product")
    out = an.outputs[layer]
    cout, h, w = out.shape
    if not (0 <= c < cout and 0 <= y < h and 0 <= x < w):
        raise bad_request(f"({c}, {y}, {x}) is outside {layer!r}'s {cout}x{h}x{w} output")
    (kh, kw), (sh, sw), (dh, dw) = _pair(m.kernel_size), _pair(m.stride), _pair(m.dilation)
    pad = m.padding
    if isinstance(pad, str):
        from foveanet.geometry import same_padding_split

        (pt, _), (pl, _) = (same_padding_split(kh, dh) if pad == "same" else (0, 0),
                            same_padding_split(kw, dw) if pad == "same" else (0, 0))
    else:
        pt, pl = _pair(pad)
    inp = an.inputs[layer]
    groups = int(getattr(m, "groups", 1))
    cin_g = inp.shape[0] // groups
    g0 = (c // (cout // groups)) * cin_g
    rows = y * sh - pt + dh * np.arange(kh)
    cols = x * sw - pl + dw * np.arange(kw)
    win = np.zeros((cin_g, kh, kw), dtype=np.float64)
    ok_r = (rows >= 0) & (rows < inp.shape[1])
    ok_c = (cols >= 0) & (cols < inp.shape[2])
    sub = inp[g0:g0 + cin_g][:, rows[ok_r]][:, :, cols[ok_c]]
    win[np.ix_(np.arange(cin_g), np.where(ok_r)[0], np.where(ok_c)[0])] = sub
    wt = _np(m.weight)[c].astype(np.float64)
    bias = float(_np(m.bias)[c]) if getattr(m, "bias", None) is not None else 0.0
    products = win * wt
    z = float(products.sum() + bias)
    act = None
    i = an.order.index(layer)
    if i + 1 < len(an.order):
        nxt = an.order[i + 1]
        nm = run.module(nxt)
        if type(nm).__name__ in ACTIVATIONS and an.outputs[nxt].shape == out.shape:
            act = {"layer": nxt, "type": type(nm).__name__, "value": float(an.outputs[nxt][c, y, x])}
    rf = None
    try:
        top, left, bottom, right = receptive_field_box(run.net, run.input_shape, layer, (y, x),
                                                       rows=run.receptive_fields())
        rf = {"top": top, "left": left, "bottom": bottom, "right": right}
    except ValueError:
        pass
    shown = min(cin_g, 16)  # the page shows the first 16 input channels; the sum uses all
    return {"layer": layer, "channel": c, "y": y, "x": x, "kernel": [kh, kw], "stride": [sh, sw],
            "padding": [pt, pl], "dilation": [dh, dw], "in_channels": cin_g, "shown_channels": shown,
            "input_rows": rows.tolist(), "input_cols": cols.tolist(),
            "window": np.round(win[:shown], 6).tolist(), "filter": np.round(wt[:shown], 6).tolist(),
            "bias": bias, "sum_products": float(products.sum()), "z": z,
            "output": float(out[c, y, x]), "activation": act, "receptive_field": rf}
