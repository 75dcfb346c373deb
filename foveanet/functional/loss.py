"""Classification losses: cross_entropy, nll_loss, with PyTorch's reductions
('none' | 'mean' | 'sum') and weighting rules. The binary and regression losses
(binary_cross_entropy(_with_logits), mse_loss, l1_loss, smooth_l1_loss) live in
``loss_regression`` and are re-exported here.

Class-index losses work on a (N, C, L) view of the input: (C,) is (1, C, 1), (N, C) is
(N, C, 1) and (N, C, d1, d2, ...) is (N, C, d1·d2·...), so classification and segmentation
share one code path. Weights (class or element) are constants, as in PyTorch.
"""
from __future__ import annotations

import numpy as np

from foveanet.autograd.function import Function
from foveanet.backend.arrays import array_module
from foveanet.functional._loss_common import _const, _denominator, _finish, _grad_scale, _reduction
from foveanet.functional._utils import as_tensor, check_float
from foveanet.functional.loss_regression import (  # noqa: F401  (re-exported)
    binary_cross_entropy, binary_cross_entropy_with_logits, l1_loss, mse_loss, smooth_l1_loss,
)

__all__ = ["cross_entropy", "nll_loss", "binary_cross_entropy_with_logits", "binary_cross_entropy",
           "mse_loss", "l1_loss", "smooth_l1_loss"]


# ------------------------------------------------------------------ argument checks


def _layout(op, input, weight):
    """The input, its (N, C, L) view shape and the class weights (C,), checked."""
    x = as_tensor(input, op=op)
    check_float(x, op)
    if x.ndim == 0:
        raise ValueError(f"{op}: input must be (C,), (N, C) or (N, C, d1, ...), got a 0-d tensor")
    c = x.shape[0] if x.ndim == 1 else x.shape[1]
    dims = (1 if x.ndim == 1 else x.shape[0], c, int(np.prod(x.shape[2:], dtype=np.int64)))
    w = _const(op, weight, "weight", x.dtype, x)
    if w is not None and w.shape != (c,):
        raise ValueError(f"{op}: weight has shape {tuple(w.shape)}, expected ({c},), one per class")
    return x, dims, w


def _class_targets(op, x, dims, t, ignore_index):
    """Integer targets checked against the input, as (N, L) plus the non-ignored mask."""
    if t.dtype.kind not in "iu":
        hint = f" (probability targets must have the input's shape {tuple(x.shape)})" \
            if op == "cross_entropy" else ""
        raise TypeError(f"{op}: target must hold integer class indices (int64), got {t.dtype} "
                        f"of shape {tuple(t.shape)}{hint}")
    want = () if x.ndim == 1 else x.shape[:1] + x.shape[2:]
    if t.shape != want:
        if x.ndim > 1 and t.ndim >= 1 and t.shape[0] != x.shape[0]:
            raise ValueError(f"{op}: input batch size {x.shape[0]} does not match target batch "
                             f"size {t.shape[0]} (input {tuple(x.shape)}, target {tuple(t.shape)})")
        raise ValueError(f"{op}: target shape {tuple(t.shape)} does not fit input shape "
                         f"{tuple(x.shape)}; expected target shape {want}")
    tgt = t.data.reshape(dims[0], dims[2])
    valid = tgt != ignore_index
    bad = valid & ((tgt < 0) | (tgt >= dims[1]))
    if bad.any():  # one wait for the device there: a wrong class must not index memory
        raise ValueError(f"{op}: target {int(tgt[bad][0])} is out of range for {dims[1]} classes "
                         f"(valid 0..{dims[1] - 1}, or ignore_index {ignore_index})")
    return tgt, valid


def _sample_weights(tgt, valid, w, dtype):
    """w[target] with 0 at ignored positions (N, L); plain validity when unweighted."""
    if w is None:
        return valid.astype(dtype)
    wt = w[array_module(tgt).where(valid, tgt, 0)]
    wt *= valid
    return wt


# ------------------------------------------------------------------ cross entropy


