"""DenseNet-BC (Huang et al. 2016) in torchvision's layout (features.conv0/norm0/relu0/pool0,
denseblockN.denselayerM.norm1/relu1/conv1/norm2/relu2/conv2, transitionN, norm5, classifier),
the plain (not checkpointed, memory_efficient=False) form.
Parameters (1000 classes): densenet121 7,978,856; densenet169 14,149,480.
"""
from __future__ import annotations

from collections import OrderedDict

import foveanet
from foveanet import nn
from foveanet.nn import functional as F

__all__ = ["DenseNet", "densenet121", "densenet161", "densenet169", "densenet201"]


class _DenseLayer(nn.Module):
    """BN-ReLU-1x1 conv to bn_size*growth maps (the "B" bottleneck), BN-ReLU-3x3 conv to growth."""

    def __init__(self, num_input_features, growth_rate, bn_size, drop_rate):
        super().__init__()
        self.norm1 = nn.BatchNorm2d(num_input_features)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(num_input_features, bn_size * growth_rate, kernel_size=1, stride=1,
                               bias=False)
        self.norm2 = nn.BatchNorm2d(bn_size * growth_rate)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(bn_size * growth_rate, growth_rate, kernel_size=3, stride=1, padding=1,
                               bias=False)
        self.drop_rate = float(drop_rate)

    def forward(self, features):
        # takes the list of all earlier maps: the concatenation is the dense connectivity
        x = foveanet.cat(features, 1) if isinstance(features, (list, tuple)) else features
        x = self.conv1(self.relu1(self.norm1(x)))
        x = self.conv2(self.relu2(self.norm2(x)))
        if self.drop_rate > 0:
            x = F.dropout(x, p=self.drop_rate, training=self.training)
        return x


class _DenseBlock(nn.ModuleDict):
    def __init__(self, num_layers, num_input_features, bn_size, growth_rate, drop_rate):
        super().__init__()
        for i in range(num_layers):
            self.add_module(f"denselayer{i + 1}", _DenseLayer(num_input_features + i * growth_rate,
                                                              growth_rate, bn_size, drop_rate))

    def forward(self, x):
        features = [x]
        for layer in self.values():
            features.append(layer(features))
        return foveanet.cat(features, 1)


class _Transition(nn.Sequential):
    """BN-ReLU-1x1 conv (compression to half the maps) then 2x2 average pooling."""

    def __init__(self, num_input_features, num_output_features):
        super().__init__()
        self.add_module("norm", nn.BatchNorm2d(num_input_features))
        self.add_module("relu", nn.ReLU(inplace=True))
        self.add_module("conv", nn.Conv2d(num_input_features, num_output_features, kernel_size=1,
                                          stride=1, bias=False))
        self.add_module("pool", nn.AvgPool2d(kernel_size=2, stride=2))


