"""The building blocks torchvision keeps in ``torchvision.ops`` for its mobile networks:
conv + norm + activation as one Sequential, squeeze-and-excitation, stochastic depth, and the
channel rounding of the MobileNet papers. Same attribute names, so state_dict keys agree
(``features.1.conv.0.0.weight``, ``...block.2.fc1.weight``).
"""
from __future__ import annotations

import numpy as np

from foveanet import backend, nn
from foveanet.functional._utils import as_tensor, check_float
from foveanet.functional.dropout import _Dropout
from foveanet.models.fold import run_folded

__all__ = ["Conv2dNormActivation", "SqueezeExcitation", "StochasticDepth", "stochastic_depth",
           "make_divisible"]


def init_mobile_(model, linear_init_) -> None:
    """torchvision's init of its mobile networks: convs He-normal (fan_out) with zero bias,
    norms weight 1 bias 0, linears by ``linear_init_(module)`` with zero bias."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            linear_init_(m)
            nn.init.zeros_(m.bias)


def small_normal_(linear) -> None:
    """MobileNets' classifier init: N(0, 0.01)."""
    nn.init.normal_(linear.weight, 0, 0.01)


def make_divisible(v: float, divisor: int = 8, min_value: int | None = None) -> int:
    """``v`` rounded to the nearest multiple of ``divisor``, never more than 10% below ``v``.

    The MobileNet papers' channel rounding (``_make_divisible`` in torchvision): every width
    multiplied by ``width_mult`` becomes a multiple of 8, which vector units like.

        new = max(min_value, floor((v + divisor/2) / divisor) * divisor);  new += divisor if new < 0.9 v

    Args:
        v: the width before rounding.
        divisor: the multiple (default 8).
        min_value: the smallest result (default ``divisor``).

    Example::

        >>> from foveanet.models import make_divisible
        >>> make_divisible(32 * 0.5), make_divisible(24 * 0.35), make_divisible(100)
        (16, 8, 104)
    """
    min_value = divisor if min_value is None else min_value
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


class Conv2dNormActivation(nn.Sequential):
    """Conv2d, then a norm layer, then an activation, as one Sequential (keys 0, 1, 2).

    torchvision's ``ops.misc.Conv2dNormActivation``: "same" padding for odd kernels,
    ``padding = (kernel_size - 1) // 2 * dilation``, and no conv bias when a norm layer
    follows (its shift makes a bias redundant).

    Args:
        in_channels, out_channels: the conv's channels.
        kernel_size: the conv's (square) kernel (default 3).
        stride: the conv's stride (default 1).
        padding: default None: ``(kernel_size - 1) // 2 * dilation``.
        groups: the conv's groups; ``groups = in_channels`` is a depthwise conv (default 1).
        norm_layer: a class (or callable) taking the channel count (default ``nn.BatchNorm2d``);
            None leaves the norm out.
        activation_layer: a class taking ``inplace`` (default ``nn.ReLU``); None leaves it out.
        dilation: the conv's dilation (default 1).
        inplace: passed to the activation (default True; None passes nothing).
        bias: the conv's bias (default None: a bias only without a norm layer).

    Shape:
        - Input: (N, in_channels, H, W).
        - Output: (N, out_channels, H', W'), ``H' = floor((H + 2p - d(k-1) - 1)/s) + 1``.

    Example::

        >>> from foveanet.models import Conv2dNormActivation
        >>> block = Conv2dNormActivation(16, 16, stride=2, groups=16, activation_layer=nn.ReLU6)
        >>> [type(m).__name__ for m in block], block[0].padding
        (['Conv2d', 'BatchNorm2d', 'ReLU6'], (1, 1))
        >>> block(fn.ones(1, 16, 8, 8)).shape
        (1, 16, 4, 4)
        >>> sum(p.numel() for p in block.parameters())      # 3*3*1*16 + 2*16
        176
    """

    def __init__(self, in_channels, out_channels, kernel_size=3, stride=1, padding=None, groups=1,
                 norm_layer=nn.BatchNorm2d, activation_layer=nn.ReLU, dilation=1, inplace=True,
                 bias=None):
        if padding is None:
            padding = (kernel_size - 1) // 2 * dilation
        if bias is None:
            bias = norm_layer is None
        layers = [nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding,
                            dilation=dilation, groups=groups, bias=bias)]
        if norm_layer is not None:
            layers.append(norm_layer(out_channels))
        if activation_layer is not None:
            layers.append(activation_layer(**({} if inplace is None else {"inplace": inplace})))
        super().__init__(*layers)
        self.out_channels = out_channels

    def forward(self, input):
        return run_folded(self, input)  # conv + BN as one conv under no_grad in eval (fold.py)


