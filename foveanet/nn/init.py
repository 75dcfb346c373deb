"""Weight initialisation with PyTorch's names, formulas and defaults.

Every function fills ``tensor`` in place (its ``.data``), returns it, and draws from
``foveanet.backend.generator()``, so ``foveanet.manual_seed`` makes a model's starting point
reproducible. The streams differ from PyTorch's (different generators); the distributions
are the same, so a model starts where a PyTorch model of the same architecture would start
in distribution.
"""
from __future__ import annotations

import contextlib
import math
import numbers

import numpy as np

from foveanet import backend
from foveanet.autograd.tensor import Tensor
from foveanet.backend import devices as _device
from foveanet.backend.arrays import array_module

__all__ = [
    "calculate_gain", "uniform_", "normal_", "constant_", "zeros_", "ones_", "eye_",
    "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_",
    "trunc_normal_", "orthogonal_",
]


def _array(tensor, fn: str):
    if isinstance(tensor, Tensor):
        return tensor.data
    if isinstance(tensor, np.ndarray) or _device.device_array_module(tensor) is not None:
        return tensor
    raise TypeError(f"init.{fn}: expected a Tensor or ndarray, got {type(tensor).__name__}")


@contextlib.contextmanager
def _on_host(tensor, fn: str):
    """The array to draw into: the tensor's own on the CPU; on a GPU a host copy, written
    back once at the end. Draws come from the host generator either way, so a seed gives a
    model the same starting point on every device."""
    arr = _array(tensor, fn)
    if isinstance(arr, np.ndarray):
        yield arr
        return
    host = _device.to_host(arr)
    yield host
    arr[...] = _device.to_device(host, _device.device_of(arr))


def _fill(tensor, values: np.ndarray):
    arr = _array(tensor, "fill")
    # draws are float64; casting on assignment keeps the tensor's dtype (float32 stays float32)
    arr[...] = _device.to_device(values, _device.device_of(arr))
    return tensor


