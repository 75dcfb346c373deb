"""Convolution layers with torch.nn's constructors, attributes, weight layouts and default init."""
from __future__ import annotations

import numbers

import numpy as np

import foveanet.functional as F
from foveanet import backend
from foveanet.autograd.function import shape_of
from foveanet.functional._utils import ntuple
from foveanet.functional.conv import conv_relu
from foveanet.geometry import same_padding_split
from foveanet.nn import init
from foveanet.nn.modules.module import Module
from foveanet.nn.parameter import Parameter

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _ntuple(value, n: int, name: str, cls: str) -> tuple:
    return ntuple(value, n, name, cls, expand_single=False)


class _ConvNd(Module):
    _nd = 2
    transposed = False

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation,
                 output_padding, groups, bias, padding_mode, device=None, dtype=None):
        super().__init__()
        cls, nd = type(self).__name__, self._nd
        if groups <= 0:
            raise ValueError(f"{cls}: groups must be a positive integer, got {groups}")
        if in_channels % groups:
            raise ValueError(f"{cls}: in_channels ({in_channels}) must be divisible by groups ({groups})")
        if out_channels % groups:
            raise ValueError(f"{cls}: out_channels ({out_channels}) must be divisible by groups ({groups})")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"{cls}: padding_mode must be one of {_PADDING_MODES}, got {padding_mode!r}")
        self.in_channels, self.out_channels, self.groups = int(in_channels), int(out_channels), int(groups)
        self.kernel_size = _ntuple(kernel_size, nd, "kernel_size", cls)
        self.stride = _ntuple(stride, nd, "stride", cls)
        self.dilation = _ntuple(dilation, nd, "dilation", cls)
        self.output_padding = _ntuple(output_padding, nd, "output_padding", cls)
        self.padding_mode = padding_mode
        if isinstance(padding, str):
            if padding not in ("valid", "same"):
                raise ValueError(f"{cls}: invalid padding string {padding!r}, should be one of {{'valid', 'same'}}")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError(f"{cls}: padding='same' is not supported for strided convolutions")
            self.padding = padding
        else:
            self.padding = _ntuple(padding, nd, "padding", cls)
        # what F.pad needs for non-zero padding modes: last dim first, (before, after) each
        if padding_mode != "zeros":
            if self.padding == "valid":
                amounts = [(0, 0)] * nd
            elif self.padding == "same":
                amounts = [same_padding_split(k, d) for d, k in zip(self.dilation, self.kernel_size)]
            else:
                amounts = [(p, p) for p in self.padding]
            self._reversed_padding_repeated_twice = tuple(v for pair in reversed(amounts) for v in pair)
        dt = np.dtype(dtype or backend.get_default_dtype())
        if self.transposed:
            shape = (self.in_channels, self.out_channels // self.groups) + self.kernel_size
        else:
            shape = (self.out_channels, self.in_channels // self.groups) + self.kernel_size
        self.weight = Parameter(np.empty(shape, dtype=dt))
        if bias:
            self.bias = Parameter(np.empty((self.out_channels,), dtype=dt))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()
        if device is not None:
            self.to(device)

    def reset_parameters(self) -> None:
        init._default_layer_init_(self.weight, self.bias)

    def extra_repr(self) -> str:
        nd = self._nd
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * nd:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * nd:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * nd:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class _Conv(_ConvNd):
    _fn = "conv2d"

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         0, groups, bias, padding_mode, device, dtype)

    def _forward_relu(self, input):
        """``relu(self(input))`` as one op (``functional.conv.conv_relu``), for a container
        that runs this layer and a ReLU after it; the caller has checked that no hook
        watches either and that padding is zeros."""
        return conv_relu(self._fn, input, self.weight, self.bias, self.stride, self.padding,
                         self.dilation, self.groups)

    def forward(self, input):
        conv = getattr(F, self._fn)
        if self.padding_mode != "zeros":
            input = F.pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode)
            return conv(input, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)
        return conv(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


class Conv1d(_Conv):
    """A 1-d convolution over sequences of length L, with C_in channels in and C_out out.

        out[n, j] = bias[j] + sum_i cross-correlation(weight[j, i], x[n, i])

    The output length and the number of learnable values are

        L_out = floor((L + 2p - d(k-1) - 1)/s) + 1
        parameters = (C_in/groups * k + 1) * C_out    (C_in/groups * k * C_out without bias)

    The kernel is not flipped (a cross-correlation, as in PyTorch). With groups = g, the
    input channels split into g groups of C_in/g, each convolved with its own C_out/g
    filters, and the results are concatenated.

    Args:
        in_channels: C_in, the number of channels of the input.
        out_channels: C_out, the number of filters (channels of the output).
        kernel_size: k, the kernel length, an int (or a 1-tuple).
        stride: s, the step between kernel positions (default 1).
        padding: p cells added on both sides, an int (or a 1-tuple); or ``'valid'``
            (p = 0) or ``'same'`` (L_out = L, stride 1 only; an odd total d(k-1) puts the
            extra cell on the right) (default 0).
        dilation: d, the spacing between the kernel's taps (default 1).
        groups: g; in_channels and out_channels must be divisible by it; g = C_in is a
            depthwise convolution (default 1).
        bias: learn an additive bias per output channel (default True).
        padding_mode: what fills the padding: ``'zeros'`` (default), ``'reflect'``,
            ``'replicate'`` or ``'circular'``.
        device: where the parameters live (default None: the CPU); ``'cuda'`` builds them on
            the host (one seed, one model on every device) and moves them, as ``.to(device)``.
        dtype: the parameters' dtype (default None: ``foveanet.get_default_dtype()``).

    Shape:
        - Input: (N, C_in, L) or (C_in, L).
        - Output: (N, C_out, L_out) or (C_out, L_out), L_out = floor((L + 2p - d(k-1) - 1)/s) + 1.

    Attributes:
        weight: Parameter of shape (C_out, C_in/groups, k), initialised U(-b, b),
            ``b = 1/sqrt(C_in/groups * k)``, which is kaiming_uniform_ with a = sqrt(5),
            PyTorch's default.
        bias: Parameter of shape (C_out,), initialised U(-b, b) with the same b (None
            with bias=False).

    Example::

        >>> m = nn.Conv1d(16, 33, 3, stride=2)
        >>> m(fn.ones(20, 16, 50)).shape                  # floor((50 - 2 - 1)/2) + 1 = 24
        (20, 33, 24)
        >>> sum(p.numel() for p in m.parameters())       # (16 * 3 + 1) * 33
        1617
        >>> m = nn.Conv1d(1, 1, 2, bias=False)
        >>> _ = nn.init.ones_(m.weight)
        >>> m(fn.tensor([[[1., 2., 3., 4.]]])).numpy()   # sums of neighbouring pairs
        array([[[3., 5., 7.]]], dtype=float32)
    """
    _nd, _fn = 1, "conv1d"


class Conv2d(_Conv):
    """A 2-d convolution over H x W feature maps, with C_in channels in and C_out out.

        out[n, j] = bias[j] + sum_i cross-correlation(weight[j, i], x[n, i])

    The output size, per spatial axis, and the number of learnable values are

        out = floor((n + 2p - d(k-1) - 1)/s) + 1
        parameters = (C_in/groups * kH * kW + 1) * C_out    (no + 1 without bias)

    The kernel is not flipped (a cross-correlation, as in PyTorch). With groups = g, the
    input channels split into g groups of C_in/g, each convolved with its own C_out/g
    filters, and the results are concatenated.

    Args:
        in_channels: C_in, the number of channels of the input.
        out_channels: C_out, the number of filters (channels of the output).
        kernel_size: k, an int or a pair (kH, kW).
        stride: s, the step between kernel positions, an int or a pair (default 1).
        padding: p rows/columns added on each side, an int or a pair; or ``'valid'``
            (p = 0) or ``'same'`` (output size = input size, stride 1 only; an odd total
            d(k-1) puts the extra row/column at the bottom/right) (default 0).
        dilation: d, the spacing between the kernel's taps, an int or a pair (default 1).
        groups: g; in_channels and out_channels must be divisible by it; g = C_in is a
            depthwise convolution (default 1).
        bias: learn an additive bias per output channel (default True).
        padding_mode: what fills the padding: ``'zeros'`` (default), ``'reflect'``,
            ``'replicate'`` or ``'circular'``.
        device: where the parameters live (default None: the CPU); ``'cuda'`` builds them on
            the host (one seed, one model on every device) and moves them, as ``.to(device)``.
        dtype: the parameters' dtype (default None: ``foveanet.get_default_dtype()``).

    Shape:
        - Input: (N, C_in, H, W) or (C_in, H, W).
        - Output: (N, C_out, H_out, W_out) or (C_out, H_out, W_out), where per axis
          H_out = floor((H + 2p - d(k-1) - 1)/s) + 1 (H_out = H with ``padding='same'``).

    Attributes:
        weight: Parameter of shape (C_out, C_in/groups, kH, kW), initialised U(-b, b),
            ``b = 1/sqrt(C_in/groups * kH * kW)``, which is kaiming_uniform_ with a = sqrt(5),
            PyTorch's default.
        bias: Parameter of shape (C_out,), initialised U(-b, b) with the same b (None
            with bias=False).

    Example::

        >>> m = nn.Conv2d(3, 8, 3, padding=1)
        >>> m(fn.ones(2, 3, 32, 32)).shape
        (2, 8, 32, 32)
        >>> nn.Conv2d(3, 8, 3, stride=2)(fn.ones(2, 3, 32, 32)).shape   # floor(29/2) + 1 = 15
        (2, 8, 15, 15)
        >>> sum(p.numel() for p in m.parameters())                      # (3 * 3 * 3 + 1) * 8
        224
        >>> m = nn.Conv2d(1, 1, 2, bias=False)
        >>> _ = nn.init.ones_(m.weight)
        >>> m(fn.arange(9.).reshape(1, 1, 3, 3)).numpy()                 # sums of 2x2 windows
        array([[[[ 8., 12.],
                 [20., 24.]]]], dtype=float32)
    """
    _nd, _fn = 2, "conv2d"


class _ConvTranspose(_ConvNd):
    transposed = True
    _fn = "conv_transpose2d"

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0,
                 groups=1, bias=True, dilation=1, padding_mode="zeros", device=None, dtype=None):
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for {type(self).__name__}, '
                             f"got {padding_mode!r}")
        if isinstance(padding, str):
            raise ValueError(f"{type(self).__name__}: padding must be an int or a tuple, got {padding!r}")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         output_padding, groups, bias, padding_mode, device, dtype)

    def _output_padding(self, input, output_size) -> tuple:
        """The output_padding that makes the output ``output_size`` (several sizes map back to
        the same input size under a strided conv, so the caller may pick one)."""
        if output_size is None:
            return self.output_padding
        nd = self._nd
        size = tuple(int(s) for s in output_size)[-nd:]
        if len(size) != nd:
            raise ValueError(f"{type(self).__name__}: output_size must have {nd} or more values, got {output_size!r}")
        spatial = tuple(shape_of(input)[-nd:])
        out = []
        for i in range(nd):
            smallest = ((spatial[i] - 1) * self.stride[i] - 2 * self.padding[i]
                        + self.dilation[i] * (self.kernel_size[i] - 1) + 1)
            extra = size[i] - smallest
            if not 0 <= extra < max(self.stride[i], self.dilation[i]):
                raise ValueError(
                    f"{type(self).__name__}: requested an output size of {size}, but valid sizes range from "
                    f"{smallest} to {smallest + max(self.stride[i], self.dilation[i]) - 1} along dim {i} "
                    f"(for an input of {spatial})")
            out.append(extra)
        return tuple(out)

    def forward(self, input, output_size=None):
        opad = self._output_padding(input, output_size)
        return getattr(F, self._fn)(input, self.weight, self.bias, self.stride, self.padding, opad,
                                    self.groups, self.dilation)


