"""Activation layers: stateless wrappers that store their settings for forward and repr."""
from __future__ import annotations

import foveanet.functional as F
from foveanet.nn.modules.module import Module


def _inplace(flag: bool, lead: str = "") -> str:
    return (lead + "inplace=True") if flag else ""


class ReLU(Module):
    """Rectified linear unit, elementwise: y = max(0, x).

    Args:
        inplace: accepted for PyTorch compatibility and ignored: the result is always a
            new tensor and the input is left unchanged (default False).

    Shape:
        - Input: ``(*)``, any number of dims, a float dtype (integer tensors raise TypeError).
        - Output: ``(*)``, the input's shape and dtype.

    Example::

        >>> m = nn.ReLU()
        >>> m(fn.tensor([-2., 0., 3.])).numpy()
        array([0., 0., 3.], dtype=float32)
    """

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        return F.relu(input, inplace=self.inplace)

    def extra_repr(self) -> str:
        return _inplace(self.inplace)


class ReLU6(Module):
    """ReLU capped at 6, elementwise: y = min(max(0, x), 6).

    Args:
        inplace: accepted for PyTorch compatibility and ignored: the result is always a
            new tensor and the input is left unchanged (default False).

    Shape:
        - Input: ``(*)``, any number of dims, a float dtype (integer tensors raise TypeError).
        - Output: ``(*)``, the input's shape and dtype.

    Attributes:
        min_val, max_val: the clamp bounds, 0.0 and 6.0 (plain floats, not parameters).

    Example::

        >>> m = nn.ReLU6()
        >>> m(fn.tensor([-2., 3., 8.])).numpy()
        array([0., 3., 6.], dtype=float32)
    """

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = inplace
        self.min_val, self.max_val = 0.0, 6.0

    def forward(self, input):
        return F.relu6(input, inplace=self.inplace)

    def extra_repr(self) -> str:
        return _inplace(self.inplace)


class LeakyReLU(Module):
    """Leaky ReLU, elementwise: y = x for x > 0, y = negative_slope * x otherwise.

    Args:
        negative_slope: the slope a for x <= 0 (default 0.01).
        inplace: accepted for PyTorch compatibility and ignored: the result is always a
            new tensor and the input is left unchanged (default False).

    Shape:
        - Input: ``(*)``, any number of dims, a float dtype (integer tensors raise TypeError).
        - Output: ``(*)``, the input's shape and dtype.

    Example::

        >>> m = nn.LeakyReLU(0.5)
        >>> m(fn.tensor([-2., 0., 1.])).numpy()
        array([-1.,  0.,  1.], dtype=float32)
    """

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False):
        super().__init__()
        self.negative_slope, self.inplace = negative_slope, inplace

    def forward(self, input):
        return F.leaky_relu(input, self.negative_slope, self.inplace)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}" + _inplace(self.inplace, ", ")


class ELU(Module):
    """Exponential linear unit, elementwise: y = x for x > 0, y = alpha * (exp(x) - 1) otherwise.

    Args:
        alpha: the scale of the negative branch; y -> -alpha as x -> -inf (default 1.0).
        inplace: accepted for PyTorch compatibility and ignored: the result is always a
            new tensor and the input is left unchanged (default False).

    Shape:
        - Input: ``(*)``, any number of dims, a float dtype (integer tensors raise TypeError).
        - Output: ``(*)``, the input's shape and dtype.

    Example::

        >>> m = nn.ELU()
        >>> m(fn.tensor([-1., 0., 2.])).numpy().round(4)
        array([-0.6321,  0.    ,  2.    ], dtype=float32)
    """

    def __init__(self, alpha: float = 1.0, inplace: bool = False):
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def forward(self, input):
        return F.elu(input, self.alpha, self.inplace)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}" + _inplace(self.inplace, ", ")


class SiLU(Module):
    """Sigmoid-weighted linear unit (swish), elementwise: y = x * sigmoid(x).

    Args:
        inplace: accepted for PyTorch compatibility and ignored: the result is always a
            new tensor and the input is left unchanged (default False).

    Shape:
        - Input: ``(*)``, any number of dims, a float dtype (integer tensors raise TypeError).
        - Output: ``(*)``, the input's shape and dtype.

    Example::

        >>> m = nn.SiLU()
        >>> m(fn.tensor([-1., 0., 1.])).numpy().round(4)
        array([-0.2689,  0.    ,  0.7311], dtype=float32)
    """

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        return F.silu(input, inplace=self.inplace)

    def extra_repr(self) -> str:
        return _inplace(self.inplace)


class Sigmoid(Module):
    """Logistic sigmoid, elementwise: y = 1 / (1 + exp(-x)), computed without overflow.

    Takes no arguments.

    Shape:
        - Input: ``(*)``, any number of dims, a float dtype (integer tensors raise TypeError).
        - Output: ``(*)``, the input's shape and dtype.

    Example::

        >>> m = nn.Sigmoid()
        >>> m(fn.tensor([-1., 0., 1.])).numpy().round(4)
        array([0.2689, 0.5   , 0.7311], dtype=float32)
    """

    def forward(self, input):
        return F.sigmoid(input)


