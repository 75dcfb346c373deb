"""Binary and regression losses: binary_cross_entropy(_with_logits), mse_loss, l1_loss,
smooth_l1_loss, with PyTorch's reductions ('none' | 'mean' | 'sum') and weighting rules.
Element weights are constants, as in PyTorch.
"""
from __future__ import annotations

import numpy as np

from foveanet.autograd.function import Function, unbroadcast
from foveanet.backend.arrays import array_module
from foveanet.functional._loss_common import _const, _denominator, _finish, _grad_scale, _reduction
from foveanet.functional._utils import as_tensor, check_float
from foveanet.functional.activation import _sigmoid

__all__ = ["binary_cross_entropy_with_logits", "binary_cross_entropy", "mse_loss", "l1_loss",
           "smooth_l1_loss"]


# ------------------------------------------------------------------ binary and regression


def _pair(op, input, target, weight, reduction, size_average, reduce, same_shape=True):
    reduction = _reduction(op, reduction, size_average, reduce)
    x = as_tensor(input, op=op)
    t = as_tensor(target, "target", op)
    check_float(x, op)
    if t.dtype.kind != "f":
        t = t.to(x.dtype)  # 0/1 integer labels are common for BCE; PyTorch wants floats
    if same_shape and t.shape != x.shape:
        raise ValueError(f"{op}: target shape {tuple(t.shape)} must match input shape {tuple(x.shape)}")
    return x, t, _const(op, weight, "weight", x.dtype, x), reduction


def _broadcastable(op, name, arr, shape):
    try:
        ok = arr is None or np.broadcast_shapes(arr.shape, shape) == tuple(shape)
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(f"{op}: {name} of shape {tuple(arr.shape)} does not broadcast to the "
                         f"input shape {tuple(shape)}")


def _scaled(g, d, w):
    """Upstream gradient of each element: g / D (mean) times the element weight."""
    g = g * _grad_scale(d) if not isinstance(d, float) or d != 1.0 else g
    return g if w is None else g * w


class _BCEWithLogits(Function):
    """ℓ = -w·[p·t·log σ(x) + (1-t)·log(1-σ(x))], p = pos_weight, computed as
        ℓ = w·[(1-t)·x + (1 + (p-1)t)·sp],  sp = -log σ(x) = log1p(e^-|x|) + max(-x, 0)
    (no overflow at any x). dx = w·g·((1+(p-1)t)·σ(x) - p·t),  dt = w·g·((p-1)·sp - x).
    """

    def forward(self, x, t, weight, pos_weight, reduction):
        xp = array_module(x)
        sp = xp.log1p(xp.exp(-xp.abs(x)))
        sp += xp.maximum(-x, 0)
        lw = None if pos_weight is None else (pos_weight - 1.0) * t + 1.0
        loss = (1.0 - t) * x
        loss += sp if lw is None else lw * sp
        if weight is not None:
            loss *= weight
        d = float(x.size) if reduction == "mean" else 1.0
        if self.requires_grad:
            self.x, self.t, self.sp, self.lw, self.w, self.pw, self.d = x, t, sp, lw, weight, pos_weight, d
        return _finish(loss, reduction, d, x.dtype)

    def backward(self, g):
        gs = _scaled(g, self.d, self.w)
        dx = dt = None
        if self.needs_input_grad[0]:
            s = _sigmoid(self.x)
            if self.pw is None:
                s -= self.t
            else:
                s *= self.lw
                s -= self.pw * self.t
            dx = unbroadcast(s * gs, self.x.shape)
        if self.needs_input_grad[1]:
            dtt = -self.x if self.pw is None else (self.pw - 1.0) * self.sp - self.x
            dt = unbroadcast(dtt * gs, self.t.shape)
        return dx, dt


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction: str = "mean", pos_weight=None):
    """Binary cross entropy of logits: a sigmoid and the binary cross entropy in one stable step.

        ℓ = -w·[p·t·log σ(x) + (1-t)·log(1 - σ(x))]      (p = pos_weight, 1 if not given)
          = w·[(1-t)·x + (1 + (p-1)·t)·sp],   sp = -log σ(x) = log1p(e^-|x|) + max(-x, 0)
        backward: dx = w·g·((1 + (p-1)·t)·σ(x) - p·t),   dt = w·g·((p-1)·sp - x)

    The second form is the one computed, so that no x overflows. 'mean' averages over all
    elements.

    Args:
        input: logits x, any shape ``(*)``.
        target: t, the input's shape; values in [0, 1] (integer 0/1 labels are cast).
        weight: w, broadcastable to the input, or None.
        size_average: PyTorch's deprecated argument; use reduction.
        reduce: PyTorch's deprecated argument; use reduction.
        reduction: 'mean' (default), 'sum' or 'none'.
        pos_weight: p, the weight of the positive term, broadcast along the last axis
            (e.g. (C,) for C labels), or None.

    Shape:
        - Output: a scalar, or the input's shape for reduction='none'.

    Example::

        >>> x = fn.tensor([0., 2., -1.], requires_grad=True)
        >>> t = fn.tensor([1., 1., 0.])
        >>> loss = F.binary_cross_entropy_with_logits(x, t)
        >>> round(loss.item(), 6)  # the last float32 digit depends on the CPU's exp/log1p
        0.377779
        >>> loss.backward()
        >>> x.grad.numpy()  # (σ(x) - t) / 3
        array([-0.16666667, -0.03973433,  0.08964714], dtype=float32)
        >>> F.binary_cross_entropy_with_logits(fn.tensor([200., -200.]), fn.tensor([0., 1.]),
        ...                                    reduction="none").numpy()  # no overflow
        array([200., 200.], dtype=float32)
    """
    op = "binary_cross_entropy_with_logits"
    x, t, w, reduction = _pair(op, input, target, weight, reduction, size_average, reduce)
    pw = _const(op, pos_weight, "pos_weight", x.dtype, x)
    _broadcastable(op, "weight", w, x.shape)
    _broadcastable(op, "pos_weight", pw, x.shape)
    return _BCEWithLogits.apply(x, t, weight=w, pos_weight=pw, reduction=reduction)