class ConvTranspose1d(_ConvTranspose):
    """Transposed 1-d convolution: the input-gradient of Conv1d, used to upsample sequences.

    The output length and the number of learnable values are

        L_out = (L - 1)s - 2p + d(k-1) + output_padding + 1
        parameters = (C_out/groups * k) * C_in + C_out    (no + C_out without bias)

    Each input value scatters a scaled copy of its kernel into the output, s cells after
    the previous one; overlapping copies add up. A Conv1d with the same kernel_size, stride,
    padding and dilation maps L_out back to L.

    Args:
        in_channels: C_in, the number of channels of the input.
        out_channels: C_out, the number of channels of the output.
        kernel_size: k, the kernel length, an int (or a 1-tuple).
        stride: s, the step between the kernel copies in the output (default 1).
        padding: p cells trimmed from both ends of the output, an int (or a 1-tuple); it
            undoes a Conv1d's padding p; strings are not accepted (default 0).
        output_padding: cells added at the end of the output, smaller than stride or
            dilation: picks among the lengths that a strided Conv1d maps to L (default 0).
        groups: g; in_channels and out_channels must be divisible by it (default 1).
        bias: learn an additive bias per output channel (default True).
        dilation: d, the spacing between the kernel's taps (default 1).
        padding_mode: only ``'zeros'`` (the default); other modes raise ValueError.
        device: where the parameters live (default None: the CPU); ``'cuda'`` builds them on
            the host (one seed, one model on every device) and moves them, as ``.to(device)``.
        dtype: the parameters' dtype (default None: ``foveanet.get_default_dtype()``).

    Shape:
        - Input: (N, C_in, L) or (C_in, L).
        - Output: (N, C_out, L_out) or (C_out, L_out),
          L_out = (L - 1)s - 2p + d(k-1) + output_padding + 1; ``forward(input, output_size)``
          chooses the output_padding that gives the requested size.

    Attributes:
        weight: Parameter of shape (C_in, C_out/groups, k), initialised U(-b, b) with
            ``b = 1/sqrt(C_out/groups * k)`` (PyTorch's default, computed on this layout).
        bias: Parameter of shape (C_out,), initialised U(-b, b) with the same b (None
            with bias=False).

    Example::

        >>> m = nn.ConvTranspose1d(16, 8, 4, stride=2, padding=1)
        >>> m(fn.ones(20, 16, 50)).shape                  # 49 * 2 - 2 + 3 + 1 = 100
        (20, 8, 100)
        >>> m = nn.ConvTranspose1d(1, 1, 2, stride=2, bias=False)
        >>> _ = nn.init.ones_(m.weight)
        >>> m(fn.tensor([[[1., 2., 3.]]])).numpy()        # each value copied twice
        array([[[1., 1., 2., 2., 3., 3.]]], dtype=float32)
    """
    _nd, _fn = 1, "conv_transpose1d"


