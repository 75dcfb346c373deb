"""Dropout: zero activations at random while training, scaled so expectations are unchanged.

Inverted dropout: each kept value is multiplied by 1/(1-p), so evaluation is the identity
and no rescaling is needed at test time. Masks come from ``foveanet.backend.generator()``,
so ``foveanet.manual_seed`` makes them reproducible; on a GPU they are drawn there, from the
device's generator that ``manual_seed`` seeds too (``backend/cuda/random.py``).

``inplace=True`` is accepted for PyTorch compatibility, but the result is always a new
array: overwriting the input would corrupt buffers saved by earlier ops for backward.
"""
from __future__ import annotations

import warnings

import numpy as np

from foveanet.backend import array_module
from foveanet.backend.cuda.random import generator
from foveanet.autograd.function import Function
from foveanet.functional._utils import as_tensor, check_float

__all__ = ["dropout", "dropout1d", "dropout2d", "dropout3d"]


class _Dropout(Function):
    """y = x·m/(1-p), m ~ Bernoulli(1-p) (per element, or per channel broadcast over the
    spatial axes);  dx = g·m/(1-p)."""

    def forward(self, x, mask, scale):
        if mask.dtype == np.bool_:  # elementwise: keep 1 byte per element, scale after
            y = array_module(x).multiply(x, mask)
            y *= scale
        else:                       # per channel: the mask is tiny, already scaled
            y = x * mask
        if self.requires_grad:
            self.mask, self.scale = mask, scale
        return y

    def backward(self, g):
        d = g * self.mask
        if self.mask.dtype == np.bool_:
            d *= self.scale
        return d


def _check(op, input, p):
    x = as_tensor(input, op=op)
    check_float(x, op)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{op}: dropout probability has to be between 0 and 1, but got {p}")
    return x


def dropout(input, p: float = 0.5, training: bool = True, inplace: bool = False):
    """Dropout: zero each element with probability p and scale the rest by 1/(1-p).

        y = x·m/(1-p),  m ~ Bernoulli(1-p) per element
        backward: dx = g·m/(1-p)

    m is drawn from ``foveanet.backend.generator()``. The scaling keeps E[y] = x, so
    evaluation needs no rescaling.

    Args:
        input: a float tensor (or array) of any shape.
        p: probability of zeroing an element, in [0, 1] (default 0.5).
        training: apply dropout (default True); when False, or when p = 0, ``input`` itself
            is returned.
        inplace: accepted for PyTorch compatibility; the result is always a new tensor.

    Shape:
        - Output: the input's shape.

    Example::

        >>> x = fn.ones(2, 8, requires_grad=True)
        >>> _ = fn.manual_seed(0)
        >>> y = F.dropout(x, p=0.5)
        >>> y.numpy()
        array([[2., 2., 2., 0., 0., 0., 0., 0.],
               [0., 2., 2., 2., 2., 2., 2., 2.]], dtype=float32)
        >>> y.sum().backward()
        >>> bool((x.grad.numpy() == y.numpy()).all())
        True
        >>> F.dropout(x, p=0.5, training=False) is x
        True
    """
    x = _check("dropout", input, p)
    if not training or p == 0.0:
        return x
    xp = array_module(x.data)
    if p == 1.0:
        return _Dropout.apply(x, mask=xp.zeros(x.shape, dtype=x.dtype), scale=0.0)
    # float32 uniforms are half the cost of float64 and ample for a keep/drop decision
    keep = generator(xp).random(x.shape, dtype=np.float32) >= p
    return _Dropout.apply(x, mask=keep, scale=1.0 / (1.0 - p))


def _feature_dropout(x, p, training):
    """One draw per (sample, channel), broadcast over the trailing axes."""
    if not training or p == 0.0:
        return x
    shape = x.shape[:2] + (1,) * (x.ndim - 2)
    xp = array_module(x.data)
    if p == 1.0:
        mask = xp.zeros(shape, dtype=x.dtype)
    else:
        keep = generator(xp).random(shape, dtype=np.float32) >= p
        mask = keep.astype(x.dtype)
        mask *= 1.0 / (1.0 - p)
    return _Dropout.apply(x, mask=mask, scale=1.0)


