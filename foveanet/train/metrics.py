"""Classification metrics on NumPy arrays: accuracy, top-k, confusion matrix, per-class
precision/recall/F1 and a printable report.

Inputs are class indices (N,) or scores (N, C) (logits or probabilities: only their order
matters); Tensors are accepted through their ``.data``.  Conventions follow scikit-learn so
the numbers can be compared directly: a class never predicted has precision 0, a class
absent from the truth has recall 0, and macro averages run over all ``num_classes`` classes.
"""
from __future__ import annotations

import numpy as np

__all__ = ["accuracy", "topk_accuracy", "confusion_matrix", "precision_recall_f1",
           "classification_report", "MetricAccumulator"]


def _np(x) -> np.ndarray:
    data = getattr(x, "data", None)
    return data if isinstance(data, np.ndarray) else np.asarray(x)


def _labels(pred) -> np.ndarray:
    p = _np(pred)
    return p.argmax(axis=1) if p.ndim == 2 else p.astype(np.int64, copy=False)


def _check(pred, target):
    p, t = _labels(pred), _np(target).astype(np.int64, copy=False).reshape(-1)
    if p.shape != t.shape:
        raise ValueError(f"metrics: {p.shape[0]} predictions but {t.shape[0]} targets")
    return p, t


def accuracy(pred, target) -> float:
    """Fraction of samples whose predicted class (argmax of scores) equals the target."""
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
    c = topk_correct(scores, target, k)
    return float(c.mean()) if c.size else 0.0


def confusion_matrix(pred, target, num_classes: int | None = None) -> np.ndarray:
    """(C, C) int64 counts: row = true class, column = predicted class (scikit-learn's layout)."""
    p, t = _check(pred, target)
    if num_classes is None:
        num_classes = int(max(p.max(initial=-1), t.max(initial=-1))) + 1
    return np.bincount(t * num_classes + p, minlength=num_classes * num_classes) \
        .reshape(num_classes, num_classes).astype(np.int64)


def _safe_div(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return np.divide(a, b, out=np.zeros_like(a), where=b > 0)


def precision_recall_f1(cm) -> dict:
    """Per-class precision, recall, F1 and support from a confusion matrix, plus their
    macro and support-weighted means."""
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
    """A text table: one row per class (precision, recall, F1, support), then accuracy,
    macro and weighted averages."""
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
    """Running totals over batches (loss sum, correct, top-k correct, confusion counts), so
    evaluation never holds all logits of a large test set at once."""

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
