"""U-Net (Ronneberger, Fischer & Brox 2015) for per-pixel classification, sized for small
inputs: ``depth`` 2x2 max-pool steps down, as many upsampling steps back, and the encoder's
feature map at each level concatenated onto the decoder's (the skip connections that give
back the spatial detail pooling threw away).

Unlike the paper, the 3x3 convolutions are padded ("same"), so the output mask has the
input's size and no cropping of the skips is needed; H and W must then be multiples of
2**depth (checked in ``forward``).

    net = unet(in_channels=1, num_classes=11, base_width=16, depth=3)
    logits = net(x)          # (N, 1, 64, 64) -> (N, 11, 64, 64)
"""
from __future__ import annotations

import foveanet
from foveanet import nn

__all__ = ["UNet", "unet", "unet_parameter_count", "level_widths"]


class DoubleConv(nn.Sequential):
    """(conv3x3 -> [BN] -> ReLU) x 2.  With BN the convs carry no bias: BN's shift
    replaces it, and a bias before BN is subtracted away again by the batch mean.
    ``dilation`` applies to the second conv only (padding = dilation keeps the size): a
    first undilated conv mixes neighbouring cells, so the dilated one does not leave the
    grid's odd and even cells in two separate halves ("gridding")."""

    def __init__(self, cin: int, cout: int, batch_norm: bool = True, dilation: int = 1):
        layers = []
        for (a, b), d in zip(((cin, cout), (cout, cout)), (1, dilation)):
            layers.append(nn.Conv2d(a, b, 3, padding=d, dilation=d, bias=not batch_norm))
            if batch_norm:
                layers.append(nn.BatchNorm2d(b))
            layers.append(nn.ReLU(inplace=True))
        super().__init__(*layers)


class UpBilinear(nn.Sequential):
    """Bilinear x2 then a 1x1 conv halving the channels: the parameter-light alternative to
    a learned 2x2 transposed conv (and free of its checkerboard pattern)."""

    def __init__(self, cin: int, cout: int):
        super().__init__(nn.Upsample(scale_factor=2, mode="bilinear"), nn.Conv2d(cin, cout, 1))


def level_widths(base_width=None, depth=None, widths=None) -> list:
    """The channel count c_i of each level i = 0..depth: ``widths`` as given, or
    ``base_width * 2**i`` (defaults 16 and 3).  Giving both is allowed only when they agree."""
    if widths is None:
        base_width = 16 if base_width is None else base_width
        depth = 3 if depth is None else depth
        if min(base_width, depth) < 1:
            raise ValueError(f"unet: base_width and depth must be >= 1, got {base_width}, {depth}")
        return [base_width * 2 ** i for i in range(depth + 1)]
    c = [int(v) for v in widths] if all(float(v).is_integer() for v in widths) else []
    if len(c) < 2 or min(c) < 1:
        raise ValueError(f"unet: widths must list >= 2 positive channel counts (levels 0..depth), got {widths}")
    if (depth is not None and depth != len(c) - 1) or (base_width is not None and base_width != c[0]):
        raise ValueError(f"unet: widths {tuple(c)} mean depth {len(c) - 1} and base_width {c[0]}, "
                         f"but depth={depth} and base_width={base_width} were given too")
    return c


class UNet(nn.Module):
    """U-Net (Ronneberger, Fischer & Brox 2015) with padded convs: logits per input pixel.

    Widths ``c_i = base_width * 2**i`` at level i = 0..depth (level ``depth`` is the
    bottleneck), or any ``widths`` list c_0..c_depth.  Modules: ``encoders[i]`` (DoubleConv,
    i = 0..depth), ``ups[j]`` and ``decoders[j]`` (j = 0..depth-1, from the bottom up), ``head``
    (1x1 conv to the classes). Each decoder takes the encoder's map of its level
    concatenated (skip first) with the upsampled map from below. The parameter count is
    in ``unet``'s docstring.

    Args:
        in_channels: channels of the input images (default 1).
        num_classes: logits per pixel (default 11).
        base_width: c_0, doubled at each level (default 16).
        depth: the number of 2x2 max-pool steps (default 3).
        upsampling: "transpose" (a learned 2x2 stride-2 transposed conv, default) or
            "bilinear" (bilinear x2 then a 1x1 conv).
        batch_norm: BN after each 3x3 conv, which then has no bias (default True).
        bottleneck_dilation: dilation of the bottleneck's second 3x3 conv (default 1).
        widths: c_0..c_depth instead of base_width and depth (default None).

    Shape:
        - Input: (N, in_channels, H, W), H and W multiples of ``2**depth``.
        - Output: (N, num_classes, H, W).

    Example::

        >>> net = fn.models.UNet(in_channels=1, num_classes=3, base_width=4, depth=1)
        >>> sum(p.numel() for p in net.parameters())  # 196 + 896 + (132 + 448) + 15
        1687
        >>> net(fn.ones(1, 1, 16, 16)).shape
        (1, 3, 16, 16)
    """

    def __init__(self, in_channels: int = 1, num_classes: int = 11, base_width: int | None = None,
                 depth: int | None = None, upsampling: str = "transpose", batch_norm: bool = True,
                 bottleneck_dilation: int = 1, widths=None):
        super().__init__()
        if upsampling not in ("transpose", "bilinear"):
            raise ValueError(f"unet: upsampling must be 'transpose' or 'bilinear', got {upsampling!r}")
        if min(in_channels, num_classes, bottleneck_dilation) < 1:
            raise ValueError(f"unet: in_channels, num_classes and bottleneck_dilation must be >= 1, "
                             f"got {in_channels}, {num_classes}, {bottleneck_dilation}")
        c = level_widths(base_width, depth, widths)
        depth = len(c) - 1
        self.depth, self.upsampling, self.widths = depth, upsampling, tuple(c)
        self.encoders = nn.ModuleList(
            [DoubleConv(in_channels, c[0], batch_norm)] +
            [DoubleConv(c[i - 1], c[i], batch_norm, bottleneck_dilation if i == depth else 1)
             for i in range(1, depth + 1)])
        self.pool = nn.MaxPool2d(2, 2)
        levels = range(depth - 1, -1, -1)
        if upsampling == "transpose":
            self.ups = nn.ModuleList([nn.ConvTranspose2d(c[i + 1], c[i], 2, stride=2) for i in levels])
        else:
            self.ups = nn.ModuleList([UpBilinear(c[i + 1], c[i]) for i in levels])
        self.decoders = nn.ModuleList([DoubleConv(2 * c[i], c[i], batch_norm) for i in levels])
        # the layers' default (PyTorch) init: He-normal fan_out, tried on the scenes, lowered
        # the loss more slowly over the first hundred steps, which is most of a CPU budget
        self.head = nn.Conv2d(c[0], num_classes, 1)

    def forward(self, x):
        h, w = x.shape[-2:]
        step = 2 ** self.depth
        if h % step or w % step:
            raise ValueError(f"unet: input height and width must be multiples of 2**depth = {step} "
                             f"(depth {self.depth}), got {h}x{w}")
        skips = []
        for i, enc in enumerate(self.encoders):
            x = enc(x if i == 0 else self.pool(x))
            skips.append(x)
        x = skips.pop()
        for up, dec in zip(self.ups, self.decoders):
            # skip first: matches the channel order of the reference implementation in the tests
            x = dec(foveanet.cat([skips.pop(), up(x)], dim=1))
        return self.head(x)