class _CrossEntropy(Function):
    """Fused log_softmax + nll (+ label smoothing ε) with class-index targets.

    Per position i with target y, log-probabilities ℓ = log_softmax(x) over C classes:
        loss_i = [(1-ε)·w_y·(-ℓ_y) + (ε/C)·Σ_c w_c·(-ℓ_c)] / D     (0 when ignored)
    'mean': D = Σ_i w_{y_i} over non-ignored i (their count when unweighted);
    'sum'/'none': D = 1. With a_c the coefficient of -ℓ_c in loss_i,
        dx_i = g_i · (softmax(x_i)·Σ_c a_c - a)
    which is (softmax - smoothed one-hot)·w/D.
    """

    def forward(self, x, tgt, valid, weight, dims, reduction, eps):
        n, c, l = dims
        x3 = x.reshape(dims)
        dtype = x.dtype
        xp = array_module(x)
        z = x3 - x3.max(axis=1, keepdims=True)
        safe = xp.where(valid, tgt, 0)[:, None, :]
        zt = xp.take_along_axis(z, safe, axis=1)[:, 0, :]
        if eps:
            zsum = (z * weight[:, None]).sum(axis=1) if weight is not None else z.sum(axis=1)
        e = xp.exp(z, out=z)
        s = e.sum(axis=1)
        lse = xp.log(s)
        wt = _sample_weights(tgt, valid, weight, dtype)
        alpha = wt * (1.0 - eps)
        loss_i = lse - zt
        loss_i *= alpha
        beta = None
        if eps:
            wsum = _denominator(weight) if weight is not None else float(c)
            beta = valid * dtype.type(eps / c)
            smooth = lse * wsum
            smooth -= zsum
            smooth *= beta
            loss_i += smooth
        d = _denominator(wt) if reduction == "mean" else 1.0
        if self.requires_grad:
            e /= s[:, None, :]
            k = _grad_scale(d)
            self.p, self.safe, self.alpha = e, safe, alpha * k
            self.beta = None if beta is None else beta * k
            self.wvec, self.wsum, self.shape = weight, wsum if eps else 0.0, x.shape
        if reduction == "none":
            return loss_i.reshape(self.out_shape(x.shape))
        return _finish(loss_i, reduction, d, dtype)

    @staticmethod
    def out_shape(shape):
        return () if len(shape) == 1 else shape[:1] + shape[2:]

    def backward(self, g):
        p = self.p
        gi = g.reshape(p.shape[0], p.shape[2]) if g.ndim else g
        a = self.alpha * gi
        total = a if self.beta is None else a + self.beta * (gi * self.wsum)
        xp = array_module(g)
        dx = p * total[:, None, :]
        picked = xp.take_along_axis(dx, self.safe, axis=1)
        picked -= a[:, None, :]
        xp.put_along_axis(dx, self.safe, picked, axis=1)
        if self.beta is not None:
            b = (self.beta * gi)[:, None, :]
            dx -= b * self.wvec[:, None] if self.wvec is not None else b
        return dx.reshape(self.shape)


class _CrossEntropyProb(Function):
    """Cross entropy with probability targets q (same shape as the input):
        loss_i = -Σ_c w_c·q̃_c·ℓ_c,  q̃ = (1-ε)q + ε/C;  'mean' divides by N·d1·...
        dx_i = g_i·(softmax(x_i)·Σ_c w_c q̃_c - w·q̃),   dq_c = -g_i·(1-ε)·w_c·ℓ_c
    """

    def forward(self, x, q, weight, dims, reduction, eps):
        n, c, l = dims
        x3, q3 = x.reshape(dims), q.reshape(dims)
        xp = array_module(x)
        z = x3 - x3.max(axis=1, keepdims=True)
        e = xp.exp(z)
        s = e.sum(axis=1)
        z -= xp.log(s)[:, None, :]
        logp = z
        wq = q3 * (1.0 - eps) + eps / c if eps else q3
        if weight is not None:
            wq = wq * weight[:, None]
        loss_i = -(logp * wq).sum(axis=1)
        d = float(n * l) if reduction == "mean" else 1.0
        if self.requires_grad:
            e /= s[:, None, :]
            self.p, self.wq, self.d, self.dims, self.shape = e, wq, d, dims, x.shape
            if self.needs_input_grad[1]:
                self.logp, self.eps, self.weight = logp, eps, weight
        if reduction == "none":
            return loss_i.reshape(_CrossEntropy.out_shape(x.shape))
        return _finish(loss_i, reduction, d, x.dtype)

    def backward(self, g):
        n, c, l = self.dims
        gi = (g.reshape(n, 1, l) if g.ndim else g) / self.d
        dx = dq = None
        if self.needs_input_grad[0]:
            dx = self.p * self.wq.sum(axis=1, keepdims=True)
            dx -= self.wq
            dx *= gi
            dx = dx.reshape(self.shape)
        if self.needs_input_grad[1]:
            dq = self.logp * (gi * -(1.0 - self.eps))
            if self.weight is not None:
                dq *= self.weight[:, None]
            dq = dq.reshape(self.shape)
        return dx, dq


