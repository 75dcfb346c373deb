"""Classification metrics on NumPy arrays: accuracy, top-k, confusion matrix, per-class
precision/recall/F1 and a printable report.

Inputs are class indices (N,) or scores (N, C) (logits or probabilities: only their order
matters); Tensors are accepted through their ``.data``.  Conventions follow scikit-learn so
the numbers can be compared directly: a class never predicted has precision 0, a class
absent from the truth has recall 0, and macro averages run over all ``num_classes`` classes.
"""
from __future__ import annotations

import numpy as np

from foveanet.backend import devices

__all__ = ["accuracy", "topk_accuracy", "confusion_matrix", "precision_recall_f1",
           "classification_report", "MetricAccumulator"]


def _np(x) -> np.ndarray:
    """The values of a Tensor, an array or a list on the host (a copy from a GPU: metrics
    are bookkeeping on a few numbers per sample)."""
    data = getattr(x, "data", None)
    if isinstance(data, np.ndarray):
        return data
    if data is not None and devices.device_array_module(data) is not None:
        return devices.to_host(data)
    return devices.to_host(x)


def _labels(pred) -> np.ndarray:
    p = _np(pred)
    return p.argmax(axis=1) if p.ndim == 2 else p.astype(np.int64, copy=False)


def _check(pred, target):
    p, t = _labels(pred), _np(target).astype(np.int64, copy=False).reshape(-1)
    if p.shape != t.shape:
        raise ValueError(f"metrics: {p.shape[0]} predictions but {t.shape[0]} targets")
    return p, t


def accuracy(pred, target) -> float:
    """The fraction of samples whose predicted class equals the target.

    Args:
        pred: class indices (N,) or scores (N, C) (logits or probabilities: the argmax is
            the prediction); arrays or Tensors.
        target: class indices (N,).

    Returns:
        float: in [0, 1] (0 for no samples).

    Example::

        >>> from foveanet.train import accuracy
        >>> scores = np.array([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2], [0.2, 0.2, 0.6], [0.3, 0.4, 0.3]])
        >>> accuracy(scores, np.array([1, 1, 2, 0]))              # predicted 1, 0, 2, 1
        0.5
        >>> accuracy(np.array([1, 1, 2, 0]), np.array([1, 1, 2, 0]))
        1.0
    """
    p, t = _check(pred, target)
    return float((p == t).mean()) if t.size else 0.0


def topk_correct(scores, target, k: int) -> np.ndarray:
    """Boolean (N,): is the target among the k highest scores.  Ties count against the
    sample only when more than k classes score strictly higher, as torch.topk would pick
    an arbitrary member of a tie."""
    s, t = _np(scores), _np(target).astype(np.int64, copy=False).reshape(-1)
    if s.ndim != 2:
        raise ValueError(f"topk_accuracy: expected (N, C) scores, got shape {s.shape}")
    if len(s) != len(t):
        raise ValueError(f"topk_accuracy: {len(s)} score rows but {len(t)} targets")
    k = min(int(k), s.shape[1])
    mine = s[np.arange(len(t)), t]
    # rank of the target = number of classes scoring strictly higher; no sort needed
    return (s > mine[:, None]).sum(axis=1) < k


def topk_accuracy(scores, target, k: int = 5) -> float:
    """The fraction of samples whose target is among the k highest scores.

    A tie counts against the sample only when more than k classes score strictly higher.

    Args:
        scores: (N, C) scores (logits or probabilities), an array or Tensor.
        target: class indices (N,).
        k: how many of the top classes count (default 5; at most C).

    Returns:
        float: in [0, 1] (0 for no samples).

    Example::

        >>> from foveanet.train import topk_accuracy
        >>> scores = np.array([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2], [0.2, 0.2, 0.6], [0.3, 0.4, 0.3]])
        >>> target = np.array([1, 1, 2, 0])
        >>> topk_accuracy(scores, target, k=1), topk_accuracy(scores, target, k=2)
        (0.5, 1.0)
    """
    c = topk_correct(scores, target, k)
    return float(c.mean()) if c.size else 0.0


