"""The arithmetic and elementwise operations behind Tensor's operators.

Each Function states its gradient next to its forward. ``g`` is dL/d(output). Reductions live
in ``reduce_ops`` and shape operations in ``shape_ops``; this module re-exports both, so
``ops`` is the one place Tensor looks operations up.
"""
from __future__ import annotations

import numpy as np

from foveanet.backend import devices as _device
from foveanet.backend.arrays import array_module
from foveanet.autograd.function import Function, quiet, shape_of, unbroadcast
from foveanet.autograd.tensor import Tensor

# ------------------------------------------------------------------- arithmetic


class Add(Function):
    """y = a + b;  da = g, db = g (each summed over its broadcast axes)."""

    def forward(self, a, b):
        self.shapes = (shape_of(a), shape_of(b))
        return a + b

    def backward(self, g):
        return unbroadcast(g, self.shapes[0]), unbroadcast(g, self.shapes[1])


class Sub(Function):
    """y = a - b;  da = g, db = -g."""

    def forward(self, a, b):
        self.shapes = (shape_of(a), shape_of(b))
        return a - b

    def backward(self, g):
        db = -unbroadcast(g, self.shapes[1]) if self.needs_input_grad[1] else None
        return unbroadcast(g, self.shapes[0]), db


class Mul(Function):
    """y = a * b;  da = g * b, db = g * a."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, g):
        a, b = self.a, self.b
        da = unbroadcast(g * b, shape_of(a)) if self.needs_input_grad[0] else None
        db = unbroadcast(g * a, shape_of(b)) if self.needs_input_grad[1] else None
        return da, db


class Div(Function):
    """y = a / b;  da = g / b, db = -g * a / b^2."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return a / b

    def backward(self, g):
        a, b = self.a, self.b
        da = unbroadcast(g / b, shape_of(a)) if self.needs_input_grad[0] else None
        db = unbroadcast(-g * a / (b * b), shape_of(b)) if self.needs_input_grad[1] else None
        return da, db


class Pow(Function):
    """y = a ** b;  da = g * b * a^(b-1), db = g * a^b * ln(a)."""

    def forward(self, a, b):
        self.a, self.b = a, b
        self.xp = xp = array_module(a, b)
        self.y = xp.power(a, b)
        return self.y

    def backward(self, g):
        a, b, xp = self.a, self.b, self.xp
        da = unbroadcast(g * b * xp.power(a, b - 1), shape_of(a)) if self.needs_input_grad[0] else None
        db = None
        if self.needs_input_grad[1]:
            with quiet(xp, divide="ignore", invalid="ignore"):
                db = unbroadcast(g * self.y * xp.log(a), shape_of(b))
        return da, db


class Neg(Function):
    """y = -a;  da = -g."""

    def forward(self, a):
        return -a

    def backward(self, g):
        return -g


class MatMul(Function):
    """Y = A @ B (batched, NumPy rules);  dA = G @ B^T, dB = A^T @ G.

    1-d operands are promoted to matrices (a row for A, a column for B) and the
    promotion is undone on the gradients; batch axes are summed where broadcast.
    """

    uses_blas = True

    def forward(self, a, b):
        self.a, self.b = a, b
        return a @ b

    def backward(self, g):
        a, b = self.a, self.b
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        if a.ndim == 1 and b.ndim == 1:
            g2 = g.reshape(1, 1)
        elif a.ndim == 1:
            g2 = g[..., None, :]
        elif b.ndim == 1:
            g2 = g[..., None]
        else:
            g2 = g
        da = db = None
        if self.needs_input_grad[0]:
            da = unbroadcast(g2 @ b2.swapaxes(-1, -2), a2.shape)
            da = da.reshape(a.shape)
        if self.needs_input_grad[1]:
            db = unbroadcast(a2.swapaxes(-1, -2) @ g2, b2.shape)
            db = db.reshape(b.shape)
        return da, db


class Clone(Function):
    def forward(self, a):
        return a.copy()

    def backward(self, g):
        return g


class Cast(Function):
    """y = a in another dtype; the gradient is cast back."""

    def forward(self, a, dtype):
        self.src = a.dtype
        return a.astype(dtype)

    def backward(self, g):
        return g.astype(self.src) if self.src.kind == "f" else None


class ToDevice(Function):
    """y = a on another device (a copy); the gradient is copied back to a's device."""

    def forward(self, a, device):
        self.src = _device.device_of(a)
        return _device.to_device(a, device)

    def backward(self, g):
        return _device.to_device(g, self.src)


# ------------------------------------------------------------------ elementwise


class Exp(Function):
    """y = e^a;  da = g * y."""

    def forward(self, a):
        self.y = array_module(a).exp(a)
        return self.y

    def backward(self, g):
        return g * self.y


class Log(Function):
    """y = ln a;  da = g / a."""

    def forward(self, a):
        self.a = a
        return array_module(a).log(a)

    def backward(self, g):
        return g / self.a


