"""EfficientNet-B0 (Tan & Le 2019) as torchvision builds it: MBConv blocks (1x1 expand, kxk
depthwise, squeeze-excitation, 1x1 projection), SiLU, stochastic depth on the residual
branches, the same attribute names (``features.N.M.block.K``, ``...block.2.fc1``,
``classifier.1``), so torchvision's state_dict loads unchanged.

Parameters (1000 classes): efficientnet_b0 5,288,548.
"""
from __future__ import annotations

import copy
import math
from functools import partial

import foveanet
from foveanet import nn
from foveanet.models.ops import (Conv2dNormActivation, SqueezeExcitation, StochasticDepth, init_mobile_,
                                 make_divisible)

__all__ = ["EfficientNet", "MBConvConfig", "MBConv", "efficientnet_b0"]


class MBConvConfig:
    """One stage's settings (a row of the paper's Table 1): expansion, kernel, first stride,
    input and output widths (scaled by ``width_mult``, rounded to multiples of 8) and the
    number of blocks (scaled by ``depth_mult``, rounded up)."""

    def __init__(self, expand_ratio, kernel, stride, input_channels, out_channels, num_layers,
                 width_mult=1.0, depth_mult=1.0):
        self.expand_ratio, self.kernel, self.stride = expand_ratio, kernel, stride
        self.input_channels = self.adjust_channels(input_channels, width_mult)
        self.out_channels = self.adjust_channels(out_channels, width_mult)
        self.num_layers = int(math.ceil(num_layers * depth_mult))

    @staticmethod
    def adjust_channels(channels, width_mult, min_value=None):
        return make_divisible(channels * width_mult, 8, min_value)


class MBConv(nn.Module):
    """1x1 expand (left out at ratio 1), kxk depthwise, squeeze-excitation to a quarter of the
    block's input width, 1x1 linear projection; where the shapes agree, the branch goes
    through stochastic depth and the input is added back."""

    def __init__(self, cnf: MBConvConfig, stochastic_depth_prob, norm_layer, se_layer=SqueezeExcitation):
        super().__init__()
        if not 1 <= cnf.stride <= 2:
            raise ValueError(f"MBConv: stride should be 1 or 2, got {cnf.stride}")
        self.use_res_connect = cnf.stride == 1 and cnf.input_channels == cnf.out_channels
        expanded = cnf.adjust_channels(cnf.input_channels, cnf.expand_ratio)
        layers = []
        if expanded != cnf.input_channels:
            layers.append(Conv2dNormActivation(cnf.input_channels, expanded, kernel_size=1,
                                               norm_layer=norm_layer, activation_layer=nn.SiLU))
        layers.append(Conv2dNormActivation(expanded, expanded, kernel_size=cnf.kernel, stride=cnf.stride,
                                           groups=expanded, norm_layer=norm_layer, activation_layer=nn.SiLU))
        layers.append(se_layer(expanded, max(1, cnf.input_channels // 4),
                               activation=partial(nn.SiLU, inplace=True)))
        layers.append(Conv2dNormActivation(expanded, cnf.out_channels, kernel_size=1, norm_layer=norm_layer,
                                           activation_layer=None))
        self.block = nn.Sequential(*layers)
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob, "row")
        self.out_channels = cnf.out_channels

    def forward(self, x):
        result = self.block(x)
        if self.use_res_connect:
            result = self.stochastic_depth(result) + x
        return result


def _uniform_by_outputs_(linear) -> None:
    r = 1.0 / math.sqrt(linear.out_features)
    nn.init.uniform_(linear.weight, -r, r)