def calculate_gain(nonlinearity: str, param=None) -> float:
    """The factor that keeps activations' variance constant through ``nonlinearity``.

    1 for linear layers and sigmoid, 5/3 for tanh, sqrt(2) for relu,
    sqrt(2 / (1 + slope^2)) for leaky_relu, 3/4 for selu; the ``gain`` of the xavier and
    kaiming initialisations.

    Args:
        nonlinearity: ``'linear'``, ``'conv1d'``, ``'conv2d'``, ``'conv3d'``,
            ``'conv_transpose1d/2d/3d'``, ``'sigmoid'``, ``'tanh'``, ``'relu'``,
            ``'leaky_relu'`` or ``'selu'``.
        param: leaky_relu's negative slope (default None: 0.01).

    Returns:
        float: the gain.

    Example::

        >>> nn.init.calculate_gain("relu")
        1.4142135623730951
        >>> nn.init.calculate_gain("tanh")
        1.6666666666666667
        >>> nn.init.calculate_gain("leaky_relu", 1.0)     # slope 1: the identity
        1.0
    """
    linear = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
              "conv_transpose3d")
    if nonlinearity in linear or nonlinearity == "sigmoid":
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, numbers.Real) and not isinstance(param, bool):
            slope = float(param)
        else:
            raise ValueError(f"calculate_gain: negative_slope {param!r} is not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def _calculate_fan_in_and_fan_out(tensor) -> tuple:
    """fan_in = shape[1]·prod(shape[2:]), fan_out = shape[0]·prod(shape[2:]).

    Applied to the weight as stored, as PyTorch does: for ConvTranspose (in, out/g, k...) this
    gives fan_in = out/g·k, and it is that value PyTorch's default init uses.
    """
    shape = _array(tensor, "_calculate_fan_in_and_fan_out").shape
    if len(shape) < 2:
        raise ValueError(
            f"Fan in and fan out can not be computed for tensor with fewer than 2 dimensions (shape {shape})")
    receptive = math.prod(shape[2:]) if len(shape) > 2 else 1
    return shape[1] * receptive, shape[0] * receptive


def _fan(tensor, mode: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"init: mode {mode!r} not supported, please use one of 'fan_in', 'fan_out'")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _draw_into(arr: np.ndarray, draw) -> None:
    """Draw straight into ``arr`` in its own dtype: drawing float64 and casting would hold a
    second, twice-as-large copy of every weight (1.3 GB transient for VGG-16)."""
    if arr.dtype in (np.float32, np.float64) and arr.flags.c_contiguous:
        draw(arr.shape, arr.dtype, arr)
    else:
        arr[...] = draw(arr.shape, np.float32, None)


def uniform_(tensor, a: float = 0.0, b: float = 1.0):
    """Fill ``tensor`` in place with draws from the uniform distribution U(a, b).

    Args:
        tensor: a Tensor (or ndarray) to fill.
        a: the lower bound (default 0).
        b: the upper bound (default 1).

    Returns:
        ``tensor``, filled.

    Example::

        >>> _ = fn.manual_seed(0)
        >>> nn.init.uniform_(fn.empty(3), -1.0, 1.0)
        tensor([0.7012, 0.2739, 0.0223])
        >>> w = nn.init.uniform_(fn.empty(10000), 2.0, 4.0)
        >>> float(w.min()) >= 2.0, float(w.max()) < 4.0, round(float(w.mean()), 2)
        (True, True, 3.0)
    """
    gen = backend.generator()
    with _on_host(tensor, "uniform_") as arr:
        _draw_into(arr, lambda shape, dt, out: gen.random(shape, dtype=dt, out=out))
        arr *= b - a
        arr += a
    return tensor


def normal_(tensor, mean: float = 0.0, std: float = 1.0):
    """Fill ``tensor`` in place with draws from the normal distribution N(mean, std²).

    Args:
        tensor: a Tensor (or ndarray) to fill.
        mean: the mean (default 0).
        std: the standard deviation (default 1).

    Returns:
        ``tensor``, filled.

    Example::

        >>> _ = fn.manual_seed(0)
        >>> w = nn.init.normal_(fn.empty(100, 100), mean=3.0, std=0.5)
        >>> round(float(w.mean()), 2), round(float(w.std()), 2)
        (3.0, 0.5)
    """
    gen = backend.generator()
    with _on_host(tensor, "normal_") as arr:
        _draw_into(arr, lambda shape, dt, out: gen.standard_normal(shape, dtype=dt, out=out))
        arr *= std
        arr += mean
    return tensor


def constant_(tensor, val: float):
    """Fill ``tensor`` in place with the value ``val``.

    Args:
        tensor: a Tensor (or ndarray) to fill.
        val: the value of every element.

    Returns:
        ``tensor``, filled.

    Example::

        >>> m = nn.Linear(2, 3)
        >>> _ = nn.init.constant_(m.bias, 0.1)
        >>> m.bias.numpy()
        array([0.1, 0.1, 0.1], dtype=float32)
    """
    _array(tensor, "constant_")[...] = val
    return tensor


def zeros_(tensor):
    """Fill ``tensor`` in place with 0.

    Args:
        tensor: a Tensor (or ndarray) to fill.

    Returns:
        ``tensor``, filled.

    Example::

        >>> m = nn.Linear(3, 2)
        >>> _ = nn.init.zeros_(m.bias)
        >>> m(fn.zeros(1, 3)).numpy()          # x = 0 and b = 0 give y = 0
        array([[0., 0.]], dtype=float32)
    """
    return constant_(tensor, 0.0)


def ones_(tensor):
    """Fill ``tensor`` in place with 1.

    Args:
        tensor: a Tensor (or ndarray) to fill.

    Returns:
        ``tensor``, filled.

    Example::

        >>> nn.init.ones_(fn.empty(2, 2))
        tensor([[1., 1.],
                [1., 1.]])
        >>> nn.init.ones_(np.zeros(3))
        array([1., 1., 1.])
    """
    return constant_(tensor, 1.0)


def eye_(tensor):
    """Fill a 2-d ``tensor`` in place with the identity matrix (ones on the diagonal).

    A Linear layer with this weight and a zero bias passes its input through unchanged.

    Args:
        tensor: a 2-d Tensor (or ndarray) to fill; it need not be square.

    Returns:
        ``tensor``, filled.

    Example::

        >>> m = nn.Linear(3, 3)
        >>> _ = nn.init.eye_(m.weight)
        >>> _ = nn.init.zeros_(m.bias)
        >>> m(fn.tensor([[1.0, 2.0, 3.0]])).numpy()
        array([[1., 2., 3.]], dtype=float32)
        >>> nn.init.eye_(fn.empty(2, 3))
        tensor([[1., 0., 0.],
                [0., 1., 0.]])
    """
    arr = _array(tensor, "eye_")
    if arr.ndim != 2:
        raise ValueError(f"init.eye_: only 2-d tensors are supported, got shape {arr.shape}")
    arr[...] = array_module(arr).eye(*arr.shape)
    return tensor


def xavier_uniform_(tensor, gain: float = 1.0):
    """Fill ``tensor`` in place with Glorot's uniform draws, scaled by fan_in + fan_out.

        U(-b, b),   b = gain·sqrt(6/(fan_in + fan_out))
        fan_in = shape[1]·prod(shape[2:]),   fan_out = shape[0]·prod(shape[2:])

    Drawn so, a weight of shape (out, in, k...) keeps the variance of activations and of
    gradients about constant through a linear (or tanh, with its gain) layer.

    Args:
        tensor: a Tensor (or ndarray) of 2 or more dims to fill.
        gain: the factor for the nonlinearity, see ``calculate_gain`` (default 1).

    Returns:
        ``tensor``, filled.

    Example::

        >>> import math
        >>> _ = fn.manual_seed(0)
        >>> w = nn.init.xavier_uniform_(fn.empty(20, 30))
        >>> bound = math.sqrt(6 / (20 + 30))
        >>> round(bound, 4), float(w.abs().max()) <= bound
        (0.3464, True)
    """
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    bound = math.sqrt(3.0) * gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return uniform_(tensor, -bound, bound)


def xavier_normal_(tensor, gain: float = 1.0):
    """Fill ``tensor`` in place with Glorot's normal draws, scaled by fan_in + fan_out.

        N(0, std²),   std = gain·sqrt(2/(fan_in + fan_out))
        fan_in = shape[1]·prod(shape[2:]),   fan_out = shape[0]·prod(shape[2:])

    Args:
        tensor: a Tensor (or ndarray) of 2 or more dims to fill.
        gain: the factor for the nonlinearity, see ``calculate_gain`` (default 1).

    Returns:
        ``tensor``, filled.

    Example::

        >>> _ = fn.manual_seed(0)
        >>> w = nn.init.xavier_normal_(fn.empty(200, 300))
        >>> round(float(w.std()), 3), round((2 / (200 + 300)) ** 0.5, 3)
        (0.063, 0.063)
    """
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / float(fan_in + fan_out)))


