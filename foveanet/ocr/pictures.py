"""Pictures of line recognition (matplotlib, Agg backend, PNG): lines with the predicted text
under the true text, wrong characters in red; the CTC alignment, the best class of every
frame drawn under its columns."""
from __future__ import annotations

import numpy as np

from foveanet.ocr.decode import _alignment
from foveanet.train.plots import _plt

__all__ = ["lines_figure", "alignment_figure"]


def lines_figure(images, predictions, truths, path) -> None:
    """One row per line: the image, then 'true:' and 'read:' with the characters that the
    alignment marks as wrong (substituted or extra) in red and missing ones as red '_'."""
    plt = _plt()
    n = len(images)
    fig, axes = plt.subplots(n, 1, figsize=(9, 1.05 * n + 0.3), squeeze=False)
    for ax, img, pred, true in zip(axes[:, 0], images, predictions, truths):
        ax.imshow(img, cmap="gray", vmin=0, vmax=255, aspect="equal")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"true: {true}", fontsize=8, loc="left", family="monospace", pad=2)
        # characters placed in points from the left edge: monospace at 8 pt is 4.8 pt wide
        ax.annotate("read: ", (0, 0), xycoords="axes fraction", xytext=(0, -3), textcoords="offset points",
                    fontsize=8, family="monospace", va="top")
        for x, (t, p) in enumerate(_alignment(true, pred), start=6):
            ax.annotate(p or "_", (0, 0), xycoords="axes fraction", xytext=(x * 4.8, -3),
                        textcoords="offset points", fontsize=8, family="monospace", va="top",
                        color="black" if t == p else "red")
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
    for t, k in enumerate(best):
        a1.text((t + 0.5) * step, h + 6, "." if k == 0 else alphabet.decode([k]), ha="center",
                va="top", fontsize=7, family="monospace", color="0.5" if k == 0 else "tab:blue")
    a1.set_ylim(h + 14, 0)
    a1.set_yticks([])
    a1.set_title("CTC alignment: best class per frame ('.' = blank)", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
