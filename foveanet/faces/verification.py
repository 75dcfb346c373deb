"""Open-set face verification and identification scores, on embeddings of identities the
network never saw.

Verification asks "same person?" of a pair: the cosine similarity of the two embeddings
against a threshold.  Sweeping the threshold gives the ROC: the true accept rate
``TAR = accepted same pairs / same pairs`` against the false accept rate
``FAR = accepted different pairs / different pairs``.  Two summary numbers: the TAR at a
fixed FAR (1e-2: one impostor in a hundred let in) and the equal error rate, where
``FAR = 1 - TAR``.  Identification asks "who is it?": each probe's nearest gallery
embedding names it (rank-1).
"""
from __future__ import annotations

import numpy as np

__all__ = ["unit", "pair_scores", "roc_curve", "equal_error_rate", "tar_at_far", "rank1"]


def unit(embeddings: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (float64)."""
    e = np.asarray(embeddings, np.float64)
    return e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)


def pair_scores(embeddings: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cosine similarity and same-identity flag of every unordered pair (i < j).

    Example::

        >>> from foveanet.faces import pair_scores
        >>> s, same = pair_scores(np.array([[1., 0.], [1., 1.], [0., 1.]]), np.array([0, 0, 1]))
        >>> s.round(3), same
        (array([0.707, 0.   , 0.707]), array([ True, False, False]))
    """
    u = unit(embeddings)
    i, j = np.triu_indices(len(u), 1)
    return (u[i] * u[j]).sum(1), labels[i] == labels[j]


def roc_curve(scores: np.ndarray, same: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The verification ROC: (FAR, TAR, threshold) for every distinct threshold, from accepting nothing to
    accepting everything; a pair is accepted when its score >= threshold.

    Example::

        >>> from foveanet.faces import roc_curve
        >>> far, tar, th = roc_curve(np.array([0.9, 0.8, 0.7]), np.array([1, 0, 1]))
        >>> far.tolist(), tar.tolist()
        ([0.0, 0.0, 1.0, 1.0], [0.0, 0.5, 0.5, 1.0])
    """
    scores, same = np.asarray(scores, np.float64), np.asarray(same, bool)
    n_same, n_diff = same.sum(), (~same).sum()
    if n_same == 0 or n_diff == 0:
        raise ValueError(f"roc_curve: needs same and different pairs, got {n_same} same and {n_diff} different")
    order = np.argsort(-scores, kind="stable")
    s, y = scores[order], same[order]
    last = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]     # the last pair of each distinct score
    tar = np.r_[0.0, np.cumsum(y)[last] / n_same]
    far = np.r_[0.0, np.cumsum(~y)[last] / n_diff]
    return far, tar, np.r_[np.inf, s[last]]


def equal_error_rate(far: np.ndarray, tar: np.ndarray, thresholds: np.ndarray) -> tuple[float, float]:
    """The equal error rate and its threshold: where the false accept rate meets the false reject rate
    ``1 - TAR``, linearly interpolated between the two ROC points that straddle it.

    Example::

        >>> from foveanet.faces import roc_curve, equal_error_rate
        >>> far, tar, th = roc_curve(np.array([0.9, 0.8, 0.7, 0.6]), np.array([1, 0, 1, 0]))
        >>> equal_error_rate(far, tar, th)[0]      # accept >= 0.8: FAR 1/2, FRR 1/2
        0.5
    """
    frr = 1 - tar
    tie = 1e-12   # 1 - 2/3 is not 1/3 in floating point
    k = int(np.flatnonzero(far >= frr - tie)[0])
    if k == 0 or abs(far[k] - frr[k]) <= tie:
        return float(far[k]), float(thresholds[k])
    # the segment from k-1 (far < frr) to k: far + t dfar = frr + t dfrr
    t = (frr[k - 1] - far[k - 1]) / ((far[k] - far[k - 1]) - (frr[k] - frr[k - 1]))
    return float(far[k - 1] + t * (far[k] - far[k - 1])), float(thresholds[k])


def tar_at_far(far: np.ndarray, tar: np.ndarray, thresholds: np.ndarray, target: float = 1e-2):
    """The TAR at a FAR: (TAR, threshold) of the most accepting threshold whose FAR is still
    <= ``target``.

    Example::

        >>> from foveanet.faces import roc_curve, tar_at_far
        >>> far, tar, th = roc_curve(np.array([0.9, 0.8, 0.7]), np.array([1, 0, 1]))
        >>> tar_at_far(far, tar, th, 1e-2)          # accept >= 0.9: half the same pairs, no impostor
        (0.5, 0.9)
    """
    k = int(np.flatnonzero(far <= target)[-1])
    return float(tar[k]), float(thresholds[k])


def rank1(embeddings: np.ndarray, labels: np.ndarray, per_identity: int = 1, draws: int = 10,
          seed: int = 0) -> tuple[float, float]:
    """Closed-set identification among the unseen identities: ``per_identity`` images of
    each identity enrolled as the gallery, every other image a probe named after its most
    similar gallery image; (mean, standard deviation) of the rank-1 rate over ``draws``
    random galleries.

    Example::

        >>> from foveanet.faces import rank1
        >>> e = np.array([[1., 0.], [0.9, 0.1], [0., 1.], [0.1, 0.9]])
        >>> rank1(e, np.array([0, 0, 1, 1]))
        (1.0, 0.0)
    """
    u, rng = unit(embeddings), np.random.default_rng(seed)
    ids = np.unique(labels)
    rates = []
    for _ in range(draws):
        gallery = np.concatenate([rng.choice(np.flatnonzero(labels == c), per_identity, replace=False)
                                  for c in ids])
        probe = np.setdiff1d(np.arange(len(u)), gallery)
        best = (u[probe] @ u[gallery].T).argmax(1)
        rates.append(float((labels[gallery][best] == labels[probe]).mean()))
    return float(np.mean(rates)), float(np.std(rates))