class Sqrt(Function):
    """y = sqrt(a);  da = g / (2 y)."""

    def forward(self, a):
        self.y = array_module(a).sqrt(a)
        return self.y

    def backward(self, g):
        return g / (2 * self.y)


class Abs(Function):
    """y = |a|;  da = g * sign(a) (0 at 0, like PyTorch)."""

    def forward(self, a):
        self.a = a
        return abs(a)

    def backward(self, g):
        return g * array_module(g).sign(self.a)


class Tanh(Function):
    """y = tanh(a);  da = g * (1 - y^2)."""

    def forward(self, a):
        self.y = array_module(a).tanh(a)
        return self.y

    def backward(self, g):
        return g * (1 - self.y * self.y)


def stable_sigmoid(a):
    """1 / (1 + e^-a). For very negative a, e^-a overflows to inf and the result is the
    correct limit 0, so the overflow warning is silenced rather than branched around
    (np.where over both branches costs ~10x more)."""
    xp = array_module(a)
    e = xp.negative(a)
    with quiet(xp, over="ignore"):
        xp.exp(e, out=e)
    e += 1
    return xp.reciprocal(e, out=e)


class Sigmoid(Function):
    """y = 1 / (1 + e^-a);  da = g * y * (1 - y)."""

    def forward(self, a):
        self.y = stable_sigmoid(a)
        return self.y

    def backward(self, g):
        return g * self.y * (1 - self.y)


class Clamp(Function):
    """y = min(max(a, lo), hi);  da = g where lo <= a <= hi, else 0 (PyTorch's convention)."""

    def forward(self, a, lo=None, hi=None):
        xp = array_module(a)
        self.mask = xp.ones(a.shape, dtype=bool)
        if lo is not None:
            self.mask &= a >= lo
        if hi is not None:
            self.mask &= a <= hi
        return xp.clip(a, lo, hi)

    def backward(self, g):
        return g * self.mask


class Maximum(Function):
    """y = max(a, b);  the gradient goes to the larger input, split evenly on ties."""

    largest = True

    def forward(self, a, b):
        self.shapes = (shape_of(a), shape_of(b))
        xp = array_module(a, b)
        if self.largest:
            self.wa = (a > b) + 0.5 * (a == b)
            return xp.maximum(a, b)
        self.wa = (a < b) + 0.5 * (a == b)
        return xp.minimum(a, b)

    def backward(self, g):
        wa = self.wa.astype(g.dtype)
        return unbroadcast(g * wa, self.shapes[0]), unbroadcast(g * (1 - wa), self.shapes[1])


class Minimum(Maximum):
    largest = False


class Where(Function):
    """y = cond ? a : b;  da = g where cond, db = g elsewhere."""

    def forward(self, cond, a, b):
        self.xp = xp = array_module(cond, a, b)
        self.cond = xp.asarray(cond, dtype=bool)
        self.shapes = (shape_of(a), shape_of(b))
        return xp.where(self.cond, a, b)

    def backward(self, g):
        xp = self.xp
        zero = xp.zeros((), dtype=g.dtype)
        return (None, unbroadcast(xp.where(self.cond, g, zero), self.shapes[0]),
                unbroadcast(xp.where(self.cond, zero, g), self.shapes[1]))


def where(cond, a, b) -> Tensor:
    """Elementwise choice: out = a where ``cond`` is true, b elsewhere (``torch.where``).

    ``cond``, ``a`` and ``b`` broadcast together; the gradient of ``a`` is g where ``cond``
    holds and 0 elsewhere, that of ``b`` the rest.

    Args:
        cond: a bool Tensor or array-like.
        a: the values taken where ``cond`` is true (Tensor or scalar).
        b: the values taken elsewhere (Tensor or scalar).

    Shape:
        - Output: the broadcast shape of ``cond``, ``a`` and ``b``.

    Example::

        >>> x = fn.tensor([-2.0, -0.5, 1.0, 3.0])
        >>> fn.where(x > 0, x, 0.0)
        tensor([0., 0., 1., 3.])
        >>> fn.where(fn.tensor([True, False]), fn.tensor([1, 2]), fn.tensor([10, 20]))
        tensor([ 1, 20])
    """
    like = a if isinstance(a, Tensor) else b if isinstance(b, Tensor) else Tensor(a)
    # a host condition (a list, a NumPy mask) goes to the values' device, as torch allows
    c = cond.data if isinstance(cond, Tensor) else _device.to_device(cond, like.device)
    return Where.apply(c, like._operand(a), like._operand(b))


# re-exported so that Tensor (and the ONNX tracer) find every op through this module
from foveanet.autograd.reduce_ops import (  # noqa: E402,F401
    AMax, Mean, MaxResult, Sum, TakeAlongDim, Var, argextreme, gather, normalize_dims, reduce_extreme,
)
from foveanet.autograd.shape_ops import (  # noqa: E402,F401
    Cat, Expand, Index, Permute, Reshape, Stack, cat, flatten, normalize_index, normalize_perm,
    normalize_shape, split, stack,
)
