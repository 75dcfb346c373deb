"""Why convolutions: a fully connected layer against a conv layer with an equally large output.

For an input of n = H*W*C values:
    FC to u units          weights n*u, parameters (n + 1)*u, connections (multiply-adds) n*u
    conv, F filters f x f  parameters (f*f*C + 1)*F, connections out_h*out_w*F * f*f*C

The lecture's numbers:
    400x400x3 = 480,000 inputs -> same-sized FC layer: 480,000^2 = 230,400,000,000 weights
        (2.304e11; 230,400,480,000 with the 480,000 biases); -> 1,000 units: 480,000,000
        weights (480,001,000 with biases).
    32x32x3 -> 28x28x6: FC 3,072 * 4,704 = 14,450,688 weights (~14.45 million) against
        conv 5*5*3*6 + 6 = 456. The course quotes 156 = 5*5*6 + 6: it leaves out the 3 input
        channels; ``conv_params_ignoring_channels`` gives that number too.
"""
from __future__ import annotations

from dataclasses import dataclass

from foveanet.concepts.formulas import conv_output_size, conv_params, conv_params_formula, fc_params

__all__ = ["FCvsConv", "fc_vs_conv"]


@dataclass(frozen=True)
class FCvsConv:
    """The counts ``fc_vs_conv`` compares; ``str()`` prints them as a short report.

    Attributes:
        input_shape: (H, W, C) of the input.
        inputs: ``n = H*W*C`` input values.
        output_shape: (H', W', F) of the conv layer's output, or (units,) without a conv.
        units: outputs of the FC layer.
        fc_weights: ``n * units``.
        fc_params: ``(n + 1) * units``, with the biases.
        fc_connections: the FC layer's multiply-adds (= its weights).
        conv_weights: ``f*f*C*F`` (None without a conv layer, as the other conv fields).
        conv_params: ``(f*f*C + 1) * F``.
        conv_params_ignoring_channels: ``(f*f + 1) * F``, the course's count.
        conv_connections: the conv layer's multiply-adds, ``H'*W'*F * f*f*C``.
        conv_formula: ``conv_params`` as the lecture writes it.
        param_ratio: fc_params / conv_params (a property).
        connection_ratio: fc_connections / conv_connections (a property).

    Example::

        >>> r = fn.concepts.fc_vs_conv((32, 32, 3), conv=(5, 6))
        >>> r.output_shape, r.units                    # 28 * 28 * 6 outputs
        ((28, 28, 6), 4704)
        >>> r.conv_connections                         # 4704 * 5*5*3
        352800
        >>> round(r.connection_ratio, 2)               # 3072 / 75
        40.96
    """

    input_shape: tuple          # (H, W, C)
    inputs: int                 # H*W*C
    output_shape: tuple         # (H', W', F), or (units,) when no conv was given
    units: int                  # outputs of the FC layer
    fc_weights: int
    fc_params: int              # with biases
    fc_connections: int         # multiply-adds = weights
    conv_weights: int | None = None
    conv_params: int | None = None
    conv_params_ignoring_channels: int | None = None
    conv_connections: int | None = None
    conv_formula: str = ""

    @property
    def param_ratio(self) -> float | None:
        """FC parameters per conv parameter (same output size)."""
        return None if self.conv_params is None else self.fc_params / self.conv_params

    @property
    def connection_ratio(self) -> float | None:
        return None if self.conv_connections is None else self.fc_connections / self.conv_connections

    def __str__(self) -> str:
        h, w, c = self.input_shape
        out = [f"input {h}x{w}x{c} = {self.inputs:,} values -> {self.units:,} outputs",
               f"  fully connected: {self.inputs:,} * {self.units:,} = {self.fc_weights:,} weights "
               f"({self.fc_weights:.4g}); {self.fc_params:,} with biases; {self.fc_connections:,} multiply-adds"]
        if self.conv_params is not None:
            out += [f"  convolution:     {self.conv_formula} parameters "
                    f"(ignoring the {c} input channels, as the course does: {self.conv_params_ignoring_channels:,}); "
                    f"{self.conv_connections:,} multiply-adds",
                    f"  ratio: {self.param_ratio:,.1f}x the parameters, {self.connection_ratio:,.1f}x the multiply-adds"]
        return "\n".join(out)


def fc_vs_conv(input_shape=(32, 32, 3), units=None, conv=None, stride=1, padding=0, bias=True) -> FCvsConv:
    """Parameters and connections of a fully connected layer against a conv layer on one input.

    For ``n = H*W*C`` inputs:

        FC to u units          parameters (n + 1)*u, multiply-adds n*u
        conv, F filters f x f  parameters (f*f*C + 1)*F, multiply-adds out_h*out_w*F * f*f*C

    Args:
        input_shape: (H, W, C) of the input (default (32, 32, 3)).
        units: only an FC layer, to this many units (not together with ``conv``).
        conv: ``(f, filters)``: the conv layer, and an FC layer with as many outputs as it
            has (``out_h*out_w*filters``). With neither ``units`` nor ``conv``: an FC layer as
            large as its input (n -> n).
        stride: the conv layer's stride (default 1).
        padding: the conv layer's padding (default 0).
        bias: count the biases (default True).

    Returns:
        FCvsConv: the counts; ``str()`` gives a report.

    Example::

        >>> r = fn.concepts.fc_vs_conv((32, 32, 3), conv=(5, 6))
        >>> r.fc_weights, r.conv_params                  # 3072 * 4704 against (5*5*3 + 1) * 6
        (14450688, 456)
        >>> fn.concepts.fc_vs_conv((400, 400, 3)).fc_weights           # 480,000 ** 2
        230400000000
        >>> fn.concepts.fc_vs_conv((400, 400, 3), units=1000).fc_params
        480001000
    """
    if len(input_shape) != 3:
        raise ValueError(f"fc_vs_conv: input_shape must be (H, W, C), got {input_shape!r}")
    h, w, c = (int(v) for v in input_shape)
    n = h * w * c
    if conv is not None and units is not None:
        raise ValueError("fc_vs_conv: give units or conv, not both (conv sets the FC size)")
    if conv is not None:
        f, filters = conv
        oh, ow = conv_output_size((h, w), f, padding=padding, stride=stride)
        u = oh * ow * filters
        out_shape = (oh, ow, filters)
        conv_p = conv_params(f, c, filters, bias)
        extra = dict(conv_weights=f * f * c * filters, conv_params=conv_p,
                     conv_params_ignoring_channels=conv_params(f, 1, filters, bias),
                     conv_connections=oh * ow * filters * f * f * c,
                     conv_formula=conv_params_formula(f, c, filters, bias))
    else:
        u = n if units is None else int(units)
        out_shape, extra = (u,), {}
    return FCvsConv((h, w, c), n, out_shape, u, n * u, fc_params(n, u, bias), n * u, **extra)

