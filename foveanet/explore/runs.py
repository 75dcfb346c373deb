"""A run directory opened for the explorer: its model, its test images, the images people
upload, and a cache of what the network computed for each (run, image).

Every number comes from the run's own model through foveanet's engine; the run is read
once (config, weights) and the per-image analyses are cached (``Cache``: the last
``CACHE_IMAGES`` images), so clicking through layers never runs the network again.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

from foveanet.explore.errors import ExploreError, bad_request, not_found

__all__ = ["Cache", "ClassifierRun", "open_run", "run_kind", "MAX_UPLOAD_BYTES"]

# an upload larger than this is refused before it is decoded (a phone photo is 2-8 MB)
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
# analyses kept per run: a ResNet-18 224x224 analysis holds ~30 MB of activations
CACHE_IMAGES = 8
# test images listed on the image page
TEST_LISTED = 24


class Cache:
    """A small LRU map, safe across the server's worker threads."""

    def __init__(self, size: int):
        self.size, self.items, self.lock = size, OrderedDict(), threading.Lock()

    def get(self, key, make):
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
        value = make()
        with self.lock:
            self.items[key] = value
            while len(self.items) > self.size:
                self.items.popitem(last=False)
        return value

    def put(self, key, value):
        self.get(key, lambda: value)
        with self.lock:
            self.items[key] = value

    def peek(self, key):
        with self.lock:
            return self.items.get(key)


def run_kind(run_dir) -> str:
    """``classify``, ``segment`` or ``text``: which command wrote the run (from config.json)."""
    import json

    path = Path(run_dir) / "config.json"
    if not Path(run_dir).is_dir():
        raise ExploreError(f"{run_dir}: no such run directory", 404)
    if not path.is_file():
        raise ExploreError(f"{run_dir} has no config.json: is it a run directory written by "
                           "`foveanet train`, `foveanet segment train` or `foveanet text train`?", 404)
    try:
        cfg = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ExploreError(f"{path}: unreadable ({e})", 422) from None
    task = cfg.get("task")
    if task == "segment":
        return "segment"
    if cfg.get("family") == "text":
        return "text"
    return "classify"


def open_run(run_dir, weights: str = "best"):
    """The run object the app serves: a ``ClassifierRun`` for image classifiers (segmentation
    and text runs add their own pages on top of one, see ``explore.segment``/``explore.text``)."""
    kind = run_kind(run_dir)
    if kind == "segment":
        from foveanet.explore.segment import SegmentRun

        return SegmentRun(run_dir, weights)
    if kind == "text":
        from foveanet.explore.text import TextRun

        return TextRun(run_dir)
    return ClassifierRun(run_dir, weights)


