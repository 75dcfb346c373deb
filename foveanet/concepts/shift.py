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
    """What ``shift_experiment`` measured; ``str()`` prints it as three lines.

    Attributes:
        shift: k, the pixels moved.
        axis: 1 (right) or 0 (down).
        pixels: input values, ``H*W``.
        changed: input values that differ after the shift.
        threshold: the grey level that splits dark from light.
        dark_to_light: pixels below the threshold before and at or above it after.
        light_to_dark: the reverse.
        conv_compared: feature-map values compared (the interior, away from the zero fill).
        conv_max_abs_diff: max |conv(shift x) - shift(conv x)| over the interior: 0 exactly.
        conv_relative_change: ||conv(shift x) - conv(x)|| / ||conv(x)||, unaligned, for contrast.
        fc_relative_change: ||fc(shift x) - fc(x)|| / ||fc(x)||.
        changed_fraction: changed / pixels (a property).
        conv_equivariant: whether conv_max_abs_diff is 0 (a property).

    Example::

        >>> image = np.zeros((8, 8))
        >>> image[2:6, 3:5] = 1.0                              # a 4x2 bar
        >>> r = fn.concepts.shift_experiment(image, k=1)
        >>> r.changed, r.changed_fraction                      # its left and right edges
        (8, 0.125)
        >>> r.conv_compared, r.conv_equivariant                # 4 filters x 6 x (6 - 1)
        (120, True)
    """

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
    """An image moved by k pixels along one axis, the uncovered border filled with a constant.

        out[..., i + k, ...] = image[..., i, ...]     (along axis; fill elsewhere)

    Args:
        image: the array (any number of dimensions).
        k: pixels to move: positive moves right (``axis=1``) or down (``axis=0``), negative
            left or up; a move of at least the axis length leaves only ``fill``.
        axis: the axis to move along (default 1: columns of an (H, W) image).
        fill: the value of the uncovered pixels (default 0).

    Returns:
        ndarray: a new array of ``image``'s shape and dtype.

    Example::

        >>> fn.concepts.shift_image(np.arange(6).reshape(2, 3), 1)
        array([[0, 0, 1],
               [0, 3, 4]])
        >>> fn.concepts.shift_image(np.arange(6).reshape(2, 3), -1, fill=9)
        array([[1, 2, 9],
               [4, 5, 9]])
    """
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
    """Shift an image by k pixels and measure what a conv layer and an FC layer make of it.

        conv(shift(x)) = shift(conv(x))        away from the border, exactly
        fc(shift(x))   != anything related to fc(x)

    A random conv layer (``filters`` f x f filters, 'valid') and a random FC layer (``units``)
    run through foveanet.functional in float64, so the interior comparison is exact: the same
    products summed in the same order.

    Args:
        image: (H, W) grey image, uint8 or float in [0, 1].
        k: pixels to shift by, >= 1 (default 1).
        axis: 1 shifts right, 0 down (default 1).
        threshold: grey level that splits dark from light pixels in the counts (default 0.5).
        kernel_size: f of the conv filters (default 3).
        filters: number of conv filters (default 4).
        units: units of the FC layer (default 100).
        seed: seed of the random weights (default 0).

    Returns:
        ShiftResult: the counts and differences; ``str()`` gives a report.

    Example::

        >>> image = np.zeros((8, 8))
        >>> image[2:6, 3:5] = 1.0
        >>> r = fn.concepts.shift_experiment(image, k=1)
        >>> r.dark_to_light, r.light_to_dark             # the bar's two edge columns
        (4, 4)
        >>> r.conv_max_abs_diff                           # the interior matches exactly
        0.0
        >>> round(r.fc_relative_change, 2)                # the FC output: all different
        1.01
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
