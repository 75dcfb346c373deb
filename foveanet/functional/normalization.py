"""Normalisation layers: batch_norm, layer_norm, group_norm.

All three standardise x over some axes, x̂ = (x - μ) / σ with σ = sqrt(var + eps) and the
biased variance, then apply a per-channel (or per-element) affine y = w x̂ + b. They share
one gradient: with gw = g·w (g = dL/dy) and M the number of values in each statistic,

    dx = (1/σ) · (gw - mean(gw) - x̂ · mean(gw · x̂))          (means over the same axes)
    dw = Σ g · x̂,   db = Σ g                                  (over every non-affine axis)

which is the chain rule through μ and σ folded into one pass (no graph of small ops).
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from foveanet.autograd.function import Function
from foveanet.backend import array_module, device_of, kernels
from foveanet.autograd.tensor import Tensor
from foveanet.functional._utils import as_optional, as_tensor, check_float
from foveanet.functional.activation import _relu_backward

__all__ = ["batch_norm", "layer_norm", "group_norm"]


def _scale_shift(xhat, weight, bias, sl, y, xp=np) -> None:
    """``y[:, sl] = weight[sl] * xhat + bias[sl]`` per channel of the block ``sl`` (either
    may be None): batch norm's affine step, shared with SyncBatchNorm (``xp``: the array
    module of the arrays)."""
    if weight is not None:
        xp.multiply(xhat, weight[sl, None], out=y[:, sl])
    else:
        y[:, sl] = xhat
    if bias is not None:
        y[:, sl] += bias[sl, None]


def _chan_sum(a3: np.ndarray) -> np.ndarray:
    """Σ over axes 0 and 2 of an (N, C, L) array -> (C,).

    The contiguous L axis goes first: NumPy sums it pairwise, which keeps float32 round-off
    small on large feature maps, and the remaining N-axis sum is short.
    """
    return a3.sum(axis=2).sum(axis=0)


def _data(x):
    return x.data if isinstance(x, Tensor) else x


def _size(arr) -> int:
    """Elements of an array of any module (or of a list), read from its shape."""
    shape = getattr(arr, "shape", None)
    return math.prod(shape) if shape is not None else np.size(arr)


def _is_array(arr) -> bool:
    """A NumPy array or a device one: something ``+=`` updates in place."""
    return isinstance(arr, np.ndarray) or array_module(arr) is not np


def _check_per_channel(op: str, name: str, arr, c: int, shape) -> None:
    if arr is not None and _size(arr) != c:
        raise ValueError(
            f"{op}: {name} has {_size(arr)} elements, expected {c} "
            f"(one per channel of input of shape {tuple(shape)})"
        )


class _BatchNorm(Function):
    """Fused batch norm over an (N, C, *) input; statistics per channel over (N, *).

    ``relu=True`` (``batch_norm_relu``): z = max(y, 0) as y is written, and dY = dZ·[not
    z <= 0] first in the backward, ReLU's own rule: the numbers of batch norm then relu."""

    relu_out = None  # z, kept for the backward of a fused ReLU

    def forward(self, x, weight, bias, running_mean=None, running_var=None, training=False,
                momentum=0.1, eps=1e-5, relu=False):
        n, c = x.shape[:2]
        x3 = x.reshape(n, c, -1)  # a view: (N, C, L) covers (N, C), (N, C, L) and (N, C, H, W)
        m = n * x3.shape[2]
        xp = array_module(x)
        xhat = xp.empty_like(x3)
        y = xp.empty_like(x3)
        mean = xp.empty(c, x.dtype) if training else running_mean.astype(x.dtype, copy=False)
        var = xp.empty(c, x.dtype) if training else running_var.astype(x.dtype, copy=False)
        inv_std = xp.empty(c, x.dtype)
        need_xhat = (self.needs_input_grad[0] and training) or self.needs_input_grad[1]
        compiled = kernels(x).compiled  # one compiled pass per step where there is one
        fast = compiled and compiled.batch_norm_forward_job(
            x3, weight, bias, mean, var, inv_std, xhat if need_xhat else None, y, training, eps,
            relu)

        def job(sl):
            xs = x3[:, sl]
            if training:
                mean[sl] = _chan_sum(xs) / m
            xc = xp.subtract(xs, mean[sl, None], out=xhat[:, sl])
            if training:
                var[sl] = _chan_sum(xc * xc) / m
            inv_std[sl] = 1 / xp.sqrt(var[sl] + eps)
            xc *= inv_std[sl, None]  # xhat
            _scale_shift(xc, weight, bias, sl, y, xp)
            if relu:
                xp.maximum(y[:, sl], 0, out=y[:, sl])

        kernels(x).each_channel_block(c, x3.size, fast or job)  # in parallel on the CPU
        if training:
            if running_mean is not None:
                running_mean *= 1 - momentum
                running_mean += (momentum * mean).astype(running_mean.dtype, copy=False)
            if running_var is not None:
                # the running estimate uses the unbiased variance, as PyTorch does
                running_var *= 1 - momentum
                running_var += (momentum * (m / (m - 1)) * var).astype(running_var.dtype, copy=False)
        self.training, self.m, self.shape = training, m, x.shape
        self.inv_std, self.weight = inv_std, weight
        self.xhat = xhat if need_xhat else None
        if relu and self.requires_grad:
            self.relu_out = y
        return y.reshape(x.shape)

    def backward(self, g):
        n, c = self.shape[:2]
        g3 = g.reshape(n, c, -1)
        if self.relu_out is not None:
            g3 = _relu_backward(g3, self.relu_out, 0.0)
        need_x, need_w, need_b = self.needs_input_grad
        w = self.weight
        scale = self.inv_std if w is None else w * self.inv_std
        want_g = need_b or (need_x and self.training)
        want_gx = need_w or (need_x and self.training)
        xp = array_module(g)
        sum_g = xp.empty(c, g.dtype) if want_g else None
        sum_gx = xp.empty(c, g.dtype) if want_gx else None
        dx = xp.empty(g3.shape, g.dtype) if need_x else None
        xhat, m = self.xhat, self.m

        def job(sl):
            gs = g3[:, sl]
            if want_g:
                sum_g[sl] = _chan_sum(gs)
            if want_gx:
                sum_gx[sl] = _chan_sum(gs * xhat[:, sl])
            if not need_x:
                return
            d = dx[:, sl]
            if self.training:
                # (w/σ)/M · (M g - Σg - x̂ Σ g x̂), with the 1/M moved inside the sums
                xp.multiply(xhat[:, sl], (sum_gx[sl] / m)[:, None], out=d)
                xp.subtract(gs, d, out=d)
                d -= (sum_g[sl] / m)[:, None]
                d *= scale[sl, None]
            else:
                xp.multiply(gs, scale[sl, None], out=d)

        compiled = kernels(g).compiled
        fast = compiled and compiled.batch_norm_backward_job(
            g3, xhat if want_gx else None, scale, sum_g, sum_gx, dx, self.training)
        kernels(g).each_channel_block(c, g3.size, fast or job)
        dw = sum_gx.reshape(w.shape) if need_w else None
        db = sum_g.reshape(self.inputs[2].data.shape) if need_b else None
        return (dx.reshape(self.shape) if need_x else None), dw, db


