"""The run's pictures: learning curves, confusion matrix, a grid of test predictions.

matplotlib is optional (``foveanet[vision]``) and drawn with the Agg backend, so training
on a headless machine never needs a display; without matplotlib the pictures are skipped
with a note instead of failing a run that took minutes.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def pictures_available(names) -> bool:
    """True when matplotlib imports; otherwise a note names the pictures ``names`` that are
    skipped, so that a run without the ``vision`` extra finishes with its numbers."""
    try:
        _plt()
        return True
    except ImportError:
        print(f"note: matplotlib is not installed, so {', '.join(map(str, names))} "
              f"{'was' if len(names) == 1 else 'were'} not drawn (pip install matplotlib, or "
              "foveanet[vision]); the numbers are in metrics.json", file=sys.stderr)
        return False


def learning_curves(history: list[dict], path) -> None:
    plt = _plt()
    ep = [h["epoch"] for h in history]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
    a1.plot(ep, [h["train_loss"] for h in history], "o-", label="train")
    for split, mark in (("val", "^-"), ("test", "s-")):
        if any(h.get(f"{split}_loss") is not None for h in history):
            a1.plot(ep, [h.get(f"{split}_loss") for h in history], mark, label=split)
    a1.set(xlabel="epoch", ylabel="cross-entropy loss", title="loss")
    a2.plot(ep, [100 * h["train_accuracy"] for h in history], "o-", label="train")
    for split, mark in (("val", "^-"), ("test", "s-")):
        if any(h.get(f"{split}_accuracy") is not None for h in history):
            a2.plot(ep, [100 * h[f"{split}_accuracy"] if h.get(f"{split}_accuracy") is not None else np.nan
                         for h in history], mark, label=split)
    a2.set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy")
    for a in (a1, a2):
        a.grid(alpha=0.3)
        a.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def confusion_matrix(cm, class_names, path) -> None:
    plt = _plt()
    cm = np.asarray(cm)
    n = len(cm)
    names = list(class_names) if class_names is not None else [str(i) for i in range(n)]
    size = max(5.0, 0.55 * n + 2)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    # colour by the row-normalised rate so rare classes are as readable as common ones
    rates = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    im = ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    fig.colorbar(im, ax=ax, fraction=0.046, label="fraction of the true class")
    ax.set_xticks(range(n), names, rotation=45, ha="right")
    ax.set_yticks(range(n), names)
    ax.set(xlabel="predicted", ylabel="true", title=f"confusion matrix ({int(cm.sum())} images)")
    if n <= 30:
        for i in range(n):
            for j in range(n):
                ax.text(j, i, str(int(cm[i, j])), ha="center", va="center", fontsize=7,
                        color="white" if rates[i, j] > 0.5 else "black")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def predictions(images, true, pred, probs, class_names, path, cols: int = 8) -> None:
    """images: (N, C, H, W) in [0, 1] as the dataset holds them (before normalisation)."""
    plt = _plt()
    n = len(images)
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.6, rows * 1.9))
    axes = np.atleast_1d(axes).ravel()
    names = list(class_names) if class_names is not None else [str(i) for i in range(int(max(pred.max(), true.max())) + 1)]
    for k, ax in enumerate(axes):
        ax.axis("off")
        if k >= n:
            continue
        img = np.clip(images[k], 0, 1)
        if img.shape[0] == 1:
            ax.imshow(img[0], cmap="gray", vmin=0, vmax=1)
        else:
            ax.imshow(img.transpose(1, 2, 0))
        ok = pred[k] == true[k]
        title = f"{names[pred[k]][:12]} {100 * probs[k]:.0f}%"
        if not ok:
            title += f"\n(true: {names[true[k]][:12]})"
        ax.set_title(title, fontsize=7, color="black" if ok else "red")
    fig.suptitle("test predictions (wrong ones in red)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def save_run_pictures(trainer, res: dict, count: int = 32) -> list[Path]:
    if not pictures_available(["learning_curves.png", "confusion_matrix.png", "predictions.png"]):
        return []
    out = Path(trainer.run_dir)
    written = []
    if trainer.history:
        learning_curves(trainer.history, out / "learning_curves.png")
        written.append(out / "learning_curves.png")
    confusion_matrix(res["confusion"], trainer.class_names, out / "confusion_matrix.png")
    written.append(out / "confusion_matrix.png")
    loader = trainer.test_loader
    ds = getattr(loader, "dataset", None)
    if ds is not None and hasattr(ds, "arrays"):
        from foveanet.data.transforms import call_transform

        x, y = (a[:count] for a in ds.arrays()[:2])
        # the loader's transform is the test-time preprocessing (normalisation)
        xin = call_transform(loader.transform, x, np.random.default_rng(0)) if loader.transform else x
        p = trainer.predict(np.ascontiguousarray(xin, dtype=np.float32))
        pred = p.argmax(axis=1)
        predictions(x, y, pred, p[np.arange(len(pred)), pred], trainer.class_names, out / "predictions.png")
        written.append(out / "predictions.png")
    return written