class Tanh(Module):
    """Hyperbolic tangent, elementwise: y = tanh(x) = (exp(x) - exp(-x)) / (exp(x) + exp(-x)).

    Takes no arguments.

    Shape:
        - Input: ``(*)``, any number of dims, a float dtype (integer tensors raise TypeError).
        - Output: ``(*)``, the input's shape and dtype.

    Example::

        >>> m = nn.Tanh()
        >>> m(fn.tensor([-1., 0., 1.])).numpy().round(4)
        array([-0.7616,  0.    ,  0.7616], dtype=float32)
    """

    def forward(self, input):
        return F.tanh(input)


class GELU(Module):
    """Gaussian error linear unit, elementwise: y = x * Phi(x), Phi the standard normal CDF.

    With ``approximate='tanh'``:

        y = x/2 * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3)))

    Args:
        approximate: ``'none'`` (exact, the default) or ``'tanh'``. Any other string is
            stored as given and raises ValueError on the first forward.

    Shape:
        - Input: ``(*)``, any number of dims, a float dtype (integer tensors raise TypeError).
        - Output: ``(*)``, the input's shape and dtype.

    Example::

        >>> m = nn.GELU()
        >>> m(fn.tensor([-1., 0., 1.])).numpy().round(4)
        array([-0.1587,  0.    ,  0.8413], dtype=float32)
        >>> nn.GELU('tanh')(fn.tensor([1.])).numpy().round(4)
        array([0.8412], dtype=float32)
    """

    def __init__(self, approximate: str = "none"):
        super().__init__()
        self.approximate = approximate

    def forward(self, input):
        return F.gelu(input, approximate=self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Softmax(Module):
    """Softmax along ``dim``: y_i = exp(x_i) / sum_j exp(x_j), so every slice sums to 1.

    Computed as exp(x - max) / sum exp(x - max), so large inputs do not overflow.

    Args:
        dim: the dim to normalise along (default None: PyTorch's legacy implicit choice,
            dim 0 for a 0-, 1- or 3-d input and dim 1 otherwise, with a UserWarning).

    Shape:
        - Input: ``(*)``, a float dtype.
        - Output: ``(*)``, the input's shape and dtype; values in [0, 1].

    Example::

        >>> m = nn.Softmax(dim=1)
        >>> m(fn.tensor([[0., 0.], [1., 1.]])).numpy()
        array([[0.5, 0.5],
               [0.5, 0.5]], dtype=float32)
    """

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        return F.softmax(input, self.dim, _stacklevel=5)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """Log of the softmax along ``dim``: y_i = x_i - log(sum_j exp(x_j)), computed stably.

    Args:
        dim: the dim to normalise along (default None: PyTorch's legacy implicit choice,
            dim 0 for a 0-, 1- or 3-d input and dim 1 otherwise, with a UserWarning).

    Shape:
        - Input: ``(*)``, a float dtype.
        - Output: ``(*)``, the input's shape and dtype; values in (-inf, 0].

    Example::

        >>> m = nn.LogSoftmax(dim=1)
        >>> m(fn.tensor([[0., 0., 0., 0.]])).numpy().round(4)
        array([[-1.3863, -1.3863, -1.3863, -1.3863]], dtype=float32)
        >>> round(float(np.exp(m(fn.tensor([[1., 2., 3.]])).numpy()).sum()), 4)
        1.0
    """

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        return F.log_softmax(input, self.dim, _stacklevel=5)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Hardsigmoid(Module):
    """Hard sigmoid, elementwise: y = relu6(x + 3) / 6 (MobileNetV3's squeeze-excitation gate).

    Args:
        inplace: accepted for PyTorch compatibility and ignored: the result is always a
            new tensor and the input is left unchanged (default False).

    Shape:
        - Input: ``(*)``, any number of dims, a float dtype (integer tensors raise TypeError).
        - Output: ``(*)``, the input's shape and dtype.

    Example::

        >>> m = nn.Hardsigmoid()
        >>> m(fn.tensor([-4., 0., 1.5, 4.])).numpy()
        array([0.  , 0.5 , 0.75, 1.  ], dtype=float32)
    """

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        return F.hardsigmoid(input, inplace=self.inplace)

    def extra_repr(self) -> str:
        return _inplace(self.inplace)


class Hardswish(Module):
    """Hard swish, elementwise: y = x * relu6(x + 3) / 6 (MobileNetV3's activation).

    Args:
        inplace: accepted for PyTorch compatibility and ignored: the result is always a
            new tensor and the input is left unchanged (default False).

    Shape:
        - Input: ``(*)``, any number of dims, a float dtype (integer tensors raise TypeError).
        - Output: ``(*)``, the input's shape and dtype.

    Example::

        >>> m = nn.Hardswish()
        >>> m(fn.tensor([-4., -1.5, 1.5, 4.])).numpy()
        array([-0.   , -0.375,  1.125,  4.   ], dtype=float32)
    """

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        return F.hardswish(input, inplace=self.inplace)

    def extra_repr(self) -> str:
        return _inplace(self.inplace)