class ClassifierRun:
    """An image-classification run (``foveanet train``): model, config, test set, uploads.

    Attributes:
        dir: the run directory (resolved).
        cfg: config.json.
        net: the model with the chosen weights, in eval mode.
        lock: held while the model runs (its hooks and requires_grad flags are shared).
    """

    kind = "classify"
    pages = ("model", "image", "filters", "training", "playground")

    def __init__(self, run_dir, weights: str = "best"):
        self.dir = Path(run_dir).resolve()
        self._load(weights)
        self.lock = threading.RLock()
        self.analyses = Cache(CACHE_IMAGES)
        self.uploads = Cache(32)
        self._once = Cache(16)   # summary, graph, receptive fields, the test set: computed once

    def _load(self, weights: str) -> None:
        """Sets cfg, net, weights (the file read), input_shape and classes."""
        from foveanet.train.run import load_run

        self.cfg, self.net, self.weights = load_run(self.dir, weights)
        self.input_shape = tuple(int(v) for v in self.cfg["input_shape"])
        self.classes = list(self.cfg.get("classes") or [])

    # ------------------------------------------------------------------ model facts
    def once(self, key, make):
        return self._once.get(key, make)

    def summary(self):
        from foveanet.concepts import summary

        with self.lock:
            return self.once("summary", lambda: summary(self.net, self.input_shape))

    def receptive_fields(self):
        from foveanet.concepts import receptive_field

        with self.lock:
            return self.once("rf", lambda: receptive_field(self.net, self.input_shape))

    def module(self, name: str):
        modules = dict(self.net.named_modules())
        layers = {r.name for r in self.summary().layers}
        if name not in layers or name not in modules:
            raise not_found(f"no layer named {name!r}; layers: {', '.join(sorted(layers)[:40])}")
        return modules[name]

    def transform(self, img01: np.ndarray) -> np.ndarray:
        """(C, H, W) image in [0, 1] -> the normalised (1, C, H, W) batch the model reads."""
        from foveanet.train import build

        return self.transform_batch(img01[None])

    def transform_batch(self, batch: np.ndarray) -> np.ndarray:
        """(N, C, H, W) images in [0, 1] -> the normalised batch (the run's test transform)."""
        from foveanet.train import build

        return np.ascontiguousarray(build.transforms(self.cfg, train=False)(batch), dtype=np.float32)

    # ------------------------------------------------------------------ images
    def test_set(self):
        """(images (N, C, H, W) float32 in [0, 1], labels): the run's test split."""
        def load():
            from foveanet.train import build

            try:
                _, _, test, _, _ = build.load_datasets(dict(self.cfg))
            except Exception as e:  # a dataset that moved or was never here: say so, keep serving
                raise ExploreError(f"the run's test images cannot be read ({e}); upload an image "
                                   "instead", 404) from None
            return test.arrays()
        return self.once("test", load)

    def image(self, image_id: str):
        """(image in [0, 1] as the model sees it, label or None, notes) of ``test-<i>`` or of
        an uploaded image's id."""
        if image_id.startswith("test-"):
            x, y = self.test_set()
            try:
                i = int(image_id[5:])
            except ValueError:
                i = -1
            if not 0 <= i < len(x):
                raise not_found(f"no image {image_id!r}: the test set has images test-0 .. test-{len(x) - 1}")
            return np.ascontiguousarray(x[i]), (int(y[i]) if np.ndim(y[i]) == 0 else None), []
        up = self.uploads.peek(image_id)
        if up is None:
            raise not_found(f"no image {image_id!r}: upload it again (the server keeps the last 32)")
        return up[0], None, up[1]

    def upload(self, data: bytes, invert=None) -> str:
        """Convert an uploaded file as ``foveanet predict`` does (``train.image_input``) and
        keep it; returns its id."""
        from foveanet.train.image_input import read_for_model

        if len(data) > MAX_UPLOAD_BYTES:
            raise ExploreError(f"the upload is {len(data) / 1e6:.1f} MB; the limit is "
                               f"{MAX_UPLOAD_BYTES // (1024 * 1024)} MB", 413)
        if not data:
            raise bad_request("the upload is empty: expected a PNG or JPEG image")
        if not (data[:8] == b"\x89PNG\r\n\x1a\n" or data[:3] == b"\xff\xd8\xff"):
            raise ExploreError("expected a PNG or JPEG image; the upload is neither "
                               f"(it starts with {data[:8]!r})", 415)
        key = "up-" + hashlib.sha1(data + repr(invert).encode()).hexdigest()[:16]
        if self.uploads.peek(key) is None:
            # read_for_model reads a file: its size check against crafted headers needs one
            fd, path = tempfile.mkstemp(suffix=".img")
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
                try:
                    _, img, notes = read_for_model(path, self.cfg, invert=invert)
                except ValueError as e:
                    raise ExploreError(str(e).replace(path, "the upload"), 415) from None
            finally:
                os.unlink(path)
            self.uploads.put(key, (np.ascontiguousarray(img, dtype=np.float32), notes))
        return key

    def analysis(self, image_id: str):
        """The cached ``explore.analysis.Analysis`` of one image."""
        from foveanet.explore.analysis import analyse

        img, label, notes = self.image(image_id)

        def make():
            with self.lock:
                return analyse(self, img, label, notes)
        return self.analyses.get(image_id, make)
