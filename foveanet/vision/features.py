"""Pictures of a model at work: its first-layer filters, every conv layer's feature maps, and
the receptive field of one unit drawn on the input.

``image`` is always one (C, H, W) (or (H, W)) array as the picture should show it, usually in
[0, 1]; ``transform`` (optional) turns the (1, C, H, W) batch into what the model expects
(the run's normalisation), so pictures show the image and the model sees its own input.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from foveanet.vision.pictures import COLORS, _figure, _save, _show

__all__ = ["learned_filters", "feature_maps", "receptive_field_box", "receptive_field_picture"]


def _array(t) -> np.ndarray:
    return np.asarray(t.numpy() if hasattr(t, "numpy") else t)


def _convs(model):
    """(name, module) of every 2-d convolution, in the order named_modules walks them."""
    from foveanet import nn

    return [(n, m) for n, m in model.named_modules()
            if isinstance(m, nn.Conv2d) and not isinstance(m, getattr(nn, "ConvTranspose2d", ()))]


def _norm01(a: np.ndarray) -> np.ndarray:
    lo, hi = float(a.min()), float(a.max())
    return np.zeros_like(a) if hi == lo else (a - lo) / (hi - lo)


def learned_filters(model_or_weight, out="filters.png", numbers: bool | None = None, cols: int = 8) -> Path:
    """The first conv layer's filters as a grid of little pictures.

    model_or_weight: a model (its first Conv2d is used) or a weight (out, in, kh, kw).
    Each filter is min-max normalised on its own (white = its largest weight, black = its
    smallest), so the pattern shows, not the scale. 3 input channels are shown as RGB;
    1 as grey; any other count as the mean over input channels (the title says so).
    numbers: write each weight in its cell (default: grey filters up to 5x5, at most 16).
    """
    name = "weight"
    if hasattr(model_or_weight, "named_modules"):
        convs = _convs(model_or_weight)
        if not convs:
            raise ValueError("learned_filters: the model has no Conv2d layer")
        name, conv = convs[0]
        w = _array(conv.weight)
    else:
        w = _array(model_or_weight)
    if w.ndim != 4:
        raise ValueError(f"learned_filters: weight must be (out, in, kh, kw), got shape {w.shape}")
    o, c, kh, kw = w.shape
    note = ""
    if c not in (1, 3):
        w, note = w.mean(axis=1, keepdims=True), f", mean over {c} input channels"
    grey = w.shape[1] == 1
    if numbers is None:
        numbers = grey and max(kh, kw) <= 5 and o <= 16
    cols = max(1, min(cols, o))
    rows = math.ceil(o / cols)
    side = 2.1 if numbers else 1.1
    fig = _figure(cols * side, rows * side + 0.7)
    for i in range(o):
        ax = fig.add_subplot(rows, cols, i + 1)
        f = _norm01(w[i])
        _show(ax, f, f"#{i}")
        if numbers:
            for y in range(kh):
                for x in range(kw):
                    ax.text(x, y, f"{w[i, 0, y, x]:.2f}", ha="center", va="center", fontsize=5.5,
                            color="black" if f[0, y, x] > 0.5 else "white")
    fig.suptitle(f"{name}: {o} filters of {c}x{kh}x{kw} (each scaled to its own min..max{note})",
                 fontsize=9)
    return _save(fig, out)


def _run(model, image, transform, hook_names):
    """Forward one image; return {name: output array (C, H, W)} for the hooked modules."""
    from foveanet import no_grad

    x = np.asarray(image, dtype=np.float32)
    x = x[None, None] if x.ndim == 2 else x[None]
    if transform is not None:
        x = np.asarray(transform(x), dtype=np.float32)
    modules = dict(model.named_modules())
    outputs, handles = {}, []

    def keep(name):
        def hook(module, args, output):
            outputs[name] = _array(output)[0].copy()  # a later in-place ReLU must not change it
        return hook

    try:
        for n in hook_names:
            handles.append(modules[n].register_forward_hook(keep(n)))
        was_training = getattr(model, "training", False)
        model.eval()
        with no_grad():
            model(x)
        model.train(was_training)
    finally:
        for h in handles:
            h.remove()
    return outputs


def feature_maps(model, image, out="features.png", transform=None, max_maps: int = 16, cols: int = 8) -> Path:
    """Every conv layer's output for one image: a block of maps per layer, stacked top to
    bottom, each block titled with the layer's name and output shape (C x H x W).

    The maps are the convolution's own output (before any activation), each min-max
    normalised on its own; at most ``max_maps`` channels per layer are shown.
    """
    names = [n for n, _ in _convs(model)]
    if not names:
        raise ValueError("feature_maps: the model has no Conv2d layer")
    maps = _run(model, image, transform, names)
    shown = [min(max_maps, maps[n].shape[0]) for n in names]
    cols = max(1, min(cols, max(shown)))
    row_counts = [math.ceil(k / cols) for k in shown]
    fig = _figure(cols * 1.25 + 1.6, sum(row_counts) * 1.35 + 0.5 * len(names) + 0.3)
    sub = fig.subfigures(len(names), 1, height_ratios=[r + 0.45 for r in row_counts])
    sub = np.atleast_1d(sub)
    for k, (n, part) in enumerate(zip(names, sub)):
        m = maps[n]
        grid = part.subplots(row_counts[k], cols + 1, squeeze=False)
        for ax in grid.ravel():
            ax.axis("off")
        _show(grid[0, 0], _norm01(np.asarray(image, dtype=np.float32)), "input")
        for i in range(shown[k]):
            ax = grid[i // cols, 1 + i % cols]
            ax.axis("on")
            _show(ax, _norm01(m[i]), f"{i}")
        more = f", first {shown[k]} shown" if shown[k] < m.shape[0] else ""
        part.suptitle(f"{n}  ({type(dict(model.named_modules())[n]).__name__})  output "
                      f"{' x '.join(map(str, m.shape))}{more}", fontsize=9, family="monospace")
    return _save(fig, out)


def receptive_field_box(model, input_shape, layer_name: str, unit=(0, 0), rows=None):
    """Input pixels that unit (y, x) of layer ``layer_name``'s output sees.

    ``rows``: the model's ``receptive_field`` table when the caller already has it (the
    explorer asks for many units of one model), else it is computed.

    Returns (top, left, bottom, right), inclusive pixel indices; they may fall outside the
    image (in the padding). From foveanet.concepts.receptive_field: with r the field size,
    j the jump and start the centre of unit 0 (per axis), unit u is centred on start + u*j
    and covers centre +- (r - 1)/2.
    """
    row = _rf_row(model, input_shape, layer_name, rows)
    y, x = _unit(unit, row, layer_name)
    lo, hi = [], []
    for u, r, j, st in zip((y, x), row.r, row.j, row.start):
        centre = st + u * j
        lo.append(centre - (r - 1) / 2)
        hi.append(centre + (r - 1) / 2)
    box = tuple(int(v) if float(v).is_integer() else v for v in (lo[0], lo[1], hi[0], hi[1]))
    return box


def _rf_row(model, input_shape, layer_name, rows=None):
    from foveanet.concepts import receptive_field

    rows = receptive_field(model, tuple(input_shape)) if rows is None else rows
    try:
        return rows[layer_name]
    except KeyError:
        spatial = [r.name for r in rows if r.size is not None]
        raise ValueError(f"no layer named {layer_name!r}; layers with a spatial output: "
                         f"{', '.join(spatial)}") from None


def _unit(unit, row, layer_name):
    if row.size is None:
        raise ValueError(f"layer {layer_name!r} comes after flattening: each of its units sees the "
                         "whole image; pick a conv or pooling layer")
    y, x = (int(v) for v in unit)
    h, w = row.size
    if not (0 <= y < h and 0 <= x < w):
        raise ValueError(f"unit ({y}, {x}) is outside layer {layer_name!r}'s {h}x{w} output "
                         f"(y in 0..{h - 1}, x in 0..{w - 1})")
    return y, x


def receptive_field_picture(model, image, layer_name: str, unit=(0, 0), out="receptive_field.png",
                            transform=None) -> Path:
    """Left: the input with the receptive field of unit (y, x) of ``layer_name`` outlined
    (dashed where it reaches into the zero padding). Right: that layer's output (the channel
    most active at the unit) with the unit marked.
    """
    from matplotlib.patches import Rectangle

    img = np.asarray(image, dtype=np.float32)
    chw = img[None] if img.ndim == 2 else img
    row = _rf_row(model, chw.shape, layer_name)
    y, x = _unit(unit, row, layer_name)
    top, left, bottom, right = receptive_field_box(model, chw.shape, layer_name, (y, x))
    act = _run(model, chw, transform, [layer_name])[layer_name]
    ch = int(np.argmax(act[:, y, x])) if act.ndim == 3 else 0
    fmap = act[ch] if act.ndim == 3 else act
    H, W = chw.shape[1:]
    fig = _figure(9.0, 4.6)
    ax, ax2 = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    outside = top < 0 or left < 0 or bottom > H - 1 or right > W - 1
    _show(ax, chw, f"input {H}x{W}" + (" (grey around it: zero padding)" if outside else ""))
    ax.set_facecolor("#d0d0d0")
    ax.add_patch(Rectangle((left - 0.5, top - 0.5), right - left + 1, bottom - top + 1, fill=False,
                           edgecolor=COLORS[0], lw=2.2, ls="--" if outside else "-"))
    ax.plot([(left + right) / 2], [(top + bottom) / 2], "+", color=COLORS[0], ms=10)
    ax.set_xlim(min(-0.5, left - 1), max(W - 0.5, right + 1))
    ax.set_ylim(max(H - 0.5, bottom + 1), min(-0.5, top - 1))
    ax.add_patch(Rectangle((-0.5, -0.5), W, H, fill=False, edgecolor="#888888", lw=0.8))
    _show(ax2, _norm01(fmap), f"{layer_name} output {' x '.join(map(str, act.shape))}\nchannel {ch} (the most active at the unit)")
    ax2.add_patch(Rectangle((x - 0.5, y - 0.5), 1, 1, fill=False, edgecolor=COLORS[0], lw=2.2))
    r = "x".join(str(int(v)) if float(v).is_integer() else f"{v:g}" for v in row.r)
    j = "x".join(f"{v:g}" for v in row.j)
    fig.suptitle(f"unit (y={y}, x={x}) of {layer_name} sees input rows {top}..{bottom}, columns "
                 f"{left}..{right}  (r = {r}, jump = {j}"
                 + ("; dashed: part of it is zero padding)" if outside else ")"), fontsize=9)
    return _save(fig, out)
