"""Pictures of volumes and their masks: axial, coronal and sagittal slices with the classes
as translucent colours (``segmentation.pictures.overlay``), and Dice per class.

Slices are drawn from RAS+ volumes with the origin at the bottom and the voxel aspect of
the spacings: the patient's right on the right of axial and coronal slices (neurological
convention), anterior up in axial slices and to the right in sagittal ones.
"""
from __future__ import annotations

import numpy as np

__all__ = ["VIEWS", "view_slice", "test_views", "view_overlays", "dice_bars"]

VIEWS = ("axial", "coronal", "sagittal")


def _plt():
    from foveanet.segmentation.pictures import _plt as plt

    return plt()


def view_slice(vol: np.ndarray, view: str, index: int, spacing) -> tuple:
    """(the 2-D slice to draw with origin 'lower', its aspect) of an (X, Y, Z) volume.

    Example::

        >>> from foveanet.medical.pictures import view_slice
        >>> v = np.arange(24).reshape(2, 3, 4)
        >>> s, aspect = view_slice(v, "coronal", 1, (1.0, 1.0, 2.0))
        >>> s.shape, aspect, int(s[3, 1])        # rows run along z, columns along x
        ((4, 2), 2.0, 19)
    """
    sx, sy, sz = (float(s) for s in spacing)
    if view == "axial":
        return vol[:, :, index].T, sy / sx
    if view == "coronal":
        return vol[:, index, :].T, sz / sx
    if view == "sagittal":
        return vol[index, :, :].T, sz / sy
    raise ValueError(f"view must be one of {VIEWS}, got {view!r}")


def _centre(mask: np.ndarray) -> tuple:
    """The foreground's centre voxel (the volume's centre when the mask is empty)."""
    idx = np.argwhere(mask > 0)
    return tuple(int(v) for v in (idx.mean(axis=0) if len(idx) else np.array(mask.shape) / 2))


def _draw(ax, image, mask, view, index, spacing, title, lines=()):
    from foveanet.segmentation.pictures import overlay

    img, aspect = view_slice(image, view, index, spacing)
    m, _ = view_slice(mask, view, index, spacing) if mask is not None else (np.zeros(img.shape, int), 0)
    ax.imshow(overlay(np.clip(img, 0, 1), m), origin="lower", aspect=aspect, interpolation="nearest")
    for y in lines:
        ax.axhline(y, color="w", lw=0.6, ls="--")
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])


def _slab_edges(test: np.ndarray) -> list:
    """Boundaries of the runs of consecutive test slices (for the dashed lines)."""
    t = np.asarray(test)
    if not len(t):
        return []
    breaks = np.where(np.diff(t) > 1)[0]
    starts, ends = np.r_[t[0], t[breaks + 1]], np.r_[t[breaks], t[-1]]
    return [v for s, e in zip(starts, ends) for v in (s - 0.5, e + 0.5)]


def test_views(image, truth, pred, baseline, affine, test, class_names, path, title=None) -> None:
    """Rows truth / CNN / baseline (when given), columns axial (a test slice), coronal and
    sagittal (through the volume's centre, the test slabs between dashed lines)."""
    from foveanet.segmentation.pictures import _legend

    plt = _plt()
    spacing = np.linalg.norm(np.asarray(affine)[:3, :3], axis=0)
    rows = [("truth", truth), ("CNN", pred)] + ([("baseline", baseline)] if baseline is not None else [])
    cx, cy, _ = _centre(truth)
    k = int(test[len(test) // 2]) if len(test) else image.shape[2] // 2
    edges = _slab_edges(test)
    fig, axes = plt.subplots(len(rows), 3, figsize=(9.6, 3.2 * len(rows) + 0.7), squeeze=False)
    for r, (name, m) in enumerate(rows):
        for c, (view, index) in enumerate((("axial", k), ("coronal", cy), ("sagittal", cx))):
            _draw(axes[r, c], image, m, view, index, spacing, f"{name}: {view} {index}",
                  lines=edges if view != "axial" else ())
    present = sorted(set().union(*(np.unique(m).tolist() for _, m in rows)))
    _legend(fig, class_names, present)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout(rect=(0, 0.6 / (3.2 * len(rows) + 0.7), 1, 0.97 if title else 1))
    fig.savefig(path, dpi=90)
    plt.close(fig)


def view_overlays(image, mask, affine, class_names, paths, title=None) -> None:
    """One PNG per orientation (``paths`` in ``VIEWS`` order): the slice through the mask's
    centre, plain and with the classes overlaid."""
    from foveanet.segmentation.pictures import _legend

    plt = _plt()
    spacing = np.linalg.norm(np.asarray(affine)[:3, :3], axis=0)
    centre = _centre(mask)
    for view, path, index in zip(VIEWS, paths, (centre[2], centre[1], centre[0])):
        fig, axes = plt.subplots(1, 2, figsize=(8, 4.4))
        _draw(axes[0], image, None, view, index, spacing, f"{view} slice {index}")
        _draw(axes[1], image, mask, view, index, spacing, "predicted classes")
        _legend(fig, class_names, sorted(np.unique(mask).tolist()))
        if title:
            fig.suptitle(title, fontsize=11)
        fig.tight_layout(rect=(0, 0.1, 1, 0.95 if title else 1))
        fig.savefig(path, dpi=90)
        plt.close(fig)


def dice_bars(report: dict, path, title=None) -> None:
    """Dice per class of a report (``medical.pipeline``'s), the CNN beside the baseline."""
    plt = _plt()
    names = list(report["per_class_dice"])
    cnn = [report["per_class_dice"][n] or 0.0 for n in names]
    base = report.get("baseline")
    fig, ax = plt.subplots(figsize=(max(4.0, 0.9 * len(names) + 2), 3.6))
    w = 0.4 if base else 0.7
    x = np.arange(len(names))
    ax.bar(x - (w / 2 if base else 0), cnn, w, label=f"U-Net (mean {report['dice']:.3f})")
    if base:
        ax.bar(x + w / 2, [base["per_class_dice"][n] or 0.0 for n in names], w,
               label=f"threshold + morphology (mean {base['dice']:.3f})")
    for xi, v in zip(x, cnn):
        ax.text(xi - (w / 2 if base else 0), v + 0.01, f"{v:.2f}", ha="center", fontsize=8)
    ax.set_xticks(x, names, rotation=30 if len(names) > 3 else 0, ha="right" if len(names) > 3 else "center")
    ax.set(ylim=(0, 1.08), ylabel="Dice")
    ax.legend(fontsize=8, loc="lower right")
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)