class _BCE(Function):
    """ℓ = -w·[t·log x + (1-t)·log(1-x)] for probabilities x, each log clamped at -100 (as
    PyTorch, so x = 0 or 1 gives a finite loss). dx = w·g·(x - t)/max(x(1-x), 1e-12),
    dt = w·g·(log(1-x) - log x) (clamped logs)."""

    def forward(self, x, t, weight, reduction):
        xp = array_module(x)
        with np.errstate(divide="ignore"):
            lx = xp.maximum(xp.log(x), -100.0)
            l1x = xp.maximum(xp.log1p(-x), -100.0)
        loss = lx - l1x
        loss *= t
        loss += l1x
        xp.negative(loss, out=loss)
        if weight is not None:
            loss *= weight
        d = float(x.size) if reduction == "mean" else 1.0
        if self.requires_grad:
            self.x, self.t, self.w, self.d, self.logs = x, t, weight, d, (lx, l1x)
        return _finish(loss, reduction, d, x.dtype)

    def backward(self, g):
        gs, x = _scaled(g, self.d, self.w), self.x
        dx = dt = None
        if self.needs_input_grad[0]:
            dx = unbroadcast((x - self.t) / array_module(x).maximum(x * (1.0 - x), 1e-12) * gs, x.shape)
        if self.needs_input_grad[1]:
            dt = unbroadcast((self.logs[1] - self.logs[0]) * gs, self.t.shape)
        return dx, dt


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                         reduction: str = "mean"):
    """Binary cross entropy of probabilities in [0, 1] (for logits: the stabler ``_with_logits``).

        ℓ = -w·[t·log x + (1-t)·log(1 - x)]
        backward: dx = w·g·(x - t)/max(x·(1 - x), 1e-12),   dt = w·g·(log(1 - x) - log x)

    Each log, in ℓ and in dt, is clamped at -100 (as PyTorch, so x = 0 or 1 gives a finite
    loss); 'mean' averages over all elements.

    Args:
        input: probabilities x in [0, 1], any shape (ValueError outside).
        target: t, the input's shape; values in [0, 1] (integer 0/1 labels are cast).
        weight: w, broadcastable to the input, or None.
        size_average: PyTorch's deprecated argument; use reduction.
        reduce: PyTorch's deprecated argument; use reduction.
        reduction: 'mean' (default), 'sum' or 'none'.

    Shape:
        - Output: a scalar, or the input's shape for reduction='none'.

    Example::

        >>> x = fn.tensor([0.5, 0.8, 0.1], requires_grad=True)
        >>> t = fn.tensor([1., 1., 0.])
        >>> F.binary_cross_entropy(x, t, reduction="none").numpy()  # -log 0.5, -log 0.8, -log 0.9
        array([0.6931472 , 0.22314358, 0.10536052], dtype=float32)
        >>> loss = F.binary_cross_entropy(x, t)
        >>> loss.backward()
        >>> x.grad.numpy()  # (x - t) / (x(1 - x)) / 3
        array([-0.6666667, -0.4166667,  0.3703704], dtype=float32)
    """
    op = "binary_cross_entropy"
    x, t, w, reduction = _pair(op, input, target, weight, reduction, size_average, reduce)
    _broadcastable(op, "weight", w, x.shape)
    if x.numel() and (x.data.min() < 0 or x.data.max() > 1):
        raise ValueError(f"{op}: input must hold probabilities in [0, 1], got values in "
                         f"[{x.data.min():.4g}, {x.data.max():.4g}]; use "
                         "binary_cross_entropy_with_logits for raw scores")
    return _BCE.apply(x, t, weight=w, reduction=reduction)