class SqueezeExcitation(nn.Module):
    """Squeeze-and-excitation (Hu et al. 2017): reweigh each channel by a gate computed from
    the global average of all channels.

        s = scale_activation(fc2(activation(fc1(avgpool(x)))))    (fc1, fc2: 1x1 convs)
        y = s * x    (s is (N, C, 1, 1), broadcast over H, W)

    Args:
        input_channels: C.
        squeeze_channels: the bottleneck's width.
        activation: class of the bottleneck's activation (default ``nn.ReLU``).
        scale_activation: class of the gate (default ``nn.Sigmoid``; MobileNetV3 uses
            ``nn.Hardsigmoid``).

    Shape:
        - Input: (N, C, H, W).
        - Output: (N, C, H, W).

    Example::

        >>> from foveanet.models import SqueezeExcitation
        >>> se = SqueezeExcitation(16, 4)
        >>> sum(p.numel() for p in se.parameters())     # (16+1)*4 + (4+1)*16
        148
        >>> list(se.state_dict())
        ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']
        >>> se(fn.ones(2, 16, 5, 5)).shape
        (2, 16, 5, 5)
    """

    def __init__(self, input_channels, squeeze_channels, activation=nn.ReLU,
                 scale_activation=nn.Sigmoid):
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(input_channels, squeeze_channels, 1)
        self.fc2 = nn.Conv2d(squeeze_channels, input_channels, 1)
        self.activation = activation()
        self.scale_activation = scale_activation()

    def _scale(self, x):
        return self.scale_activation(self.fc2(self.activation(self.fc1(self.avgpool(x)))))

    def forward(self, x):
        return self._scale(x) * x


def stochastic_depth(input, p: float, mode: str, training: bool = True):
    """Stochastic depth (Huang et al. 2016): drop a residual branch at random while training.

    torchvision's ``ops.stochastic_depth``: with ``mode="row"`` each sample's branch is
    zeroed with probability p (one draw per sample), with ``mode="batch"`` the whole
    batch's; the survivors are scaled by 1/(1-p) so that evaluation is the identity.

        y = x·m/(1-p),  m ~ Bernoulli(1-p), shape (N, 1, ..., 1) for "row", (1, ..., 1) for "batch"
        backward: dx = g·m/(1-p)

    m is drawn from ``foveanet.backend.generator()`` (``foveanet.manual_seed``).

    Args:
        input: a float tensor whose first axis is the batch, (N, ...).
        p: probability of dropping, in [0, 1].
        mode: ``"row"`` or ``"batch"``.
        training: drop (default True); when False, or when p = 0, ``input`` is returned.

    Shape:
        - Output: the input's shape.

    Example::

        >>> from foveanet.models import stochastic_depth
        >>> x = fn.ones(6, 2, requires_grad=True)
        >>> _ = fn.manual_seed(0)
        >>> y = stochastic_depth(x, 0.5, "row")
        >>> y.numpy()[:, 0]                               # whole rows kept (x2) or dropped
        array([0., 0., 0., 2., 2., 2.], dtype=float32)
        >>> y.sum().backward()
        >>> bool((x.grad.numpy() == y.numpy()).all())
        True
        >>> stochastic_depth(x, 0.5, "row", training=False) is x
        True
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"stochastic_depth: drop probability has to be between 0 and 1, but got {p}")
    if mode not in ("batch", "row"):
        raise ValueError(f"stochastic_depth: mode has to be either 'batch' or 'row', but got {mode!r}")
    x = as_tensor(input, op="stochastic_depth")
    check_float(x, "stochastic_depth")
    if not training or p == 0.0:
        return x
    shape = ((x.shape[0],) if mode == "row" else (1,)) + (1,) * (x.ndim - 1)
    survival = 1.0 - p
    mask = (backend.generator().random(shape, dtype=np.float32) < survival).astype(x.dtype)
    if survival > 0.0:
        mask /= survival
    return _Dropout.apply(x, mask=mask, scale=1.0)


class StochasticDepth(nn.Module):
    """Stochastic depth as a layer: ``stochastic_depth(x, p, mode, self.training)``.

    The identity in eval mode; in training, each sample's input ("row") or the whole batch
    ("batch") is zeroed with probability p and the rest scaled by 1/(1-p).

    Args:
        p: probability of dropping, in [0, 1].
        mode: ``"row"`` or ``"batch"``.

    Shape:
        - Input: (N, ...).
        - Output: the input's shape.

    Example::

        >>> from foveanet.models import StochasticDepth
        >>> m = StochasticDepth(0.2, "row").eval()
        >>> x = fn.ones(4, 3)
        >>> m(x) is x, m
        (True, StochasticDepth(p=0.2, mode=row))
    """

    def __init__(self, p: float, mode: str):
        super().__init__()
        self.p, self.mode = p, mode

    def forward(self, input):
        return stochastic_depth(input, self.p, self.mode, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}, mode={self.mode}"