def cross_entropy(input, target, weight=None, size_average=None, ignore_index: int = -100,
                  reduce=None, reduction: str = "mean", label_smoothing: float = 0.0):
    """Cross entropy of logits against class targets: log_softmax and nll_loss in one step.

    With ℓ = log_softmax(x) over the C classes at each position i, label smoothing ε and
    class weights w (1 when not given):

        class-index target y:  loss_i = (1-ε)·w_y·(-ℓ_y) + (ε/C)·Σ_c w_c·(-ℓ_c)  (0 if ignored)
            'mean' divides the sum by Σ_i w_{y_i} over the non-ignored positions
        probability target q:  loss_i = -Σ_c w_c·q̃_c·ℓ_c,  q̃ = (1-ε)·q + ε/C
            'mean' divides by the number of positions N·d1·...

    backward, with a_c the coefficient of -ℓ_c in loss_i and D the 'mean' divisor (else 1):

        dx_i = g·(softmax(x_i)·Σ_c a_c - a)/D   (softmax minus the smoothed one-hot, weighted)
        dq_c = -g·(1-ε)·w_c·ℓ_c/D               (probability targets only)

    Args:
        input: logits, (C,), (N, C) or (N, C, d1, ...) (segmentation: per pixel).
        target: class indices (integers) of shape (), (N,) or (N, d1, ...), or class
            probabilities of the input's shape (float).
        weight: (C,) class weights, or None.
        size_average: PyTorch's deprecated argument; use reduction.
        ignore_index: positions whose target is this class index contribute nothing
            (default -100).
        reduce: PyTorch's deprecated argument; use reduction.
        reduction: 'mean' (default), 'sum' or 'none'.
        label_smoothing: ε in [0, 1] (default 0).

    Shape:
        - Output: a scalar, or the target's shape (N, d1, ...) for reduction='none'.

    Example::

        >>> x = fn.tensor([[0., 0., np.log(2.)], [1., 1., 1.]], requires_grad=True)
        >>> target = fn.tensor([2, 0])
        >>> F.cross_entropy(x, target, reduction="none").numpy()  # -log 0.5, -log(1/3)
        array([0.6931472, 1.0986123], dtype=float32)
        >>> loss = F.cross_entropy(x, target)
        >>> loss.item()
        0.8958797454833984
        >>> loss.backward()
        >>> x.grad.numpy()  # (softmax - one_hot) / N
        array([[ 0.125     ,  0.125     , -0.25      ],
               [-0.3333333 ,  0.16666667,  0.16666667]], dtype=float32)
        >>> F.cross_entropy(x, fn.tensor([2, -100])).numpy()  # the second one is ignored
        array(0.6931472, dtype=float32)
    """
    op = "cross_entropy"
    reduction = _reduction(op, reduction, size_average, reduce)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{op}: label_smoothing must be in [0, 1], got {label_smoothing}")
    eps = float(label_smoothing)
    x, dims, w = _layout(op, input, weight)
    t = as_tensor(target, "target", op)
    if t.dtype.kind == "f" and t.shape == x.shape:
        return _CrossEntropyProb.apply(x, t.to(x.dtype), weight=w, dims=dims, reduction=reduction, eps=eps)
    tgt, valid = _class_targets(op, x, dims, t, ignore_index)
    return _CrossEntropy.apply(x, tgt=tgt, valid=valid, weight=w, dims=dims, reduction=reduction, eps=eps)