def confusion_matrix(pred, target, num_classes: int | None = None) -> np.ndarray:
    """The confusion matrix: how often each true class was predicted as each class.

        cm[i, j] = number of samples of true class i predicted as class j

    (scikit-learn's layout: rows are the truth, columns the predictions.)

    Args:
        pred: class indices (N,) or scores (N, C) (the argmax is the prediction).
        target: class indices (N,).
        num_classes: C (default None: the largest index seen, plus 1).

    Returns:
        ndarray: (C, C) int64 counts.

    Example::

        >>> from foveanet.train import confusion_matrix
        >>> confusion_matrix(np.array([1, 0, 2, 1]), np.array([1, 1, 2, 0]))
        array([[0, 1, 0],
               [1, 1, 0],
               [0, 0, 1]])
    """
    p, t = _check(pred, target)
    if num_classes is None:
        num_classes = int(max(p.max(initial=-1), t.max(initial=-1))) + 1
    return np.bincount(t * num_classes + p, minlength=num_classes * num_classes) \
        .reshape(num_classes, num_classes).astype(np.int64)


def _safe_div(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return np.divide(a, b, out=np.zeros_like(a), where=b > 0)


def precision_recall_f1(cm) -> dict:
    """Per-class precision, recall, F1 and support from a confusion matrix, with their means.

        precision_c = cm[c, c] / sum_i cm[i, c],   recall_c = cm[c, c] / sum_j cm[c, j]
        F1_c = 2 precision_c recall_c / (precision_c + recall_c)

    A class never predicted has precision 0, one absent from the truth recall 0, as in
    scikit-learn; the macro mean runs over all classes, the weighted one weighs by support.

    Args:
        cm: a (C, C) confusion matrix, rows the true classes.

    Returns:
        dict: ``precision``, ``recall``, ``f1``, ``support`` (arrays of C), and ``macro``
        and ``weighted`` dicts of the three means.

    Example::

        >>> from foveanet.train import precision_recall_f1
        >>> r = precision_recall_f1(np.array([[0, 1, 0], [1, 1, 0], [0, 0, 1]]))
        >>> r["precision"], r["recall"], r["support"]
        (array([0. , 0.5, 1. ]), array([0. , 0.5, 1. ]), array([1, 2, 1]))
        >>> r["macro"]
        {'precision': 0.5, 'recall': 0.5, 'f1': 0.5}
    """
    cm = np.asarray(cm, dtype=np.int64)
    tp = np.diag(cm).astype(np.float64)
    predicted, support = cm.sum(axis=0), cm.sum(axis=1)
    precision = _safe_div(tp, predicted)
    recall = _safe_div(tp, support)
    f1 = _safe_div(2 * precision * recall, precision + recall)
    w = _safe_div(support, support.sum())
    return {
        "precision": precision, "recall": recall, "f1": f1, "support": support,
        "macro": {"precision": float(precision.mean()), "recall": float(recall.mean()),
                  "f1": float(f1.mean())},
        "weighted": {"precision": float((precision * w).sum()), "recall": float((recall * w).sum()),
                     "f1": float((f1 * w).sum())},
    }


def classification_report(cm, class_names=None, digits: int = 3) -> str:
    """A text table of a confusion matrix: per-class precision, recall, F1, support, and averages.

    The layout of scikit-learn's ``classification_report``: a row per class, then accuracy,
    macro and weighted averages.

    Args:
        cm: a (C, C) confusion matrix, rows the true classes.
        class_names: the row labels (default None: 0 .. C-1).
        digits: decimals of the scores (default 3).

    Returns:
        str: the table.

    Example::

        >>> from foveanet.train import classification_report
        >>> cm = np.array([[0, 1, 0], [1, 1, 0], [0, 0, 1]])
        >>> print(classification_report(cm, ["cat", "dog", "fox"]))
                      precision     recall         f1   support
        <BLANKLINE>
                 cat      0.000      0.000      0.000         1
                 dog      0.500      0.500      0.500         2
                 fox      1.000      1.000      1.000         1
        <BLANKLINE>
            accuracy                            0.500         4
           macro avg      0.500      0.500      0.500         4
        weighted avg      0.500      0.500      0.500         4
    """
    cm = np.asarray(cm, dtype=np.int64)
    r = precision_recall_f1(cm)
    n = len(cm)
    names = [str(c) for c in (class_names if class_names is not None else range(n))]
    width = max([len(s) for s in names] + [len("weighted avg")])
    head = f"{'':>{width}}  {'precision':>9}  {'recall':>9}  {'f1':>9}  {'support':>8}"
    lines = [head, ""]
    fmt = f"{{:.{digits}f}}"
    for i, name in enumerate(names):
        lines.append(f"{name:>{width}}  {fmt.format(r['precision'][i]):>9}  "
                     f"{fmt.format(r['recall'][i]):>9}  {fmt.format(r['f1'][i]):>9}  {int(r['support'][i]):>8}")
    total = int(cm.sum())
    acc = float(np.trace(cm)) / total if total else 0.0
    lines += ["", f"{'accuracy':>{width}}  {'':>9}  {'':>9}  {fmt.format(acc):>9}  {total:>8}"]
    for key, label in (("macro", "macro avg"), ("weighted", "weighted avg")):
        m = r[key]
        lines.append(f"{label:>{width}}  {fmt.format(m['precision']):>9}  {fmt.format(m['recall']):>9}  "
                     f"{fmt.format(m['f1']):>9}  {total:>8}")
    return "\n".join(lines)


class MetricAccumulator:
    """Running totals of classification metrics over batches, so evaluation never holds all logits.

    Keeps the loss sum, the correct and top-k correct counts and the confusion matrix
    (``cm``); ``result()`` gives ``{"loss", "accuracy", "top<k>", "n"}``; ``reset()`` starts
    over.

    Args:
        num_classes: C, the size of the confusion matrix.
        topk: k of the top-k accuracy (default 5).

    Example::

        >>> from foveanet.train import MetricAccumulator
        >>> acc = MetricAccumulator(num_classes=3, topk=2)
        >>> acc.update(np.array([[2., 1., 0.], [0., 1., 2.]]), np.array([0, 1]), loss=0.5)
        >>> acc.update(np.array([[0., 3., 1.]]), np.array([2]), loss=2.0)
        >>> acc.result()                         # loss: (0.5 * 2 + 2.0 * 1) / 3
        {'loss': 1.0, 'accuracy': 0.3333333333333333, 'top2': 1.0, 'n': 3}
        >>> acc.cm
        array([[1, 0, 0],
               [0, 0, 1],
               [0, 1, 0]])
    """

    def __init__(self, num_classes: int, topk: int = 5):
        self.num_classes, self.topk = int(num_classes), int(topk)
        self.reset()

    def reset(self):
        self.n = 0
        self.loss_sum = 0.0
        self.correct = 0
        self.topk_correct = 0
        self.cm = np.zeros((self.num_classes, self.num_classes), dtype=np.int64)

    def update(self, scores, target, loss: float | None = None):
        s, t = _np(scores), _np(target).astype(np.int64, copy=False).reshape(-1)
        pred = s.argmax(axis=1)
        self.n += len(t)
        if loss is not None:
            self.loss_sum += float(loss) * len(t)  # loss is the batch mean
        self.correct += int((pred == t).sum())
        self.topk_correct += int(topk_correct(s, t, self.topk).sum())
        self.cm += confusion_matrix(pred, t, self.num_classes)

    def result(self) -> dict:
        n = max(self.n, 1)
        return {"loss": self.loss_sum / n, "accuracy": self.correct / n,
                f"top{self.topk}": self.topk_correct / n, "n": self.n}
