"""Vectorised image transforms on NumPy arrays, batch-first.

Every transform takes an (N, C, H, W) batch or a single (C, H, W) image and an optional
``rng`` (``np.random.Generator``; the global ``foveanet.backend.generator()`` when left
out).  Random transforms draw one setting per sample but apply them all in one NumPy
expression, so augmenting a batch of 128 costs about as much as one array copy: in a
NumPy framework a per-sample Python loop would cost more than the forward pass.

Call them per sample, torchvision style (``Dataset(transform=...)``), or per batch
(``DataLoader(transform=...)``, the fast way).
"""
from __future__ import annotations

import math
from numbers import Number

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from foveanet import backend
from foveanet.backend import devices
from foveanet.backend.arrays import array_module

__all__ = ["Transform", "Compose", "Lambda", "ToFloat", "Normalize", "Standardize", "mean_std",
           "RandomCrop", "RandomHorizontalFlip", "RandomVerticalFlip", "RandomErasing", "Resize"]


def _on(xp, a):
    """A small host array (drawn offsets, masks, weights) where the batch lives: the draws
    stay on the host generator, so a seed gives the same augmentation on every device."""
    return a if xp is np else xp.asarray(a)


def _pair(v, name) -> tuple[int, int]:
    if isinstance(v, Number):
        return int(v), int(v)
    if len(v) != 2:
        raise ValueError(f"{name}: expected an int or an (h, w) pair, got {v!r}")
    return int(v[0]), int(v[1])


class Transform:
    """Base: subclasses implement ``apply(batch (N, C, H, W), rng) -> batch``."""

    def __call__(self, x, rng: np.random.Generator | None = None):
        data = getattr(x, "data", None)  # accept a foveanet.Tensor
        if data is not None and (isinstance(data, np.ndarray) or devices.device_array_module(data)):
            x = data
        elif not devices.device_array_module(x):  # a device batch stays where it is
            x = np.asarray(x)
        if x.ndim not in (3, 4):
            raise ValueError(f"{type(self).__name__}: expected a (C, H, W) image or an (N, C, H, W) "
                             f"batch, got shape {x.shape}")
        rng = backend.generator() if rng is None else rng
        if x.ndim == 3:
            return self.apply(x[None], rng)[0]
        return self.apply(x, rng)

    def apply(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({args})"


def call_transform(t, x, rng=None):
    """Call ``t`` passing ``rng`` if it is one of ours; plain callables get just ``x``."""
    return t(x, rng) if isinstance(t, Transform) else t(x)


class Compose(Transform):
    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, x, rng=None):
        rng = backend.generator() if rng is None else rng
        for t in self.transforms:
            x = call_transform(t, x, rng)
        return x


class Lambda(Transform):
    def __init__(self, fn):
        self.fn = fn

    def __call__(self, x, rng=None):
        return self.fn(x)


class ToFloat(Transform):
    """uint8 [0, 255] -> float32 [0, 1]; float input is only cast to float32."""

    def apply(self, x, rng):
        if x.dtype == np.uint8:
            y = x.astype(np.float32)
            y *= np.float32(1 / 255)
            return y
        return x.astype(np.float32, copy=False)


class Normalize(Transform):
    """``(x - mean[c]) / std[c]`` per channel (one value each, or one per channel)."""

    def __init__(self, mean, std):
        self.mean = np.atleast_1d(np.asarray(mean, dtype=np.float64))
        self.std = np.atleast_1d(np.asarray(std, dtype=np.float64))
        if self.mean.ndim != 1 or self.std.ndim != 1:
            raise ValueError(f"Normalize: mean and std must be scalars or 1-d sequences, got shapes "
                             f"{self.mean.shape} and {self.std.shape}")
        if np.any(self.std == 0):
            raise ValueError(f"Normalize: std has a zero entry {self.std.tolist()}: division by zero")

    def apply(self, x, rng):
        c = x.shape[1]
        for name, v in (("mean", self.mean), ("std", self.std)):
            if len(v) not in (1, c):
                raise ValueError(f"Normalize: {name} has {len(v)} values, input has {c} channels")
        dt = x.dtype if x.dtype.kind == "f" else np.dtype(np.float32)
        xp = array_module(x)
        m = _on(xp, self.mean.astype(dt).reshape(1, -1, 1, 1))
        inv = _on(xp, (1 / self.std).astype(dt).reshape(1, -1, 1, 1))
        y = x.astype(dt, copy=False) - m  # a fresh array: scale it in place
        y *= inv
        return y


