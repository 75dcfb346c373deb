"""Dropout: zero activations at random while training, scaled so expectations are unchanged.

Inverted dropout: each kept value is multiplied by 1/(1-p), so evaluation is the identity
and no rescaling is needed at test time. Masks come from ``foveanet.backend.generator()``,
so ``foveanet.manual_seed`` makes them reproducible.

``inplace=True`` is accepted for PyTorch compatibility, but the result is always a new
array: overwriting the input would corrupt buffers saved by earlier ops for backward.
"""
from __future__ import annotations

import warnings

import numpy as np

from foveanet import backend
from foveanet.autograd.function import Function
from foveanet.functional._utils import as_tensor, check_float

__all__ = ["dropout", "dropout1d", "dropout2d", "dropout3d"]


class _Dropout(Function):
    """y = x·m/(1-p), m ~ Bernoulli(1-p) (per element, or per channel broadcast over the
    spatial axes);  dx = g·m/(1-p)."""

    def forward(self, x, mask, scale):
        if mask.dtype == np.bool_:  # elementwise: keep 1 byte per element, scale after
            y = np.multiply(x, mask)
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
    """Zero each element with probability p, scale the rest by 1/(1-p); same shape as input.

    Returns ``input`` itself when not training or p = 0. Gradient: ``_Dropout``.
    """
    x = _check("dropout", input, p)
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return _Dropout.apply(x, mask=np.zeros(x.shape, dtype=x.dtype), scale=0.0)
    # float32 uniforms are half the cost of float64 and ample for a keep/drop decision
    keep = backend.generator().random(x.shape, dtype=np.float32) >= p
    return _Dropout.apply(x, mask=keep, scale=1.0 / (1.0 - p))


def _feature_dropout(x, p, training):
    """One draw per (sample, channel), broadcast over the trailing axes."""
    if not training or p == 0.0:
        return x
    shape = x.shape[:2] + (1,) * (x.ndim - 2)
    if p == 1.0:
        mask = np.zeros(shape, dtype=x.dtype)
    else:
        keep = backend.generator().random(shape, dtype=np.float32) >= p
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
    """Channel dropout for (N, C, L) or (C, L): each whole channel is zeroed with
    probability p, kept ones are scaled by 1/(1-p). Gradient: ``_Dropout``."""
    return _maybe_unbatched("dropout1d", input, p, training, 3, "a 2-d (C, L) or 3-d (N, C, L)")


def dropout2d(input, p: float = 0.5, training: bool = True, inplace: bool = False):
    """Channel dropout for (N, C, H, W): whole feature maps are zeroed with probability p.

    Like PyTorch, a 3-d input is read as (N, C, L) (1-d channel dropout), with a warning.
    """
    x = _check("dropout2d", input, p)
    if x.ndim == 3:
        warnings.warn("dropout2d: a 3-d input is treated as (N, C, L), i.e. channel-wise 1-d "
                      "dropout (PyTorch's behaviour); use dropout1d to say so", UserWarning, stacklevel=2)
    elif x.ndim != 4:
        raise ValueError(f"dropout2d: expected a 4-d (N, C, H, W) input, got shape {tuple(x.shape)}")
    return _feature_dropout(x, p, training)


def dropout3d(input, p: float = 0.5, training: bool = True, inplace: bool = False):
    """Channel dropout for (N, C, D, H, W) or (C, D, H, W)."""
    return _maybe_unbatched("dropout3d", input, p, training, 5, "a 4-d (C, D, H, W) or 5-d (N, C, D, H, W)")
