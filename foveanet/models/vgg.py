"""VGG 11/13/16/19 (Simonyan & Zisserman 2014, configurations A, B, D, E), with and without
batch normalisation, laid out as torchvision does (``features``/``avgpool``/``classifier``)
so torchvision state_dicts load unchanged. VGG-16: 138,357,544 parameters, VGG-16-BN 138,365,992.
"""
from __future__ import annotations

import foveanet
from foveanet import nn

__all__ = ["VGG", "make_layers", "CONFIGS", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn",
           "vgg16", "vgg16_bn", "vgg19", "vgg19_bn", "SmallVGG", "vgg_small"]

# output channels of each 3x3 conv; "M" = 2x2 max pool
CONFIGS = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
          512, 512, 512, 512, "M"],
}


def make_layers(cfg, batch_norm: bool = False, in_channels: int = 3) -> nn.Sequential:
    layers = []
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            continue
        layers.append(nn.Conv2d(in_channels, v, kernel_size=3, padding=1))
        if batch_norm:
            layers.append(nn.BatchNorm2d(v))
        layers.append(nn.ReLU(inplace=True))
        in_channels = v
    return nn.Sequential(*layers)


class VGG(nn.Module):
    """VGG (Simonyan & Zisserman 2014): stacks of 3x3 convs and 2x2 max pools, then three FC layers.

    ``features`` | adaptive average pool to 7x7 | FC 25088-4096, ReLU, dropout | FC 4096-4096,
    ReLU, dropout | FC 4096-num_classes, in torchvision's layout. The 7x7 pool makes every
    input size fit the 25088-wide classifier (and pretrained weights): 224x224 inputs reach
    it as 7x7 already, smaller maps are replicated.

    Args:
        features: the convolutional part, ending in 512 channels (``make_layers(cfg)``).
        num_classes: logits out (default 1000).
        init_weights: torchvision's initialisation: He-normal (fan_out) convs, N(0, 0.01)
            linear weights, zero biases, BN at 1 and 0 (default True); False keeps the
            layers' defaults.
        dropout: p of the two dropout layers (default 0.5).

    Shape:
        - Input: (N, C, H, W), each side at least ``2**p``, p the number of pools in ``features``.
        - Output: (N, num_classes).

    Example::

        >>> from foveanet.models.vgg import make_layers
        >>> features = make_layers([16, "M", 512, "M"])  # conv 3->16, pool, conv 16->512, pool
        >>> net = fn.models.VGG(features, num_classes=10, init_weights=False)
        >>> x = fn.ones(1, 3, 32, 32)
        >>> net.avgpool(net.features(x)).shape
        (1, 512, 7, 7)
        >>> net(x).shape
        (1, 10)
    """

    def __init__(self, features: nn.Module, num_classes: int = 1000, init_weights: bool = True,
                 dropout: float = 0.5):
        super().__init__()
        self.features = features
        # 7x7 whatever the input size: 224 inputs give 7x7 already, 32x32 ones (1x1) are
        # replicated, so the 25088-wide classifier (and pretrained weights) fit every size
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096), nn.ReLU(inplace=True), nn.Dropout(p=dropout),
            nn.Linear(4096, 4096), nn.ReLU(inplace=True), nn.Dropout(p=dropout),
            nn.Linear(4096, num_classes),
        )
        if init_weights:
            self._init_weights()

    def _init_weights(self):
        # He et al. for the ReLU convs; small normal for the huge FC layers (torchvision's choice)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                if m.bias is not None:
                    nn.init.constant_(m.bias, 0)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.constant_(m.bias, 0)

    def forward(self, x):
        x = self.avgpool(self.features(x))
        return self.classifier(foveanet.flatten(x, 1))


def _vgg(cfg: str, batch_norm: bool, num_classes: int = 1000, in_channels: int = 3, **kwargs) -> VGG:
    return VGG(make_layers(CONFIGS[cfg], batch_norm, in_channels), num_classes=num_classes, **kwargs)


def vgg11(**kwargs) -> VGG:
    """VGG-11 (Simonyan & Zisserman 2014, configuration A: 8 convs and 3 FC layers).

    Args:
        **kwargs: ``num_classes`` (default 1000), ``in_channels`` (default 3), and
            ``VGG``'s ``init_weights`` and ``dropout``.

    Example::

        >>> net = fn.models.vgg11(init_weights=False)  # the same count, built faster
        >>> sum(p.numel() for p in net.parameters())  # as torchvision
        132863336
    """
    return _vgg("A", False, **kwargs)


def vgg11_bn(**kwargs) -> VGG:
    """VGG-11 with batch normalisation after every conv (configuration A).

    Args:
        **kwargs: ``num_classes`` (default 1000), ``in_channels`` (default 3), and
            ``VGG``'s ``init_weights`` and ``dropout``.

    Example::

        >>> net = fn.models.vgg11_bn(init_weights=False)  # the same count, built faster
        >>> sum(p.numel() for p in net.parameters())  # as torchvision
        132868840
    """
    return _vgg("A", True, **kwargs)


def vgg13(**kwargs) -> VGG:
    """VGG-13 (Simonyan & Zisserman 2014, configuration B: 10 convs and 3 FC layers).

    Args:
        **kwargs: ``num_classes`` (default 1000), ``in_channels`` (default 3), and
            ``VGG``'s ``init_weights`` and ``dropout``.

    Example::

        >>> net = fn.models.vgg13(init_weights=False)  # the same count, built faster
        >>> sum(p.numel() for p in net.parameters())  # as torchvision
        133047848
    """
    return _vgg("B", False, **kwargs)