class ConvTranspose2d(_ConvTranspose):
    """Transposed 2-d convolution: the input-gradient of Conv2d, used to upsample feature maps.

    The output size, per spatial axis, and the number of learnable values are

        out = (n - 1)s - 2p + d(k-1) + output_padding + 1
        parameters = (C_out/groups * kH * kW) * C_in + C_out    (no + C_out without bias)

    Each input value scatters a scaled copy of its kernel into the output, s cells after
    the previous one; overlapping copies add up (the "deconvolution" of U-Net and FCN
    decoders). A Conv2d with the same kernel_size, stride, padding and dilation maps the
    output size back to the input size.

    Args:
        in_channels: C_in, the number of channels of the input.
        out_channels: C_out, the number of channels of the output.
        kernel_size: k, an int or a pair (kH, kW).
        stride: s, the step between the kernel copies in the output, int or pair (default 1).
        padding: p rows/columns trimmed from each side of the output, int or pair; it
            undoes a Conv2d's padding p; strings are not accepted (default 0).
        output_padding: rows/columns added at the bottom/right of the output, int or pair,
            smaller than stride or dilation: picks among the sizes that a strided Conv2d
            maps to the input size (default 0).
        groups: g; in_channels and out_channels must be divisible by it (default 1).
        bias: learn an additive bias per output channel (default True).
        dilation: d, the spacing between the kernel's taps, int or pair (default 1).
        padding_mode: only ``'zeros'`` (the default); other modes raise ValueError.
        device: where the parameters live (default None: the CPU); ``'cuda'`` builds them on
            the host (one seed, one model on every device) and moves them, as ``.to(device)``.
        dtype: the parameters' dtype (default None: ``foveanet.get_default_dtype()``).

    Shape:
        - Input: (N, C_in, H, W) or (C_in, H, W).
        - Output: (N, C_out, H_out, W_out) or (C_out, H_out, W_out), where per axis
          H_out = (H - 1)s - 2p + d(k-1) + output_padding + 1; ``forward(input, output_size)``
          chooses the output_padding that gives the requested size.

    Attributes:
        weight: Parameter of shape (C_in, C_out/groups, kH, kW), initialised U(-b, b) with
            ``b = 1/sqrt(C_out/groups * kH * kW)`` (PyTorch's default, computed on this layout).
        bias: Parameter of shape (C_out,), initialised U(-b, b) with the same b (None
            with bias=False).

    Example::

        >>> x = fn.ones(1, 16, 12, 12)
        >>> down = nn.Conv2d(16, 16, 3, stride=2, padding=1)
        >>> up = nn.ConvTranspose2d(16, 16, 3, stride=2, padding=1)
        >>> h = down(x)
        >>> h.shape, up(h).shape                          # 5 * 2 - 2 + 2 + 1 = 11
        ((1, 16, 6, 6), (1, 16, 11, 11))
        >>> up(h, output_size=x.shape).shape              # output_padding 1
        (1, 16, 12, 12)
        >>> m = nn.ConvTranspose2d(1, 1, 2, stride=2, bias=False)
        >>> _ = nn.init.ones_(m.weight)
        >>> m(fn.tensor([[[[1., 2.]]]])).numpy()          # each value spread over a 2x2 block
        array([[[[1., 1., 2., 2.],
                 [1., 1., 2., 2.]]]], dtype=float32)
    """
    _nd, _fn = 2, "conv_transpose2d"