def batch_norm_relu(input, running_mean, running_var, weight=None, bias=None, training=False,
                    momentum=0.1, eps=1e-5):
    """``relu(batch_norm(...))`` as one op: the ReLU applied as each row of the output is
    written rather than as another pass over it, with the numbers of the two ops.
    ``nn.Sequential`` runs its BatchNorm + ReLU pairs through it; not traceable (an exporter
    sees the two ops run apart)."""
    return _batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps,
                       relu=True)


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Batch normalisation (Ioffe & Szegedy 2015): each channel standardised over the batch.

    Per channel c, over the ``M = N·prod(*)`` values of the channel:

        y = w·(x - μ)/σ + b,   σ = sqrt(var + eps)

    training=True: μ and var (biased) are the batch's, and the running statistics, when
    given, are updated in place with the unbiased variance, as PyTorch:

        running_mean <- (1 - momentum)·running_mean + momentum·μ
        running_var  <- (1 - momentum)·running_var  + momentum·var·M/(M - 1)

    training=False: μ, var = running_mean, running_var.

    backward (x̂ = (x - μ)/σ, sums over ``(N, *)``):

        training: dx = (w/σ)/M·(M·g - Σ g - x̂·Σ g x̂)
        eval:     dx = g·w/σ
        dw = Σ g x̂,   db = Σ g

    Args:
        input: (N, C) or ``(N, C, *)``, e.g. (N, C, L) or (N, C, H, W); float.
        running_mean: (C,) tensor or array updated in place when training, or None.
        running_var: (C,) likewise; both are required when not training.
        weight: w, (C,) or None (default: 1).
        bias: b, (C,) or None (default: 0).
        training: use (and record) the batch statistics (default False).
        momentum: a float (default 0.1); PyTorch's momentum=None (a cumulative average) is
            resolved by the BatchNorm modules.
        eps: added to the variance (default 1e-5).

    Shape:
        - Output: the input's shape.

    Example::

        >>> x = fn.tensor([[1., 10.], [3., 30.]], requires_grad=True)  # N = 2, C = 2
        >>> mean, var = fn.zeros(2), fn.ones(2)
        >>> b = fn.tensor([0., 1.], requires_grad=True)
        >>> y = F.batch_norm(x, mean, var, fn.tensor([1., 2.]), b, training=True)
        >>> y.numpy().round(4)
        array([[-1., -1.],
               [ 1.,  3.]], dtype=float32)
        >>> mean.numpy(), var.numpy()  # 0.9·old + 0.1·(batch mean, unbiased batch variance)
        (array([0.2, 2. ], dtype=float32), array([ 1.1, 20.9], dtype=float32))
        >>> y.sum().backward()
        >>> x.grad.numpy(), b.grad.numpy()  # a uniform shift of x changes nothing
        (array([[0., 0.],
               [0., 0.]], dtype=float32), array([2., 2.], dtype=float32))
        >>> F.batch_norm(x, mean, var).numpy().round(4)  # eval: the running statistics
        array([[0.7628, 1.7499],
               [2.6697, 6.1247]], dtype=float32)
    """
    return _batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)


def _batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps,
                relu=False):
    op = "batch_norm"
    x = as_tensor(input, "input", op)
    check_float(x, op)
    if x.ndim < 2:
        raise ValueError(f"{op}: expected an input of shape (N, C) or (N, C, *), got shape {tuple(x.shape)}")
    w, b = as_optional(weight, "weight", op), as_optional(bias, "bias", op)
    rm, rv = _data(running_mean), _data(running_var)
    c = x.shape[1]
    for name, arr in (("running_mean", rm), ("running_var", rv),
                      ("weight", _data(w)), ("bias", _data(b))):
        _check_per_channel(op, name, arr, c, x.shape)
    if not training and (rm is None or rv is None):
        raise ValueError(f"{op}: running_mean and running_var must be given in evaluation mode (training=False)")
    if training and x.data.size // c <= 1:
        raise ValueError(
            f"{op}: expected more than 1 value per channel when training, got input of shape {tuple(x.shape)}"
        )
    if momentum is None or not isinstance(momentum, numbers.Real):
        raise TypeError(
            f"{op}: momentum must be a float, got {momentum!r} "
            "(the BatchNorm module turns momentum=None into a cumulative average)"
        )
    for name, arr in (("running_mean", rm), ("running_var", rv)):
        if arr is not None and not _is_array(arr):
            raise TypeError(f"{op}: {name} must be a Tensor or ndarray (it is updated in place), got {type(arr).__name__}")
        if arr is not None and array_module(arr) is not array_module(x.data):
            raise RuntimeError(f"{op}: expected {name} on the same device, but found "
                               f"{device_of(arr)} and {x.device}")
    return _BatchNorm.apply(
        x, w, b,
        running_mean=None if rm is None else rm.reshape(-1),
        running_var=None if rv is None else rv.reshape(-1),
        training=bool(training), momentum=float(momentum), eps=float(eps), relu=relu,
    )


class _RowNorm(Function):
    """Standardise each row of an (R, K) view, then an affine on an (R', D) view.

    layer_norm: the statistic rows are the affine rows (D = K). group_norm: statistics per
    (sample, group), affine per channel, so the same array is seen as (N·G, K) and as
    (N, C, L) - both plain reshapes of contiguous data.
    """

    def forward(self, x, weight, bias, stat_shape=None, affine_shape=None, w_shape=None, eps=1e-5):
        x2 = x.reshape(stat_shape)
        mean = x2.mean(axis=-1, keepdims=True)
        xc = x2 - mean
        var = (xc * xc).mean(axis=-1, keepdims=True)
        inv_std = (1 / array_module(x).sqrt(var + eps)).astype(x.dtype, copy=False)
        xc *= inv_std
        xhat = xc.reshape(affine_shape)
        y = xhat * weight.reshape(w_shape) if weight is not None else xhat.copy()
        if bias is not None:
            y += bias.reshape(w_shape)
        self.shape, self.stat_shape, self.affine_shape, self.w_shape = x.shape, stat_shape, affine_shape, w_shape
        self.inv_std, self.weight = inv_std, weight
        self.xhat = xhat if self.requires_grad else None
        return y.reshape(x.shape)

    def _reduce(self, a):
        """Σ over every affine axis that is not the weight's -> weight-shaped."""
        axes = tuple(i for i, s in enumerate(self.w_shape) if s == 1)
        return a.sum(axis=axes).reshape(-1)

    def backward(self, g):
        need_x, need_w, need_b = self.needs_input_grad
        ga = g.reshape(self.affine_shape)
        dx = dw = db = None
        if need_w:
            dw = self._reduce(ga * self.xhat).reshape(self.inputs[1].data.shape)
        if need_b:
            db = self._reduce(ga).reshape(self.inputs[2].data.shape)
        if need_x:
            gw = ga * self.weight.reshape(self.w_shape) if self.weight is not None else ga
            gw = gw.reshape(self.stat_shape)
            xhat = self.xhat.reshape(self.stat_shape)
            dx = gw - gw.mean(axis=-1, keepdims=True)
            dx -= xhat * (gw * xhat).mean(axis=-1, keepdims=True)
            dx *= self.inv_std
            dx = dx.reshape(self.shape)
        return dx, dw, db


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Layer normalisation (Ba et al. 2016): each sample standardised over its last dims.

    Each row r (one index of the leading dims) is standardised over its
    D = prod(normalized_shape) values, then an elementwise affine:

        y = w·(x - μ_r)/σ_r + b,   σ_r = sqrt(var_r + eps)  (biased variance)

    backward (gw = g·w, x̂ = (x - μ_r)/σ_r, means over the D values of the row):

        dx = (1/σ_r)·(gw - mean(gw) - x̂·mean(gw·x̂)),   dw = Σ_rows g·x̂,   db = Σ_rows g

    Args:
        input: ``(*, *normalized_shape)``, float.
        normalized_shape: the trailing shape to normalise over, an int or a tuple.
        weight: w, of shape normalized_shape, or None (default: 1).
        bias: b, of shape normalized_shape, or None (default: 0).
        eps: added to the variance (default 1e-5).

    Shape:
        - Output: the input's shape.

    Example::

        >>> x = fn.tensor([[1., 2., 3., 4.]], requires_grad=True)
        >>> w = fn.ones(4, requires_grad=True)
        >>> y = F.layer_norm(x, 4, w)
        >>> y.numpy().round(4)  # (x - 2.5) / sqrt(1.25)
        array([[-1.3416, -0.4472,  0.4472,  1.3416]], dtype=float32)
        >>> y[0, 0].backward()
        >>> x.grad.numpy().round(4)
        array([[ 0.2683, -0.3578, -0.0894,  0.1789]], dtype=float32)
        >>> w.grad.numpy().round(4)
        array([-1.3416,  0.    ,  0.    ,  0.    ], dtype=float32)
    """
    op = "layer_norm"
    x = as_tensor(input, "input", op)
    check_float(x, op)
    if isinstance(normalized_shape, numbers.Integral):
        normalized_shape = (int(normalized_shape),)
    shape = tuple(int(s) for s in normalized_shape)
    k = len(shape)
    if k == 0 or x.ndim < k or tuple(x.shape[x.ndim - k:]) != shape:
        raise ValueError(
            f"{op}: normalized_shape {shape} expects an input of shape (*, {', '.join(map(str, shape))}), "
            f"got shape {tuple(x.shape)}"
        )
    w, b = as_optional(weight, "weight", op), as_optional(bias, "bias", op)
    for name, p in (("weight", w), ("bias", b)):
        if p is not None and tuple(p.shape) != shape:
            raise ValueError(f"{op}: {name} has shape {tuple(p.shape)}, expected normalized_shape {shape}")
    d = math.prod(shape)
    return _RowNorm.apply(x, w, b, stat_shape=(-1, d), affine_shape=(-1, d), w_shape=(1, d), eps=float(eps))


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Group normalisation (Wu & He 2018): groups of channels standardised per sample.

    Statistics per (sample n, group) over its ``K = (C/G)·prod(*)`` values, affine per channel:

        y = w_c·(x - μ_ng)/σ_ng + b_c,   σ_ng = sqrt(var_ng + eps)  (biased variance)

    backward (gw = g·w_c, x̂ = (x - μ_ng)/σ_ng, means over the K values of the group):

        dx = (1/σ_ng)·(gw - mean(gw) - x̂·mean(gw·x̂)),   dw_c = Σ_(N,*) g·x̂,   db_c = Σ_(N,*) g

    Args:
        input: ``(N, C, *)``, float, C divisible by num_groups.
        num_groups: G, the number of groups (1: layer norm over ``(C, *)``; C: instance norm).
        weight: w, (C,) or None (default: 1).
        bias: b, (C,) or None (default: 0).
        eps: added to the variance (default 1e-5).

    Shape:
        - Output: the input's shape.

    Example::

        >>> x = fn.arange(8.).reshape(1, 4, 2)  # groups: channels 0-1 (0..3), 2-3 (4..7)
        >>> F.group_norm(x, 2).numpy().round(4)
        array([[[-1.3416, -0.4472],
                [ 0.4472,  1.3416],
                [-1.3416, -0.4472],
                [ 0.4472,  1.3416]]], dtype=float32)
        >>> w = fn.ones(4, requires_grad=True)
        >>> F.group_norm(x, 2, w).sum().backward()
        >>> w.grad.numpy().round(4)  # Σ x̂ over each channel
        array([-1.7888,  1.7888, -1.7888,  1.7888], dtype=float32)
    """
    op = "group_norm"
    x = as_tensor(input, "input", op)
    check_float(x, op)
    if x.ndim < 2:
        raise ValueError(f"{op}: expected an input of shape (N, C, *), got shape {tuple(x.shape)}")
    n, c = x.shape[:2]
    if not isinstance(num_groups, numbers.Integral) or num_groups <= 0 or c % num_groups:
        raise ValueError(
            f"{op}: expected the number of channels ({c}) to be divisible by num_groups "
            f"({num_groups}), got input of shape {tuple(x.shape)}"
        )
    w, b = as_optional(weight, "weight", op), as_optional(bias, "bias", op)
    _check_per_channel(op, "weight", _data(w), c, x.shape)
    _check_per_channel(op, "bias", _data(b), c, x.shape)
    return _RowNorm.apply(x, w, b, stat_shape=(n * int(num_groups), -1), affine_shape=(n, c, -1),
                          w_shape=(1, c, 1), eps=float(eps))