def mean_std(images, chunk: int = 8192) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and std of an (N, C, H, W) array (uint8 read as [0, 1]) or of a
    dataset with ``arrays()``; accumulated in float64 chunks to bound memory."""
    if hasattr(images, "arrays"):
        images = images.arrays()[0]
    x = np.asarray(images)
    if x.ndim == 3:
        x = x[:, None]
    scale = 1 / 255 if x.dtype == np.uint8 else 1.0
    s = np.zeros(x.shape[1])
    s2 = np.zeros(x.shape[1])
    for i in range(0, len(x), chunk):
        b = x[i:i + chunk].astype(np.float64) * scale
        s += b.sum(axis=(0, 2, 3))
        s2 += np.square(b).sum(axis=(0, 2, 3))
    n = x.shape[0] * x.shape[2] * x.shape[3]
    mean = s / n
    return mean, np.sqrt(np.maximum(s2 / n - mean**2, 0))


class Standardize(Normalize):
    """Normalize with the mean and std measured on ``images`` (usually the training set)."""

    def __init__(self, images):
        mean, std = mean_std(images)
        super().__init__(mean, np.where(std > 0, std, 1.0))


class RandomCrop(Transform):
    """Pad by ``padding`` then cut a ``size`` window at a random offset per sample.

    ``padding``: int, (pad_h, pad_w), or (left, top, right, bottom) as torchvision;
    ``padding_mode``: 'constant' (with ``fill``), 'edge', 'reflect' or 'symmetric'.
    """

    def __init__(self, size, padding=None, pad_if_needed=False, fill=0, padding_mode="constant"):
        self.size = _pair(size, "RandomCrop")
        if padding is None:
            padding = 0
        if isinstance(padding, Number):
            padding = (padding,) * 4
        elif len(padding) == 2:
            padding = (padding[1], padding[0], padding[1], padding[0])
        if len(padding) != 4 or min(padding) < 0:
            raise ValueError(f"RandomCrop: bad padding {padding!r}")
        self.padding = tuple(int(p) for p in padding)  # left, top, right, bottom
        if padding_mode not in ("constant", "edge", "reflect", "symmetric"):
            raise ValueError(f"RandomCrop: unknown padding_mode {padding_mode!r}")
        self.pad_if_needed, self.fill, self.padding_mode = pad_if_needed, fill, padding_mode

    def apply(self, x, rng):
        h, w = self.size
        left, top, right, bottom = self.padding
        H, W = x.shape[2] + top + bottom, x.shape[3] + left + right
        if self.pad_if_needed:
            extra_h, extra_w = max(h - H, 0), max(w - W, 0)
            top, bottom, left, right = top + extra_h, bottom + extra_h, left + extra_w, right + extra_w
            H, W = H + 2 * extra_h, W + 2 * extra_w
        if h > H or w > W:
            raise ValueError(f"RandomCrop: crop {h}x{w} larger than the (padded) image {H}x{W}; "
                             f"pass pad_if_needed=True or a larger padding")
        xp = array_module(x)
        if top or bottom or left or right:
            kw = {"constant_values": self.fill} if self.padding_mode == "constant" else {}
            x = xp.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)), mode=self.padding_mode, **kw)
        n = x.shape[0]
        oy = rng.integers(0, H - h + 1, size=n)
        ox = rng.integers(0, W - w + 1, size=n)
        # a view of every h x w window, then one gather picks each sample's window
        if xp is np:
            windows = sliding_window_view(x, (h, w), axis=(2, 3))
            return windows[np.arange(n), :, oy, ox]
        windows = xp.lib.stride_tricks.sliding_window_view(x, (h, w), axis=(2, 3))
        return windows[xp.arange(n), :, xp.asarray(oy), xp.asarray(ox)]


class RandomHorizontalFlip(Transform):
    def __init__(self, p: float = 0.5):
        self.p = p

    def apply(self, x, rng):
        flip = rng.random(x.shape[0]) < self.p
        xp = array_module(x)
        return xp.where(_on(xp, flip[:, None, None, None]), x[..., ::-1], x)


class RandomVerticalFlip(Transform):
    def __init__(self, p: float = 0.5):
        self.p = p

    def apply(self, x, rng):
        flip = rng.random(x.shape[0]) < self.p
        xp = array_module(x)
        return xp.where(_on(xp, flip[:, None, None, None]), x[..., ::-1, :], x)


class RandomErasing(Transform):
    """With probability ``p``, overwrite a random rectangle of each sample.

    As torchvision: area fraction ~ U(scale), log aspect ratio ~ U(log ratio), up to 10
    tries for a rectangle that fits, else the sample is left unchanged; ``value`` is a
    number, one number per channel, or 'random' (standard normal noise).
    """

    ATTEMPTS = 10

    def __init__(self, p=0.5, scale=(0.02, 0.33), ratio=(0.3, 3.3), value=0.0):
        if not (0 <= scale[0] <= scale[1] and 0 < ratio[0] <= ratio[1]):
            raise ValueError(f"RandomErasing: bad scale {scale} or ratio {ratio}")
        if isinstance(value, str) and value != "random":
            raise ValueError(f"RandomErasing: value must be a number, a sequence or 'random', got {value!r}")
        self.p, self.scale, self.ratio, self.value = p, tuple(scale), tuple(ratio), value

    def apply(self, x, rng):
        n, c, H, W = x.shape
        k = self.ATTEMPTS
        area = H * W * rng.uniform(self.scale[0], self.scale[1], size=(n, k))
        aspect = np.exp(rng.uniform(math.log(self.ratio[0]), math.log(self.ratio[1]), size=(n, k)))
        hs = np.rint(np.sqrt(area * aspect)).astype(np.int64)
        ws = np.rint(np.sqrt(area / aspect)).astype(np.int64)
        ok = (hs < H) & (ws < W)
        first = ok.argmax(axis=1)
        rows = np.arange(n)
        h, w = hs[rows, first], ws[rows, first]
        erase = ok[rows, first] & (rng.random(n) < self.p)
        top = np.floor(rng.random(n) * (H - h + 1)).astype(np.int64)
        left = np.floor(rng.random(n) * (W - w + 1)).astype(np.int64)
        ry, rx = np.arange(H), np.arange(W)
        in_y = (ry >= top[:, None]) & (ry < (top + h)[:, None]) & erase[:, None]
        in_x = (rx >= left[:, None]) & (rx < (left + w)[:, None])
        mask = (in_y[:, :, None] & in_x[:, None, :])[:, None]  # (n, 1, H, W)
        if isinstance(self.value, str):
            fill = rng.standard_normal(x.shape).astype(x.dtype)
        else:
            v = np.atleast_1d(np.asarray(self.value, dtype=x.dtype))
            if len(v) not in (1, c):
                raise ValueError(f"RandomErasing: value has {len(v)} entries, input has {c} channels")
            fill = v.reshape(1, -1, 1, 1)
        self._last = (erase, h, w)  # for tests and debugging: what the last call erased
        xp = array_module(x)
        return xp.where(_on(xp, mask), _on(xp, fill), x)


class Resize(Transform):
    """Resize to ``size``: (h, w), or an int for the smaller edge (aspect kept), as
    torchvision.  'bilinear' matches ``F.interpolate(align_corners=False)`` without
    antialiasing; for strong downscaling of photos prefer Pillow (``load_image``)."""

    def __init__(self, size, interpolation: str = "bilinear"):
        if interpolation not in ("bilinear", "nearest"):
            raise ValueError(f"Resize: interpolation must be 'bilinear' or 'nearest', got {interpolation!r}")
        self.size, self.interpolation = size, interpolation

    def output_size(self, H, W) -> tuple[int, int]:
        if isinstance(self.size, Number):
            s = int(self.size)
            return (s, max(1, int(s * W / H))) if H <= W else (max(1, int(s * H / W)), s)
        return _pair(self.size, "Resize")

    def apply(self, x, rng):
        H, W = x.shape[2:]
        h, w = self.output_size(H, W)
        if (h, w) == (H, W):
            return x
        src_dtype = x.dtype
        xp = array_module(x)
        xf = x.astype(np.float32, copy=False)
        if self.interpolation == "nearest":
            iy = np.minimum((np.arange(h) * (H / h)).astype(np.int64), H - 1)
            ix = np.minimum((np.arange(w) * (W / w)).astype(np.int64), W - 1)
            return x[:, :, _on(xp, iy[:, None]), _on(xp, ix[None, :])]
        y0, y1, wy = (_on(xp, a) for a in _linear_weights(H, h))
        x0, x1, wx = (_on(xp, a) for a in _linear_weights(W, w))
        rows = xf[:, :, y0] * (1 - wy)[:, None] + xf[:, :, y1] * wy[:, None]
        out = rows[..., x0] * (1 - wx) + rows[..., x1] * wx
        if src_dtype == np.uint8:
            return xp.clip(xp.rint(out), 0, 255).astype(np.uint8)
        return out.astype(src_dtype if src_dtype.kind == "f" else np.float32, copy=False)


def _linear_weights(n_in: int, n_out: int):
    # half-pixel centres: output pixel i samples input coordinate (i + 0.5) * scale - 0.5
    src = (np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5
    src = np.clip(src, 0, n_in - 1)
    i0 = np.floor(src).astype(np.int64)
    i1 = np.minimum(i0 + 1, n_in - 1)
    return i0, i1, (src - i0).astype(np.float32)
