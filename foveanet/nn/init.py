"""Weight initialisation with PyTorch's names, formulas and defaults.

Every function fills ``tensor`` in place (its ``.data``), returns it, and draws from
``foveanet.backend.generator()``, so ``foveanet.manual_seed`` makes a model's starting point
reproducible. The streams differ from PyTorch's (different generators); the distributions
are the same, so a model starts where a PyTorch model of the same architecture would start
in distribution.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from foveanet import backend
from foveanet.autograd.tensor import Tensor

__all__ = [
    "calculate_gain", "uniform_", "normal_", "constant_", "zeros_", "ones_", "eye_",
    "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_",
    "trunc_normal_", "orthogonal_",
]


def _array(tensor, fn: str) -> np.ndarray:
    if isinstance(tensor, Tensor):
        return tensor.data
    if isinstance(tensor, np.ndarray):
        return tensor
    raise TypeError(f"init.{fn}: expected a Tensor or ndarray, got {type(tensor).__name__}")


def _fill(tensor, values: np.ndarray):
    arr = _array(tensor, "fill")
    # draws are float64; casting on assignment keeps the tensor's dtype (float32 stays float32)
    arr[...] = values
    return tensor


def calculate_gain(nonlinearity: str, param=None) -> float:
    """The factor that keeps activations' variance constant through ``nonlinearity``."""
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
    receptive = int(np.prod(shape[2:])) if len(shape) > 2 else 1
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
    arr = _array(tensor, "uniform_")
    gen = backend.generator()
    _draw_into(arr, lambda shape, dt, out: gen.random(shape, dtype=dt, out=out))
    arr *= b - a
    arr += a
    return tensor


def normal_(tensor, mean: float = 0.0, std: float = 1.0):
    arr = _array(tensor, "normal_")
    gen = backend.generator()
    _draw_into(arr, lambda shape, dt, out: gen.standard_normal(shape, dtype=dt, out=out))
    arr *= std
    arr += mean
    return tensor


def constant_(tensor, val: float):
    _array(tensor, "constant_")[...] = val
    return tensor


def zeros_(tensor):
    return constant_(tensor, 0.0)


def ones_(tensor):
    return constant_(tensor, 1.0)


def eye_(tensor):
    arr = _array(tensor, "eye_")
    if arr.ndim != 2:
        raise ValueError(f"init.eye_: only 2-d tensors are supported, got shape {arr.shape}")
    arr[...] = np.eye(*arr.shape)
    return tensor


def xavier_uniform_(tensor, gain: float = 1.0):
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    bound = math.sqrt(3.0) * gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return uniform_(tensor, -bound, bound)


def xavier_normal_(tensor, gain: float = 1.0):
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / float(fan_in + fan_out)))


def _kaiming_std(tensor, a, mode, nonlinearity) -> float:
    fan = _fan(tensor, mode)
    if fan == 0:  # zero-element tensor: nothing to draw (PyTorch warns and does nothing)
        return 0.0
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu"):
    """U(-b, b) with b = gain·sqrt(3/fan); Conv/Linear defaults use a=sqrt(5), i.e. b = 1/sqrt(fan_in)."""
    bound = math.sqrt(3.0) * _kaiming_std(tensor, a, mode, nonlinearity)
    return uniform_(tensor, -bound, bound)


def kaiming_normal_(tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu"):
    """N(0, std²) with std = gain/sqrt(fan)."""
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
    """A (semi-)orthogonal matrix from the QR of a Gaussian one, over shape[0] x rest."""
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
