"""ResNet (He et al. 2015) and ResNeXt (Xie et al. 2016) as torchvision builds them: the
"v1.5" bottleneck that strides in the 3x3 conv, 1x1-conv + BN projection shortcuts, the same
attribute names (conv1/bn1/layer1..4/fc, blocks' conv*/bn*/downsample.0/.1).

Parameters (1000 classes): resnet18 11,689,512; resnet34 21,797,672; resnet50 25,557,032;
resnext50_32x4d 25,028,904.
"""
from __future__ import annotations

import foveanet
from foveanet import nn
from foveanet.models import fold

__all__ = ["ResNet", "BasicBlock", "Bottleneck", "resnet18", "resnet34", "resnet50", "resnet101",
           "resnet152", "resnext50_32x4d", "resnext101_32x8d"]


def conv3x3(in_planes, out_planes, stride=1, groups=1, dilation=1):
    # no bias: every conv is followed by BN, whose shift makes a bias redundant
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=dilation,
                     groups=groups, bias=False, dilation=dilation)


def conv1x1(in_planes, out_planes, stride=1):
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    """Two 3x3 convs + identity (or projected) shortcut: ResNet-18/34."""

    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None, groups=1, base_width=64,
                 dilation=1, norm_layer=None):
        super().__init__()
        norm_layer = norm_layer or nn.BatchNorm2d
        if groups != 1 or base_width != 64:
            raise ValueError(f"BasicBlock: only groups=1 and base_width=64 are defined, "
                             f"got groups={groups}, base_width={base_width}")
        if dilation > 1:
            raise ValueError(f"BasicBlock: dilation > 1 is not defined, got dilation={dilation}")
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = norm_layer(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = norm_layer(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        pairs = ((self.conv1, self.bn1), (self.conv2, self.bn2))
        if _foldable(self, pairs):
            identity = x if self.downsample is None else fold.conv_bn(*self.downsample, x)
            out = fold.conv_bn(self.conv1, self.bn1, x, fold.clamp_of(self.relu))
            return fold.conv_bn(self.conv2, self.bn2, out, fold.clamp_of(self.relu), identity)
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


def _foldable(block, pairs) -> bool:
    """Whether a block may run as convs with BN folded in, its ReLUs and its residual add in
    their epilogues (``models/fold.py``: eval, no_grad, plain modules without hooks, the
    ReLU among them): the shortcut is the identity or a plain conv + BN."""
    ds = block.downsample
    return (fold.clamp_of(block.relu) == (0.0, float("inf"))
            and all(fold.foldable(c, b) for c, b in pairs)
            and (ds is None or (type(ds) is nn.Sequential and len(ds) == 2
                                and not (ds._forward_hooks or ds._forward_pre_hooks)
                                and fold.foldable(ds[0], ds[1]))))


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3 (grouped for ResNeXt, strided here as in torchvision's v1.5), 1x1 expand x4."""

    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None, groups=1, base_width=64,
                 dilation=1, norm_layer=None):
        super().__init__()
        norm_layer = norm_layer or nn.BatchNorm2d
        width = int(planes * (base_width / 64.0)) * groups
        self.conv1 = conv1x1(inplanes, width)
        self.bn1 = norm_layer(width)
        self.conv2 = conv3x3(width, width, stride, groups, dilation)
        self.bn2 = norm_layer(width)
        self.conv3 = conv1x1(width, planes * self.expansion)
        self.bn3 = norm_layer(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        pairs = ((self.conv1, self.bn1), (self.conv2, self.bn2), (self.conv3, self.bn3))
        if _foldable(self, pairs):
            relu = fold.clamp_of(self.relu)
            identity = x if self.downsample is None else fold.conv_bn(*self.downsample, x)
            out = fold.conv_bn(self.conv1, self.bn1, x, relu)
            out = fold.conv_bn(self.conv2, self.bn2, out, relu)
            return fold.conv_bn(self.conv3, self.bn3, out, relu, identity)
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class ResNet(nn.Module):
    """ResNet (He et al. 2015) and ResNeXt (Xie et al. 2016), laid out as torchvision builds them.

    conv 7x7/2 (64) + BN + ReLU | max pool 3x3/2 | layer1..layer4: ``layers[i]`` blocks of
    64, 128, 256, 512 planes (stride 2 from layer2 on, 1x1-conv + BN projection shortcuts
    where the shape changes) | global average pool | fc. Every conv is He-normal (fan_out),
    every BN starts at weight 1, bias 0.

    Args:
        block: ``BasicBlock`` (two 3x3 convs; ResNet-18/34) or ``Bottleneck`` (1x1 reduce,
            3x3, 1x1 expand x4; ResNet-50 and up), from ``foveanet.models.resnet``.
        layers: the number of blocks in each of the four stages.
        num_classes: logits out (default 1000).
        zero_init_residual: start each block's last BN weight at 0, so that every block starts
            as the identity (Goyal et al. 2017) (default False).
        groups: groups of the bottleneck's 3x3 conv, ResNeXt's cardinality (default 1).
        width_per_group: channels per group (default 64).
        replace_stride_with_dilation: three booleans: dilate layer2..4 instead of striding
            (default None: stride everywhere).
        norm_layer: the normalisation module class (default ``nn.BatchNorm2d``).
        in_channels: channels of the input images (default 3).

    Shape:
        - Input: (N, in_channels, H, W).
        - Output: (N, num_classes).

    Example::

        >>> from foveanet.models.resnet import BasicBlock
        >>> net = fn.models.ResNet(BasicBlock, [2, 2, 2, 2])  # resnet18
        >>> sum(p.numel() for p in net.parameters())
        11689512
        >>> net = fn.models.ResNet(BasicBlock, [1, 1, 1, 1], num_classes=10, in_channels=1)
        >>> net(fn.ones(2, 1, 32, 32)).shape
        (2, 10)
    """

    def __init__(self, block, layers, num_classes=1000, zero_init_residual=False, groups=1,
                 width_per_group=64, replace_stride_with_dilation=None, norm_layer=None,
                 in_channels=3):
        super().__init__()
        self._norm_layer = norm_layer = norm_layer or nn.BatchNorm2d
        self.inplanes = 64
        self.dilation = 1
        replace_stride_with_dilation = replace_stride_with_dilation or [False, False, False]
        if len(replace_stride_with_dilation) != 3:
            raise ValueError("ResNet: replace_stride_with_dilation needs 3 entries, got "
                             f"{replace_stride_with_dilation}")
        self.groups = groups
        self.base_width = width_per_group
        self.conv1 = nn.Conv2d(in_channels, self.inplanes, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = norm_layer(self.inplanes)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], 2, replace_stride_with_dilation[0])
        self.layer3 = self._make_layer(block, 256, layers[2], 2, replace_stride_with_dilation[1])
        self.layer4 = self._make_layer(block, 512, layers[3], 2, replace_stride_with_dilation[2])
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * block.expansion, num_classes)

        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
        if zero_init_residual:
            # each residual branch starts as zero, so every block starts as the identity
            # (Goyal et al. 2017): helps large-batch training
            for m in self.modules():
                if isinstance(m, Bottleneck) and m.bn3.weight is not None:
                    nn.init.constant_(m.bn3.weight, 0)
                elif isinstance(m, BasicBlock) and m.bn2.weight is not None:
                    nn.init.constant_(m.bn2.weight, 0)

    def _make_layer(self, block, planes, blocks, stride=1, dilate=False):
        norm_layer = self._norm_layer
        downsample = None
        previous_dilation = self.dilation
        if dilate:
            self.dilation *= stride
            stride = 1
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(conv1x1(self.inplanes, planes * block.expansion, stride),
                                       norm_layer(planes * block.expansion))
        layers = [block(self.inplanes, planes, stride, downsample, self.groups, self.base_width,
                        previous_dilation, norm_layer)]
        self.inplanes = planes * block.expansion
        for _ in range(1, blocks):
            layers.append(block(self.inplanes, planes, groups=self.groups, base_width=self.base_width,
                                dilation=self.dilation, norm_layer=norm_layer))
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(fold.run_folded((self.conv1, self.bn1, self.relu), x))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(foveanet.flatten(self.avgpool(x), 1))


def resnet18(**kwargs) -> ResNet:
    """ResNet-18 (He et al. 2015): basic blocks [2, 2, 2, 2].

    Args:
        **kwargs: ``num_classes`` (default 1000), ``in_channels`` (default 3), and the other
            options of ``ResNet`` (``zero_init_residual``, ``norm_layer``...).

    Example::

        >>> sum(p.numel() for p in fn.models.resnet18().parameters())  # as torchvision
        11689512
        >>> net = fn.models.resnet18(num_classes=10, in_channels=1)
        >>> net(fn.ones(2, 1, 32, 32)).shape
        (2, 10)
    """
    return ResNet(BasicBlock, [2, 2, 2, 2], **kwargs)


def resnet34(**kwargs) -> ResNet:
    """ResNet-34 (He et al. 2015): basic blocks [3, 4, 6, 3].

    Args:
        **kwargs: ``num_classes`` (default 1000), ``in_channels`` (default 3), and the other
            options of ``ResNet`` (``zero_init_residual``, ``norm_layer``...).

    Example::

        >>> sum(p.numel() for p in fn.models.resnet34().parameters())  # as torchvision
        21797672
    """
    return ResNet(BasicBlock, [3, 4, 6, 3], **kwargs)


def resnet50(**kwargs) -> ResNet:
    """ResNet-50 (He et al. 2015): bottleneck blocks [3, 4, 6, 3], torchvision's v1.5.

    The v1.5 bottleneck strides in its 3x3 conv (the paper's in the first 1x1).

    Args:
        **kwargs: ``num_classes`` (default 1000), ``in_channels`` (default 3), and the other
            options of ``ResNet`` (``zero_init_residual``, ``norm_layer``...).

    Example::

        >>> net = fn.models.resnet50()
        >>> sum(p.numel() for p in net.parameters())  # as torchvision
        25557032
        >>> net.fc.in_features  # 512 · Bottleneck.expansion
        2048
    """
    return ResNet(Bottleneck, [3, 4, 6, 3], **kwargs)


def resnet101(**kwargs) -> ResNet:
    """ResNet-101 (He et al. 2015): bottleneck blocks [3, 4, 23, 3].

    Args:
        **kwargs: ``num_classes`` (default 1000), ``in_channels`` (default 3), and the other
            options of ``ResNet`` (``zero_init_residual``, ``norm_layer``...).

    Example::

        >>> sum(p.numel() for p in fn.models.resnet101().parameters())  # as torchvision
        44549160
    """
    return ResNet(Bottleneck, [3, 4, 23, 3], **kwargs)


def resnet152(**kwargs) -> ResNet:
    """ResNet-152 (He et al. 2015): bottleneck blocks [3, 8, 36, 3].

    Args:
        **kwargs: ``num_classes`` (default 1000), ``in_channels`` (default 3), and the other
            options of ``ResNet`` (``zero_init_residual``, ``norm_layer``...).

    Example::

        >>> sum(p.numel() for p in fn.models.resnet152().parameters())  # as torchvision
        60192808
    """
    return ResNet(Bottleneck, [3, 8, 36, 3], **kwargs)


def resnext50_32x4d(**kwargs) -> ResNet:
    """ResNeXt-50 32x4d (Xie et al. 2016): bottlenecks [3, 4, 6, 3], 32 groups of width 4.

    32 groups of width 4 in the first stage's 3x3 conv (128 channels), doubling each stage.

    Args:
        **kwargs: ``num_classes`` (default 1000), ``in_channels`` (default 3), and the other
            options of ``ResNet`` (``zero_init_residual``, ``norm_layer``...).

    Example::

        >>> net = fn.models.resnext50_32x4d()
        >>> sum(p.numel() for p in net.parameters())  # as torchvision
        25028904
        >>> net.layer1[0].conv2.groups, net.layer1[0].conv2.in_channels
        (32, 128)
    """
    return ResNet(Bottleneck, [3, 4, 6, 3], groups=32, width_per_group=4, **kwargs)


def resnext101_32x8d(**kwargs) -> ResNet:
    """ResNeXt-101 32x8d (Xie et al. 2016): bottlenecks [3, 4, 23, 3], 32 groups of width 8.

    Args:
        **kwargs: ``num_classes`` (default 1000), ``in_channels`` (default 3), and the other
            options of ``ResNet`` (``zero_init_residual``, ``norm_layer``...).

    Example::

        >>> sum(p.numel() for p in fn.models.resnext101_32x8d().parameters())  # as torchvision
        88791336
    """
    return ResNet(Bottleneck, [3, 4, 23, 3], groups=32, width_per_group=8, **kwargs)
