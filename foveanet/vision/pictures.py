"""Pictures for the lecture: filters at work, padding/stride arithmetic, FC against conv.

Every function draws one matplotlib figure, writes it as a PNG to ``out`` (folders are
created) and returns the path. Figures are built on ``matplotlib.figure.Figure`` directly,
never through pyplot, so nothing here changes the caller's backend or leaks open figures.
The model pictures (learned filters, feature maps, receptive fields) live in ``features``
(which builds on this module).
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from foveanet.vision import filters as _F

__all__ = ["filter_grid", "fc_vs_conv_chart", "padding_stride_grid", "kernel_text"]

# distinct, colour-blind-safe outline colours for successive filter positions
COLORS = ("#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b")


def _figure(w: float, h: float):
    try:
        from matplotlib.figure import Figure
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("pictures need matplotlib: pip install matplotlib (or foveanet[vision])") from None
    return Figure(figsize=(w, h))


def _save(fig, out, dpi: int = 100) -> Path:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=dpi, format="png", bbox_inches="tight")
    return out


def _show(ax, img, title=None, **kw):
    """Draw a (H, W) or (3, H, W) image in [0, 1] without ticks."""
    a = np.asarray(img)
    if a.ndim == 3:
        a = a[0] if a.shape[0] == 1 else np.clip(a.transpose(1, 2, 0), 0, 1)
    if a.ndim == 2:
        kw.setdefault("cmap", "gray")
        kw.setdefault("vmin", 0.0)
        kw.setdefault("vmax", 1.0)
    ax.imshow(a, interpolation="nearest", **kw)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=8, family="monospace")


def kernel_text(kernel) -> str:
    """A kernel as rows of numbers, with a common fraction pulled out: '1/16 x\\n 1 2 1 ...'."""
    k = np.asarray(kernel, dtype=np.float64)
    for denom in (1, 2, 4, 8, 9, 16, 25, 256):
        m = k * denom
        if np.allclose(m, np.round(m), atol=1e-5) and np.abs(m).max() < 1000:
            rows = np.round(m).astype(int)
            width = max(len(str(v)) for v in rows.ravel())
            body = "\n".join(" ".join(f"{v:>{width}d}" for v in r) for r in rows)
            return body if denom == 1 else f"1/{denom} x\n{body}"
    return "\n".join(" ".join(f"{float(v):.2g}" for v in r) for r in k)


def _fit(image, max_side):
    """Shrink (C, H, W) so its long side is at most max_side (box-averaged by Pillow)."""
    a = _F._chw(image)
    if max_side is None or max(a.shape[1:]) <= max_side:
        return a
    from PIL import Image

    scale = max_side / max(a.shape[1:])
    size = (max(1, round(a.shape[2] * scale)), max(1, round(a.shape[1] * scale)))
    return np.stack([np.asarray(Image.fromarray(c, "F").resize(size, Image.BOX)) for c in a])


def _filter_grid_figure(image, mode="gray", names=None, cols=5):
    img = _F._chw(image)
    names = list(names or _F.names())
    shown = img if mode != "gray" else _F.luminance(img)
    panels = [("original" + (" (grey)" if mode == "gray" and img.shape[0] == 3 else ""), shown)]
    for name in names:
        k = _F.get(name)
        panels.append((f"{name}\n{kernel_text(k)}", _F.to_display(_F.apply(img, k, mode), k)))
    panels.append(("edge magnitude\nsqrt(sobel_x^2 + sobel_y^2)",
                   _F.to_display(_F.edge_magnitude(img, mode), "abs")))
    rows = math.ceil(len(panels) / cols)
    h, w = img.shape[1:]
    pw = 2.4
    fig = _figure(cols * pw, rows * (pw * h / w + 0.9))
    for i, (title, a) in enumerate(panels):
        _show(fig.add_subplot(rows, cols, i + 1), a, title)
    fig.suptitle(f"3x3 filters applied with conv2d ({'grey' if mode == 'gray' else 'per colour channel'}, "
                 "padding 'same'); blur/sharpen/emboss clipped to [0,1], edges |y| scaled to white", fontsize=9)
    return fig


def filter_grid(image, out, mode: str = "gray", names=None, max_side: int | None = 512, dpi: int = 100) -> Path:
    """Every named filter's result on one image, each titled with its name and matrix.

    Panels: the original, one per filter in ``names`` (default all), and the Sobel edge
    magnitude. Images larger than ``max_side`` are shrunk first (the grid shows each panel a
    few hundred pixels wide anyway).
    """
    return _save(_filter_grid_figure(_fit(image, max_side), mode, names), out, dpi=dpi)


# -------------------------------------------------------------- padding and stride


def padding_stride_grid(n: int, f: int, p: int = 0, s: int = 1, out="padding.png", positions: int = 3) -> Path:
    """The output-size arithmetic drawn: an n x n input inside its padding ring (grey), the
    first ``positions`` filter placements outlined in colour, and beside it the output grid
    with the cells those placements produce, in the same colours. Input cells no placement
    reaches (when s does not divide n + 2p - f) are hatched.
    """
    from matplotlib.patches import Rectangle

    from foveanet.concepts import conv_output_size

    for name, v, low in (("n", n, 1), ("f", f, 1), ("p", p, 0), ("s", s, 1)):
        if int(v) != v or v < low:
            raise ValueError(f"padding_stride_grid: {name} must be an integer >= {low}, got {v!r}")
    n, f, p, s = int(n), int(f), int(p), int(s)
    N = n + 2 * p
    if f > N:
        raise ValueError(f"padding_stride_grid: the {f}x{f} filter does not fit in the padded "
                         f"{N}x{N} input (n + 2p = {n} + {2 * p})")
    o = conv_output_size(n, f, padding=p, stride=s)  # the lecture's formula, the engine's own
    reach = (o - 1) * s + f  # padded cells [0, reach) are covered by some placement
    gap = 1.5
    fig = _figure(max(6.0, (N + o + gap) * 0.45 + 1), max(3.5, N * 0.45 + 1.4))
    ax = fig.add_subplot(1, 1, 1)
    for y in range(N):
        for x in range(N):
            pad = not (p <= y < N - p and p <= x < N - p)
            ax.add_patch(Rectangle((x, y), 1, 1, facecolor="#c8c8c8" if pad else "white",
                                   edgecolor="#888888", lw=0.6,
                                   hatch="///" if (y >= reach or x >= reach) else None))
            if pad:
                ax.text(x + 0.5, y + 0.5, "0", ha="center", va="center", fontsize=7, color="#666666")
    placements = [(i // o, i % o) for i in range(min(positions, o * o))]
    for c, (oy, ox) in enumerate(placements):
        inset = 0.06 + 0.08 * c  # nested outlines stay visible where placements overlap
        col = COLORS[c % len(COLORS)]
        ax.add_patch(Rectangle((ox * s + inset, oy * s + inset), f - 2 * inset, f - 2 * inset,
                               fill=False, edgecolor=col, lw=2.2))
    x0 = N + gap
    for y in range(o):
        for x in range(o):
            hit = [c for c, pos in enumerate(placements) if pos == (y, x)]
            col = COLORS[hit[0] % len(COLORS)] if hit else "white"
            ax.add_patch(Rectangle((x0 + x, y), 1, 1, facecolor=col, alpha=0.8 if hit else 1,
                                   edgecolor="#444444", lw=0.8))
    where = f"input {n}x{n}, padded to {N}x{N}" if p else f"input {n}x{n} (no padding)"
    ax.text(N / 2, -0.4, where, ha="center", va="bottom", fontsize=9)
    ax.text(x0 + o / 2, -0.4, f"output {o}x{o}", ha="center", va="bottom", fontsize=9)
    ax.set_xlim(-0.3, x0 + o + 0.3)
    ax.set_ylim(N + 0.3, -1.6)
    ax.set_aspect("equal")
    ax.axis("off")
    title = (f"n={n}, f={f}, p={p}, s={s}:   output = floor((n + 2p - f) / s) + 1 = "
             f"floor(({n} + {2 * p} - {f}) / {s}) + 1 = {o}")
    if reach < N:
        title += (f"\n(hatched: the last {N - reach} row(s) and column(s), which no filter position "
                  f"reaches, since s={s} does not divide n + 2p - f = {N - f})")
    ax.set_title(title, fontsize=9)
    return _save(fig, out)


# ----------------------------------------------------------------- FC vs conv


def fc_vs_conv_chart(out="fc_vs_conv.png", sizes=(32, 64, 128, 224, 400), channels: int = 3,
                     filters: int = 6) -> Path:
    """Parameters of a fully connected layer against a 3x3 and a 5x5 conv layer as the image grows.

    For each size s, the input is s x s x ``channels``; the conv layers have ``filters``
    filters (no padding, stride 1) and the FC layer has as many outputs as the 5x5 conv
    layer (the lecture's 32x32x3 -> 28x28x6 comparison). The conv counts do not depend on s.
    """
    from foveanet.concepts import fc_vs_conv

    sizes = sorted(int(v) for v in sizes)
    if not sizes or sizes[0] < 5:
        raise ValueError(f"fc_vs_conv_chart: sizes must be at least 5 (a 5x5 filter must fit), got {sizes}")
    fc = [fc_vs_conv((v, v, channels), conv=(5, filters)).fc_params for v in sizes]
    c3 = [fc_vs_conv((v, v, channels), conv=(3, filters)).conv_params for v in sizes]
    c5 = [fc_vs_conv((v, v, channels), conv=(5, filters)).conv_params for v in sizes]
    fig = _figure(7.5, 4.6)
    ax = fig.add_subplot(1, 1, 1)
    ax.plot(sizes, fc, "o-", color=COLORS[0], label="fully connected, as many outputs as the 5x5 conv (weights + biases)")
    ax.plot(sizes, c5, "s-", color=COLORS[1], label=f"conv 5x5, {filters} filters: (5*5*{channels}+1)*{filters}")
    ax.plot(sizes, c3, "^-", color=COLORS[2], label=f"conv 3x3, {filters} filters: (3*3*{channels}+1)*{filters}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(sizes)
    ax.set_xticklabels([f"{v}x{v}" for v in sizes], fontsize=8)
    ax.minorticks_off()
    for v, a in zip(sizes, fc):
        ax.annotate(f"{a:,}", (v, a), textcoords="offset points", xytext=(0, 7), ha="center", fontsize=7)
    ax.annotate(f"{c5[0]:,}", (sizes[0], c5[0]), textcoords="offset points", xytext=(0, 7), fontsize=7)
    ax.annotate(f"{c3[0]:,}", (sizes[0], c3[0]), textcoords="offset points", xytext=(0, -12), fontsize=7)
    ax.set_ylim(min(c3) / 5, max(fc) * 20)
    ax.set_xlabel(f"input image (x {channels} channels)")
    ax.set_ylabel("parameters (log scale)")
    ax.set_title("Why convolutions: an FC layer grows with the image squared, a conv layer not at all",
                 fontsize=10)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8, loc="center right")
    return _save(fig, out)

