"""Fully connected layer: y = x Wᵀ + b."""
from __future__ import annotations

from foveanet.autograd.function import Function
from foveanet.backend import kernels
from foveanet.functional._utils import as_optional, as_tensor, check_float

__all__ = ["linear"]

LINEAR_SPLIT_MAX_ROWS = 16
# Products below this many multiply-adds run on one thread with BLAS's own threads held
# (the backend's ``matmul``); larger ones on all of BLAS's threads. A small product gains
# little from a second BLAS thread, and when another job shares the cores OpenBLAS's
# threads spin waiting for each other: LeNet-5's training step at batch 128 (its 400 -> 120
# layer is 6.1M), 2 threads, mean ms over an epoch, one core busy with another job 12.7 ->
# 10.1 (the one-thread step's 10.1), idle level (8.1-8.4 -> 8.0-8.1). Larger products lose
# on one thread: 128 x 4096 -> 4096 fwd+bwd 59 ms on BLAS's two threads, 81 as the backend's
# row blocks.
LINEAR_BLAS_MIN_MACS = 1 << 23


class _Linear(Function):
    """Y = X Wᵀ + b over the last axis; leading axes are flattened into one batch axis M.

    With X (M, in), W (out, in), G = dL/dY (M, out):
        dX = G W          (M, in)
        dW = Gᵀ X         (out, in)  — one GEMM sums over every leading position
        db = Σ_rows G     (out,)
    """

    uses_blas = True

    @staticmethod
    def _product(a, b):
        """``a @ b``: a small product on one thread with BLAS held at one, a large one on
        all of BLAS's threads (``before_gemm`` gave them back as the op began)."""
        if a.shape[0] * a.shape[1] * b.shape[1] < LINEAR_BLAS_MIN_MACS:
            return kernels(a).matmul(a, b)
        return a @ b

    def forward(self, x, weight, bias=None):
        in_f = weight.shape[1]
        lead = x.shape[:-1]
        # a view for contiguous inputs; the transposed weight is passed to BLAS as a flag
        x2 = x.reshape(-1, in_f)
        if x2.shape[0] <= LINEAR_SPLIT_MAX_ROWS:
            # a few rows: W @ X^T with W's rows on the backend's threads (threads.matmul says
            # why): MobileNetV2's 1280 -> 1000 classifier at batch 1, 2 threads, 5-13 ms
            # with OpenBLAS's threads under foreign load
            y = kernels(x2).matmul(weight, x2.T).T
        else:
            y = self._product(x2, weight.T)
        if bias is not None:
            y += bias
        need = self.needs_input_grad
        need_x, need_w, need_b = need[0], need[1], len(need) > 2 and need[2]
        if need_w:
            self.x2 = x2
        if need_x:
            self.weight = weight
        self.lead, self.flags = lead, (need_x, need_w, need_b)
        return y.reshape(lead + (weight.shape[0],))

    def backward(self, g):
        need_x, need_w, need_b = self.flags
        g2 = g.reshape(-1, g.shape[-1])
        dx = (self._product(g2, self.weight).reshape(self.lead + (self.weight.shape[1],))
              if need_x else None)
        dw = self._product(g2.T, self.x2) if need_w else None
        db = g2.sum(axis=0) if need_b else None
        return (dx, dw, db) if len(self.needs_input_grad) > 2 else (dx, dw)


def linear(input, weight, bias=None):
    """Affine map of the last axis: y = x Wᵀ + b (a fully connected layer).

    With the leading axes of x flattened into M rows, X is (M, in) and W is (out, in):

        Y = X Wᵀ + b
        backward, with G = dL/dY (M, out):
            dX = G W          (M, in)
            dW = Gᵀ X         (out, in), one GEMM summing over every leading position
            db = Σ_rows G     (out,)

    Args:
        input: ``(*, in_features)`` float tensor; a 1-d (in,) input gives (out,).
        weight: (out_features, in_features), the input's dtype.
        bias: (out_features,) or None.

    Shape:
        - Output: ``(*, out_features)``.

    Example::

        >>> x = fn.tensor([[1., 2.]], requires_grad=True)
        >>> w = fn.tensor([[1., 0.], [1., -1.], [0., 3.]], requires_grad=True)
        >>> y = F.linear(x, w, fn.tensor([0.5, 0., -1.]))
        >>> y.numpy()
        array([[ 1.5, -1. ,  5. ]], dtype=float32)
        >>> y.sum().backward()
        >>> x.grad.numpy()
        array([[2., 2.]], dtype=float32)
        >>> w.grad.numpy()
        array([[1., 2.],
               [1., 2.],
               [1., 2.]], dtype=float32)
    """
    x = as_tensor(input, op="linear")
    w = as_tensor(weight, "weight", "linear")
    b = as_optional(bias, "bias", "linear")
    check_float(x, "linear")
    check_float(w, "linear", "weight")
    if w.ndim != 2:
        raise ValueError(f"linear: weight must be 2-d (out_features, in_features), got shape {tuple(w.shape)}")
    if x.ndim == 0:
        raise ValueError("linear: input must have at least 1 dim (*, in_features), got a 0-d tensor")
    if x.shape[-1] != w.shape[1]:
        raise ValueError(f"linear: input has {x.shape[-1]} features, weight expects {w.shape[1]} "
                         f"(input shape {tuple(x.shape)}, weight shape {tuple(w.shape)})")
    if x.dtype != w.dtype:
        raise TypeError(f"linear: input is {x.dtype} but weight is {w.dtype}; cast one of them")
    if b is None:
        return _Linear.apply(x, w)
    if b.shape != (w.shape[0],):
        raise ValueError(f"linear: bias has shape {tuple(b.shape)}, expected ({w.shape[0]},) "
                         f"for weight of shape {tuple(w.shape)}")
    if b.dtype != w.dtype:
        raise TypeError(f"linear: bias is {b.dtype} but weight is {w.dtype}; cast one of them")
    return _Linear.apply(x, w, b)
