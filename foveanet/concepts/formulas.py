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
    """The number of input pixels a dilated filter spans along one axis.

        f_eff = d(f - 1) + 1

    Args:
        f: filter (kernel) size.
        dilation: d, the spacing between the filter's taps (default 1: f_eff = f).

    Returns:
        int: f_eff, which replaces f in the output-size formula.

    Example::

        >>> fn.concepts.effective_kernel(3, dilation=2)   # taps at 0, 2, 4
        5
        >>> fn.concepts.effective_kernel(3)
        3
    """
    return geometry.effective_kernel(f, dilation)


def same_padding(f, dilation=1):
    """The padding that keeps a convolution's output size equal to its input at stride 1.

        p = (f_eff - 1) / 2,    f_eff = d(f - 1) + 1

    Odd f gives an int. Even f cannot be split evenly: PyTorch's ``padding='same'`` puts
    (f_eff - 1) // 2 on the left/top and the extra pixel on the right/bottom, returned as
    a (left, right) tuple. A tuple f gives one answer per axis.

    Args:
        f: filter size, an int or a tuple of per-axis sizes.
        dilation: d, an int or a tuple like ``f`` (default 1).

    Returns:
        int, (left, right) tuple, or a tuple of those per axis.

    Example::

        >>> fn.concepts.same_padding(3)
        1
        >>> fn.concepts.same_padding(4)                 # 1 left, 2 right
        (1, 2)
        >>> fn.concepts.same_padding(3, dilation=2)     # f_eff = 5
        2
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
    """The output size of a convolution along one spatial axis.

        out = floor((n + 2p - f_eff) / s) + 1,    f_eff = d(f - 1) + 1

    Any of n, f, padding, stride, dilation may be an (h, w) tuple; the result is then one.

    Args:
        n: input size.
        f: filter (kernel) size.
        padding: p, pixels added on each side: an int, ``'valid'`` (p = 0) or ``'same'``
            (the output as large as the input, stride 1 only) (default 0).
        stride: s, the step between filter positions (default 1).
        dilation: d, the spacing between the filter's taps (default 1).

    Returns:
        int, or a tuple with one size per axis.

    Raises:
        ValueError: the filter does not fit in the padded input, or an argument is not a
            positive int.

    Example::

        >>> fn.concepts.conv_output_size(6, 3)              # 6x6 image, 3x3 filter
        4
        >>> fn.concepts.conv_output_size(6, 3, padding=1)   # p = 1 keeps 6x6
        6
        >>> fn.concepts.conv_output_size(7, 3, stride=2)    # floor((7 - 3) / 2) + 1
        3
        >>> fn.concepts.conv_output_size((28, 32), 3, padding="same")
        (28, 32)
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
    """The output size of max or average pooling along one spatial axis.

        out = floor((n + 2p - f_eff) / s) + 1,    f_eff = d(f - 1) + 1

    ``ceil_mode`` rounds up instead, but (as in PyTorch) a last window that would start in
    the right padding is dropped. Tuples give per-axis answers.

    Args:
        n: input size.
        f: window size.
        stride: s (default None: the window size f, non-overlapping windows).
        padding: p, pixels added on each side (default 0).
        dilation: d, the spacing between the window's taps (default 1).
        ceil_mode: round the division up instead of down (default False).

    Returns:
        int, or a tuple with one size per axis.

    Example::

        >>> fn.concepts.pool_output_size(28, 2)
        14
        >>> fn.concepts.pool_output_size(7, 2)                   # the 7th column is dropped
        3
        >>> fn.concepts.pool_output_size(7, 2, ceil_mode=True)   # ... or kept in a half window
        4
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
    """The number of learnable parameters of a convolution layer.

        params = (f*f*in_channels/groups + 1) * filters      (no + 1 without bias)

    Each of the ``filters`` filters is f x f x in_channels weights plus one bias. With
    ``groups`` each filter sees in_channels/groups channels.

    Args:
        f: filter size, an int (f x f) or a tuple of per-axis sizes ((kh, kw), or (k,) in 1-d).
        in_channels: channels of the input.
        filters: number of filters (channels of the output).
        bias: count one bias per filter (default True).
        groups: channel groups; in_channels and filters must be divisible by it (default 1).

    Returns:
        int: the parameter count.

    Example::

        >>> fn.concepts.conv_params(5, 1, 6)      # LeNet-5 C1: (5*5*1 + 1) * 6
        156
        >>> fn.concepts.conv_params(3, 3, 10)     # ten 3x3x3 filters: (27 + 1) * 10
        280
        >>> fn.concepts.conv_params(3, 32, 32, groups=32)   # depthwise: (9 + 1) * 32
        320
    """
    op = "conv_params"
    k = math.prod(_kernel_dims(f, op))
    c, o, g = _int(in_channels, "in_channels", op, 1), _int(filters, "filters", op, 1), _int(groups, "groups", op, 1)
    if c % g or o % g:
        raise ValueError(f"{op}: in_channels ({c}) and filters ({o}) must be divisible by groups ({g})")
    return (k * (c // g) + (1 if bias else 0)) * o


def conv_params_formula(f, in_channels, filters, bias=True, groups=1) -> str:
    """The parameter count of a convolution layer as the lecture writes it, with its result.

    The string is ``conv_params``'s formula filled in: groups show as ``/g``, no bias
    drops the ``+1``.

    Args:
        f: filter size, an int (f x f) or a tuple of per-axis sizes.
        in_channels: channels of the input.
        filters: number of filters.
        bias: count one bias per filter (default True).
        groups: channel groups (default 1).

    Returns:
        str: e.g. ``'(5*5*1+1)*6 = 156'``.

    Example::

        >>> fn.concepts.conv_params_formula(5, 1, 6)
        '(5*5*1+1)*6 = 156'
        >>> fn.concepts.conv_params_formula(3, 64, 64, bias=False)
        '3*3*64*64 = 36864'
    """
    dims = _kernel_dims(f, "conv_params_formula")
    total = conv_params(f, in_channels, filters, bias, groups)
    per = "*".join(map(str, dims + (in_channels,))) + (f"/{groups}" if groups != 1 else "")
    return f"({per}+1)*{filters} = {total}" if bias else f"{per}*{filters} = {total}"


def fc_params(inputs, units, bias=True) -> int:
    """The number of learnable parameters of a fully connected layer.

        params = (inputs + 1) * units = inputs*units + units      (no + 1 without bias)

    Args:
        inputs: input features.
        units: output features.
        bias: count one bias per unit (default True).

    Returns:
        int: the parameter count.

    Example::

        >>> fn.concepts.fc_params(400, 120)           # LeNet-5's first FC layer
        48120
        >>> fn.concepts.fc_params(480_000, 1000)      # a 400x400x3 image to 1,000 units
        480001000
    """
    i, u = _int(inputs, "inputs", "fc_params", 1), _int(units, "units", "fc_params", 1)
    return (i + (1 if bias else 0)) * u


def fc_params_formula(inputs, units, bias=True) -> str:
    """The parameter count of a fully connected layer as the lecture writes it, with its result.

    Args:
        inputs: input features.
        units: output features.
        bias: count one bias per unit (default True; False drops the ``+1``).

    Returns:
        str: e.g. ``'(400+1)*120 = 48120'``.

    Example::

        >>> fn.concepts.fc_params_formula(400, 120)
        '(400+1)*120 = 48120'
        >>> fn.concepts.fc_params_formula(400, 120, bias=False)
        '400*120 = 48000'
    """
    total = fc_params(inputs, units, bias)
    return f"({inputs}+1)*{units} = {total}" if bias else f"{inputs}*{units} = {total}"


def conv_mult_adds(out_size, out_channels, f, in_channels, groups=1) -> int:
    """The number of multiply-adds a convolution layer computes for one image.

        mult-adds = out_h * out_w * out_c * (f*f*in_c / groups)

    Every output value is one dot product of length ``f*f*in_c/groups`` (the bias add is not
    counted).

    Args:
        out_size: spatial size of the output: an int (square), (out_h, out_w), or (L,) in 1-d.
        out_channels: out_c, channels of the output.
        f: filter size, an int (f x f) or a tuple ((k,) in 1-d).
        in_channels: in_c, channels of the input.
        groups: channel groups (default 1).

    Returns:
        int: the multiply-add count.

    Example::

        >>> fn.concepts.conv_mult_adds(28, 6, 5, 1)     # LeNet-5 C1: 28*28*6 * 5*5*1
        117600
        >>> fn.concepts.conv_mult_adds((10,), 4, (3,), 2)   # 1-d: 10*4 * 3*2
        240
    """
    out = tuple(out_size) if _is_pair(out_size) else (out_size, out_size)
    k = math.prod(_kernel_dims(f, "conv_mult_adds"))
    return math.prod(out) * out_channels * (k * in_channels // groups)


def fc_mult_adds(inputs, units) -> int:
    """The number of multiply-adds a fully connected layer computes for one input row.

        mult-adds = inputs * units      (one per weight; the bias add is not counted)

    Args:
        inputs: input features.
        units: output features.

    Returns:
        int: the multiply-add count.

    Example::

        >>> fn.concepts.fc_mult_adds(400, 120)
        48000
    """
    return inputs * units


# ------------------------------------------------------------------ the lecture's example


@dataclass(frozen=True)
class Stage:
    """One step of ``example_network``: the layer and the volume it outputs.

    Attributes:
        layer: ``'input'``, ``'conv1'``, ``'conv2'``...
        f: filter size (0 for the input).
        stride: s (0 for the input).
        padding: p.
        filters: number of filters (0 for the input).
        shape: (h, w, c) of the volume after the layer.
        params: the layer's parameter count, ``conv_params``.
        formula: that count as ``conv_params_formula`` writes it.
        size: ``h * w * c``, the values in the volume (a property).

    Example::

        >>> stage = fn.concepts.example_network()[1]
        >>> stage.layer, stage.shape, stage.formula
        ('conv1', (37, 37, 10), '(3*3*3+1)*10 = 280')
        >>> stage.size                  # 37 * 37 * 10
        13690
    """

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
    """The lecture's example ConvNet, stage by stage: each volume's shape and parameter count.

        39x39x3 -> conv 3x3 s1, 10 -> 37x37x10 -> conv 5x5 s2, 20 -> 17x17x20
                -> conv 5x5 s2, 40 -> 7x7x40, flattened to 7*7*40 = 1,960 features

    Args:
        input_shape: (h, w, c) of the input volume (default (39, 39, 3)).
        layers: one (f, s, p, filters) tuple per conv layer (default: the lecture's three).

    Returns:
        list of ``Stage``: the input first (params 0), then one per layer.

    Example::

        >>> stages = fn.concepts.example_network()
        >>> [s.shape for s in stages]
        [(39, 39, 3), (37, 37, 10), (17, 17, 20), (7, 7, 40)]
        >>> stages[-1].size                                  # features after flattening
        1960
        >>> sum(s.params for s in stages)                    # 280 + 5020 + 20040
        25340
    """
    h, w, c = input_shape
    stages = [Stage("input", 0, 0, 0, 0, (h, w, c), 0, "")]
    for i, (f, s, p, k) in enumerate(layers, 1):
        h, w = conv_output_size((h, w), f, padding=p, stride=s)
        stages.append(Stage(f"conv{i}", f, s, p, k, (h, w, k), conv_params(f, c, k),
                            conv_params_formula(f, c, k)))
        c = k
    return stages
