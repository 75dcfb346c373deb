"""LeNet-5: the modern form used in teaching, and LeCun et al. 1998 as published.

``lenet5()`` (variant "modern"): ReLU, max pooling and a plain linear output, padding 2 on the
first convolution so 28x28 MNIST-sized images need no resizing (61,706 parameters for
1 channel / 10 classes).

``lenet5(variant="1998")`` follows "Gradient-based learning applied to document recognition"
(Proc. IEEE 1998), section II-B, on 32x32 inputs (28x28 ones are zero-padded by 2):

    layer  what                                                         parameters
    C1     5x5 conv, 6 maps                                                    156
    S2     2x2 average * trainable coefficient + bias, per map                  12
    C3     5x5 conv, 16 maps, the sparse connection table (Table I)          1,516
    S4     as S2 on 16 maps                                                     32
    C5     5x5 conv, 120 maps (1x1 outputs: fully connected to S4)          48,120
    F6     120 -> 84                                                        10,164
    output 84 -> num_classes                                               850 (10 classes)

Every unit up to F6 passes its weighted sum through f(a) = 1.7159 tanh(2a/3) (section II-A and
appendix A), so f(+-1) = +-1 and the gain is ~1 around the origin.

Deliberate departure: the paper's output layer is 10 Euclidean RBF units whose centres are fixed
7x12 bitmaps of the characters, trained with a special MAP criterion. Here it is a linear layer
to ``num_classes`` logits, trained with ordinary cross-entropy, so the network plugs into the same
losses and trainer as every other model and works for any number of classes.

Initialisation is the paper's (appendix C): weights and biases uniform in +-2.4 / fan_in. For
S2/S4 the coefficient multiplies an *average*, i.e. 4x the paper's coefficient on a sum, so its
range is scaled by 4 to stay the paper's distribution.
"""
from __future__ import annotations

from collections import OrderedDict

import numpy as np

import foveanet
from foveanet import nn
from foveanet.nn import functional as F

__all__ = ["LeNet5", "LeNet1998", "lenet5"]

# Table I of the paper, read by columns: which S2 maps feed each C3 map. Grouped by fan-in so
# each group is one grouped convolution; the order of the groups is the paper's map order 0..15.
C3_TABLE = (
    ((0, 1, 2), (1, 2, 3), (2, 3, 4), (3, 4, 5), (4, 5, 0), (5, 0, 1)),                # maps 0-5
    ((0, 1, 2, 3), (1, 2, 3, 4), (2, 3, 4, 5), (3, 4, 5, 0), (4, 5, 0, 1), (5, 0, 1, 2),  # 6-11
     (0, 1, 3, 4), (1, 2, 4, 5), (0, 2, 3, 5)),                                          # 12-14
    ((0, 1, 2, 3, 4, 5),),                                                               # map 15
)