class _NLL(Function):
    """loss_i = -w_{y_i}·x_{i,y_i} (0 when ignored); 'mean' divides by Σ_i w_{y_i}.
    dx = -w_{y_i}·g_i/D at the target class, 0 elsewhere."""

    def forward(self, x, tgt, valid, weight, dims, reduction):
        xp = array_module(x)
        x3 = x.reshape(dims)
        safe = xp.where(valid, tgt, 0)[:, None, :]
        wt = _sample_weights(tgt, valid, weight, x.dtype)
        loss_i = xp.take_along_axis(x3, safe, axis=1)[:, 0, :] * -wt
        d = _denominator(wt) if reduction == "mean" else 1.0
        if self.requires_grad:
            self.safe, self.wt, self.d, self.dims, self.shape = safe, wt, d, dims, x.shape
        if reduction == "none":
            return loss_i.reshape(_CrossEntropy.out_shape(x.shape))
        return _finish(loss_i, reduction, d, x.dtype)

    def backward(self, g):
        n, c, l = self.dims
        gi = g.reshape(n, l) if g.ndim else g
        coef = self.wt * (gi * -_grad_scale(self.d))
        xp = array_module(g)
        dx = xp.zeros(self.dims, dtype=g.dtype)
        xp.put_along_axis(dx, self.safe, coef[:, None, :].astype(g.dtype, copy=False), axis=1)
        return dx.reshape(self.shape)


def nll_loss(input, target, weight=None, size_average=None, ignore_index: int = -100,
             reduce=None, reduction: str = "mean"):
    """Negative log likelihood: minus the log-probability each sample gives its target class.

        loss_i = -w_{y_i}·x_{i, y_i}  (0 when y_i = ignore_index)
        backward: dx_{i, y_i} = -w_{y_i}·g/D,  0 at the other classes

    'mean' divides the sum by D, the sum of ``w_{y_i}`` over the non-ignored positions;
    'sum' and 'none' by D = 1.

    Args:
        input: log-probabilities (e.g. ``log_softmax``'s), (C,), (N, C) or (N, C, d1, ...).
        target: integer class indices, (), (N,) or (N, d1, ...).
        weight: (C,) class weights, or None.
        size_average: PyTorch's deprecated argument; use reduction.
        ignore_index: positions whose target is this value contribute nothing (default -100).
        reduce: PyTorch's deprecated argument; use reduction.
        reduction: 'mean' (default), 'sum' or 'none'.

    Shape:
        - Output: a scalar, or the target's shape for reduction='none'.

    Example::

        >>> x = fn.tensor([[-1.2, -0.5, -2.], [-0.1, -3., -2.5]], requires_grad=True)
        >>> loss = F.nll_loss(x, fn.tensor([1, 0]))
        >>> loss.numpy()  # (0.5 + 0.1) / 2
        array(0.3, dtype=float32)
        >>> loss.backward()
        >>> x.grad.numpy()
        array([[ 0. , -0.5,  0. ],
               [-0.5,  0. ,  0. ]], dtype=float32)
        >>> w = fn.tensor([1., 3., 1.])
        >>> F.nll_loss(x, fn.tensor([1, 0]), weight=w).numpy()  # (3·0.5 + 0.1) / (3 + 1)
        array(0.4, dtype=float32)
    """
    op = "nll_loss"
    reduction = _reduction(op, reduction, size_average, reduce)
    x, dims, w = _layout(op, input, weight)
    tgt, valid = _class_targets(op, x, dims, as_tensor(target, "target", op), ignore_index)
    return _NLL.apply(x, tgt=tgt, valid=valid, weight=w, dims=dims, reduction=reduction)
