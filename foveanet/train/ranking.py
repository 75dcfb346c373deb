"""Ranking metrics for multi-label (extreme) classification, plus F1 and accuracy.

Scores ``S`` are an ``(N, L)`` array (higher = more likely).  Truth ``Y`` is an ``(N, L)``
binary array, or a length-N list of label-index lists (any object with ``toarray()`` -- a
SciPy sparse matrix -- is densified).  Ranking ties are broken by the lower label index, so
results are deterministic.  Every metric averages over all N documents; a document without
true labels scores 0 (the Extreme Classification Repository's convention).

Definitions (``topk(i)`` = the k highest-scored labels of document i, rank r = 1..k):

* P@k      = 1/N sum_i |topk(i) ∩ Y_i| / k
* nDCG@k   = 1/N sum_i DCG_i / IDCG_i,  DCG_i = sum_r y_{i,l_r} / log2(r + 1),
             IDCG_i = sum_{r=1}^{min(k, |Y_i|)} 1 / log2(r + 1)
* propensity (Jain, Prabhu, Varma 2016): p_l = 1 / (1 + C (N_l + B)^-A),
             C = (ln N - 1)(B + 1)^A, A = 0.55, B = 1.5; N_l = training documents with l,
             N = training set size.
* PSP@k    = [sum_i sum_{r<=k} y_{i,l_r} / p_{l_r}]  /  [sum_i best_i],
             best_i = the same sum over the k true labels of i with the largest 1/p_l.
             That is the ratio of *dataset totals* (pyxclib / XC-repository convention), not
             a mean of per-document ratios; it is 1 for a perfect ranker.
* PSnDCG@k = [sum_i sum_{r<=k} y/p / log2(r+1)]  /  [sum_i ideal of the same], same convention.
"""
from __future__ import annotations

import numpy as np

PROPENSITY_A, PROPENSITY_B = 0.55, 1.5


def _scores(S) -> np.ndarray:
    S = np.asarray(getattr(S, "data", S) if not isinstance(S, np.ndarray) else S)
    if S.ndim != 2:
        raise ValueError(f"ranking: scores must be a 2-d (N, L) array, got shape {S.shape}")
    return S


def as_dense_labels(Y, n_labels: int, n_docs: int | None = None) -> np.ndarray:
    """``Y`` (binary matrix, SciPy-sparse-like, or list of index lists) as a bool (N, L) array."""
    if hasattr(Y, "toarray"):
        Y = Y.toarray()
    if isinstance(Y, np.ndarray) and Y.ndim == 2:
        out = Y != 0
    else:
        Y = list(Y)
        out = np.zeros((len(Y), n_labels), dtype=bool)
        for i, idx in enumerate(Y):
            idx = np.asarray(list(idx), dtype=np.int64)
            if idx.size and (idx.min() < 0 or idx.max() >= n_labels):
                raise ValueError(f"ranking: document {i} has label index out of range "
                                 f"[0, {n_labels}): {idx.tolist()}")
            out[i, idx] = True
    if out.shape[1] != n_labels or (n_docs is not None and out.shape[0] != n_docs):
        raise ValueError(f"ranking: labels have shape {out.shape}, scores "
                         f"({n_docs}, {n_labels})")
    return out


def _prepare(S, Y):
    S = _scores(S)
    return S, as_dense_labels(Y, S.shape[1], S.shape[0])


def top_k(S, k: int) -> np.ndarray:
    """``(N, k)`` label indices in decreasing score order, ties to the lower index."""
    S = _scores(S)
    if not 1 <= k <= S.shape[1]:
        raise ValueError(f"top_k: k must be in [1, {S.shape[1]}], got {k}")
    if k < S.shape[1] // 4:
        # partition first so that large label sets are not fully sorted; the candidate set
        # holds every label tied with the k-th score so tie-breaking stays exact
        kth = -np.partition(-S, k - 1, axis=1)[:, k - 1:k]
        out = np.empty((S.shape[0], k), dtype=np.int64)
        for i in range(S.shape[0]):
            cand = np.flatnonzero(S[i] >= kth[i])
            out[i] = cand[np.argsort(-S[i, cand], kind="stable")[:k]]
        return out
    return np.argsort(-S, axis=1, kind="stable")[:, :k]


def _discounts(k):
    return 1.0 / np.log2(np.arange(2, k + 2))


def _p(top, Y, k):
    return float(np.take_along_axis(Y, top[:, :k], axis=1).sum(axis=1).mean() / k)


def _ndcg(top, Y, k):
    disc = _discounts(k)
    dcg = np.take_along_axis(Y, top[:, :k], axis=1) @ disc
    n_true = np.minimum(Y.sum(axis=1), k)
    ideal = np.concatenate([[0.0], np.cumsum(disc)])[n_true]
    return float(np.divide(dcg, ideal, out=np.zeros_like(dcg), where=ideal > 0).mean())


def precision_at_k(S, Y, k: int = 1) -> float:
    S, Y = _prepare(S, Y)
    return _p(top_k(S, k), Y, k)


def ndcg_at_k(S, Y, k: int = 1) -> float:
    S, Y = _prepare(S, Y)
    return _ndcg(top_k(S, k), Y, k)


