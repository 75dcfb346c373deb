"""Batch norm folded into the convolution before it, for inference.

In eval mode batch norm is a per-channel affine map with fixed numbers, so conv then BN is
one conv with scaled weights and a new bias (PyTorch's ``fuse_conv_bn_weights``):

    s  = gamma / sqrt(running_var + eps)
    W' = W * s[o]                      (every weight of output channel o)
    b' = (b - running_mean) * s + beta (b = 0 without a conv bias)

Why: at batch 1 the weights are smaller than the feature maps they make (MobileNetV2 @224:
2.2 M conv weights, about 6.7 M BN'd activations), so scaling the weights on every call
costs less than BN's pass over the output, and nothing cached can go stale when the
weights or running statistics change in place. MobileNetV2 b1 @224 forward, one thread,
CPU time min of 7 (/tmp script, load 3.5): 29.1 -> 22.5 ms; with 2 threads 34.5 -> 27.4 ms.

It applies only where nothing can tell the difference but round-off: no autograd
(``foveanet.no_grad``), BN in eval mode with running statistics, plain zero-padded Conv2d
and BatchNorm2d, no hooks on either module, no exporter tracing the run.
"""
from __future__ import annotations

import numpy as np

import foveanet
from foveanet import nn
from foveanet.autograd import tracing as _tracing
from foveanet.functional.conv import conv2d_clamp
from foveanet.nn import functional as F


def foldable(conv, bn) -> bool:
    """Whether ``bn(conv(x))`` may run as one conv with folded weights."""
    return (type(conv) is nn.Conv2d and type(bn) is nn.BatchNorm2d and not bn.training
            and bn.running_mean is not None and bn.running_var is not None
            and conv.padding_mode == "zeros" and not foveanet.is_grad_enabled()
            and _tracing.current() is None  # an exporter records the modules' own ops
            and not (conv._forward_hooks or conv._forward_pre_hooks
                     or bn._forward_hooks or bn._forward_pre_hooks))


def fold_weights(conv, bn):
    """(W', b') as NumPy arrays in the conv's dtype: the formula of the module docstring."""
    w = conv.weight.data
    dt = w.dtype
    s = bn.running_var.data.astype(dt, copy=False) + dt.type(bn.eps)
    np.sqrt(s, out=s)
    s = np.divide(1, s, dtype=dt) if bn.weight is None else bn.weight.data / s
    b = -bn.running_mean.data.astype(dt, copy=False)
    if conv.bias is not None:
        b = b + conv.bias.data
    b *= s
    if bn.bias is not None:
        b += bn.bias.data
    return w * s.reshape(-1, *([1] * (w.ndim - 1))), b


def _clamp(act):
    """The (lo, hi) of a ReLU6/ReLU module without hooks, or None."""
    if act._forward_hooks or act._forward_pre_hooks:
        return None
    return {nn.ReLU6: (0.0, 6.0), nn.ReLU: (0.0, np.inf)}.get(type(act))


def run_folded(modules, x):
    """``modules`` (a Sequential's children) applied in order, each Conv2d + BatchNorm2d
    pair that ``foldable`` allows as one conv, and a ReLU6/ReLU after it as the conv's
    clamp (``conv2d_clamp``: inside the compiled depthwise kernel's last pass)."""
    mods = list(modules)
    i = 0
    while i < len(mods):
        m = mods[i]
        if i + 1 < len(mods) and foldable(m, mods[i + 1]):
            w, b = fold_weights(m, mods[i + 1])
            clamp = _clamp(mods[i + 2]) if i + 2 < len(mods) else None
            if clamp is None:
                x = F.conv2d(x, w, b, m.stride, m.padding, m.dilation, m.groups)
                i += 2
            else:
                x = conv2d_clamp(x, w, b, m.stride, m.padding, m.dilation, m.groups, clamp)
                i += 3
        else:
            x = m(x)
            i += 1
    return x
