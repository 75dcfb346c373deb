"""Training: the Trainer loop with exact resume, classification metrics, callbacks, the
run directory's files and pictures, and the recipes behind ``foveanet train``.

Names load on first use, so the CLI can read ``foveanet.train.build``'s option lists for
``--help`` without importing the whole framework.
"""
import importlib

_WHERE = {
    "Trainer": "trainer", "softmax": "trainer",
    "Callback": "callbacks", "EarlyStopping": "callbacks", "ModelCheckpoint": "callbacks",
    "ProgressBar": "progress",
    **{n: "metrics" for n in ("accuracy", "topk_accuracy", "confusion_matrix", "precision_recall_f1",
                              "classification_report", "MetricAccumulator")},
}

__all__ = sorted(_WHERE)


def __getattr__(name):
    if name in _WHERE:
        return getattr(importlib.import_module(f"foveanet.train.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'foveanet.train' has no attribute {name!r}")