def vgg13_bn(**kwargs) -> VGG:
    """VGG-13 with batch normalisation after every conv (configuration B).

    Args:
        **kwargs: ``num_classes`` (default 1000), ``in_channels`` (default 3), and
            ``VGG``'s ``init_weights`` and ``dropout``.

    Example::

        >>> net = fn.models.vgg13_bn(init_weights=False)  # the same count, built faster
        >>> sum(p.numel() for p in net.parameters())  # as torchvision
        133053736
    """
    return _vgg("B", True, **kwargs)


def vgg16(**kwargs) -> VGG:
    """VGG-16 (Simonyan & Zisserman 2014, configuration D: 13 convs and 3 FC layers).

    Args:
        **kwargs: ``num_classes`` (default 1000), ``in_channels`` (default 3), and
            ``VGG``'s ``init_weights`` and ``dropout``.

    Example::

        >>> net = fn.models.vgg16(init_weights=False)  # the same count, built faster
        >>> sum(p.numel() for p in net.parameters())  # as torchvision
        138357544
    """
    return _vgg("D", False, **kwargs)


def vgg16_bn(**kwargs) -> VGG:
    """VGG-16 with batch normalisation after every conv (configuration D).

    Args:
        **kwargs: ``num_classes`` (default 1000), ``in_channels`` (default 3), and
            ``VGG``'s ``init_weights`` and ``dropout``.

    Example::

        >>> net = fn.models.vgg16_bn(init_weights=False)  # the same count, built faster
        >>> sum(p.numel() for p in net.parameters())  # as torchvision
        138365992
    """
    return _vgg("D", True, **kwargs)


def vgg19(**kwargs) -> VGG:
    """VGG-19 (Simonyan & Zisserman 2014, configuration E: 16 convs and 3 FC layers).

    Args:
        **kwargs: ``num_classes`` (default 1000), ``in_channels`` (default 3), and
            ``VGG``'s ``init_weights`` and ``dropout``.

    Example::

        >>> net = fn.models.vgg19(init_weights=False)  # the same count, built faster
        >>> sum(p.numel() for p in net.parameters())  # as torchvision
        143667240
    """
    return _vgg("E", False, **kwargs)


def vgg19_bn(**kwargs) -> VGG:
    """VGG-19 with batch normalisation after every conv (configuration E).

    Args:
        **kwargs: ``num_classes`` (default 1000), ``in_channels`` (default 3), and
            ``VGG``'s ``init_weights`` and ``dropout``.

    Example::

        >>> net = fn.models.vgg19_bn(init_weights=False)  # the same count, built faster
        >>> sum(p.numel() for p in net.parameters())  # as torchvision
        143678248
    """
    return _vgg("E", True, **kwargs)


class SmallVGG(nn.Module):
    """VGG's design scaled to 28-32 px images (Fashion-MNIST, CIFAR), with batch norm.

    Three blocks of two 3x3 conv + BN + ReLU (``width``, 2 ``width``, 4 ``width`` channels),
    a 2x2 max pool after each block, then dropout and one linear layer on the 3x3 map (an
    adaptive average pool makes other input sizes fit it; for 28x28 it is the identity).

    width 32 on 1x28x28: 298,858 parameters, 29.1 M mult-adds per image. (A variant with
    one conv at 28x28 and three at 7x7 has the same mult-adds and trains ~20% faster on a
    CPU, but reached only 93.24% in 13 epochs of the strong recipe against 93.92% for this
    layout in 12 epochs of the same recipe in PyTorch.)

    Args:
        num_classes: logits out (default 10).
        in_channels: channels of the input images (default 1).
        width: channels of the first block, doubled in each of the next two (default 32).
        dropout: p of the dropout before the linear layer (default 0.3).

    Shape:
        - Input: (N, in_channels, H, W), H, W >= 8.
        - Output: (N, num_classes).

    Example::

        >>> net = fn.models.SmallVGG()
        >>> sum(p.numel() for p in net.parameters())
        298858
        >>> net(fn.ones(2, 1, 28, 28)).shape
        (2, 10)
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 1, width: int = 32,
                 dropout: float = 0.3):
        super().__init__()
        w = width
        self.features = make_layers([w, w, "M", 2 * w, 2 * w, "M", 4 * w, 4 * w, "M"],
                                    batch_norm=True, in_channels=in_channels)
        self.avgpool = nn.AdaptiveAvgPool2d((3, 3))
        self.classifier = nn.Sequential(nn.Dropout(p=dropout), nn.Linear(4 * w * 9, num_classes))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.constant_(m.bias, 0)

    def forward(self, x):
        x = self.avgpool(self.features(x))
        return self.classifier(foveanet.flatten(x, 1))


def vgg_small(**kwargs) -> SmallVGG:
    """The VGG-style BN network of the strong Fashion-MNIST recipe (``SmallVGG``).

    Args:
        **kwargs: ``SmallVGG``'s ``num_classes``, ``in_channels``, ``width`` and ``dropout``.

    Example::

        >>> net = fn.models.vgg_small(in_channels=3)
        >>> sum(p.numel() for p in net.parameters())
        299434
        >>> net(fn.ones(2, 3, 32, 32)).shape
        (2, 10)
    """
    return SmallVGG(**kwargs)