class _Pointwise(Function):
    """ℓ = w·ρ(x - t) with d = x - t broadcast:
        mse:       ρ = d²,                              ρ' = 2d
        l1:        ρ = |d|,                             ρ' = sign d (0 at 0)
        smooth_l1: ρ = d²/(2β) if |d| < β else |d|-β/2,  ρ' = d/β or sign d
    'mean' divides by the element count, or by Σw when weighted (PyTorch's rule).
    dx = w·g·ρ'(d)/D and dt = -dx, each summed back over broadcast axes."""

    def forward(self, x, t, weight, kind, beta, reduction):
        xp = array_module(x)
        d = x - t
        if kind == "mse":
            loss = d * d
        elif kind == "l1" or beta == 0.0:
            loss = xp.abs(d)
        else:
            ad = xp.abs(d)
            loss = xp.where(ad < beta, d * d * (0.5 / beta), ad - 0.5 * beta)
        if weight is not None:
            loss *= weight  # loss is fresh and already has the broadcast shape
        denom = 1.0 if reduction != "mean" else _denominator(weight) if weight is not None else float(loss.size)
        if self.requires_grad:
            self.d, self.w, self.kind, self.beta, self.denom = d, weight, kind, beta, denom
            self.shapes = (x.shape, t.shape)
        return _finish(loss, reduction, denom, x.dtype)

    def backward(self, g):
        d = self.d
        xp = array_module(d)
        if self.kind == "mse":
            r = d * 2.0
        elif self.kind == "l1" or self.beta == 0.0:
            r = xp.sign(d)
        else:
            r = xp.where(xp.abs(d) < self.beta, d * (1.0 / self.beta), xp.sign(d))
        r *= _scaled(g, self.denom, self.w)
        dx = unbroadcast(r, self.shapes[0]) if self.needs_input_grad[0] else None
        dt = -unbroadcast(r, self.shapes[1]) if self.needs_input_grad[1] else None
        return dx, dt


def _regression(op, kind, input, target, reduction, size_average, reduce, weight=None, beta=1.0):
    x, t, w, reduction = _pair(op, input, target, weight, reduction, size_average, reduce, False)
    try:
        np.broadcast_shapes(x.shape, t.shape)
    except ValueError:
        raise ValueError(f"{op}: input shape {tuple(x.shape)} and target shape "
                         f"{tuple(t.shape)} do not broadcast") from None
    if w is not None and w.shape != x.shape:
        raise ValueError(f"{op}: weight shape {tuple(w.shape)} must match input shape {tuple(x.shape)}")
    if beta < 0:
        raise ValueError(f"{op}: beta must be >= 0, got {beta}")
    return _Pointwise.apply(x, t, weight=w, kind=kind, beta=float(beta), reduction=reduction)


