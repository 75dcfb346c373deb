"""MobileNetV3 (Howard et al. 2019), large and small, as torchvision builds them: inverted
residual blocks with optional squeeze-excitation (hard-sigmoid gate), ReLU or hard swish, BN
with eps 0.001 and momentum 0.01, the same attribute names (``features.N.block.M``,
``...block.2.fc1``, ``classifier.0/3``), so torchvision's state_dicts load unchanged.

Parameters (1000 classes): mobilenet_v3_large 5,483,032; mobilenet_v3_small 2,542,856.
"""
from __future__ import annotations

from functools import partial

import foveanet
from foveanet import nn
from foveanet.models.ops import (Conv2dNormActivation, SqueezeExcitation, init_mobile_, make_divisible,
                                 small_normal_)

__all__ = ["MobileNetV3", "InvertedResidualConfig", "mobilenet_v3_large", "mobilenet_v3_small"]


class InvertedResidualConfig:
    """One block's settings (a row of the paper's Tables 1 and 2), widths scaled by
    ``width_mult`` and rounded by ``make_divisible``; ``activation`` is "RE" (ReLU) or
    "HS" (hard swish)."""

    def __init__(self, input_channels, kernel, expanded_channels, out_channels, use_se, activation,
                 stride, dilation, width_mult):
        self.input_channels = self.adjust_channels(input_channels, width_mult)
        self.kernel = kernel
        self.expanded_channels = self.adjust_channels(expanded_channels, width_mult)
        self.out_channels = self.adjust_channels(out_channels, width_mult)
        self.use_se = use_se
        self.use_hs = activation == "HS"
        self.stride = stride
        self.dilation = dilation

    @staticmethod
    def adjust_channels(channels, width_mult):
        return make_divisible(channels * width_mult, 8)


