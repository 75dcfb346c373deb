"""The training page's API: curves and per-class numbers from the run's metrics.json, the
confusion matrix, the most confused test images, and a baseline when the run has one
(``baseline.json`` in the run directory, as ``foveanet baseline --out RUN/baseline.json``
writes it)."""
from __future__ import annotations

import json

import numpy as np

from foveanet.explore.errors import ExploreError
from foveanet.explore.payload import array_json

__all__ = ["training", "confused"]

# confused pairs shown, and thumbnails per pair
PAIRS, PER_PAIR = 4, 6


def _metrics(run) -> dict:
    path = run.dir / "metrics.json"
    if not path.is_file():
        raise ExploreError(f"{run.dir} has no metrics.json: did the run's first epoch finish?", 404)
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ExploreError(f"{path}: unreadable ({e})", 422) from None


def training(run) -> dict:
    """History (loss/accuracy per epoch), confusion matrix, per-class accuracy (recall) and
    precision, the chosen epoch, and the baseline rows when present."""
    m = _metrics(run)
    base = None
    bpath = run.dir / "baseline.json"
    if bpath.is_file():
        try:
            base = json.loads(bpath.read_text())
        except json.JSONDecodeError:
            base = None
    per = m.get("per_class") or {}
    return {"history": m.get("history", []), "classes": m.get("classes") or run.classes,
            "confusion": m.get("confusion"), "per_class_accuracy": per.get("recall"),
            "per_class_precision": per.get("precision"), "best_epoch": m.get("best_epoch"),
            "selected_by": m.get("selected_by"), "test_accuracy": m.get("test_accuracy"),
            "best_epoch_test_accuracy": m.get("best_epoch_test_accuracy"), "baseline": base,
            "diverged": m.get("diverged")}


def _predictions(run):
    """(probabilities, labels, images) of the whole test split, computed once."""
    import foveanet as fn

    def make():
        x, y = run.test_set()
        probs = []
        with run.lock, fn.no_grad():
            for i in range(0, len(x), 256):
                z = run.net(fn.tensor(run.transform_batch(x[i:i + 256]))).numpy().astype(np.float64)
                e = np.exp(z - z.max(axis=1, keepdims=True))
                probs.append(e / e.sum(axis=1, keepdims=True))
        return np.concatenate(probs), np.asarray(y), x
    return run.once("predictions", make)


def confused(run) -> dict:
    """The test confusion matrix of the chosen weights and, for the largest off-diagonal
    cells, thumbnails of the images (the most confidently wrong first)."""
    from foveanet.train.metrics import confusion_matrix

    probs, y, x = _predictions(run)
    pred = probs.argmax(axis=1)
    k = probs.shape[1]
    cm = confusion_matrix(pred, y, k)
    off = cm.copy()
    np.fill_diagonal(off, 0)
    pairs = []
    for flat in np.argsort(-off, axis=None)[:PAIRS]:
        t, p = divmod(int(flat), k)
        if off[t, p] == 0:
            break
        idx = np.where((y == t) & (pred == p))[0]
        idx = idx[np.argsort(-probs[idx, p])][:PER_PAIR]
        pairs.append({"true": t, "pred": p, "count": int(off[t, p]), "examples": [
            {"id": f"test-{i}", "p": float(probs[i, p]), "image": array_json(x[i])} for i in idx]})
    return {"confusion": cm.tolist(), "classes": run.classes, "accuracy": float((pred == y).mean()),
            "pairs": pairs}
