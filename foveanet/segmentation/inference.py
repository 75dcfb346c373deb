"""Per-pixel prediction with a trained segmentation net, alone or as an average of views.

Test-time augmentation (``tta``) scores several views of each image and takes the argmax
of the mean softmax, every view's probabilities mapped back onto the original pixels:

- ``False`` / ``None``: one view, the image itself.
- ``True`` or ``"flip"``: the image and its left-right mirror (flipped back).  A mirrored
  garment is still the same garment, but Fashion-MNIST's shoes and bags all face one way,
  so use it only with nets trained on mirrored items (``flip``).
- ``"shift"``: the image pasted at ``SHIFTS`` diagonal offsets (0..7 pixels) on a black
  canvas ``SHIFT_MARGIN`` pixels larger (rounded up to a multiple of the net's stride
  2**depth, which a U-Net's input must be).  A U-Net with three 2x2 poolings is not shift
  invariant: its bottleneck samples the image on a stride-8 grid, and which phase of that
  grid an item falls on changes the prediction.  Averaging the 8 diagonal phases (of the 64)
  cancels part of that aliasing.  The black margin is the scenes' own background, so no view
  shows anything the net was not trained on.  On seven trained scene U-Nets the 8 views
  gained 0.008-0.011 test mIoU (benchmarks/results-segment.md, 2026-11-25 runs).
"""
from __future__ import annotations

import numpy as np

import foveanet

__all__ = ["TTA_MODES", "SHIFT_MARGIN", "SHIFTS", "softmax", "tta_mode", "predict_logits"]

TTA_MODES = ("none", "flip", "shift")
SHIFT_MARGIN = 8           # at least the largest offset; rounded up to the net's stride
SHIFTS = tuple(range(8))   # offsets (k, k): a stride-8 grid's 8 diagonal phases


def softmax(z: np.ndarray) -> np.ndarray:
    """Softmax over axis 1 (the classes) of NumPy logits."""
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def tta_mode(tta) -> str:
    """The setting's canonical name: False/None -> 'none', True -> 'flip' (a config.json's
    ``"tta": true`` names the mirror view, so such run directories load as they were scored)."""
    if tta is None or tta is False:
        return "none"
    if tta is True:
        return "flip"
    if isinstance(tta, str) and tta in TTA_MODES:
        return tta
    raise ValueError(f"tta must be one of {TTA_MODES} (or True / False), got {tta!r}")


def _forward(model, x: np.ndarray) -> np.ndarray:
    """The logits of host images ``x``, on the host, wherever the model's weights live."""
    from foveanet.backend import devices

    p = next(iter(model.parameters()), None)
    dev = None if p is None else p.device
    return devices.to_host(model(foveanet.tensor(np.ascontiguousarray(x), device=dev)).data)


def _view_probabilities(model, x: np.ndarray, mode: str) -> np.ndarray:
    """Sum of the softmax of every view of batch ``x`` (N, C, H, W), on x's own pixels."""
    if mode == "flip":
        return softmax(_forward(model, x)) + softmax(_forward(model, x[..., ::-1]))[..., ::-1]
    n, c, h, w = x.shape
    stride = 2 ** getattr(model, "depth", 0)  # a U-Net's input sides must be multiples of it
    margin = -(-SHIFT_MARGIN // stride) * stride
    canvas = np.zeros((n, c, h + margin, w + margin), x.dtype)
    total = 0.0
    for k in SHIFTS:
        canvas[...] = 0
        canvas[:, :, k:k + h, k:k + w] = x
        total = total + softmax(_forward(model, canvas))[:, :, k:k + h, k:k + w]
    return total


def predict_logits(model, images: np.ndarray, batch_size: int = 64, tta=False) -> np.ndarray:
    """(N, C, H, W) -> class indices (N, H, W), in eval mode, without a graph.  ``tta``: see
    the module docstring; with one view this is the plain argmax of the logits."""
    mode = tta_mode(tta)
    model.eval()
    out = []
    with foveanet.no_grad():
        for i in range(0, len(images), batch_size):
            x = images[i:i + batch_size]
            z = _forward(model, x) if mode == "none" else _view_probabilities(model, x, mode)
            out.append(z.argmax(axis=1))
    return np.concatenate(out) if out else np.zeros((0,) + images.shape[2:], np.int64)