class InvertedResidual(nn.Module):
    """1x1 expand (left out when the width does not change), kxk depthwise, squeeze-excitation
    (optional, squeezing to a quarter), 1x1 linear projection; the input is added back when
    the shapes agree."""

    def __init__(self, cnf: InvertedResidualConfig, norm_layer,
                 se_layer=partial(SqueezeExcitation, scale_activation=nn.Hardsigmoid)):
        super().__init__()
        if not 1 <= cnf.stride <= 2:
            raise ValueError(f"InvertedResidual: stride should be 1 or 2, got {cnf.stride}")
        self.use_res_connect = cnf.stride == 1 and cnf.input_channels == cnf.out_channels
        activation_layer = nn.Hardswish if cnf.use_hs else nn.ReLU
        layers = []
        if cnf.expanded_channels != cnf.input_channels:
            layers.append(Conv2dNormActivation(cnf.input_channels, cnf.expanded_channels, kernel_size=1,
                                               norm_layer=norm_layer, activation_layer=activation_layer))
        stride = 1 if cnf.dilation > 1 else cnf.stride
        layers.append(Conv2dNormActivation(cnf.expanded_channels, cnf.expanded_channels,
                                           kernel_size=cnf.kernel, stride=stride, dilation=cnf.dilation,
                                           groups=cnf.expanded_channels, norm_layer=norm_layer,
                                           activation_layer=activation_layer))
        if cnf.use_se:
            layers.append(se_layer(cnf.expanded_channels, make_divisible(cnf.expanded_channels // 4, 8)))
        layers.append(Conv2dNormActivation(cnf.expanded_channels, cnf.out_channels, kernel_size=1,
                                           norm_layer=norm_layer, activation_layer=None))
        self.block = nn.Sequential(*layers)
        self.out_channels = cnf.out_channels
        self._is_cn = cnf.stride > 1

    def forward(self, x):
        result = self.block(x)
        return result + x if self.use_res_connect else result


class MobileNetV3(nn.Module):
    """MobileNetV3 (Howard et al. 2019), laid out as torchvision builds it.

    conv 3x3/2 + BN + hard swish | the inverted residual blocks of
    ``inverted_residual_setting`` | conv 1x1 to 6x the last width + BN + hard swish | global
    average pool | linear to ``last_channel`` + hard swish + dropout | linear. BN uses
    eps 0.001 and momentum 0.01 (the TensorFlow defaults the paper trained with).
    Init: convs He-normal (fan_out), BN weight 1 bias 0, linears N(0, 0.01) with zero bias.

    Args:
        inverted_residual_setting: a list of ``InvertedResidualConfig``, as
            ``mobilenet_v3_large`` / ``mobilenet_v3_small`` build them.
        last_channel: width of the classifier's hidden layer.
        num_classes: logits out (default 1000).
        block: the block class (default ``InvertedResidual``).
        norm_layer: the normalisation class (default BN with eps 0.001, momentum 0.01).
        dropout: dropout in the classifier (default 0.2).
        in_channels: channels of the input images (default 3).

    Shape:
        - Input: (N, in_channels, H, W).
        - Output: (N, num_classes).

    Example::

        >>> net = fn.models.mobilenet_v3_small(num_classes=10)
        >>> type(net).__name__, net.classifier[0].out_features
        ('MobileNetV3', 1024)
        >>> net(fn.ones(2, 3, 32, 32)).shape
        (2, 10)
    """

    def __init__(self, inverted_residual_setting, last_channel, num_classes=1000, block=None,
                 norm_layer=None, dropout=0.2, in_channels=3):
        super().__init__()
        if not inverted_residual_setting or not all(
                isinstance(s, InvertedResidualConfig) for s in inverted_residual_setting):
            raise TypeError("MobileNetV3: inverted_residual_setting should be a non-empty list of "
                            "InvertedResidualConfig")
        block = block or InvertedResidual
        norm_layer = norm_layer or partial(nn.BatchNorm2d, eps=0.001, momentum=0.01)
        first = inverted_residual_setting[0].input_channels
        layers = [Conv2dNormActivation(in_channels, first, kernel_size=3, stride=2, norm_layer=norm_layer,
                                       activation_layer=nn.Hardswish)]
        layers += [block(cnf, norm_layer) for cnf in inverted_residual_setting]
        lastconv_in = inverted_residual_setting[-1].out_channels
        lastconv_out = 6 * lastconv_in
        layers.append(Conv2dNormActivation(lastconv_in, lastconv_out, kernel_size=1, norm_layer=norm_layer,
                                           activation_layer=nn.Hardswish))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Linear(lastconv_out, last_channel), nn.Hardswish(inplace=True),
                                        nn.Dropout(p=dropout, inplace=True),
                                        nn.Linear(last_channel, num_classes))
        init_mobile_(self, small_normal_)

    def forward(self, x):
        x = self.avgpool(self.features(x))
        return self.classifier(foveanet.flatten(x, 1))


def _mobilenet_v3_conf(arch, width_mult=1.0, reduced_tail=False, dilated=False):
    """torchvision's settings: the paper's Table 1 (large) and Table 2 (small)."""
    rd = 2 if reduced_tail else 1       # halves the last stage's widths (for segmentation heads)
    d = 2 if dilated else 1             # dilates the last stage instead of striding
    c = partial(InvertedResidualConfig, width_mult=width_mult)
    if arch == "mobilenet_v3_large":
        setting = [
            c(16, 3, 16, 16, False, "RE", 1, 1), c(16, 3, 64, 24, False, "RE", 2, 1),
            c(24, 3, 72, 24, False, "RE", 1, 1), c(24, 5, 72, 40, True, "RE", 2, 1),
            c(40, 5, 120, 40, True, "RE", 1, 1), c(40, 5, 120, 40, True, "RE", 1, 1),
            c(40, 3, 240, 80, False, "HS", 2, 1), c(80, 3, 200, 80, False, "HS", 1, 1),
            c(80, 3, 184, 80, False, "HS", 1, 1), c(80, 3, 184, 80, False, "HS", 1, 1),
            c(80, 3, 480, 112, True, "HS", 1, 1), c(112, 3, 672, 112, True, "HS", 1, 1),
            c(112, 5, 672, 160 // rd, True, "HS", 2, d),
            c(160 // rd, 5, 960 // rd, 160 // rd, True, "HS", 1, d),
            c(160 // rd, 5, 960 // rd, 160 // rd, True, "HS", 1, d)]
        last = 1280 // rd
    else:
        setting = [
            c(16, 3, 16, 16, True, "RE", 2, 1), c(16, 3, 72, 24, False, "RE", 2, 1),
            c(24, 3, 88, 24, False, "RE", 1, 1), c(24, 5, 96, 40, True, "HS", 2, 1),
            c(40, 5, 240, 40, True, "HS", 1, 1), c(40, 5, 240, 40, True, "HS", 1, 1),
            c(40, 5, 120, 48, True, "HS", 1, 1), c(48, 5, 144, 48, True, "HS", 1, 1),
            c(48, 5, 288, 96 // rd, True, "HS", 2, d),
            c(96 // rd, 5, 576 // rd, 96 // rd, True, "HS", 1, d),
            c(96 // rd, 5, 576 // rd, 96 // rd, True, "HS", 1, d)]
        last = 1024 // rd
    return setting, InvertedResidualConfig.adjust_channels(last, width_mult)


def mobilenet_v3_large(width_mult=1.0, reduced_tail=False, dilated=False, **kwargs) -> MobileNetV3:
    """MobileNetV3-Large (Howard et al. 2019): 15 blocks, 5.5M parameters.

    Args:
        width_mult: scales every width (default 1.0).
        reduced_tail: halve the last stage's widths (default False).
        dilated: dilate the last stage instead of striding (default False).
        **kwargs: ``num_classes`` (default 1000), ``dropout`` (default 0.2), ``in_channels``
            (default 3), and the other options of ``MobileNetV3``.

    Example::

        >>> sum(p.numel() for p in fn.models.mobilenet_v3_large().parameters())  # as torchvision
        5483032
        >>> fn.models.mobilenet_v3_large().features[1].block[0][1].eps
        0.001
    """
    setting, last = _mobilenet_v3_conf("mobilenet_v3_large", width_mult, reduced_tail, dilated)
    return MobileNetV3(setting, last, **kwargs)


def mobilenet_v3_small(width_mult=1.0, reduced_tail=False, dilated=False, **kwargs) -> MobileNetV3:
    """MobileNetV3-Small (Howard et al. 2019): 11 blocks, 2.5M parameters.

    Args:
        width_mult: scales every width (default 1.0).
        reduced_tail: halve the last stage's widths (default False).
        dilated: dilate the last stage instead of striding (default False).
        **kwargs: ``num_classes`` (default 1000), ``dropout`` (default 0.2), ``in_channels``
            (default 3), and the other options of ``MobileNetV3``.

    Example::

        >>> sum(p.numel() for p in fn.models.mobilenet_v3_small().parameters())  # as torchvision
        2542856
        >>> net = fn.models.mobilenet_v3_small(num_classes=10, in_channels=1)
        >>> net(fn.ones(2, 1, 28, 28)).shape
        (2, 10)
    """
    setting, last = _mobilenet_v3_conf("mobilenet_v3_small", width_mult, reduced_tail, dilated)
    return MobileNetV3(setting, last, **kwargs)
