"""The lecture's size and parameter formulas, one function each, written as the lecture writes them.

Notation for one spatial axis: n input size, f filter (kernel) size, p padding, s stride,
d dilation. Every size function also takes (h, w) tuples and then answers per axis.

    output size      floor((n + 2p - f) / s) + 1          (dilation: f -> d(f - 1) + 1)
    'same' padding   p = (f - 1) / 2                       (odd f, stride 1)
    conv parameters  (f*f*in_channels + 1) * filters       (the +1 is each filter's bias)
    FC parameters    (inputs + 1) * units  =  inputs*units + units
    conv mult-adds   out_h * out_w * out_c * (f*f*in_c / groups)
    FC mult-adds     inputs * units
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

from foveanet import geometry

__all__ = [
    "conv_output_size", "same_padding", "pool_output_size", "conv_params", "conv_params_formula",
    "fc_params", "fc_params_formula", "conv_mult_adds", "fc_mult_adds", "effective_kernel",
    "Stage", "example_network",
]


def _is_pair(v) -> bool:
    return isinstance(v, (tuple, list))


def _int(v, name: str, op: str, minimum: int) -> int:
    if not isinstance(v, numbers.Integral) or isinstance(v, bool) or v < minimum:
        raise ValueError(f"{op}: {name} must be an int >= {minimum}, got {v!r}")
    return int(v)


def _per_axis(op: str, n, **settings):
    """Splits tuple arguments into per-axis calls; None when every argument is a scalar."""
    values = {"n": n, **settings}
    lengths = {len(v) for v in values.values() if _is_pair(v)}
    if not lengths:
        return None
    if len(lengths) > 1:
        raise ValueError(f"{op}: tuple arguments must have the same length, got {values}")
    k = lengths.pop()
    return [{key: (v[i] if _is_pair(v) else v) for key, v in values.items()} for i in range(k)]


def effective_kernel(f: int, dilation: int = 1) -> int:
    """f_eff = d(f - 1) + 1: a dilated filter spans this many input pixels."""
    return geometry.effective_kernel(f, dilation)


def same_padding(f, dilation=1):
    """Padding that keeps the size at stride 1: p = (f - 1) / 2.

    Odd f gives an int. Even f cannot be split evenly: PyTorch's ``padding='same'`` puts
    (f_eff - 1) // 2 on the left/top and the extra pixel on the right/bottom, returned as
    a (left, right) tuple. A tuple f gives one answer per axis.
    """
    if _is_pair(f):
        return tuple(same_padding(fi, dilation[i] if _is_pair(dilation) else dilation)
                     for i, fi in enumerate(f))
    left, right = geometry.same_padding_split(_int(f, "f", "same_padding", 1),
                                              _int(dilation, "dilation", "same_padding", 1))
    return left if left == right else (left, right)


def _padding_total(padding, f_eff: int, stride: int, op: str) -> int:
    """Left + right padding of one axis (the lecture's 2p when symmetric)."""
    if isinstance(padding, str):
        if padding == "valid":
            return 0
        if padding == "same":
            if stride != 1:
                # PyTorch refuses it too: no single padding keeps n at stride > 1
                raise ValueError(f"{op}: padding='same' needs stride 1, got stride={stride}")
            return f_eff - 1  # split by geometry.same_padding_split where it is applied
        raise ValueError(f"{op}: padding must be an int, 'valid' or 'same', got {padding!r}")
    return 2 * _int(padding, "padding", op, 0)


def conv_output_size(n, f, padding=0, stride=1, dilation=1):
    """Output size of a convolution: floor((n + 2p - f) / s) + 1.

    With dilation d the filter covers f_eff = d(f - 1) + 1 pixels and f_eff replaces f.
    ``padding`` is an int, 'valid' (p = 0) or 'same' (output = input, stride 1 only).
    Any of n, f, padding, stride, dilation may be an (h, w) tuple; the result is then one.

        conv_output_size(6, 3)                -> 4        (6x6 image, 3x3 filter)
        conv_output_size(6, 3, padding=1)     -> 6        (p = 1 keeps 6x6)
        conv_output_size(7, 3, stride=2)      -> 3        (floor((7 - 3) / 2) + 1)
    """
    split = _per_axis("conv_output_size", n, f=f, padding=padding, stride=stride, dilation=dilation)
    if split is not None:
        return tuple(conv_output_size(**a) for a in split)
    op = "conv_output_size"
    n, f = _int(n, "n", op, 1), _int(f, "f", op, 1)
    s, d = _int(stride, "stride", op, 1), _int(dilation, "dilation", op, 1)
    f_eff = effective_kernel(f, d)
    two_p = _padding_total(padding, f_eff, s, op)
    if n + two_p < f_eff:
        raise ValueError(f"{op}: the filter (f_eff = {f_eff}) does not fit in the padded input "
                         f"(n + 2p = {n + two_p})")
    return geometry.conv_output(n, f, two_p, s, d)


def pool_output_size(n, f, stride=None, padding=0, dilation=1, ceil_mode=False):
    """Output size of max/avg pooling: floor((n + 2p - f) / s) + 1, stride defaulting to f.

    ``ceil_mode`` rounds up instead, but (as in PyTorch) a last window that would start in
    the right padding is dropped. Tuples give per-axis answers.

        pool_output_size(28, 2) -> 14;  pool_output_size(7, 2) -> 3;  ceil_mode=True -> 4
    """
    if stride is None:
        stride = f
    split = _per_axis("pool_output_size", n, f=f, stride=stride, padding=padding,
                      dilation=dilation, ceil_mode=ceil_mode)
    if split is not None:
        return tuple(pool_output_size(**a) for a in split)
    op = "pool_output_size"
    n, f = _int(n, "n", op, 1), _int(f, "f", op, 1)
    s, p, d = _int(stride, "stride", op, 1), _int(padding, "padding", op, 0), _int(dilation, "dilation", op, 1)
    if n + 2 * p < effective_kernel(f, d):
        raise ValueError(f"{op}: the window ({effective_kernel(f, d)}) does not fit in the padded "
                         f"input ({n + 2 * p})")
    return geometry.pool_output(n, f, s, p, d, bool(ceil_mode))


def _kernel_dims(f, op: str) -> tuple:
    """An int f is the lecture's square f x f filter; a tuple gives each axis (1-d: (k,))."""
    dims = tuple(f) if _is_pair(f) else (f, f)
    return tuple(_int(k, "f", op, 1) for k in dims)


def conv_params(f, in_channels, filters, bias=True, groups=1) -> int:
    """Parameters of a conv layer: (f*f*in_channels + 1) * filters.

    Each of the ``filters`` filters is f x f x in_channels weights plus one bias. With
    ``groups`` each filter sees in_channels/groups channels. ``f`` may be (kh, kw).

        conv_params(5, 1, 6)   -> 156     (LeNet-5 C1)
        conv_params(3, 3, 10)  -> 280     (ten 3x3x3 filters: (27 + 1) * 10)
    """
    op = "conv_params"
    k = math.prod(_kernel_dims(f, op))
    c, o, g = _int(in_channels, "in_channels", op, 1), _int(filters, "filters", op, 1), _int(groups, "groups", op, 1)
    if c % g or o % g:
        raise ValueError(f"{op}: in_channels ({c}) and filters ({o}) must be divisible by groups ({g})")
    return (k * (c // g) + (1 if bias else 0)) * o


def conv_params_formula(f, in_channels, filters, bias=True, groups=1) -> str:
    """:func:`conv_params` as the lecture writes it: ``conv_params_formula(5, 1, 6)`` ->
    ``"(5*5*1+1)*6 = 156"``; groups show as ``/g``, no bias drops the ``+1``."""
    dims = _kernel_dims(f, "conv_params_formula")
    total = conv_params(f, in_channels, filters, bias, groups)
    per = "*".join(map(str, dims + (in_channels,))) + (f"/{groups}" if groups != 1 else "")
    return f"({per}+1)*{filters} = {total}" if bias else f"{per}*{filters} = {total}"


def fc_params(inputs, units, bias=True) -> int:
    """Parameters of a fully connected layer: (inputs + 1) * units = inputs*units + units.

        fc_params(400, 120) -> 48120;  fc_params(480_000, 1000) -> 480_001_000
    """
    i, u = _int(inputs, "inputs", "fc_params", 1), _int(units, "units", "fc_params", 1)
    return (i + (1 if bias else 0)) * u


def fc_params_formula(inputs, units, bias=True) -> str:
    """``fc_params_formula(400, 120)`` -> ``"(400+1)*120 = 48120"``."""
    total = fc_params(inputs, units, bias)
    return f"({inputs}+1)*{units} = {total}" if bias else f"{inputs}*{units} = {total}"


def conv_mult_adds(out_size, out_channels, f, in_channels, groups=1) -> int:
    """Multiply-adds of a conv layer: out_h * out_w * out_c * (f*f*in_c / groups).

    Every output value is one dot product of length f*f*in_c/groups (the bias add is not
    counted). LeNet-5 C1: 28*28*6 * (5*5*1) = 117,600. 1-d: out_size=(L,), f=(k,).
    """
    out = tuple(out_size) if _is_pair(out_size) else (out_size, out_size)
    k = math.prod(_kernel_dims(f, "conv_mult_adds"))
    return math.prod(out) * out_channels * (k * in_channels // groups)


def fc_mult_adds(inputs, units) -> int:
    """Multiply-adds of a fully connected layer: inputs * units (one per weight)."""
    return inputs * units


# ------------------------------------------------------------------ the lecture's example


@dataclass(frozen=True)
class Stage:
    """One step of :func:`example_network`: the layer and the volume it outputs."""

    layer: str
    f: int
    stride: int
    padding: int
    filters: int
    shape: tuple          # (h, w, c) after the layer
    params: int
    formula: str

    @property
    def size(self) -> int:
        return math.prod(self.shape)


def example_network(input_shape=(39, 39, 3), layers=((3, 1, 0, 10), (5, 2, 0, 20), (5, 2, 0, 40))):
    """The lecture's example ConvNet, stage by stage, each layer given as (f, s, p, filters).

    39x39x3 -> conv 3x3 s1, 10 -> 37x37x10 -> conv 5x5 s2, 20 -> 17x17x20
            -> conv 5x5 s2, 40 -> 7x7x40, flattened to 7*7*40 = 1,960 features.
    Returns the list of :class:`Stage` (input first, params 0).
    """
    h, w, c = input_shape
    stages = [Stage("input", 0, 0, 0, 0, (h, w, c), 0, "")]
    for i, (f, s, p, k) in enumerate(layers, 1):
        h, w = conv_output_size((h, w), f, padding=p, stride=s)
        stages.append(Stage(f"conv{i}", f, s, p, k, (h, w, k), conv_params(f, c, k),
                            conv_params_formula(f, c, k)))
        c = k
    return stages