def unet_parameter_count(in_channels: int = 1, num_classes: int = 11, base_width: int | None = None,
                         depth: int | None = None, upsampling: str = "transpose", batch_norm: bool = True,
                         widths=None) -> int:
    """The formula of ``unet``'s docstring, evaluated (BN running statistics are buffers, not
    parameters)."""
    c = level_widths(base_width, depth, widths)
    depth = len(c) - 1
    per = 4 if batch_norm else 2  # per output channel of a DoubleConv: 2 BN (gamma, beta) or 2 biases

    def double(a, b):
        return 9 * b * (a + b) + per * b

    total = double(in_channels, c[0]) + sum(double(c[i - 1], c[i]) for i in range(1, depth + 1))
    k = 4 if upsampling == "transpose" else 1
    total += sum(k * c[i + 1] * c[i] + c[i] + double(2 * c[i], c[i]) for i in range(depth))
    return total + c[0] * num_classes + num_classes


def unet(in_channels: int = 1, num_classes: int = 11, base_width: int | None = None, depth: int | None = None,
         upsampling: str = "transpose", batch_norm: bool = True, bottleneck_dilation: int = 1,
         widths=None) -> UNet:
    """U-Net (Ronneberger et al. 2015) for segmenting small images; see ``UNet``.

    ``base_width`` (default 16) doubles at each of ``depth``
    (default 3) levels; ``widths`` instead lists every level's channels, e.g. (16, 24, 48, 96,
    192): depth 4 at the cost of the default depth 3 on 64x64 inputs, since a slower growth
    makes the full- and half-resolution levels, where most of the multiplies are, cheaper.
    ``bottleneck_dilation``: dilation of the bottleneck's second 3x3 conv, which widens the
    receptive field by ``2 (d - 1) 2**depth`` pixels at no cost in parameters or multiplies
    (d = 2, depth 3: 68 -> 84 pixels at the bottleneck).

    Parameters, with ``c_i = base_width * 2**i`` (or widths[i]), DC(a, b) = 9b(a + b) + 4b for a
    double conv with BN (two bias-free 3x3 convs + two BN layers' gamma and beta), 9b(a + b) + 2b
    without BN (the two convs' biases), and k = 4 for 2x2 transposed convs, 1 for bilinear + 1x1 conv:

        P = DC(in_channels, c_0) + sum_{i=1..depth} DC(c_{i-1}, c_i)                encoder
          + sum_{i=0..depth-1} [k c_{i+1} c_i + c_i + DC(2 c_i, c_i)]             decoder
          + c_0 num_classes + num_classes                                          1x1 head

    ``unet_parameter_count`` evaluates the formula:

        the defaults (1 -> 11 classes, width 16, depth 3, transposed, BN):   P = 482,619
        width 4, depth 1, 1 -> 3 classes:   P = 196 + 896 + (132 + 448) + 15 = 1,687

    Args:
        in_channels: channels of the input images (default 1).
        num_classes: logits per pixel (default 11).
        base_width: c_0 (default 16).
        depth: the number of 2x2 max-pool steps (default 3).
        upsampling: "transpose" (default) or "bilinear".
        batch_norm: BN after each 3x3 conv (default True).
        bottleneck_dilation: dilation of the bottleneck's second 3x3 conv (default 1).
        widths: c_0..c_depth instead of base_width and depth (default None).

    Example::

        >>> from foveanet.models.unet import unet_parameter_count
        >>> net = fn.models.unet()
        >>> sum(p.numel() for p in net.parameters()), unet_parameter_count()
        (482619, 482619)
        >>> net(fn.ones(2, 1, 64, 64)).shape
        (2, 11, 64, 64)
    """
    return UNet(in_channels, num_classes, base_width, depth, upsampling, batch_norm, bottleneck_dilation, widths)
