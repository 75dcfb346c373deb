"""Pictures of segmentations: masks as translucent colour overlays on the grey input, with
a legend of class names (matplotlib, Agg backend, PNG).

Background stays uncoloured so that the grey item pixels show through; each item class gets
a distinct colour from a fixed qualitative palette, chosen so that the often-confused upper-
body classes (T-shirt, pullover, coat, shirt) are far apart in hue.
"""
from __future__ import annotations

import numpy as np

__all__ = ["PALETTE", "colourise", "overlay", "prediction_grid", "overlay_figure", "learning_curves"]

# RGB 0..1 per class index; index 0 (background) is never drawn
PALETTE = np.array([
    [0.00, 0.00, 0.00],  # background
    [0.90, 0.10, 0.10],  # T-shirt/top   red
    [0.10, 0.45, 0.95],  # Trouser       blue
    [1.00, 0.60, 0.00],  # Pullover      orange
    [0.85, 0.20, 0.85],  # Dress         magenta
    [0.10, 0.75, 0.20],  # Coat          green
    [0.95, 0.90, 0.10],  # Sandal        yellow
    [0.00, 0.85, 0.85],  # Shirt         cyan
    [0.55, 0.35, 0.15],  # Sneaker       brown
    [0.60, 0.45, 1.00],  # Bag           lavender
    [1.00, 0.55, 0.70],  # Ankle boot    pink
])


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def colourise(mask: np.ndarray) -> np.ndarray:
    """(H, W) class indices -> (H, W, 3) colours (classes beyond the palette cycle)."""
    return PALETTE[1:][(np.asarray(mask) - 1) % (len(PALETTE) - 1)] * (np.asarray(mask) > 0)[..., None]


def overlay(image: np.ndarray, mask: np.ndarray, alpha: float = 0.55) -> np.ndarray:
    """Grey (H, W) image in [0, 1] with the mask's classes blended in -> (H, W, 3)."""
    grey = np.repeat(np.clip(image, 0, 1)[..., None], 3, axis=-1)
    # lift the dark background a little so coloured items read against it
    grey = 0.15 + 0.85 * grey
    on = (np.asarray(mask) > 0)[..., None]
    return np.where(on, (1 - alpha) * grey + alpha * colourise(mask), grey)


def _legend(fig, class_names, present):
    from matplotlib.patches import Patch

    handles = [Patch(facecolor=PALETTE[c % len(PALETTE)] if c else (0.15, 0.15, 0.15), edgecolor="k",
                     label=class_names[c]) for c in present]
    fig.legend(handles=handles, loc="lower center", ncol=min(len(handles), 6), fontsize=9, frameon=False)


def prediction_grid(images, true_masks, pred_masks, class_names, path, title=None) -> None:
    """One row per scene: input, true mask overlay, predicted mask overlay, and the pixels
    the prediction gets wrong (in white)."""
    plt = _plt()
    n = len(images)
    fig, axes = plt.subplots(n, 4, figsize=(8.4, 2.1 * n + 0.6), squeeze=False)
    for r in range(n):
        img = np.asarray(images[r]).reshape(np.asarray(true_masks[r]).shape)
        wrong = (np.asarray(pred_masks[r]) != np.asarray(true_masks[r])).astype(float)
        panels = [(img, "input", "gray"), (overlay(img, true_masks[r]), "truth", None),
                  (overlay(img, pred_masks[r]), "prediction", None), (wrong, "errors", "gray")]
        for c, (pic, name, cmap) in enumerate(panels):
            ax = axes[r, c]
            ax.imshow(pic, cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(name, fontsize=10)
    present = sorted(set(np.unique(true_masks).tolist()) | set(np.unique(pred_masks).tolist()))
    _legend(fig, class_names, present)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout(rect=(0, 0.55 / (2.1 * n + 0.6), 1, 0.97 if title else 1))
    fig.savefig(path, dpi=100)
    plt.close(fig)


def overlay_figure(image, pred_mask, class_names, path, title=None) -> None:
    """The predict command's picture: the input beside the predicted classes."""
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(7, 4.2))
    for ax, pic, name, cmap in ((axes[0], image, "input (grey, resized)", "gray"),
                                (axes[1], overlay(image, pred_mask), "predicted classes", None)):
        ax.imshow(pic, cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
        ax.set_title(name, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    _legend(fig, class_names, sorted(np.unique(pred_mask).tolist()))
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout(rect=(0, 0.12, 1, 1))
    fig.savefig(path, dpi=100)
    plt.close(fig)


def learning_curves(history, path, metric: str = "miou", name: str = "mean IoU") -> None:
    """Loss, and ``train_<metric>`` / ``val_<metric>`` of the history's rows, per epoch."""
    plt = _plt()
    ep = [h["epoch"] for h in history]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
    a1.plot(ep, [h["train_loss"] for h in history], "o-", label="train")
    a1.set(xlabel="epoch", ylabel="cross-entropy + Dice", title="loss")
    a2.plot(ep, [h[f"train_{metric}"] for h in history], "o-", label="train")
    a2.plot(ep, [h[f"val_{metric}"] for h in history], "s-", label="validation")
    a2.set(xlabel="epoch", ylabel=name, title=name)
    for a in (a1, a2):
        a.grid(alpha=0.3)
        a.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