class EfficientNet(nn.Module):
    """EfficientNet (Tan & Le 2019), laid out as torchvision builds it.

    conv 3x3/2 + BN + SiLU | one Sequential of MBConv blocks per stage | conv 1x1 to
    ``last_channel`` (default 4x the last width) + BN + SiLU | global average pool | dropout |
    linear. Block i of B drops its residual branch with probability
    ``stochastic_depth_prob * i / B`` while training. Init: convs He-normal (fan_out), BN
    weight 1 bias 0, linear U(-1/sqrt(out), 1/sqrt(out)) with zero bias.

    Args:
        inverted_residual_setting: a list of ``MBConvConfig``, one per stage.
        dropout: dropout before the classifier.
        stochastic_depth_prob: the last block's drop probability (default 0.2).
        num_classes: logits out (default 1000).
        norm_layer: the normalisation class (default ``nn.BatchNorm2d``, as torchvision for B0).
        last_channel: width of the last conv (default None: 4x the last stage's).
        in_channels: channels of the input images (default 3).

    Shape:
        - Input: (N, in_channels, H, W).
        - Output: (N, num_classes).

    Example::

        >>> from foveanet.models.efficientnet import MBConvConfig
        >>> net = fn.models.EfficientNet([MBConvConfig(1, 3, 1, 32, 16, 1),
        ...                               MBConvConfig(6, 3, 2, 16, 24, 2)], dropout=0.2, num_classes=5)
        >>> net.features[-1][0].out_channels, net.features[2][1].stochastic_depth.p
        (96, 0.13333333333333333)
        >>> net(fn.ones(2, 3, 16, 16)).shape
        (2, 5)
    """

    def __init__(self, inverted_residual_setting, dropout, stochastic_depth_prob=0.2, num_classes=1000,
                 norm_layer=None, last_channel=None, in_channels=3):
        super().__init__()
        if not inverted_residual_setting or not all(
                isinstance(s, MBConvConfig) for s in inverted_residual_setting):
            raise TypeError("EfficientNet: inverted_residual_setting should be a non-empty list of "
                            "MBConvConfig")
        norm_layer = norm_layer or nn.BatchNorm2d
        layers = [Conv2dNormActivation(in_channels, inverted_residual_setting[0].input_channels,
                                       kernel_size=3, stride=2, norm_layer=norm_layer,
                                       activation_layer=nn.SiLU)]
        total = sum(cnf.num_layers for cnf in inverted_residual_setting)
        block_id = 0
        for cnf in inverted_residual_setting:
            stage = []
            for _ in range(cnf.num_layers):
                block_cnf = copy.copy(cnf)
                if stage:   # only a stage's first block changes width or strides
                    block_cnf.input_channels, block_cnf.stride = block_cnf.out_channels, 1
                stage.append(MBConv(block_cnf, stochastic_depth_prob * float(block_id) / total, norm_layer))
                block_id += 1
            layers.append(nn.Sequential(*stage))
        lastconv_in = inverted_residual_setting[-1].out_channels
        lastconv_out = last_channel if last_channel is not None else 4 * lastconv_in
        layers.append(Conv2dNormActivation(lastconv_in, lastconv_out, kernel_size=1, norm_layer=norm_layer,
                                           activation_layer=nn.SiLU))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout, inplace=True),
                                        nn.Linear(lastconv_out, num_classes))
        init_mobile_(self, _uniform_by_outputs_)

    def forward(self, x):
        x = self.avgpool(self.features(x))
        return self.classifier(foveanet.flatten(x, 1))


def efficientnet_b0(dropout=0.2, **kwargs) -> EfficientNet:
    """EfficientNet-B0 (Tan & Le 2019): 16 MBConv blocks in 7 stages, 5.3M parameters.

    BN keeps PyTorch's defaults (eps 1e-5, momentum 0.1), as torchvision's B0 does (its B5-B7
    and V2 models switch to eps 1e-3).

    Args:
        dropout: dropout before the classifier (default 0.2).
        **kwargs: ``num_classes`` (default 1000), ``stochastic_depth_prob`` (default 0.2),
            ``in_channels`` (default 3), and the other options of ``EfficientNet``.

    Example::

        >>> sum(p.numel() for p in fn.models.efficientnet_b0().parameters())  # as torchvision
        5288548
        >>> net = fn.models.efficientnet_b0(num_classes=10, in_channels=1)
        >>> net(fn.ones(2, 1, 32, 32)).shape
        (2, 10)
    """
    c = MBConvConfig
    setting = [c(1, 3, 1, 32, 16, 1), c(6, 3, 2, 16, 24, 2), c(6, 5, 2, 24, 40, 2), c(6, 3, 2, 40, 80, 3),
               c(6, 5, 1, 80, 112, 3), c(6, 5, 2, 112, 192, 4), c(6, 3, 1, 192, 320, 1)]
    return EfficientNet(setting, dropout, **kwargs)
