"""Shift an image by k pixels: a fully connected layer sees a different input, a convolution the same
features moved by k (translation equivariance).

    conv(shift(x)) = shift(conv(x))        away from the border, exactly
    fc(shift(x))   != anything related to fc(x)

The image moves right (``axis=1``) or down (``axis=0``) by k, the uncovered border filled
with 0 (Fashion-MNIST's background). A 'valid' convolution's output column j reads input
columns j..j+f-1; in the shifted image these are the original's j-k..j+f-1-k, so for j >= k
the shifted image's feature map equals the original's feature map at j-k. Columns j < k read
the zero fill and differ: that strip is the border left out of the comparison.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["ShiftResult", "shift_image", "shift_experiment"]


@dataclass(frozen=True)
class ShiftResult:
    shift: int
    axis: int
    pixels: int                     # input values (H*W)
    changed: int                    # input values that differ after the shift
    threshold: float
    dark_to_light: int              # below threshold before, at or above after
    light_to_dark: int
    conv_compared: int              # feature-map values compared (the interior)
    conv_max_abs_diff: float        # |conv(shift x) - shift(conv x)| over the interior
    conv_relative_change: float     # ||conv(shift x) - conv(x)|| / ||conv(x)||: unaligned, for contrast
    fc_relative_change: float       # ||fc(shift x) - fc(x)|| / ||fc(x)||

    @property
    def changed_fraction(self) -> float:
        return self.changed / self.pixels

    @property
    def conv_equivariant(self) -> bool:
        return self.conv_max_abs_diff == 0.0

    def __str__(self) -> str:
        where = "right" if self.axis == 1 else "down"
        return "\n".join([
            f"shift {where} by {self.shift} px: {self.changed:,} of {self.pixels:,} input values change "
            f"({100 * self.changed_fraction:.1f}%); at threshold {self.threshold:g}: "
            f"{self.dark_to_light:,} dark->light, {self.light_to_dark:,} light->dark",
            f"convolution: shifted image's feature map == shifted feature map on {self.conv_compared:,} "
            f"interior values (max |diff| {self.conv_max_abs_diff:g}); unaligned it changes by "
            f"{100 * self.conv_relative_change:.1f}%",
            f"fully connected: output changes by {100 * self.fc_relative_change:.1f}% "
            "(no shifted copy of the old output to compare with)",
        ])


def shift_image(image: np.ndarray, k: int, axis: int = 1, fill: float = 0.0) -> np.ndarray:
    """``image`` moved by k pixels along ``axis`` (positive: right/down), ``fill`` where it left."""
    img = np.asarray(image)
    out = np.full_like(img, fill)
    n = img.shape[axis]
    k = int(k)
    if abs(k) >= n:
        return out
    src = [slice(None)] * img.ndim
    dst = [slice(None)] * img.ndim
    src[axis] = slice(0, n - k) if k >= 0 else slice(-k, n)
    dst[axis] = slice(k, n) if k >= 0 else slice(0, n + k)
    out[tuple(dst)] = img[tuple(src)]
    return out


def _as_float(image) -> np.ndarray:
    img = np.asarray(image)
    if img.ndim != 2:
        raise ValueError(f"shift_experiment: expected a 2-d (H, W) grey image, got shape {img.shape}")
    # uint8 pixels become [0, 1] so that the threshold means the same for every image
    return img.astype(np.float64) / 255.0 if img.dtype == np.uint8 else img.astype(np.float64)


def shift_experiment(image, k: int = 1, axis: int = 1, threshold: float = 0.5, kernel_size: int = 3,
                     filters: int = 4, units: int = 100, seed: int = 0) -> ShiftResult:
    """Shifts ``image`` (H, W; uint8 or float in [0, 1]) by ``k`` pixels and measures what a random
    conv layer (``filters`` f x f filters, 'valid') and a random FC layer (``units``) make of it.

    Both layers run through foveanet.functional in float64, so the interior comparison is exact:
    the same products summed in the same order.
    """
    from foveanet.functional import conv2d, linear

    if axis not in (0, 1):
        raise ValueError(f"shift_experiment: axis must be 0 (down) or 1 (right), got {axis}")
    if k < 1:
        raise ValueError(f"shift_experiment: k must be a positive number of pixels, got {k}")
    x = _as_float(image)
    h, w = x.shape
    if k >= (w if axis == 1 else h) - kernel_size + 1:
        raise ValueError(f"shift_experiment: a shift of {k} leaves no interior to compare "
                         f"(image {h}x{w}, {kernel_size}x{kernel_size} filter)")
    xs = shift_image(x, k, axis)
    before, after = x >= threshold, xs >= threshold

    rng = np.random.default_rng(seed)
    wc = rng.standard_normal((filters, 1, kernel_size, kernel_size))
    y = conv2d(x[None, None], wc).numpy()[0]          # (filters, H', W')
    ys = conv2d(xs[None, None], wc).numpy()[0]
    # feature-map axis: the conv output keeps the image's axes after the channel axis
    fa = axis + 1
    n = y.shape[fa]
    interior_s = [slice(None)] * 3
    interior_o = [slice(None)] * 3
    interior_s[fa], interior_o[fa] = slice(k, n), slice(0, n - k)
    a, b = ys[tuple(interior_s)], y[tuple(interior_o)]

    wf = rng.standard_normal((units, h * w)) / np.sqrt(h * w)
    bf = rng.standard_normal(units) * 0.1
    f = linear(x.reshape(1, -1), wf, bf).numpy()
    fs = linear(xs.reshape(1, -1), wf, bf).numpy()
    return ShiftResult(
        shift=int(k), axis=axis, pixels=x.size, changed=int(np.count_nonzero(x != xs)),
        threshold=float(threshold), dark_to_light=int(np.count_nonzero(~before & after)),
        light_to_dark=int(np.count_nonzero(before & ~after)), conv_compared=int(a.size),
        conv_max_abs_diff=float(np.max(np.abs(a - b))),
        conv_relative_change=float(np.linalg.norm(ys - y) / np.linalg.norm(y)),
        fc_relative_change=float(np.linalg.norm(fs - f) / np.linalg.norm(f)),
    )
