"""MobileNetV2 (Sandler et al. 2018) as torchvision builds it: inverted residual blocks (1x1
expand, 3x3 depthwise, 1x1 linear projection), ReLU6, the same attribute names
(``features.N.conv.M``, ``classifier.1``), so torchvision's state_dict loads unchanged.

Parameters (1000 classes): mobilenet_v2 3,504,872.
"""
from __future__ import annotations

import foveanet
from foveanet import nn
from foveanet.models.fold import run_folded
from foveanet.models.ops import Conv2dNormActivation, init_mobile_, make_divisible, small_normal_

__all__ = ["MobileNetV2", "InvertedResidual", "mobilenet_v2"]

# t (expansion), c (channels), n (blocks), s (stride of the first block): the paper's Table 2
_SETTING = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
            (6, 160, 3, 2), (6, 320, 1, 1))


class InvertedResidual(nn.Module):
    """1x1 expand to ``inp * expand_ratio`` (left out at ratio 1), 3x3 depthwise (strided),
    1x1 linear projection to ``oup`` + BN; the input is added back when the shapes agree.

    The projection has no activation: ReLU6 on the narrow output would destroy information
    (the paper's "linear bottleneck").
    """

    def __init__(self, inp, oup, stride, expand_ratio, norm_layer=None):
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"InvertedResidual: stride should be 1 or 2, got {stride}")
        norm_layer = norm_layer or nn.BatchNorm2d
        self.stride = stride
        hidden_dim = int(round(inp * expand_ratio))
        self.use_res_connect = stride == 1 and inp == oup
        layers = []
        if expand_ratio != 1:
            layers.append(Conv2dNormActivation(inp, hidden_dim, kernel_size=1, norm_layer=norm_layer,
                                               activation_layer=nn.ReLU6))
        layers += [Conv2dNormActivation(hidden_dim, hidden_dim, stride=stride, groups=hidden_dim,
                                        norm_layer=norm_layer, activation_layer=nn.ReLU6),
                   nn.Conv2d(hidden_dim, oup, 1, 1, 0, bias=False),
                   norm_layer(oup)]
        self.conv = nn.Sequential(*layers)
        self.out_channels = oup
        self._is_cn = stride > 1

    def forward(self, x):
        seq = self.conv  # its children, with conv + BN pairs folded (fold.py), unless it has hooks
        y = seq(x) if seq._forward_hooks or seq._forward_pre_hooks else run_folded(seq, x)
        return x + y if self.use_res_connect else y


class MobileNetV2(nn.Module):
    """MobileNetV2 (Sandler et al. 2018), laid out as torchvision builds it.

    conv 3x3/2 (32) + BN + ReLU6 | 17 inverted residual blocks (Table 2 of the paper:
    expansion t, channels c, repeats n, first stride s) | conv 1x1 to 1280 + BN + ReLU6 |
    global average pool | dropout | linear. Channels are ``make_divisible(c * width_mult)``.
    Init: convs He-normal (fan_out), BN weight 1 bias 0, linear N(0, 0.01) with zero bias.

    Args:
        num_classes: logits out (default 1000).
        width_mult: scales every width (default 1.0); the last conv never narrows below 1280.
        inverted_residual_setting: rows of (t, c, n, s) (default: the paper's).
        round_nearest: channels are rounded to multiples of this (default 8).
        block: the block class (default ``InvertedResidual``).
        norm_layer: the normalisation class (default ``nn.BatchNorm2d``).
        dropout: dropout before the classifier (default 0.2).
        in_channels: channels of the input images (default 3).

    Shape:
        - Input: (N, in_channels, H, W), H and W >= 1 (the map halves five times).
        - Output: (N, num_classes).

    Example::

        >>> net = fn.models.MobileNetV2()
        >>> sum(p.numel() for p in net.parameters())     # as torchvision
        3504872
        >>> list(net.state_dict())[:3]
        ['features.0.0.weight', 'features.0.1.weight', 'features.0.1.bias']
        >>> net = fn.models.MobileNetV2(num_classes=10, width_mult=0.5, in_channels=1)
        >>> net(fn.ones(2, 1, 32, 32)).shape
        (2, 10)
    """

    def __init__(self, num_classes=1000, width_mult=1.0, inverted_residual_setting=None,
                 round_nearest=8, block=None, norm_layer=None, dropout=0.2, in_channels=3):
        super().__init__()
        block = block or InvertedResidual
        norm_layer = norm_layer or nn.BatchNorm2d
        setting = _SETTING if inverted_residual_setting is None else inverted_residual_setting
        if not setting or any(len(row) != 4 for row in setting):
            raise ValueError("MobileNetV2: inverted_residual_setting should be a non-empty list of "
                             f"4-element rows (t, c, n, s), got {setting}")
        input_channel = make_divisible(32 * width_mult, round_nearest)
        self.last_channel = make_divisible(1280 * max(1.0, width_mult), round_nearest)
        features = [Conv2dNormActivation(in_channels, input_channel, stride=2, norm_layer=norm_layer,
                                         activation_layer=nn.ReLU6)]
        for t, c, n, s in setting:
            output_channel = make_divisible(c * width_mult, round_nearest)
            for i in range(n):
                features.append(block(input_channel, output_channel, s if i == 0 else 1,
                                      expand_ratio=t, norm_layer=norm_layer))
                input_channel = output_channel
        features.append(Conv2dNormActivation(input_channel, self.last_channel, kernel_size=1,
                                             norm_layer=norm_layer, activation_layer=nn.ReLU6))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout), nn.Linear(self.last_channel, num_classes))
        init_mobile_(self, small_normal_)

    def forward(self, x):
        x = nn.functional.adaptive_avg_pool2d(self.features(x), (1, 1))
        return self.classifier(foveanet.flatten(x, 1))


def mobilenet_v2(**kwargs) -> MobileNetV2:
    """MobileNetV2 (Sandler et al. 2018): 17 inverted residual blocks, 3.5M parameters.

    Args:
        **kwargs: ``num_classes`` (default 1000), ``width_mult`` (default 1.0), ``dropout``
            (default 0.2), ``in_channels`` (default 3), and the other options of
            ``MobileNetV2``.

    Example::

        >>> sum(p.numel() for p in fn.models.mobilenet_v2().parameters())  # as torchvision
        3504872
        >>> net = fn.models.mobilenet_v2(num_classes=10, in_channels=1)
        >>> net(fn.ones(2, 1, 28, 28)).shape
        (2, 10)
    """
    return MobileNetV2(**kwargs)
