"""Segmentation runs (``foveanet segment train``) in the explorer: the classifier's pages
(model, image through the network, filters) over the U-Net, plus a segmentation page: a
test scene's predicted mask beside the true one, and per-class IoU.

The test scenes are composed again from the run's settings and ``test_seed``, as
``foveanet segment evaluate`` does (the first ``SCENES`` of them). The page predicts with
one view (the plain argmax of the logits); the run's metrics.json numbers may average
several views (``tta``), and the page says which.
"""
from __future__ import annotations

import json

import numpy as np

from foveanet.explore.errors import ExploreError
from foveanet.explore.payload import array_json
from foveanet.explore.runs import ClassifierRun

__all__ = ["SegmentRun", "segmentation"]

# test scenes offered on the page (composing 2,000 would take seconds for nothing)
SCENES = 32


class SegmentRun(ClassifierRun):
    """A ``foveanet segment train`` run: a U-Net on (1, size, size) scenes in [0, 1]."""

    kind = "segment"
    pages = ("model", "image", "filters", "segment", "playground")

    def _load(self, weights: str) -> None:
        from foveanet.segmentation import CLASS_NAMES, load_run
        from foveanet.train.run import weights_file

        self.net, self.cfg = load_run(self.dir, weights)
        self.weights = weights_file(self.dir, weights)
        self.input_shape = (1, int(self.cfg["size"]), int(self.cfg["size"]))
        self.classes = list(CLASS_NAMES)

    def transform_batch(self, batch: np.ndarray) -> np.ndarray:
        # the U-Net reads the scene's [0, 1] pixels as they are (segment predict does too)
        return np.ascontiguousarray(batch, dtype=np.float32)

    def test_set(self):
        def make():
            from foveanet.segmentation.pipeline import _scenes

            try:
                s = _scenes(self.cfg, "test", SCENES, int(self.cfg["test_seed"]))
            except Exception as e:
                raise ExploreError(f"the run's test scenes cannot be composed ({e}); upload an "
                                   "image instead", 404) from None
            return s.images, s.masks
        return self.once("test", make)

    def routes(self):
        return [("/api/segment/{image}", lambda r, req: segmentation(r, req.path_params["image"]), "segment")]

    def info(self) -> dict:
        return {"model": f"U-Net (base width {self.cfg['base_width']}, depth {self.cfg['depth']})",
                "dataset": "Fashion-MNIST scenes", "classes": self.classes,
                "input_shape": list(self.input_shape), "weights": self.weights.name}


def segmentation(run: SegmentRun, image_id: str) -> dict:
    """Predicted classes per pixel, the true mask (test scenes), this image's per-class IoU,
    and the run's own test numbers from metrics.json."""
    from foveanet.segmentation.metrics import ConfusionMatrix

    an = run.analysis(image_id)
    logits = an.outputs[an.order[-1]]
    pred = logits.argmax(axis=0)
    true = None
    iou = None
    if image_id.startswith("test-"):
        true = run.test_set()[1][int(image_id[5:])]
        cm = ConfusionMatrix(len(run.classes), run.classes).update(pred[None], true[None])
        present = np.isin(np.arange(len(run.classes)), np.union1d(np.unique(pred), np.unique(true)))
        iou = [float(v) if p else None for v, p in zip(cm.iou(), present)]
    metrics = {}
    path = run.dir / "metrics.json"
    if path.is_file():
        m = json.loads(path.read_text())
        metrics = {k: m.get(k) for k in ("miou", "pixel_accuracy", "per_class_iou", "tta", "test_scenes", "history")}
    return {"id": image_id, "image": array_json(an.image), "pred": pred.astype(np.int32).tolist(),
            "true": None if true is None else np.asarray(true).astype(np.int32).tolist(),
            "iou": iou, "classes": run.classes, "run_metrics": metrics}