def mse_loss(input, target, size_average=None, reduce=None, reduction: str = "mean", weight=None):
    """Mean squared error between input and target.

        ℓ = w·(x - t)²,  x and t broadcast
        backward: dx = w·g·2(x - t)/D,  dt = -dx,  each summed back over broadcast axes

    'mean' divides the sum by the element count, or by Σ w when weighted; D is that divisor
    for 'mean', else 1.

    Args:
        input: x, any shape.
        target: t, broadcastable with the input.
        size_average: PyTorch's deprecated argument; use reduction.
        reduce: PyTorch's deprecated argument; use reduction.
        reduction: 'mean' (default), 'sum' or 'none'.
        weight: w, the input's shape, or None.

    Shape:
        - Output: a scalar, or the broadcast shape for reduction='none'.

    Example::

        >>> x = fn.tensor([1., 2., 4.], requires_grad=True)
        >>> loss = F.mse_loss(x, fn.tensor([1., 0., 1.]))
        >>> loss.numpy()  # (0 + 4 + 9) / 3
        array(4.3333335, dtype=float32)
        >>> loss.backward()
        >>> x.grad.numpy()  # 2(x - t) / 3
        array([0.       , 1.3333334, 2.       ], dtype=float32)
    """
    return _regression("mse_loss", "mse", input, target, reduction, size_average, reduce, weight)


def l1_loss(input, target, size_average=None, reduce=None, reduction: str = "mean", weight=None):
    """Mean absolute error between input and target.

        ℓ = w·|x - t|,  x and t broadcast
        backward: dx = w·g·sign(x - t)/D  (0 where x = t),  dt = -dx,
                  each summed back over broadcast axes

    'mean' divides the sum by the element count, or by Σ w when weighted; D is that divisor
    for 'mean', else 1.

    Args:
        input: x, any shape.
        target: t, broadcastable with the input.
        size_average: PyTorch's deprecated argument; use reduction.
        reduce: PyTorch's deprecated argument; use reduction.
        reduction: 'mean' (default), 'sum' or 'none'.
        weight: w, the input's shape, or None.

    Shape:
        - Output: a scalar, or the broadcast shape for reduction='none'.

    Example::

        >>> x = fn.tensor([1., 2., 4.], requires_grad=True)
        >>> loss = F.l1_loss(x, fn.tensor([1., 0., 1.]))
        >>> loss.numpy()  # (0 + 2 + 3) / 3
        array(1.6666666, dtype=float32)
        >>> loss.backward()
        >>> x.grad.numpy()
        array([0.        , 0.33333334, 0.33333334], dtype=float32)
    """
    return _regression("l1_loss", "l1", input, target, reduction, size_average, reduce, weight)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction: str = "mean",
                   beta: float = 1.0):
    """Smooth L1 loss: quadratic for |x - t| < β, linear beyond (Huber's loss divided by β).

        ℓ = d²/(2β) if |d| < β else |d| - β/2,  d = x - t broadcast  (β = 0: the L1 loss)
        backward: dx = g·(d/β if |d| < β else sign d)/D,  dt = -dx,
                  each summed back over broadcast axes

    'mean' divides the sum by the element count; D is that count for 'mean', else 1.

    Args:
        input: x, any shape.
        target: t, broadcastable with the input.
        size_average: PyTorch's deprecated argument; use reduction.
        reduce: PyTorch's deprecated argument; use reduction.
        reduction: 'mean' (default), 'sum' or 'none'.
        beta: β >= 0, where the loss turns from quadratic to linear (default 1).

    Shape:
        - Output: a scalar, or the broadcast shape for reduction='none'.

    Example::

        >>> x = fn.tensor([0.5, 2., -4.], requires_grad=True)
        >>> loss = F.smooth_l1_loss(x, fn.zeros(3), reduction="none")
        >>> loss.numpy()  # 0.5²/2, 2 - 0.5, 4 - 0.5
        array([0.125, 1.5  , 3.5  ], dtype=float32)
        >>> loss.sum().backward()
        >>> x.grad.numpy()
        array([ 0.5,  1. , -1. ], dtype=float32)
        >>> F.smooth_l1_loss(x, fn.zeros(3), beta=2.).numpy()  # (0.0625 + 1 + 3) / 3
        array(1.3541666, dtype=float32)
    """
    return _regression("smooth_l1_loss", "smooth_l1", input, target, reduction, size_average,
                       reduce, beta=beta)
