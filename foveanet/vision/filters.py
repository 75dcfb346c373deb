"""Classic hand-made 3x3 filters, applied with foveanet's own ``conv2d``.

Before CNNs learned their filters, people designed them: blur, sharpen, edge detectors.
A CNN's first layer often ends up learning filters that look much like these.

**Convolution or cross-correlation?** ``conv2d`` (here, in PyTorch, in every CNN framework)
computes the cross-correlation

    y[i, j] = sum_{u, v} K[u, v] * x[i + u, j + v]

which is what the lecture calls "convolution": slide the kernel over the image, multiply
and add. True (mathematical) convolution flips the kernel first, y = sum K[u, v] x[i - u, j - v],
so ``apply(img, K)`` is the true convolution with ``K[::-1, ::-1]``. For symmetric kernels
(box, Gaussian, sharpen, Laplacian) both are the same; for sobel_x, vertical_edge and emboss
the flip swaps the sign of the response (dark-to-bright edges become negative, and back).
A learned CNN does not care: it would simply learn the flipped kernel.

**Showing the result.** ``apply`` returns the raw numbers (an edge filter's output can be
negative, a sharpened pixel can pass 1). ``to_display`` maps them to [0, 1]:
  - kernels whose weights sum to 1 (identity, blur, sharpen, emboss) keep the image's
    brightness: clip to [0, 1];
  - kernels whose weights sum to 0 (every edge detector, the Laplacian) answer 0 on flat
    regions and +-something at changes, in either direction: show |y| / top, clipped to
    1, so strong edges are white whatever their sign ('signed' maps 0 to grey instead).
    top is the 99.5th percentile of |y| (the max if that is 0): with the plain max, a few
    extreme pixels (JPEG noise, a single hard corner) would leave every other edge dark.
"""
from __future__ import annotations

import math

import numpy as np

from foveanet.geometry import same_padding_split

__all__ = ["KERNELS", "names", "get", "gaussian", "luminance", "apply", "edge_magnitude",
           "to_display", "display_kind"]

_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # ITU-R BT.601, as Pillow's 'L'

# the lecture's matrices, written as they are printed (row 0 on top)
KERNELS: dict[str, list[list[float]]] = {
    "identity": [[0, 0, 0], [0, 1, 0], [0, 0, 0]],
    "box_blur": [[1 / 9] * 3] * 3,
    "gaussian_blur": [[1 / 16, 2 / 16, 1 / 16], [2 / 16, 4 / 16, 2 / 16], [1 / 16, 2 / 16, 1 / 16]],
    "sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
    "sobel_x": [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],
    "sobel_y": [[-1, -2, -1], [0, 0, 0], [1, 2, 1]],
    "prewitt_x": [[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]],
    "prewitt_y": [[-1, -1, -1], [0, 0, 0], [1, 1, 1]],
    "laplacian": [[0, 1, 0], [1, -4, 1], [0, 1, 0]],
    "vertical_edge": [[1, 0, -1], [1, 0, -1], [1, 0, -1]],
    "horizontal_edge": [[1, 1, 1], [0, 0, 0], [-1, -1, -1]],
    "emboss": [[-2, -1, 0], [-1, 1, 1], [0, 1, 2]],
}

# how many output rows one conv2d call handles: bounds im2col's memory (9 floats per pixel)
# on multi-megapixel photos
_STRIP_PIXELS = 1 << 20


def names() -> list[str]:
    """The named filters, in the order pictures show them."""
    return list(KERNELS)


def get(name: str) -> np.ndarray:
    """The named kernel as a float32 (3, 3) array (a fresh copy: edit it freely)."""
    key = str(name).lower().replace("-", "_")
    if key not in KERNELS:
        raise ValueError(f"unknown filter {name!r}; choose from {', '.join(KERNELS)}")
    return np.array(KERNELS[key], dtype=np.float32)


def gaussian(size: int = 3, sigma: float = 1.0) -> np.ndarray:
    """A (size, size) Gaussian blur kernel, exp(-(u^2 + v^2) / (2 sigma^2)) normalised to sum 1.

    Its rows are a sampled bell curve; ``gaussian_blur`` is the integer approximation
    [1, 2, 1] x [1, 2, 1] / 16 (binomial coefficients), close to size=3, sigma~0.85.
    """
    if int(size) != size or size < 1 or size % 2 == 0:
        raise ValueError(f"gaussian: size must be a positive odd integer, got {size!r}")
    if not sigma > 0:
        raise ValueError(f"gaussian: sigma must be positive, got {sigma!r}")
    half = (int(size) - 1) / 2
    u = np.arange(int(size)) - half
    g = np.exp(-(u ** 2) / (2.0 * float(sigma) ** 2))
    k = np.outer(g, g)
    return (k / k.sum()).astype(np.float32)


def _kernel(name_or_kernel) -> np.ndarray:
    if isinstance(name_or_kernel, str):
        return get(name_or_kernel)
    k = np.asarray(getattr(name_or_kernel, "data", name_or_kernel), dtype=np.float32)
    if k.ndim != 2 or 0 in k.shape:
        raise ValueError(f"filters: a kernel must be a 2-d matrix, got shape {k.shape}")
    return k


def _chw(image) -> np.ndarray:
    """(H, W) or (C, H, W) -> float32 (C, H, W)."""
    a = np.asarray(getattr(image, "data", image))
    if a.dtype == np.uint8:  # raw pixels: the same [0, 1] scale load_image gives
        a = a.astype(np.float32) / np.float32(255)
    a = a.astype(np.float32, copy=False)
    if a.ndim == 2:
        return a[None]
    if a.ndim != 3:
        raise ValueError(f"filters: image must be (H, W) or (C, H, W), got shape {a.shape}")
    return a