def propensities(Y_train, n_labels: int | None = None, A: float = PROPENSITY_A,
                 B: float = PROPENSITY_B) -> np.ndarray:
    """Jain et al. (2016) label propensities from the *training* labels (formula above);
    ``n_labels`` is needed when ``Y_train`` is a list of index lists."""
    if n_labels is None:
        if hasattr(Y_train, "shape"):
            n_labels = Y_train.shape[1]
        else:
            raise ValueError("propensities: pass n_labels with a list of label-index lists")
    Y = as_dense_labels(Y_train, n_labels)
    N = Y.shape[0]
    if N < 3:
        raise ValueError(f"propensities: need a training set of at least 3 documents, got {N}")
    n_l = Y.sum(axis=0).astype(np.float64)
    C = (np.log(N) - 1.0) * (B + 1.0) ** A
    return 1.0 / (1.0 + C * (n_l + B) ** -A)


def _gain(Y, prop):
    prop = np.asarray(prop, dtype=np.float64)
    if prop.shape != (Y.shape[1],):
        raise ValueError(f"ranking: propensities have shape {prop.shape}, expected ({Y.shape[1]},)")
    if not np.all(prop > 0):
        raise ValueError("ranking: propensities must be positive")
    return Y / prop                                   # y_l / p_l, zero off the true labels


def _psp(top, gain, k, normalize=True):
    num = np.take_along_axis(gain, top[:, :k], axis=1).sum()
    if not normalize:
        return float(num / (k * gain.shape[0]))
    den = (-np.partition(-gain, k - 1, axis=1)[:, :k]).sum()   # the k largest achievable gains
    return float(num / den) if den > 0 else 0.0


def _psndcg(top, gain, k):
    disc = _discounts(k)
    got = np.take_along_axis(gain, top[:, :k], axis=1) @ disc
    best = -np.sort(-gain, axis=1)[:, :k] @ disc
    den = best.sum()
    return float(got.sum() / den) if den > 0 else 0.0


def psp_at_k(S, Y, prop, k: int = 1, normalize: bool = True) -> float:
    """Propensity-scored precision@k; ``normalize=False`` gives the raw mean of
    ``(1/k) sum y/p`` (unbounded, > 1 possible)."""
    S, Y = _prepare(S, Y)
    return _psp(top_k(S, k), _gain(Y, prop), k, normalize)


def psndcg_at_k(S, Y, prop, k: int = 1) -> float:
    S, Y = _prepare(S, Y)
    return _psndcg(top_k(S, k), _gain(Y, prop), k)


def f1_scores(S, Y, threshold: float = 0.5) -> dict:
    """Micro and macro F1 of the predictions ``S >= threshold``.  Macro averages over the
    labels that occur in ``Y`` or in the predictions (a label absent from both has no
    defined F1 and would only dilute the mean)."""
    S, Y = _prepare(S, Y)
    P = S >= threshold
    tp = (P & Y).sum(axis=0).astype(np.float64)
    fp = (P & ~Y).sum(axis=0).astype(np.float64)
    fn = (~P & Y).sum(axis=0).astype(np.float64)
    denom_micro = 2 * tp.sum() + fp.sum() + fn.sum()
    micro = 2 * tp.sum() / denom_micro if denom_micro else 0.0
    present = (tp + fp + fn) > 0
    per_label = 2 * tp[present] / (2 * tp[present] + fp[present] + fn[present])
    macro = float(per_label.mean()) if present.any() else 0.0
    return {"micro_f1": float(micro), "macro_f1": macro}


def accuracy(pred, target) -> float:
    """Single-label accuracy: ``pred`` is class indices (N,) or scores (N, C) (argmax taken)."""
    pred = np.asarray(pred)
    if pred.ndim == 2:
        pred = pred.argmax(axis=1)
    target = np.asarray(target)
    if pred.shape != target.shape:
        raise ValueError(f"accuracy: predictions {pred.shape} and targets {target.shape} differ")
    return float((pred == target).mean()) if target.size else 0.0


def ranking_report(S, Y, ks=(1, 3, 5), propensities=None, threshold: float | None = None) -> dict:
    """All ranking metrics at each k: ``p@k``, ``ndcg@k`` and, with ``propensities``,
    ``psp@k`` and ``psndcg@k``; with ``threshold`` also ``micro_f1``/``macro_f1``.
    ``n_docs`` and ``n_labels`` say what was measured."""
    S, Y = _prepare(S, Y)
    top = top_k(S, max(ks))
    out = {}
    for k in ks:
        out[f"p@{k}"] = _p(top, Y, k)
    for k in ks:
        out[f"ndcg@{k}"] = _ndcg(top, Y, k)
    if propensities is not None:
        gain = _gain(Y, propensities)
        for k in ks:
            out[f"psp@{k}"] = _psp(top, gain, k)
        for k in ks:
            out[f"psndcg@{k}"] = _psndcg(top, gain, k)
    if threshold is not None:
        out.update(f1_scores(S, Y, threshold))
    out["n_docs"], out["n_labels"] = int(S.shape[0]), int(S.shape[1])
    return out
