"""GoogLeNet / Inception v1 (Szegedy et al. 2014) in torchvision's form, which departs from the
paper in two ways kept here so its weights load: every conv is conv(bias=False) + BN(eps=0.001)
+ ReLU (BasicConv2d, batch norm postdates the paper), and the "5x5" branch uses a 3x3 kernel
(a long-standing torchvision quirk). 6,624,904 parameters without the auxiliary classifiers.

``aux_logits=True`` adds aux1 (after inception4a) and aux2 (after inception4d); in training
mode the forward then returns ``GoogLeNetOutputs(logits, aux_logits2, aux_logits1)``.
"""
from __future__ import annotations

from collections import namedtuple

import foveanet
from foveanet import nn
from foveanet.nn import functional as F

__all__ = ["GoogLeNet", "GoogLeNetOutputs", "BasicConv2d", "Inception", "InceptionAux", "googlenet"]

GoogLeNetOutputs = namedtuple("GoogLeNetOutputs", ["logits", "aux_logits2", "aux_logits1"])


class BasicConv2d(nn.Module):
    def __init__(self, in_channels, out_channels, **kwargs):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, bias=False, **kwargs)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)), inplace=True)


class Inception(nn.Module):
    """Four parallel branches concatenated on channels: 1x1 | 1x1-3x3 | 1x1-3x3 | pool-1x1."""

    def __init__(self, in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj):
        super().__init__()
        self.branch1 = BasicConv2d(in_channels, ch1x1, kernel_size=1)
        self.branch2 = nn.Sequential(BasicConv2d(in_channels, ch3x3red, kernel_size=1),
                                     BasicConv2d(ch3x3red, ch3x3, kernel_size=3, padding=1))
        self.branch3 = nn.Sequential(BasicConv2d(in_channels, ch5x5red, kernel_size=1),
                                     BasicConv2d(ch5x5red, ch5x5, kernel_size=3, padding=1))
        self.branch4 = nn.Sequential(nn.MaxPool2d(kernel_size=3, stride=1, padding=1, ceil_mode=True),
                                     BasicConv2d(in_channels, pool_proj, kernel_size=1))

    def forward(self, x):
        return foveanet.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


class InceptionAux(nn.Module):
    """Auxiliary head: 4x4 average grid, 1x1 conv to 128, FC 1024, dropout 0.7, FC classes."""

    def __init__(self, in_channels, num_classes, dropout=0.7):
        super().__init__()
        self.conv = BasicConv2d(in_channels, 128, kernel_size=1)
        self.fc1 = nn.Linear(2048, 1024)
        self.fc2 = nn.Linear(1024, num_classes)
        self.dropout = nn.Dropout(p=dropout)

    def forward(self, x):
        x = self.conv(F.adaptive_avg_pool2d(x, (4, 4)))
        x = F.relu(self.fc1(foveanet.flatten(x, 1)), inplace=True)
        return self.fc2(self.dropout(x))