def _maybe_unbatched(op, input, p, training, batched_ndim, layout):
    """Channel dropout for a batched (``batched_ndim``-d) or unbatched (one less) input."""
    x = _check(op, input, p)
    if x.ndim not in (batched_ndim - 1, batched_ndim):
        raise ValueError(f"{op}: expected {layout} input, got shape {tuple(x.shape)}")
    if x.ndim == batched_ndim - 1:
        return _feature_dropout(x.unsqueeze(0), p, training).squeeze(0)
    return _feature_dropout(x, p, training)


def dropout1d(input, p: float = 0.5, training: bool = True, inplace: bool = False):
    """Channel dropout for 1-d maps: each whole channel (N, C, L) is zeroed with probability p.

        y[n, c, :] = x[n, c, :]·m[n, c]/(1-p),  m ~ Bernoulli(1-p) per (sample, channel)
        backward: dx[n, c, :] = g[n, c, :]·m[n, c]/(1-p)

    Args:
        input: (N, C, L) or (C, L) float tensor.
        p: probability of zeroing a channel, in [0, 1] (default 0.5).
        training: apply dropout (default True); when False, or when p = 0, ``input`` itself
            is returned.
        inplace: accepted for PyTorch compatibility; the result is always a new tensor.

    Shape:
        - Output: the input's shape.

    Example::

        >>> _ = fn.manual_seed(0)
        >>> F.dropout1d(fn.ones(1, 4, 3), p=0.5).numpy()
        array([[[2., 2., 2.],
                [2., 2., 2.],
                [2., 2., 2.],
                [0., 0., 0.]]], dtype=float32)
    """
    return _maybe_unbatched("dropout1d", input, p, training, 3, "a 2-d (C, L) or 3-d (N, C, L)")


def dropout2d(input, p: float = 0.5, training: bool = True, inplace: bool = False):
    """Channel dropout for 2-d maps: each whole (H, W) map is zeroed with probability p.

        y[n, c] = x[n, c]·m[n, c]/(1-p),  m ~ Bernoulli(1-p) per (sample, channel)
        backward: dx[n, c] = g[n, c]·m[n, c]/(1-p)

    Like PyTorch, a 3-d input is read as (N, C, L) (1-d channel dropout), with a warning.

    Args:
        input: (N, C, H, W) float tensor.
        p: probability of zeroing a feature map, in [0, 1] (default 0.5).
        training: apply dropout (default True); when False, or when p = 0, ``input`` itself
            is returned.
        inplace: accepted for PyTorch compatibility; the result is always a new tensor.

    Shape:
        - Output: the input's shape.

    Example::

        >>> _ = fn.manual_seed(0)
        >>> y = F.dropout2d(fn.ones(1, 4, 2, 2), p=0.5)
        >>> y.numpy().sum(axis=(2, 3))  # each map is all 2s or all 0s
        array([[8., 8., 8., 0.]], dtype=float32)
    """
    x = _check("dropout2d", input, p)
    if x.ndim == 3:
        warnings.warn("dropout2d: a 3-d input is treated as (N, C, L), i.e. channel-wise 1-d "
                      "dropout (PyTorch's behaviour); use dropout1d to say so", UserWarning, stacklevel=2)
    elif x.ndim != 4:
        raise ValueError(f"dropout2d: expected a 4-d (N, C, H, W) input, got shape {tuple(x.shape)}")
    return _feature_dropout(x, p, training)


def dropout3d(input, p: float = 0.5, training: bool = True, inplace: bool = False):
    """Channel dropout for 3-d maps: each whole (D, H, W) volume is zeroed with probability p.

        y[n, c] = x[n, c]·m[n, c]/(1-p),  m ~ Bernoulli(1-p) per (sample, channel)
        backward: dx[n, c] = g[n, c]·m[n, c]/(1-p)

    Args:
        input: (N, C, D, H, W) or (C, D, H, W) float tensor.
        p: probability of zeroing a channel, in [0, 1] (default 0.5).
        training: apply dropout (default True); when False, or when p = 0, ``input`` itself
            is returned.
        inplace: accepted for PyTorch compatibility; the result is always a new tensor.

    Shape:
        - Output: the input's shape.

    Example::

        >>> _ = fn.manual_seed(0)
        >>> y = F.dropout3d(fn.ones(4, 2, 2, 2), p=0.5)  # unbatched: 4 channels
        >>> y.numpy().reshape(4, -1).max(axis=1)
        array([2., 2., 2., 0.], dtype=float32)
    """
    return _maybe_unbatched("dropout3d", input, p, training, 5, "a 4-d (C, D, H, W) or 5-d (N, C, D, H, W)")
