"""Pictures of the face tools: ROC curves, and embeddings of unseen identities in 2-D."""
from __future__ import annotations

import numpy as np

__all__ = ["roc_picture", "feature_picture"]


def _plt():
    from foveanet.train.plots import _plt

    return _plt()


def roc_picture(curves: dict, path, title: str | None = None) -> None:
    """Verification ROC per named curve: TAR against FAR on a log axis, FAR = 1e-2 marked.

    Args:
        curves: name -> (far, tar) arrays.
        path: the PNG to write.
    """
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5.5, 4.5), dpi=110)
    for name, (far, tar) in curves.items():
        ok = far > 0
        ax.plot(far[ok], tar[ok], label=name)
    ax.axvline(1e-2, color="grey", ls=":", lw=1)
    ax.set_xscale("log")
    ax.set_xlim(1e-4, 1)
    ax.set_ylim(0, 1.01)
    ax.set_xlabel("false accept rate (different identities accepted)")
    ax.set_ylabel("true accept rate")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def feature_picture(panels: dict, labels: np.ndarray, names, path) -> None:
    """Unit test embeddings per named run, projected on their two main axes (PCA), one
    colour per unseen identity: an angular-margin loss should give tighter, more separated
    angular clusters than plain softmax.

    Args:
        panels: run name -> (N, D) embeddings.
        labels: (N,) identities.
        names: identity -> display name.
        path: the PNG to write.
    """
    from foveanet.faces.verification import unit

    plt = _plt()
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 4.2), dpi=110, squeeze=False)
    for ax, (name, e) in zip(axes[0], panels.items()):
        u = unit(e)
        c = u - u.mean(0)
        v = np.linalg.svd(c, full_matrices=False)[2][:2]
        p = c @ v.T
        for k in np.unique(labels):
            m = labels == k
            ax.scatter(p[m, 0], p[m, 1], s=3, alpha=0.5, label=names[k] if names else str(k))
        ax.set_title(name, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0][0].legend(markerscale=4, fontsize=8, loc="best")
    fig.suptitle("unseen identities, unit embeddings on their 2 main axes (PCA)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