class DenseNet(nn.Module):
    """DenseNet-BC (Huang et al. 2016): each layer takes every earlier map of its block as input.

    conv 7x7/2 + BN + ReLU + max pool 3x3/2 | dense blocks of ``block_config[i]`` layers, each
    BN-ReLU-1x1 conv (bn_size·growth_rate) BN-ReLU-3x3 conv (growth_rate) on the concatenation
    of all earlier maps, with a transition (BN-ReLU-1x1 conv halving the channels, 2x2 average
    pool) between blocks | BN, ReLU, global average pool | linear. torchvision's module names.

    Args:
        growth_rate: k, the maps each dense layer adds (default 32).
        block_config: the number of layers in each dense block (default (6, 12, 24, 16):
            DenseNet-121).
        num_init_features: channels of the first conv (default 64).
        bn_size: the bottleneck's width as a multiple of growth_rate (default 4).
        drop_rate: dropout after each dense layer (default 0).
        num_classes: logits out (default 1000).
        in_channels: channels of the input images (default 3).
        memory_efficient: torchvision's checkpointing; not implemented (default False).

    Shape:
        - Input: (N, in_channels, H, W).
        - Output: (N, num_classes).

    Example::

        >>> net = fn.models.DenseNet(growth_rate=12, block_config=(2, 2), num_init_features=16,
        ...                          num_classes=10)
        >>> net.classifier.in_features  # (16 + 2·12) // 2 + 2·12
        44
        >>> sum(p.numel() for p in net.parameters())
        29722
        >>> net(fn.ones(2, 3, 32, 32)).shape
        (2, 10)
    """

    def __init__(self, growth_rate=32, block_config=(6, 12, 24, 16), num_init_features=64,
                 bn_size=4, drop_rate=0.0, num_classes=1000, in_channels=3, memory_efficient=False):
        super().__init__()
        if memory_efficient:
            raise NotImplementedError("densenet: memory_efficient (checkpointing) is not implemented")
        self.features = nn.Sequential(OrderedDict([
            ("conv0", nn.Conv2d(in_channels, num_init_features, kernel_size=7, stride=2, padding=3,
                                bias=False)),
            ("norm0", nn.BatchNorm2d(num_init_features)),
            ("relu0", nn.ReLU(inplace=True)),
            ("pool0", nn.MaxPool2d(kernel_size=3, stride=2, padding=1)),
        ]))
        num_features = num_init_features
        for i, num_layers in enumerate(block_config):
            self.features.add_module(f"denseblock{i + 1}", _DenseBlock(
                num_layers, num_features, bn_size, growth_rate, drop_rate))
            num_features += num_layers * growth_rate
            if i != len(block_config) - 1:
                self.features.add_module(f"transition{i + 1}",
                                         _Transition(num_features, num_features // 2))
                num_features //= 2
        self.features.add_module("norm5", nn.BatchNorm2d(num_features))
        self.classifier = nn.Linear(num_features, num_classes)

        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
            elif isinstance(m, nn.Linear):
                nn.init.constant_(m.bias, 0)

    def forward(self, x):
        x = F.relu(self.features(x), inplace=True)
        x = F.adaptive_avg_pool2d(x, (1, 1))
        return self.classifier(foveanet.flatten(x, 1))


def densenet121(**kwargs) -> DenseNet:
    """DenseNet-121 (Huang et al. 2016): growth rate 32, blocks (6, 12, 24, 16).

    Args:
        **kwargs: ``num_classes`` (default 1000), ``in_channels`` (default 3), ``drop_rate``
            and ``bn_size`` of ``DenseNet``.

    Example::

        >>> sum(p.numel() for p in fn.models.densenet121().parameters())  # as torchvision
        7978856
    """
    return DenseNet(32, (6, 12, 24, 16), 64, **kwargs)


def densenet161(**kwargs) -> DenseNet:
    """DenseNet-161 (Huang et al. 2016): growth rate 48, blocks (6, 12, 36, 24), 96 initial maps.

    Args:
        **kwargs: ``num_classes`` (default 1000), ``in_channels`` (default 3), ``drop_rate``
            and ``bn_size`` of ``DenseNet``.

    Example::

        >>> sum(p.numel() for p in fn.models.densenet161().parameters())  # as torchvision
        28681000
    """
    return DenseNet(48, (6, 12, 36, 24), 96, **kwargs)


def densenet169(**kwargs) -> DenseNet:
    """DenseNet-169 (Huang et al. 2016): growth rate 32, blocks (6, 12, 32, 32).

    Args:
        **kwargs: ``num_classes`` (default 1000), ``in_channels`` (default 3), ``drop_rate``
            and ``bn_size`` of ``DenseNet``.

    Example::

        >>> sum(p.numel() for p in fn.models.densenet169().parameters())  # as torchvision
        14149480
    """
    return DenseNet(32, (6, 12, 32, 32), 64, **kwargs)


def densenet201(**kwargs) -> DenseNet:
    """DenseNet-201 (Huang et al. 2016): growth rate 32, blocks (6, 12, 48, 32).

    Args:
        **kwargs: ``num_classes`` (default 1000), ``in_channels`` (default 3), ``drop_rate``
            and ``bn_size`` of ``DenseNet``.

    Example::

        >>> sum(p.numel() for p in fn.models.densenet201().parameters())  # as torchvision
        20013928
    """
    return DenseNet(32, (6, 12, 48, 32), 64, **kwargs)
