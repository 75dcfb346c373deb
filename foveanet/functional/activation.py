"""Activations: relu, relu6, leaky_relu, elu, silu, softplus, hardtanh, sigmoid, tanh, gelu,
softmax, log_softmax, hardsigmoid, hardswish.

Every op maps an input of any shape to an output of the same shape (softmax and log_softmax
normalise along ``dim``). Results keep the input's float dtype: constants are Python floats,
which NumPy 2 treats as weak scalars, so a float32 input never becomes float64.

``inplace=True`` is accepted for PyTorch compatibility but the result is always a new array:
overwriting the input would corrupt buffers that earlier ops saved for their backward.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from foveanet.autograd.function import Function
from foveanet.autograd.ops import Tanh, stable_sigmoid
from foveanet.backend.arrays import array_module, kernels
from foveanet.functional._utils import COMPILED_DTYPES, as_tensor, check_float

__all__ = ["relu", "relu6", "leaky_relu", "elu", "silu", "softplus", "hardtanh", "sigmoid",
           "tanh", "gelu", "softmax", "log_softmax", "hardsigmoid", "hardswish"]

_SQRT1_2 = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_TANH_K = math.sqrt(2.0 / math.pi)


def _float_input(x, op: str):
    x = as_tensor(x, op=op)
    check_float(x, op)
    return x


# ----------------------------------------------------------------- piecewise linear


class _Threshold(Function):
    """y = x if lo < x < hi (open bounds), slope ``slope`` below lo, clamp to hi above.

    Covers relu (lo=0, slope 0), leaky_relu (lo=0, slope a), relu6 / hardtanh (clamp). The
    gradient is g on (lo, hi), ``slope``·g below lo, 0 above hi; at the kinks it follows
    PyTorch: relu'(0) = 0, leaky_relu'(0) = a, hardtanh' = 0 at both bounds.
    """

    def forward(self, x, lo=0.0, hi=None, slope=0.0, clamp_lo=False):
        xp = array_module(x)
        if clamp_lo:  # hardtanh: flat below lo as well
            y = xp.clip(x, lo, hi)
            if self.requires_grad:
                self.pass_ = (x > lo) & (x < hi)
            return y
        if slope == 0.0 and hi is None:  # relu: y <= lo exactly where x <= lo
            y = xp.maximum(x, lo)
            if self.requires_grad:  # backward reads the output: no mask pass, no mask kept
                self.y, self.lo = y, lo
            return y
        if slope == 0.0:
            y = xp.clip(x, lo, hi)
            if self.requires_grad:
                self.pass_ = (x > lo) & (x < hi)
            return y
        # y = x·f with f = slope below lo, 1 above: np.where on a random mask is ~10x slower
        f = (x <= lo).astype(x.dtype)
        f *= slope - 1.0
        f += 1.0
        if self.requires_grad:
            self.factor = f
        return x * f

    def backward(self, g):
        if hasattr(self, "y"):
            return _relu_backward(g, self.y, self.lo)
        if hasattr(self, "pass_"):
            return g * self.pass_
        return g * self.factor


def _relu_backward(g, y, lo):
    """dx = g·[not y <= lo] (a NaN passes g, as PyTorch's threshold_backward): one compiled
    pass on the CPU (``kernels/activation.py``); NumPy's mask and multiply elsewhere."""
    ks = kernels(g)
    if (ks.compiled is None or g.dtype not in COMPILED_DTYPES or g.dtype != y.dtype
            or not (g.flags.c_contiguous and y.flags.c_contiguous)):
        return g * ~(y <= lo)
    dx = np.empty_like(g)
    ks.compiled.relu_backward(g.reshape(-1), y.reshape(-1), dx.reshape(-1), lo)
    return dx


def relu(input, inplace: bool = False):
    """Rectified linear unit, elementwise: negative values become 0.

        y = max(x, 0)
        backward: dx = g·[not x <= 0]  (0 at x = 0, g at NaN, as PyTorch)

    Args:
        input: a float tensor (or array) of any shape.
        inplace: accepted for PyTorch compatibility; the result is always a new tensor.

    Shape:
        - Output: the input's shape.

    Example::

        >>> x = fn.tensor([-2., 0., 3.], requires_grad=True)
        >>> y = F.relu(x)
        >>> y.numpy()
        array([0., 0., 3.], dtype=float32)
        >>> y.sum().backward()
        >>> x.grad.numpy()
        array([0., 0., 1.], dtype=float32)
    """
    return _Threshold.apply(_float_input(input, "relu"), lo=0.0)


def relu6(input, inplace: bool = False):
    """ReLU capped at 6, elementwise (MobileNet's activation).

        y = min(max(x, 0), 6)
        backward: dx = g·[0 < x < 6]  (0 at both kinks, as PyTorch)

    Args:
        input: a float tensor (or array) of any shape.
        inplace: accepted for PyTorch compatibility; the result is always a new tensor.

    Shape:
        - Output: the input's shape.

    Example::

        >>> x = fn.tensor([-1., 3., 6., 8.], requires_grad=True)
        >>> y = F.relu6(x)
        >>> y.numpy()
        array([0., 3., 6., 6.], dtype=float32)
        >>> y.sum().backward()
        >>> x.grad.numpy()
        array([0., 1., 0., 0.], dtype=float32)
    """
    return _Threshold.apply(_float_input(input, "relu6"), lo=0.0, hi=6.0, clamp_lo=True)


def leaky_relu(input, negative_slope: float = 0.01, inplace: bool = False):
    """Leaky ReLU, elementwise: negative values are scaled by ``negative_slope`` instead of zeroed.

        y = x for x > 0, a·x otherwise (a = negative_slope)
        backward: dx = g for x > 0, a·g otherwise (a·g at x = 0, as PyTorch)

    Args:
        input: a float tensor (or array) of any shape.
        negative_slope: the slope a for x <= 0 (default 0.01).
        inplace: accepted for PyTorch compatibility; the result is always a new tensor.

    Shape:
        - Output: the input's shape.

    Example::

        >>> x = fn.tensor([-2., 0., 3.], requires_grad=True)
        >>> y = F.leaky_relu(x, negative_slope=0.25)
        >>> y.numpy()
        array([-0.5,  0. ,  3. ], dtype=float32)
        >>> y.sum().backward()
        >>> x.grad.numpy()
        array([0.25, 0.25, 1.  ], dtype=float32)
    """
    return _Threshold.apply(_float_input(input, "leaky_relu"), lo=0.0, slope=float(negative_slope))


def hardtanh(input, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False):
    """Hard tanh, elementwise: x clamped to [min_val, max_val].

        y = clamp(x, min_val, max_val)
        backward: dx = g·[min_val < x < max_val]  (0 at both bounds, as PyTorch)

    Args:
        input: a float tensor (or array) of any shape.
        min_val: lower bound (default -1).
        max_val: upper bound (default 1); ValueError if below min_val.
        inplace: accepted for PyTorch compatibility; the result is always a new tensor.

    Shape:
        - Output: the input's shape.

    Example::

        >>> x = fn.tensor([-2., -1., 0.5, 2.], requires_grad=True)
        >>> y = F.hardtanh(x)
        >>> y.numpy()
        array([-1. , -1. ,  0.5,  1. ], dtype=float32)
        >>> y.sum().backward()
        >>> x.grad.numpy()
        array([0., 0., 1., 0.], dtype=float32)
    """
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val {min_val} is greater than max_val {max_val}")
    return _Threshold.apply(_float_input(input, "hardtanh"), lo=float(min_val), hi=float(max_val),
                            clamp_lo=True)


class _Hardsigmoid(Function):
    """y = relu6(x + 3)/6;  dx = g/6 on (-3, 3), 0 elsewhere (PyTorch's kinks)."""

    def forward(self, x):
        y = x + 3.0
        array_module(x).clip(y, 0.0, 6.0, out=y)
        y /= 6.0
        if self.requires_grad:
            self.inside = (x > -3.0) & (x < 3.0)
        return y

    def backward(self, g):
        d = g * self.inside
        d /= 6.0
        return d


def hardsigmoid(input, inplace: bool = False):
    """Hard sigmoid, elementwise: a piecewise-linear sigmoid (MobileNetV3's gate).

        y = relu6(x + 3)/6 = 0 for x <= -3, 1 for x >= 3, x/6 + 1/2 between
        backward: dx = g/6 for -3 < x < 3, 0 elsewhere (0 at both kinks, as PyTorch)

    Args:
        input: a float tensor (or array) of any shape.
        inplace: accepted for PyTorch compatibility; the result is always a new tensor.

    Shape:
        - Output: the input's shape.

    Example::

        >>> x = fn.tensor([-4., -3., 0., 1.5, 3.], requires_grad=True)
        >>> y = F.hardsigmoid(x)
        >>> y.numpy()
        array([0.  , 0.  , 0.5 , 0.75, 1.  ], dtype=float32)
        >>> y.sum().backward()
        >>> x.grad.numpy().round(4)
        array([0.    , 0.    , 0.1667, 0.1667, 0.    ], dtype=float32)
    """
    return _Hardsigmoid.apply(_float_input(input, "hardsigmoid"))


class _Hardswish(Function):
    """y = x·relu6(x + 3)/6;  dx = 0 for x <= -3, g·(x/3 + 1/2) for -3 < x < 3, g for x >= 3."""

    def forward(self, x):
        s = x + 3.0
        array_module(x).clip(s, 0.0, 6.0, out=s)
        s /= 6.0
        if self.requires_grad:
            self.x = x
        return x * s

    def backward(self, g):
        x = self.x
        d = x / 3.0
        d += 0.5
        d[x <= -3.0] = 0.0
        d[x >= 3.0] = 1.0
        d *= g
        return d


def hardswish(input, inplace: bool = False):
    """Hard swish, elementwise: x times its hard sigmoid (MobileNetV3's activation).

        y = x·relu6(x + 3)/6 = 0 for x <= -3, x for x >= 3, x(x + 3)/6 between
        backward: dx = 0 for x <= -3, g·(x/3 + 1/2) for -3 < x < 3, g for x >= 3

    At the kinks the gradient is the outer piece's, as PyTorch: 0 at x = -3, g at x = 3.

    Args:
        input: a float tensor (or array) of any shape.
        inplace: accepted for PyTorch compatibility; the result is always a new tensor.

    Shape:
        - Output: the input's shape.

    Example::

        >>> x = fn.tensor([-4., -1.5, 0., 1.5, 4.], requires_grad=True)
        >>> y = F.hardswish(x)
        >>> y.numpy()
        array([-0.   , -0.375,  0.   ,  1.125,  4.   ], dtype=float32)
        >>> y.sum().backward()
        >>> x.grad.numpy()
        array([0. , 0. , 0.5, 1. , 1. ], dtype=float32)
    """
    return _Hardswish.apply(_float_input(input, "hardswish"))


# ------------------------------------------------------------------------- smooth


class _ELU(Function):
    """y = x (x > 0), α(eˣ - 1) otherwise;  dx = g (x > 0), g·α·eˣ otherwise."""

    def forward(self, x, alpha=1.0):
        xp = array_module(x)
        neg = xp.minimum(x, 0)
        y = xp.expm1(neg)
        y *= alpha
        if self.requires_grad:
            # dy/dx = α·e^min(x,0) + (1-α)·[x > 0]: 1 above 0, α·eˣ below, without np.where
            d = y + alpha
            d += (x > 0).astype(x.dtype) * (1.0 - alpha)
            self.d = d
        y += xp.maximum(x, 0)
        return y

    def backward(self, g):
        return g * self.d


def elu(input, alpha: float = 1.0, inplace: bool = False):
    """Exponential linear unit, elementwise (Clevert et al. 2015): smooth and negative below 0.

        y = x for x > 0, α(eˣ - 1) otherwise
        backward: dx = g for x > 0, g·α·eˣ otherwise (= g·(y + α))

    Args:
        input: a float tensor (or array) of any shape.
        alpha: α; y tends to -α as x -> -inf (default 1).
        inplace: accepted for PyTorch compatibility; the result is always a new tensor.

    Shape:
        - Output: the input's shape.

    Example::

        >>> x = fn.tensor([-1., 0., 2.], requires_grad=True)
        >>> y = F.elu(x)
        >>> y.numpy().round(4)
        array([-0.6321,  0.    ,  2.    ], dtype=float32)
        >>> y.sum().backward()
        >>> x.grad.numpy().round(4)
        array([0.3679, 1.    , 1.    ], dtype=float32)
    """
    return _ELU.apply(_float_input(input, "elu"), alpha=float(alpha))


class _SiLU(Function):
    """y = x·σ(x);  dx = g·σ(x)·(1 + x·(1 - σ(x)))."""

    def forward(self, x):
        s = _sigmoid(x)
        if self.requires_grad:
            self.x, self.s = x, s
        return x * s

    def backward(self, g):
        s = self.s
        d = 1 - s
        d *= self.x
        d += 1
        d *= s
        d *= g
        return d


def silu(input, inplace: bool = False):
    """Sigmoid-weighted linear unit (SiLU, a.k.a. swish), elementwise: x times its sigmoid.

        y = x·σ(x),  σ(x) = 1/(1 + e^-x)
        backward: dx = g·σ(x)·(1 + x·(1 - σ(x)))

    Args:
        input: a float tensor (or array) of any shape.
        inplace: accepted for PyTorch compatibility; the result is always a new tensor.

    Shape:
        - Output: the input's shape.

    Example::

        >>> x = fn.tensor([-1., 0., 2.], requires_grad=True)
        >>> y = F.silu(x)
        >>> y.numpy().round(4)
        array([-0.2689,  0.    ,  1.7616], dtype=float32)
        >>> y.sum().backward()
        >>> x.grad.numpy().round(4)
        array([0.0723, 0.5   , 1.0908], dtype=float32)
    """
    return _SiLU.apply(_float_input(input, "silu"))


class _Softplus(Function):
    """y = log(1 + e^(βx))/β, and y = x where βx > threshold (as PyTorch, to stay linear);
    dx = g·σ(βx), and g where βx > threshold."""

    def forward(self, x, beta=1.0, threshold=20.0):
        xp = array_module(x)
        bx = x * beta if beta != 1.0 else x
        # log(1 + e^z) = max(z, 0) + log1p(e^-|z|): no overflow for large z
        y = xp.abs(bx)
        xp.negative(y, out=y)
        xp.exp(y, out=y)
        xp.log1p(y, out=y)
        y += xp.maximum(bx, 0)
        if beta != 1.0:
            y /= beta
        linear = bx > threshold
        # usually empty (threshold 20 is already float32-exact): skip the slow masked copy.
        # On a GPU, asking would sync with the host for every call: always copy there
        lin_any = bool(linear.any()) if xp is np else True
        if lin_any:
            xp.copyto(y, x, where=linear)
        if self.requires_grad:
            self.bx, self.linear = bx, linear if lin_any else None
        return y

    def backward(self, g):
        d = _sigmoid(self.bx)
        d *= g
        if self.linear is not None:
            array_module(g).copyto(d, g, where=self.linear)
        return d


def softplus(input, beta: float = 1.0, threshold: float = 20.0):
    """Softplus, elementwise: a smooth ReLU, log(1 + e^(βx))/β.

        y = log(1 + e^(βx))/β, and y = x where βx > threshold (as PyTorch, to stay linear)
        backward: dx = g·σ(βx), and g where βx > threshold

    Args:
        input: a float tensor (or array) of any shape.
        beta: β, the sharpness (default 1); y -> relu(x) as β grows.
        threshold: above βx > threshold the op is the identity (default 20).

    Shape:
        - Output: the input's shape.

    Example::

        >>> x = fn.tensor([-1., 0., 30.], requires_grad=True)
        >>> y = F.softplus(x)
        >>> y.numpy().round(4)
        array([ 0.3133,  0.6931, 30.    ], dtype=float32)
        >>> y.sum().backward()
        >>> x.grad.numpy().round(4)
        array([0.2689, 0.5   , 1.    ], dtype=float32)
    """
    return _Softplus.apply(_float_input(input, "softplus"), beta=float(beta), threshold=float(threshold))


# one sigmoid for the whole code base (also used by the BCE losses)
_sigmoid = stable_sigmoid


class _Sigmoid(Function):
    """y = 1/(1 + e^-x);  dx = g·y·(1 - y)."""

    def forward(self, x):
        self.y = _sigmoid(x)
        return self.y

    def backward(self, g):
        d = 1.0 - self.y
        d *= self.y
        d *= g
        return d


def sigmoid(input):
    """Logistic sigmoid, elementwise: squashes x into (0, 1).

        y = 1/(1 + e^-x)  (evaluated without overflow for any x)
        backward: dx = g·y·(1 - y)

    Args:
        input: a float tensor (or array) of any shape.

    Shape:
        - Output: the input's shape.

    Example::

        >>> x = fn.tensor([-2., 0., 2.], requires_grad=True)
        >>> y = F.sigmoid(x)
        >>> y.numpy().round(4)
        array([0.1192, 0.5   , 0.8808], dtype=float32)
        >>> y.sum().backward()
        >>> x.grad.numpy().round(4)
        array([0.105, 0.25 , 0.105], dtype=float32)
    """
    return _Sigmoid.apply(_float_input(input, "sigmoid"))


def tanh(input):
    """Hyperbolic tangent, elementwise: squashes x into (-1, 1).

        y = tanh(x)
        backward: dx = g·(1 - y²)

    Args:
        input: a float tensor (or array) of any shape.

    Shape:
        - Output: the input's shape.

    Example::

        >>> x = fn.tensor([-1., 0., 2.], requires_grad=True)
        >>> y = F.tanh(x)
        >>> y.numpy().round(4)
        array([-0.7616,  0.    ,  0.964 ], dtype=float32)
        >>> y.sum().backward()
        >>> x.grad.numpy().round(4)
        array([0.42  , 1.    , 0.0707], dtype=float32)
    """
    return Tanh.apply(_float_input(input, "tanh"))


# --------------------------------------------------------------------------- gelu

# erfc(a) = t·e^(-a²)·Q(t) for a >= 0 with t = 1/(1 + 0.3a). The factored form keeps the
# relative error small deep in the tail (gelu of very negative x stays accurate) and the
# substitution maps [0, inf) onto (0, 1], where erfc(a)·e^(a²)/t is smooth, so one
# polynomial covers the whole range. Q (degree 12, lowest power first) was fitted here by
# least squares on 8000 Chebyshev nodes in t against math.erfc; the absolute error of erfc
# is below 4e-10 on [0, 27] in float64 (tests/functional/test_activation.py checks 1e-9).
_ERFC_P = 0.3
_ERFC_Q = (0.1692568746419556, 0.16925701180022862, 0.16163279693437826, 0.14656960143341702,
           0.12277173960465834, 0.11019166544055563, 0.020247352878101837, 0.18063820857129698,
           -0.2268382554792176, 0.2969555105227065, -0.20694772874452386, 0.06256319069416304,
           -0.006297967911668888)


def _erfc_nonneg(a):
    """erfc(a) for a >= 0, evaluated in float64 (float32 Horner sums lose ~4e-7); the same
    polynomial on every device, so a GPU gives the CPU's numbers (CuPy's erf would not)."""
    xp = array_module(a)
    t = 1.0 / (1.0 + _ERFC_P * a)
    q = xp.full_like(t, _ERFC_Q[-1])
    for c in _ERFC_Q[-2::-1]:
        q *= t
        q += c
    q *= t
    q *= xp.exp(-(a * a))
    return q


# erf(x) = 2/√π Σ_n (-1)^n x^(2n+1) / (n! (2n+1)): ten terms reach 1e-14 for |x| < 0.5,
# where 1 - erfc(x) would leave only absolute (not relative) accuracy
_ERF_TAYLOR = tuple((-1) ** n * 2 / math.sqrt(math.pi) / (math.factorial(n) * (2 * n + 1))
                    for n in range(10))


def erf(x):
    """erf of an array (NumPy has none): absolute error < 1e-9, relative near 0; float64,
    on the device of ``x``."""
    xp = array_module(x)
    x = xp.asarray(x, dtype=np.float64)
    y = xp.asarray(xp.copysign(1.0 - _erfc_nonneg(xp.abs(x)), x))
    small = xp.abs(x) < 0.5
    if xp is not np:  # boolean indexing waits for the host on a GPU: a where over all of x
        return xp.where(small, _erf_taylor(xp, x), y)
    if small.any():
        y[small] = _erf_taylor(xp, x[small])
    return y


def _erf_taylor(xp, x):
    x2 = x * x
    acc = xp.full_like(x, _ERF_TAYLOR[-1])
    for c in _ERF_TAYLOR[-2::-1]:
        acc *= x2
        acc += c
    return acc * x


def _normal_cdf(x):
    """Φ(x) = erfc(-x/√2)/2 in float64, with full relative accuracy for x << 0."""
    x64 = x.astype(np.float64, copy=False)
    half_tail = _erfc_nonneg(array_module(x).abs(x64) * _SQRT1_2)
    half_tail *= 0.5
    # q for x < 0, 1 - q otherwise; arithmetic on the mask is far faster than np.where
    # and leaves q untouched (exact) on the negative side
    flip = (x64 >= 0).astype(np.float64)
    flip *= 1.0 - 2.0 * half_tail
    half_tail += flip
    return half_tail


class _GELU(Function):
    """Exact: y = x·Φ(x), Φ the standard normal CDF;  dx = g·(Φ(x) + x·φ(x)), φ(x) = e^(-x²/2)/√(2π).

    Tanh: y = x/2·(1 + tanh u), u = √(2/π)(x + 0.044715x³);
          dx = g·(½(1 + tanh u) + ½x(1 - tanh² u)·√(2/π)(1 + 3·0.044715x²)).
    Evaluated as ½(1 + tanh u) = σ(2u) and ¼(1 - tanh² u) = σ(2u)σ(-2u) = e/(1+e)² with
    e = e^(-|2u|): 1 ± tanh u cancel to nothing in float32 for |u| > 9, these do not.
    """

    def forward(self, x, approximate="none"):
        self.x, self.approximate = x, approximate
        if approximate == "tanh":
            x2 = x * x
            u = x2 * 0.044715
            u += 1.0
            u *= x
            u *= 2.0 * _TANH_K  # u now holds 2u
            xp = array_module(x)
            e = xp.abs(u)
            xp.negative(e, out=e)
            xp.exp(e, out=e)
            r = e + 1.0
            xp.reciprocal(r, out=r)
            s = e * r  # σ(2u) = e/(1+e) for u < 0, 1/(1+e) = e/(1+e) + (1-e)/(1+e) otherwise
            s += (u >= 0).astype(x.dtype) * ((1.0 - e) * r)
            if self.requires_grad:
                e *= r
                e *= r  # σ(2u)σ(-2u)
                self.s, self.q, self.x2 = s, e, x2
            return x * s
        cdf = _normal_cdf(x).astype(x.dtype, copy=False)
        self.cdf = cdf
        return x * cdf

    def backward(self, g):
        x = self.x
        if self.approximate == "tanh":
            d = self.x2 * (3 * 0.044715)
            d += 1.0
            d *= 2.0 * _TANH_K
            d *= self.q
            d *= x
            d += self.s
            d *= g
            return d
        d = x * x
        d *= -0.5
        array_module(d).exp(d, out=d)
        d *= _INV_SQRT_2PI
        d *= x
        d += self.cdf
        d *= g
        return d


def gelu(input, approximate: str = "none"):
    """Gaussian error linear unit, elementwise (Hendrycks & Gimpel 2016): x weighted by Φ(x).

        exact ('none'):  y = x·Φ(x), Φ the standard normal CDF
                         dx = g·(Φ(x) + x·φ(x)),  φ(x) = e^(-x²/2)/√(2π)
        'tanh':          y = x/2·(1 + tanh u),  u = √(2/π)(x + 0.044715x³)
                         dx = g·(½(1 + tanh u) + ½x(1 - tanh² u)·√(2/π)(1 + 3·0.044715x²))

    Φ comes from an erfc fitted to 4e-10 in float64 (NumPy has no erf); the tanh form is
    evaluated through σ(2u) so that 1 ± tanh u never cancels in float32.

    Args:
        input: a float tensor (or array) of any shape.
        approximate: 'none' (exact, default) or 'tanh'.

    Shape:
        - Output: the input's shape.

    Example::

        >>> x = fn.tensor([-1., 0., 2.], requires_grad=True)
        >>> y = F.gelu(x)
        >>> y.numpy().round(4)
        array([-0.1587,  0.    ,  1.9545], dtype=float32)
        >>> y.sum().backward()
        >>> x.grad.numpy().round(4)
        array([-0.0833,  0.5   ,  1.0852], dtype=float32)
        >>> F.gelu(x, approximate="tanh").numpy().round(4)
        array([-0.1588,  0.    ,  1.9546], dtype=float32)
    """
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return _GELU.apply(_float_input(input, "gelu"), approximate=approximate)


# -------------------------------------------------------------------- softmax family


def _softmax_dim(op: str, x, dim, dtype):
    if dtype is not None:
        x = x.to(dtype)
    check_float(x, op)
    if dim is None:
        # PyTorch's legacy implicit choice, kept so that old code gives the same numbers
        dim = 0 if x.ndim in (0, 1, 3) else 1
        warnings.warn(f"{op}: implicit dimension choice is deprecated; pass dim explicitly "
                      f"(using dim={dim})", UserWarning, stacklevel=3)
    nd = max(x.ndim, 1)
    if not -nd <= dim < nd:
        raise IndexError(f"{op}: dim {dim} is out of range for an input with {x.ndim} dims")
    return x, int(dim) % nd


class _Softmax(Function):
    """y_i = e^(x_i - m) / Σ_j e^(x_j - m) along ``dim`` (m = max, so nothing overflows);
    dx = y·(g - Σ_j g_j·y_j)."""

    def forward(self, x, dim):
        self.dim = dim
        y = x - x.max(axis=dim, keepdims=True)
        array_module(x).exp(y, out=y)
        y /= y.sum(axis=dim, keepdims=True)
        self.y = y
        return y

    def backward(self, g):
        y = self.y
        gy = g * y
        s = gy.sum(axis=self.dim, keepdims=True)
        gy -= y * s
        return gy


class _LogSoftmax(Function):
    """y = x - m - log Σ_j e^(x_j - m) along ``dim``;  dx = g - softmax(x)·Σ_j g_j."""

    def forward(self, x, dim):
        self.dim = dim
        xp = array_module(x)
        y = x - x.max(axis=dim, keepdims=True)
        y -= xp.log(xp.exp(y).sum(axis=dim, keepdims=True))
        self.y = y
        return y

    def backward(self, g):
        p = array_module(g).exp(self.y)
        p *= g.sum(axis=self.dim, keepdims=True)
        return g - p


def _normalise(fn, op, input, dim, dtype):
    x, d = _softmax_dim(op, as_tensor(input, op=op), dim, dtype)
    if x.ndim == 0:  # a single value: treat it as one element along dim 0
        return fn.apply(x.reshape(1), dim=0).reshape(())
    return fn.apply(x, dim=d)


def softmax(input, dim=None, _stacklevel: int = 3, dtype=None):
    """Softmax along ``dim``: exponentials normalised so that each slice sums to 1.

        y_i = e^(x_i - m) / Σ_j e^(x_j - m) along dim  (m = the max, so nothing overflows)
        backward: dx = y·(g - Σ_j g_j·y_j)

    Args:
        input: a float tensor (or array) of any shape.
        dim: the axis to normalise. None picks PyTorch's legacy implicit axis (0 for 0-, 1-
            and 3-d inputs, else 1) with a deprecation warning.
        _stacklevel: accepted for PyTorch compatibility, unused.
        dtype: if given, the input is cast to it first.

    Shape:
        - Output: the input's shape.

    Example::

        >>> x = fn.tensor([[0., 0., np.log(2.)], [1., 1., 1.]], requires_grad=True)
        >>> y = F.softmax(x, dim=1)
        >>> y.numpy()
        array([[0.25      , 0.25      , 0.5       ],
               [0.33333334, 0.33333334, 0.33333334]], dtype=float32)
        >>> y[:, 2].sum().backward()
        >>> x.grad.numpy().round(4)
        array([[-0.125 , -0.125 ,  0.25  ],
               [-0.1111, -0.1111,  0.2222]], dtype=float32)
    """
    return _normalise(_Softmax, "softmax", input, dim, dtype)


def log_softmax(input, dim=None, _stacklevel: int = 3, dtype=None):
    """Log-softmax along ``dim``: log(softmax(x)), computed stably (no log of an underflowed 0).

        y = x - m - log Σ_j e^(x_j - m) along dim  (m = the max)
        backward: dx = g - softmax(x)·Σ_j g_j

    Args:
        input: a float tensor (or array) of any shape.
        dim: the axis to normalise. None picks PyTorch's legacy implicit axis (0 for 0-, 1-
            and 3-d inputs, else 1) with a deprecation warning.
        _stacklevel: accepted for PyTorch compatibility, unused.
        dtype: if given, the input is cast to it first.

    Shape:
        - Output: the input's shape.

    Example::

        >>> x = fn.tensor([[0., 0., np.log(2.)]], requires_grad=True)
        >>> y = F.log_softmax(x, dim=1)
        >>> np.exp(y.numpy())
        array([[0.25, 0.25, 0.5 ]], dtype=float32)
        >>> F.log_softmax(fn.tensor([1000., 0.]), dim=0).numpy()
        array([    0., -1000.], dtype=float32)
        >>> y[0, 0].backward()
        >>> x.grad.numpy()
        array([[ 0.75, -0.25, -0.5 ]], dtype=float32)
    """
    return _normalise(_LogSoftmax, "log_softmax", input, dim, dtype)