class LeNet5(nn.Module):
    """LeNet-5 (LeCun et al. 1998) in the modern form taught today: ReLU, max pooling.

        conv(5x5, 6, pad 2) ReLU maxpool2 | conv(5x5, 16) ReLU maxpool2 | 400-120-84-classes

    The padding of the first conv lets 28x28 MNIST-sized images in without resizing.
    ``image_size`` only sizes the first linear layer, of 16·s·s inputs:

        s = (image_size // 2 - 4) // 2        (28 -> 400, 32 -> 576)

    The paper's own network is ``LeNet1998``.

    Args:
        in_channels: channels of the input images (default 1).
        num_classes: logits out (default 10).
        image_size: side of the square inputs, at least 10 (default 28).

    Shape:
        - Input: (N, in_channels, image_size, image_size).
        - Output: (N, num_classes).

    Example::

        >>> net = fn.models.LeNet5()
        >>> sum(p.numel() for p in net.parameters())
        61706
        >>> net(fn.ones(2, 1, 28, 28)).shape
        (2, 10)
        >>> sum(p.numel() for p in fn.models.LeNet5(in_channels=3, image_size=32).parameters())
        83126
    """

    def __init__(self, in_channels: int = 1, num_classes: int = 10, image_size: int = 28):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, kernel_size=5, padding=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=2, stride=2),
            nn.Conv2d(6, 16, kernel_size=5), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=2, stride=2),
        )
        side = (image_size // 2 - 4) // 2
        if side < 1:
            raise ValueError(f"lenet5: image_size must be at least 10, got {image_size}")
        # image_size only sizes the first linear layer: 28 -> 16*5*5 = 400, 32 -> 16*6*6 = 576
        self.classifier = nn.Sequential(
            nn.Linear(16 * side * side, 120), nn.ReLU(inplace=True),
            nn.Linear(120, 84), nn.ReLU(inplace=True),
            nn.Linear(84, num_classes),
        )

    def forward(self, x):
        return self.classifier(foveanet.flatten(self.features(x), 1))


def _paper_uniform_(t, fan_in: int, scale: float = 1.0):
    bound = scale * 2.4 / fan_in
    nn.init.uniform_(t, -bound, bound)


class Squash(nn.Module):
    """f(a) = A tanh(S a), A = 1.7159, S = 2/3 (the paper's sigmoid)."""

    A, S = 1.7159, 2.0 / 3.0

    def forward(self, x):
        return F.tanh(x * self.S) * self.A

    def extra_repr(self) -> str:
        return f"A={self.A}, S={self.S:.4f}"


class Subsampling(nn.Module):
    """S2/S4: per-map ``coefficient * avg_pool2x2(x) + bias`` (2 parameters per map)."""

    def __init__(self, channels: int):
        super().__init__()
        self.channels = channels
        self.weight = nn.Parameter(foveanet.empty(channels))
        self.bias = nn.Parameter(foveanet.empty(channels))
        _paper_uniform_(self.weight, 4, scale=4.0)
        _paper_uniform_(self.bias, 4)

    def forward(self, x):
        y = F.avg_pool2d(x, 2, 2)
        return y * self.weight.reshape(1, -1, 1, 1) + self.bias.reshape(1, -1, 1, 1)

    def extra_repr(self) -> str:
        return f"{self.channels}"


class SparseConv(nn.Module):
    """C3: each output map sees only the input maps its row of ``table`` lists.

    Output maps with the same fan-in share one grouped convolution over the gathered input
    maps (group i = the maps of output i), so only connected weights exist: sum(numel) is
    exactly the paper's 1,516 and there is no mask to keep at zero.
    """

    def __init__(self, table=C3_TABLE, kernel_size: int = 5):
        super().__init__()
        self.table = table
        self.kernel_size = kernel_size
        self.out_channels = sum(len(g) for g in table)
        # one attribute per fan-in group (weight0: 3 inputs, weight1: 4, weight2: all 6)
        for i, group in enumerate(table):
            fan = len(group[0])
            w = nn.Parameter(foveanet.empty(len(group), fan, kernel_size, kernel_size))
            _paper_uniform_(w, fan * kernel_size * kernel_size)
            setattr(self, f"weight{i}", w)
        bound = np.array([2.4 / (len(row) * kernel_size ** 2) for g in table for row in g],
                         dtype=foveanet.get_default_dtype())
        self.bias = nn.Parameter(foveanet.tensor((2 * foveanet.rand(self.out_channels).numpy() - 1) * bound))
        self._index = [np.array([c for row in group for c in row]) for group in table]

    def forward(self, x):
        outs = [F.conv2d(x[:, idx], getattr(self, f"weight{i}"), groups=len(group))
                for i, (idx, group) in enumerate(zip(self._index, self.table))]
        y = foveanet.cat(outs, 1)
        return y + self.bias.reshape(1, -1, 1, 1)

    def extra_repr(self) -> str:
        return f"table={[len(r) for g in self.table for r in g]}, kernel_size={self.kernel_size}"


class LeNet1998(nn.Module):
    """LeNet-5 as published (LeCun et al. 1998, section II-B), with a linear output layer.

        C1  5x5 conv (6 maps)
        S2  trainable subsampling
        C3  5x5 conv, 16 maps on Table I's sparse connections
        S4  as S2
        C5  5x5 conv (120 maps)
        F6  120 -> 84
        out 84 -> num_classes

    Every unit up to F6 is squashed by f(a) = 1.7159·tanh(2a/3); weights and biases are
    uniform in ±2.4/fan_in (appendix C). The paper's RBF output units are replaced by a
    linear layer, so the usual cross entropy trains it (see the module docstring).

    Args:
        in_channels: channels of the input images (default 1).
        num_classes: logits out (default 10).
        image_size: side of the inputs, 5..32 (default 32); smaller images are centred in a
            32x32 field by zero padding, as the paper does with 20x20 digits.

    Shape:
        - Input: (N, in_channels, H, W), H, W <= 32.
        - Output: (N, num_classes).

    Example::

        >>> net = fn.models.LeNet1998()
        >>> [(name, sum(p.numel() for p in m.parameters()))
        ...  for name, m in net.features.named_children() if not name.startswith("act")]
        [('c1', 156), ('s2', 12), ('c3', 1516), ('s4', 32), ('c5', 48120)]
        >>> sum(p.numel() for p in net.parameters())
        60850
        >>> net(fn.ones(2, 1, 28, 28)).shape
        (2, 10)
    """

    def __init__(self, in_channels: int = 1, num_classes: int = 10, image_size: int = 32):
        super().__init__()
        # smaller images are centred in the 32x32 field; larger ones would not end at 1x1 in C5
        if not 5 <= image_size <= 32:
            raise ValueError(f"lenet5(variant='1998'): image_size must be 5..32, got {image_size}")
        self.features = nn.Sequential(OrderedDict([
            ("c1", nn.Conv2d(in_channels, 6, kernel_size=5)), ("act1", Squash()),
            ("s2", Subsampling(6)), ("act2", Squash()),
            ("c3", SparseConv()), ("act3", Squash()),
            ("s4", Subsampling(16)), ("act4", Squash()),
            ("c5", nn.Conv2d(16, 120, kernel_size=5)), ("act5", Squash()),
        ]))
        self.classifier = nn.Sequential(OrderedDict([
            ("f6", nn.Linear(120, 84)), ("act6", Squash()),
            ("output", nn.Linear(84, num_classes)),
        ]))
        for m in (self.features.c1, self.features.c5, self.classifier.f6, self.classifier.output):
            fan_in = m.weight.numel() // m.weight.shape[0]
            _paper_uniform_(m.weight, fan_in)
            _paper_uniform_(m.bias, fan_in)

    def forward(self, x):
        h, w = x.shape[-2:]
        if (h, w) != (32, 32):
            if h > 32 or w > 32:
                raise ValueError(f"lenet5(variant='1998'): expects inputs up to 32x32, got {h}x{w}")
            # the paper centres 20x20 digits in a 32x32 field; pad smaller images the same way
            top, left = (32 - h) // 2, (32 - w) // 2
            x = F.pad(x, (left, 32 - w - left, top, 32 - h - top))
        return self.classifier(foveanet.flatten(self.features(x), 1))


def lenet5(in_channels: int = 1, num_classes: int = 10, variant: str = "modern", **kwargs):
    """LeNet-5 (LeCun et al. 1998): the modern teaching form, or the paper's network.

    Args:
        in_channels: channels of the input images (default 1).
        num_classes: logits out (default 10).
        variant: "modern" (``LeNet5``: ReLU, max pooling, default) or "1998"
            (``LeNet1998``: the paper's squashing, subsampling and C3 table).
        **kwargs: passed on to the class (``image_size``).

    Example::

        >>> sum(p.numel() for p in fn.models.lenet5().parameters())
        61706
        >>> sum(p.numel() for p in fn.models.lenet5(variant="1998").parameters())
        60850
        >>> fn.models.lenet5(num_classes=3)(fn.ones(4, 1, 28, 28)).shape
        (4, 3)
    """
    if variant == "modern":
        return LeNet5(in_channels, num_classes, **kwargs)
    if variant == "1998":
        return LeNet1998(in_channels, num_classes, **kwargs)
    raise ValueError(f"lenet5: variant must be 'modern' or '1998', got {variant!r}")
