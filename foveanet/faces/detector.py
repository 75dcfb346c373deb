"""A small CNN face/non-face classifier on 25x25 crops, run fully convolutionally over a
photo's image pyramid as a sliding-window face detector, with non-maximum suppression.

The network has no padding and no fully connected layer, so on a 25x25 crop it gives one
logit, and on an H x W image a map of logits, one per 25x25 window at a stride of 4 pixels
(its two 2x2 poolings): the sliding window for the price of one pass.

    conv3x3(1->8) relu maxpool2 -> conv3x3(8->16) relu maxpool2 -> conv4x4(16->32) relu -> conv1x1(32->1)
    25 -> 23 -> 11 -> 9 -> 4 -> 1;   output (i, j) sees window rows 4i..4i+24, cols 4j..4j+24
"""
from __future__ import annotations

import time

import numpy as np

import foveanet
import foveanet.functional as F
import foveanet.nn as nn
from foveanet.faces.crops import CROP, augment
from foveanet.train.guards import check_step, float_errors_quiet

__all__ = ["STRIDE", "face_net", "train_classifier", "predict_proba", "detect", "nms", "draw_boxes"]

STRIDE = 4


def face_net(width: int = 8) -> nn.Sequential:
    """The fully convolutional face/non-face network (``width`` channels in the first conv):
    one logit for a 25x25 crop, a map of logits (one per window, stride 4) for a photo.

    Example::

        >>> from foveanet.faces import face_net
        >>> net = face_net(4)
        >>> net(fn.zeros((1, 1, 25, 25))).shape, net(fn.zeros((1, 1, 33, 41))).shape
        ((1, 1, 1, 1), (1, 1, 3, 5))
    """
    return nn.Sequential(
        nn.Conv2d(1, width, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(width, 2 * width, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(2 * width, 4 * width, 4), nn.ReLU(),
        nn.Conv2d(4 * width, 1, 1))


def contrast_normalize(images: np.ndarray, sigma: float = 4.0, floor: float = 0.05) -> np.ndarray:
    """Local contrast normalisation (Jarrett et al. 2009): each pixel minus its Gaussian-
    weighted neighbourhood mean, divided by the neighbourhood's standard deviation (at least
    ``floor``), image by image over the last two axes:

        v = x - G * x,    y = v / max(sqrt(G * v^2), floor)

    Done on whole photos and on crops alike, so the network sees a face the same way however
    bright or contrasted the photo (the crops' edges see ``nearest`` padding instead of the
    photo around them)."""
    from scipy.ndimage import gaussian_filter

    x = np.asarray(images, np.float32)
    sig = (0,) * (x.ndim - 2) + (sigma, sigma)
    v = x - gaussian_filter(x, sig, mode="nearest")
    sd = np.sqrt(gaussian_filter(v * v, sig, mode="nearest"))
    return (v / np.maximum(sd, np.float32(floor))).astype(np.float32)


def _input(images: np.ndarray) -> foveanet.Tensor:
    return foveanet.tensor(contrast_normalize(images)[:, None])


def train_classifier(images: np.ndarray, labels: np.ndarray, steps: int = 400, batch_size: int = 32,
                     lr: float = 3e-3, seed: int = 0, width: int = 8, log=None) -> nn.Sequential:
    """Train ``face_net`` on (N, 25, 25) crops with 1 face / 0 non-face labels, by Adam on
    binary cross-entropy with augmented batches (mirror, shift, contrast; ``crops.augment``),
    faces and non-faces drawn equally often whatever their counts."""
    foveanet.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = face_net(width)
    opt = foveanet.optim.Adam(model.parameters(), lr=lr)
    sched = foveanet.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    pos, neg = np.flatnonzero(labels == 1), np.flatnonzero(labels == 0)
    named = list(model.named_parameters())
    model.train()
    t0 = time.perf_counter()
    for step in range(steps):
        idx = np.r_[rng.choice(pos, batch_size // 2), rng.choice(neg, batch_size - batch_size // 2)]
        x = _input(augment(images[idx], rng))
        y = foveanet.tensor(labels[idx].astype(np.float32)[:, None, None, None])
        with float_errors_quiet():
            loss = F.binary_cross_entropy_with_logits(model(x), y)
            opt.zero_grad()
            loss.backward()
            check_step(float(loss.item()), named, epoch=1, step=step + 1, steps_per_epoch=steps,
                       lr=opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
        if log and (step + 1) % 100 == 0:
            log(f"step {step + 1}/{steps} loss {loss.item():.4f} {time.perf_counter() - t0:.0f}s")
    model.eval()
    return model


def predict_proba(model, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """P(face) per (N, 25, 25) crop."""
    out = []
    with foveanet.no_grad():
        for b in range(0, len(images), batch_size):
            z = model(_input(images[b:b + batch_size])).numpy().reshape(-1)
            out.append(1 / (1 + np.exp(-z)))
    return np.concatenate(out) if out else np.zeros(0, np.float32)


def nms(boxes: np.ndarray, scores: np.ndarray, iou: float = 0.3) -> np.ndarray:
    """Greedy non-maximum suppression: indices of the boxes kept, best score first. A box is
    dropped when its intersection-over-union with a kept, better box exceeds ``iou``.

    Args:
        boxes: (K, 4) as (x0, y0, x1, y1).
        scores: (K,).
        iou: the overlap above which the weaker box goes (default 0.3).

    Example::

        >>> from foveanet.faces import nms
        >>> boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30]], float)
        >>> nms(boxes, np.array([0.9, 0.95, 0.5])).tolist()        # box 0 overlaps box 1 by 0.68
        [1, 2]
    """
    order = np.argsort(-scores, kind="stable")
    keep = []
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    while len(order):
        i, rest = order[0], order[1:]
        keep.append(i)
        w = np.clip(np.minimum(boxes[i, 2], boxes[rest, 2]) - np.maximum(boxes[i, 0], boxes[rest, 0]), 0, None)
        h = np.clip(np.minimum(boxes[i, 3], boxes[rest, 3]) - np.maximum(boxes[i, 1], boxes[rest, 1]), 0, None)
        inter = w * h
        overlap = inter / (area[i] + area[rest] - inter)
        order = rest[overlap <= iou]
    return np.array(keep, np.int64)


def _pyramid(image: np.ndarray, min_face: float, max_face: float, step: float):
    """(scale, shrunk image) per level: the scale at which a face of ``min_face`` pixels fills
    the window, then each ``step`` times smaller, down to ``max_face``."""
    from foveanet.faces.image import resize

    face = float(min_face)
    while face <= max_face:
        s = CROP / face
        level = resize(image, s) if s != 1 else image
        if min(level.shape) < CROP:
            break
        yield s, level
        face *= step


def _windows(model, image, min_face, max_face, step):
    """(scale, level image, P(face) map) per pyramid level."""
    with foveanet.no_grad():
        for s, level in _pyramid(image, min_face, max_face, step):
            z = model(_input(level[None])).numpy()[0, 0].astype(np.float64)
            yield s, level, 1 / (1 + np.exp(-z))


def hard_negatives(model, photos, limit: int = 1000, threshold: float = 0.5, min_face: int = 24,
                   step: float = 1.25, seed: int = 0) -> np.ndarray:
    """Windows of face-free ``photos`` (grey arrays) that ``model`` calls faces, up to
    ``limit`` of them, the most confident first: Viola-Jones' bootstrapping, the negatives a
    next round of training needs."""
    crops, scores = [], []
    for photo in photos:
        for s, level, p in _windows(model, photo, min_face, min(photo.shape), step):
            for yy, xx in zip(*np.nonzero(p >= threshold)):
                win = level[yy * STRIDE:yy * STRIDE + CROP, xx * STRIDE:xx * STRIDE + CROP]
                if win.shape == (CROP, CROP):   # the last row/column sees only 22 pixels
                    crops.append(win)
                    scores.append(p[yy, xx])
    if not crops:
        return np.zeros((0, CROP, CROP), np.float32)
    order = np.argsort(-np.array(scores), kind="stable")[:limit]
    return np.stack([crops[i] for i in order]).astype(np.float32)


def _support(boxes: np.ndarray, kept: np.ndarray, iou: float) -> np.ndarray:
    """How many of ``boxes`` overlap each kept box by IoU > ``iou`` (itself included)."""
    k = boxes[kept]
    w = np.clip(np.minimum(k[:, None, 2], boxes[None, :, 2]) - np.maximum(k[:, None, 0], boxes[None, :, 0]), 0, None)
    h = np.clip(np.minimum(k[:, None, 3], boxes[None, :, 3]) - np.maximum(k[:, None, 1], boxes[None, :, 1]), 0, None)
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    inter = w * h
    return ((inter / (area[kept][:, None] + area[None, :] - inter)) > iou).sum(1)


def detect(model, image: np.ndarray, threshold: float = 0.95, min_face: int = 24, max_face=None,
           step: float = 1.25, iou: float = 0.3, min_neighbors: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Faces in a grey photo: the network over an image pyramid, then non-maximum suppression.

    The photo is shrunk by ``step`` per level, from the scale where a ``min_face``-pixel face
    fills the 25-pixel window down to the one where ``max_face`` (default: the photo's
    shorter side) does; each window with P(face) >= ``threshold`` is a box in photo pixels.
    Non-maximum suppression keeps the best of overlapping boxes, and, as OpenCV's
    ``minNeighbors``, only those that at least ``min_neighbors`` windows (itself included)
    overlap: a face fires at neighbouring positions and scales, a stray texture rarely does.
    The defaults (0.95, 2) were set looking at scikit-image's astronaut, camera, coffee and
    chelsea photos: on astronaut the face is found with 2 false boxes; there is no held-out
    photo set to tune on.

    Returns:
        (boxes (K, 4) as (x0, y0, x1, y1) floats, scores (K,)), best first; K may be 0.

    Example::

        >>> from foveanet.faces import detect, face_net
        >>> net = face_net(4)
        >>> _ = nn.init.constant_(net[-1].bias, -50.)    # a net that never says "face"
        >>> boxes, scores = detect(net, np.zeros((60, 80), np.float32))
        >>> boxes.shape, scores.shape
        ((0, 4), (0,))
    """
    max_face = min(image.shape) if max_face is None else max_face
    boxes, scores = [], []
    for s, _, p in _windows(model, image, min_face, max_face, step):
        for yy, xx in zip(*np.nonzero(p >= threshold)):
            x0, y0 = xx * STRIDE / s, yy * STRIDE / s
            boxes.append((x0, y0, x0 + CROP / s, y0 + CROP / s))
            scores.append(p[yy, xx])
    if not boxes:
        return np.zeros((0, 4)), np.zeros(0)
    boxes, scores = np.array(boxes), np.array(scores)
    keep = nms(boxes, scores, iou)
    if min_neighbors > 1:
        keep = keep[_support(boxes, keep, iou) >= min_neighbors]
    return boxes[keep], scores[keep]


def draw_boxes(image: np.ndarray, boxes, scores, path, colour=(255, 40, 40)) -> None:
    """The photo (grey or RGB, floats in [0, 1] or uint8) with each box and its score drawn,
    saved as PNG (atomically)."""
    import io

    from PIL import Image, ImageDraw

    from foveanet.train.checkpoint import atomic_write_bytes

    a = np.asarray(image)
    if a.dtype != np.uint8:
        a = (np.clip(a, 0, 1) * 255).astype(np.uint8)
    im = Image.fromarray(a).convert("RGB")
    d = ImageDraw.Draw(im)
    lw = max(2, round(min(im.size) / 200))
    for (x0, y0, x1, y1), sc in zip(boxes, scores):
        d.rectangle([x0, y0, x1, y1], outline=colour, width=lw)
        d.text((x0 + lw, y0 + lw), f"{sc:.2f}", fill=colour)
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    atomic_write_bytes(path, buf.getvalue())


def train_detector(rounds: int = 3, negatives: int = 2000, mined: int = 4000, steps: int = 800,
                   width: int = 16, seed: int = 0, log=None) -> nn.Sequential:
    """The detector: ``face_net`` trained on all 200 crops plus ``negatives`` random patches of
    face-free photographs, then ``rounds - 1`` times retrained with up to ``mined`` more
    negatives each time, the windows of those photographs the last model took for faces
    (Viola-Jones' bootstrapping).  Measured (benchmarks/results-faces.md): the false windows
    on the face-free photos fell from 3,362 after the first round to 1,637 and 735."""
    from foveanet.faces.crops import FACE_FREE, _skimage_data, load_crops, negative_patches
    from foveanet.faces.image import to_grey

    x, y = load_crops()
    neg = negative_patches(negatives, seed=seed)
    data = _skimage_data()
    photos = [to_grey(getattr(data, name)()) for name in FACE_FREE]
    for r in range(rounds):
        images = np.concatenate([x, neg])
        labels = np.r_[y, np.zeros(len(neg), np.int64)]
        model = train_classifier(images, labels, steps=steps, width=width, seed=seed + r)
        if r + 1 < rounds:
            hard = hard_negatives(model, photos, limit=mined)
            if log:
                log(f"round {r + 1}/{rounds}: {len(hard)} false detections on face-free photos kept as negatives")
            neg = np.concatenate([neg, hard])
    return model