def _kaiming_std(tensor, a, mode, nonlinearity) -> float:
    fan = _fan(tensor, mode)
    if fan == 0:  # zero-element tensor: nothing to draw (PyTorch warns and does nothing)
        return 0.0
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu"):
    """Fill ``tensor`` in place with He's uniform draws, scaled by the fan of ``mode``.

        U(-b, b),   b = gain·sqrt(3/fan),   gain = calculate_gain(nonlinearity, a)
        fan_in = shape[1]·prod(shape[2:]),   fan_out = shape[0]·prod(shape[2:])

    Conv/Linear defaults use a = sqrt(5), i.e. b = 1/sqrt(fan_in).

    Args:
        tensor: a Tensor (or ndarray) of 2 or more dims to fill.
        a: leaky_relu's negative slope (default 0).
        mode: ``'fan_in'`` (keeps the forward variance, default) or ``'fan_out'``
            (the backward's).
        nonlinearity: the activation after the layer, as ``calculate_gain`` names it
            (default ``'leaky_relu'``).

    Returns:
        ``tensor``, filled.

    Example::

        >>> _ = fn.manual_seed(0)
        >>> w = nn.init.kaiming_uniform_(fn.empty(64, 96), nonlinearity="relu")
        >>> round(float(w.abs().max()), 3)              # b = sqrt(2)·sqrt(3/96) = 0.25
        0.25
        >>> m = nn.Linear(100, 10)                      # the default: b = 1/sqrt(100)
        >>> float(m.weight.abs().max()) <= 0.1
        True
    """
    bound = math.sqrt(3.0) * _kaiming_std(tensor, a, mode, nonlinearity)
    return uniform_(tensor, -bound, bound)