class GoogLeNet(nn.Module):
    """GoogLeNet / Inception v1 (Szegedy et al. 2014) in torchvision's form, with batch norm.

    conv 7x7/2 (64) | max pool | conv 1x1 (64), conv 3x3 (192) | max pool | inception 3a, 3b
    | max pool | inception 4a..4e | max pool | inception 5a, 5b | global average pool | dropout
    | fc. Each Inception concatenates four branches: 1x1 | 1x1-3x3 | 1x1-"5x5" (a 3x3, as
    torchvision) | 3x3 max pool-1x1. Every conv is conv(bias=False) + BN(eps=0.001) + ReLU,
    so torchvision's weights load.

    Args:
        num_classes: logits out (default 1000).
        aux_logits: add the auxiliary heads aux1 (after inception4a) and aux2 (after
            inception4d); in training mode the forward then returns
            ``GoogLeNetOutputs(logits, aux_logits2, aux_logits1)`` (default False).
        transform_input: re-normalise ImageNet-normalised RGB inputs to the (0.5, 0.5)
            normalisation torchvision's weights were trained with (default False).
        init_weights: truncated N(0, 0.01) in [-2, 2] for convs and linear layers, BN at 1
            and 0, as torchvision (default True).
        dropout: p of the dropout before fc (default 0.2).
        dropout_aux: p of the auxiliary heads' dropout (default 0.7).
        in_channels: channels of the input images (default 3).

    Shape:
        - Input: (N, in_channels, H, W).
        - Output: (N, num_classes), or ``GoogLeNetOutputs`` of three of them (aux_logits,
          training).

    Example::

        >>> net = fn.models.GoogLeNet(num_classes=10, aux_logits=True)
        >>> out = net(fn.ones(2, 3, 32, 32))
        >>> type(out).__name__, out.logits.shape, out.aux_logits1.shape
        ('GoogLeNetOutputs', (2, 10), (2, 10))
        >>> net.eval()(fn.ones(2, 3, 32, 32)).shape
        (2, 10)
    """

    def __init__(self, num_classes=1000, aux_logits=False, transform_input=False, init_weights=True,
                 dropout=0.2, dropout_aux=0.7, in_channels=3):
        super().__init__()
        if transform_input and in_channels != 3:
            raise ValueError("googlenet: transform_input re-normalises RGB, so it needs in_channels=3, "
                             f"got in_channels={in_channels}")
        self.aux_logits = aux_logits
        self.transform_input = transform_input
        self.conv1 = BasicConv2d(in_channels, 64, kernel_size=7, stride=2, padding=3)
        self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.conv2 = BasicConv2d(64, 64, kernel_size=1)
        self.conv3 = BasicConv2d(64, 192, kernel_size=3, padding=1)
        self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception3a = Inception(192, 64, 96, 128, 16, 32, 32)
        self.inception3b = Inception(256, 128, 128, 192, 32, 96, 64)
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception4a = Inception(480, 192, 96, 208, 16, 48, 64)
        self.inception4b = Inception(512, 160, 112, 224, 24, 64, 64)
        self.inception4c = Inception(512, 128, 128, 256, 24, 64, 64)
        self.inception4d = Inception(512, 112, 144, 288, 32, 64, 64)
        self.inception4e = Inception(528, 256, 160, 320, 32, 128, 128)
        self.maxpool4 = nn.MaxPool2d(2, stride=2, ceil_mode=True)
        self.inception5a = Inception(832, 256, 160, 320, 32, 128, 128)
        self.inception5b = Inception(832, 384, 192, 384, 48, 128, 128)
        if aux_logits:
            self.aux1 = InceptionAux(512, num_classes, dropout=dropout_aux)
            self.aux2 = InceptionAux(528, num_classes, dropout=dropout_aux)
        else:
            self.aux1 = None
            self.aux2 = None
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(p=dropout)
        self.fc = nn.Linear(1024, num_classes)
        if init_weights:
            for m in self.modules():
                if isinstance(m, (nn.Conv2d, nn.Linear)):
                    nn.init.trunc_normal_(m.weight, mean=0.0, std=0.01, a=-2, b=2)
                elif isinstance(m, nn.BatchNorm2d):
                    nn.init.constant_(m.weight, 1)
                    nn.init.constant_(m.bias, 0)

    def _transform_input(self, x):
        # weights trained on inputs normalised with (0.5, 0.5) get ImageNet-normalised ones:
        # undo the ImageNet mean/std and apply the 0.5 ones, channel by channel
        mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
        chans = [x[:, c:c + 1] * (std[c] / 0.5) + (mean[c] - 0.5) / 0.5 for c in range(3)]
        return foveanet.cat(chans, 1)

    def forward(self, x):
        if self.transform_input:
            x = self._transform_input(x)
        x = self.maxpool1(self.conv1(x))
        x = self.maxpool2(self.conv3(self.conv2(x)))
        x = self.maxpool3(self.inception3b(self.inception3a(x)))
        x = self.inception4a(x)
        aux_on = self.aux_logits and self.training
        aux1 = self.aux1(x) if aux_on else None
        x = self.inception4d(self.inception4c(self.inception4b(x)))
        aux2 = self.aux2(x) if aux_on else None
        x = self.maxpool4(self.inception4e(x))
        x = self.inception5b(self.inception5a(x))
        x = self.fc(self.dropout(foveanet.flatten(self.avgpool(x), 1)))
        if aux_on:
            return GoogLeNetOutputs(x, aux2, aux1)
        return x


def googlenet(num_classes: int = 1000, in_channels: int = 3, **kwargs) -> GoogLeNet:
    """GoogLeNet / Inception v1 (Szegedy et al. 2014) as torchvision builds it.

    Args:
        num_classes: logits out (default 1000).
        in_channels: channels of the input images (default 3).
        **kwargs: the other options of ``GoogLeNet`` (``aux_logits``, ``transform_input``...).

    Example::

        >>> sum(p.numel() for p in fn.models.googlenet().parameters())  # as torchvision
        6624904
    """
    return GoogLeNet(num_classes=num_classes, in_channels=in_channels, **kwargs)