def luminance(image) -> np.ndarray:
    """(H, W) grey image: 0.299 R + 0.587 G + 0.114 B for RGB, the image itself if grey."""
    a = _chw(image)
    if a.shape[0] == 1:
        return a[0]
    if a.shape[0] != 3:
        raise ValueError(f"luminance: needs 1 or 3 channels, got {a.shape[0]} (image shape {a.shape})")
    return np.tensordot(_LUMA, a, axes=1)


def _pads(kshape, padding):
    """(top, bottom, left, right) zero padding, with conv2d's rules."""
    kh, kw = kshape
    if padding == "same":  # total k-1, the odd pixel right/bottom (as conv2d and PyTorch)
        return same_padding_split(kh) + same_padding_split(kw)
    if padding == "valid":
        return 0, 0, 0, 0
    if isinstance(padding, (tuple, list)):
        ph, pw = (int(v) for v in padding)
    elif isinstance(padding, (int, np.integer)):
        ph = pw = int(padding)
    else:
        raise ValueError(f"filters: padding must be 'same', 'valid', an int or (ph, pw), got {padding!r}")
    if ph < 0 or pw < 0:
        raise ValueError(f"filters: padding must be non-negative, got {padding!r}")
    return ph, ph, pw, pw


def _correlate(x: np.ndarray, k: np.ndarray, padding) -> np.ndarray:
    """Every channel of x (C, H, W) cross-correlated with k, by conv2d (depthwise when C > 1)."""
    from foveanet import no_grad
    from foveanet.functional import conv2d

    c = x.shape[0]
    t, b, l, r = _pads(k.shape, padding)
    xp = np.pad(x, ((0, 0), (t, b), (l, r))) if t + b + l + r else x
    kh, kw = k.shape
    if xp.shape[1] < kh or xp.shape[2] < kw:
        raise ValueError(f"filters: the {kh}x{kw} kernel does not fit in the padded "
                         f"{xp.shape[1]}x{xp.shape[2]} image")
    w = np.broadcast_to(k, (c, 1, kh, kw)).copy()
    out_h = xp.shape[1] - kh + 1
    rows = max(1, _STRIP_PIXELS // max(1, xp.shape[2] * c))
    parts = []
    with no_grad():
        for top in range(0, out_h, rows):
            strip = xp[None, :, top:top + min(rows, out_h - top) + kh - 1]
            parts.append(conv2d(strip, w, padding=0, groups=c).numpy()[0])
    return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1)


def apply(image, name_or_kernel, mode: str = "gray", padding="same") -> np.ndarray:
    """The raw filter response (float32; see ``to_display`` to show it).

    image: (H, W) or (C, H, W) floats in [0, 1] (as ``foveanet.data.load_image`` returns;
    uint8 is scaled by 1/255). name_or_kernel: a name from ``names()`` or any 2-d matrix.
    mode 'gray': the luminance image is filtered -> (H', W').
    mode 'per-channel': every colour channel is filtered separately with the same kernel
    (a depthwise conv2d, groups = C) -> (C, H', W').
    padding: 'same' (output as large as the image, zeros outside), 'valid' (no padding:
    H' = H - k + 1), an int or (ph, pw).
    """
    k = _kernel(name_or_kernel)
    if mode in ("gray", "grey"):
        return _correlate(luminance(image)[None], k, padding)[0]
    if mode in ("per-channel", "per_channel", "color", "colour"):
        return _correlate(_chw(image), k, padding)
    raise ValueError(f"apply: mode must be 'gray' or 'per-channel', got {mode!r}")


def edge_magnitude(image, mode: str = "gray", padding="same") -> np.ndarray:
    """Gradient strength sqrt(sobel_x^2 + sobel_y^2): large on edges of any direction."""
    gx = apply(image, "sobel_x", mode, padding)
    gy = apply(image, "sobel_y", mode, padding)
    return np.sqrt(gx * gx + gy * gy)


def display_kind(name_or_kernel) -> str:
    """'abs' for kernels summing to 0 (edge detectors), 'clip' otherwise (see module doc)."""
    k = _kernel(name_or_kernel)
    return "abs" if math.isclose(float(k.sum()), 0.0, abs_tol=1e-6) else "clip"


def to_display(response, how, percentile: float = 99.5) -> np.ndarray:
    """Map a filter response to [0, 1] for showing or saving.

    how: 'clip' (clip to [0, 1]), 'abs' (|y| / top, clipped), 'signed' (0.5 + y / (2 top),
    clipped: grey is 0, white positive, black negative), or a filter name / kernel to pick
    'clip' or 'abs' by ``display_kind``. top = the ``percentile`` of |y| (100: the max; see
    the module doc). Per-channel responses share one top, so colours stay comparable.
    """
    y = np.asarray(response, dtype=np.float32)
    if not (isinstance(how, str) and how in ("clip", "abs", "signed")):
        how = display_kind(how)
    if how == "clip":
        return np.clip(y, 0.0, 1.0)
    mag = np.abs(y)
    top = float(np.percentile(mag, percentile)) if y.size else 0.0
    if top == 0.0:  # edges on fewer pixels than the percentile leaves out
        top = float(mag.max()) if y.size else 0.0
    if top == 0.0:  # a flat image has no edges: black (abs) or mid-grey (signed)
        return np.full_like(y, 0.0 if how == "abs" else 0.5)
    if how == "abs":
        return np.minimum(mag / np.float32(top), np.float32(1))
    return np.clip(np.float32(0.5) + y / np.float32(2 * top), 0, 1).astype(np.float32)