def kaiming_normal_(tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu"):
    """Fill ``tensor`` in place with He's normal draws, scaled by the fan of ``mode``.

        N(0, std²),   std = gain/sqrt(fan),   gain = calculate_gain(nonlinearity, a)
        fan_in = shape[1]·prod(shape[2:]),   fan_out = shape[0]·prod(shape[2:])

    Args:
        tensor: a Tensor (or ndarray) of 2 or more dims to fill.
        a: leaky_relu's negative slope (default 0).
        mode: ``'fan_in'`` (keeps the forward variance, default) or ``'fan_out'``
            (the backward's).
        nonlinearity: the activation after the layer, as ``calculate_gain`` names it
            (default ``'leaky_relu'``).

    Returns:
        ``tensor``, filled.

    Example::

        >>> _ = fn.manual_seed(0)
        >>> w = nn.init.kaiming_normal_(fn.empty(256, 128), nonlinearity="relu")
        >>> round(float(w.std()), 3)                    # sqrt(2/128) = 0.125
        0.125
    """
    return normal_(tensor, 0.0, _kaiming_std(tensor, a, mode, nonlinearity))


def _default_layer_init_(weight, bias=None) -> None:
    """torch.nn's default for Linear and Conv*: weight by kaiming_uniform_(a=√5), which is
    U(±1/√fan_in), and bias U(±1/√fan_in) (zeros when fan_in is 0)."""
    kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        fan_in, _ = _calculate_fan_in_and_fan_out(weight)
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
        uniform_(bias, -bound, bound)

def trunc_normal_(tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0):
    """N(mean, std²) conditioned on [a, b] (absolute bounds, as in PyTorch).

    Redrawing the values that fall outside samples the truncated law exactly; each round
    keeps at least the in-interval mass, so a sane interval finishes in a few rounds.

    Args:
        tensor: a Tensor (or ndarray) to fill.
        mean: the mean of the normal before truncation (default 0).
        std: its standard deviation (default 1).
        a: the lower bound, in the tensor's units, not in stds (default -2).
        b: the upper bound (default 2).

    Returns:
        ``tensor``, filled.

    Example::

        >>> _ = fn.manual_seed(0)
        >>> w = nn.init.trunc_normal_(fn.empty(10000), std=1.0, a=-0.5, b=0.5)
        >>> float(w.min()) >= -0.5, float(w.max()) <= 0.5
        (True, True)
        >>> w = nn.init.trunc_normal_(fn.empty(10000), std=0.02)   # [-2, 2] cuts nothing
        >>> round(float(w.std()), 3)
        0.02
    """
    if not a < b:
        raise ValueError(f"init.trunc_normal_: expected a < b, got a={a}, b={b}")
    arr = _array(tensor, "trunc_normal_")
    gen = backend.generator()
    out = gen.normal(mean, std, size=arr.shape)
    bad = (out < a) | (out > b)
    for _ in range(1000):
        n = int(bad.sum())
        if n == 0:
            break
        out[bad] = gen.normal(mean, std, size=n)
        bad = (out < a) | (out > b)
    else:  # an interval far in the tail: clamping is the least surprising fallback
        np.clip(out, a, b, out=out)
    return _fill(tensor, out)


def orthogonal_(tensor, gain: float = 1.0):
    """Fill ``tensor`` in place with a (semi-)orthogonal matrix, times ``gain``.

    The matrix is the Q of the QR of a Gaussian one, over shape[0] x rest: its rows (or,
    for a tall matrix, its columns) are orthonormal.

    Args:
        tensor: a Tensor (or ndarray) of 2 or more dims to fill, viewed as
            shape[0] x (product of the other dims).
        gain: the factor applied to the orthogonal matrix (default 1).

    Returns:
        ``tensor``, filled.

    Example::

        >>> _ = fn.manual_seed(0)
        >>> w = nn.init.orthogonal_(fn.empty(3, 5)).numpy()
        >>> np.allclose(w @ w.T, np.eye(3), atol=1e-6)       # orthonormal rows
        True
        >>> w = nn.init.orthogonal_(fn.empty(4, 4), gain=2.0).numpy()
        >>> np.allclose(w.T @ w, 4 * np.eye(4), atol=1e-5)
        True
    """
    arr = _array(tensor, "orthogonal_")
    if arr.ndim < 2:
        raise ValueError(f"init.orthogonal_: only tensors with 2 or more dimensions are supported, got shape {arr.shape}")
    rows, cols = arr.shape[0], arr.size // arr.shape[0]
    flat = backend.generator().standard_normal((rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    # the sign fix makes Q uniformly (Haar) distributed rather than biased by QR's convention
    q *= np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _fill(tensor, gain * q.reshape(arr.shape))
