"""Pictures of line recognition (matplotlib, Agg backend, PNG): lines with the predicted text
under the true text, wrong characters in red; the CTC alignment, the best class of every
frame drawn under its columns."""
from __future__ import annotations

import numpy as np

from foveanet.ocr.decode import _alignment
from foveanet.train.plots import _plt

__all__ = ["lines_figure", "alignment_figure"]

# matplotlib's DejaVu Sans Mono has no Odia glyphs (every label drew as a box), and Noto
# Sans Oriya no Latin ones: text with code points of the Oriya block is drawn with the first
# as the family and the second as its fallback, one code point a cell. matplotlib does not
# shape, so a vowel sign stands after its consonant, in the order the CER counts them.
_FALLBACK = "Noto Sans Oriya"
_PREFIX_PT = 6 * 4.8  # "read: " in monospace at 8 pt


def _style(*texts, size: float = 8) -> tuple:
    """(font keywords for annotate / set_title / text, one cell's width in points)."""
    if any("\u0b00" <= c <= "\u0b7f" for t in texts for c in t):
        return {"fontsize": size, "family": ["DejaVu Sans Mono", _FALLBACK]}, 7.0 * size / 8
    return {"fontsize": size, "family": "monospace"}, 0.6 * size


def lines_figure(images, predictions, truths, path) -> None:
    """One row per line: the image, then 'true:' and 'read:' with the characters that the
    alignment marks as wrong (substituted or extra) in red and missing ones as red '_'."""
    plt = _plt()
    n = len(images)
    fig, axes = plt.subplots(n, 1, figsize=(9, 1.05 * n + 0.3), squeeze=False)
    for ax, img, pred, true in zip(axes[:, 0], images, predictions, truths):
        font, cell = _style(true, pred)
        ax.imshow(img, cmap="gray", vmin=0, vmax=255, aspect="equal")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"true: {true}", loc="left", pad=2, **font)
        # characters placed in points from the left edge, one cell each
        ax.annotate("read: ", (0, 0), xycoords="axes fraction", xytext=(0, -3), textcoords="offset points",
                    fontsize=8, family="monospace", va="top")
        for x, (t, p) in enumerate(_alignment(true, pred)):
            ax.annotate(p or "_", (0, 0), xycoords="axes fraction", xytext=(_PREFIX_PT + x * cell, -3),
                        textcoords="offset points", va="top", color="black" if t == p else "red",
                        **font)
    fig.tight_layout(h_pad=1.6)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def alignment_figure(image, log_probs, alphabet, path) -> None:
    """The line, and under it the most likely class of each frame (the model's ``frame`` pixels of width):
    blanks as '.', labels as their character; above, the probability of the best class."""
    plt = _plt()
    lp = np.asarray(log_probs)
    best = lp.argmax(axis=1)
    h, w = image.shape
    step = w / len(best)
    fig, (a0, a1) = plt.subplots(2, 1, figsize=(max(6, w / 28), 2.6), sharex=True,
                                 gridspec_kw={"height_ratios": [1, 2]})
    a0.bar((np.arange(len(best)) + 0.5) * step, np.exp(lp.max(axis=1)), width=step * 0.9,
           color=["0.7" if k == 0 else "tab:blue" for k in best])
    a0.set_ylabel("p(best)", fontsize=7)
    a0.set_ylim(0, 1)
    a1.imshow(image, cmap="gray", vmin=0, vmax=255, extent=(0, w, h, 0), aspect="auto")
    labels = ["." if k == 0 else alphabet.decode([k]) for k in best]
    font = _style(*labels, size=7)[0]
    for t, (k, label) in enumerate(zip(best, labels)):
        a1.text((t + 0.5) * step, h + 6, label, ha="center", va="top",
                color="0.5" if k == 0 else "tab:blue", **font)
    a1.set_ylim(h + 14, 0)
    a1.set_yticks([])
    a1.set_title("CTC alignment: best class per frame ('.' = blank)", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
