"""Batch norm folded into the convolution before it, for inference.

In eval mode batch norm is a per-channel affine map with fixed numbers, so conv then BN
(then ReLU6) is the conv with an epilogue (PyTorch's ``fuse_conv_bn_weights`` puts the same
s into the weights):

    s  = gamma / sqrt(running_var + eps)
    b' = (b - running_mean) * s + beta          (b = 0 without a conv bias)
    y  = clamp(conv(x, W) * s[o] + b'[o], lo, hi)

``conv2d_clamp`` runs it as one pass the engine makes anyway: the compiled depthwise
kernel's copy-out, or one compiled pass after a GEMM (``kernels/epilogue.py``). Nothing is
cached, so nothing goes stale when weights or running statistics change in place.

A depthwise (grouped) conv gets s in its weights instead (W' = W s, 9 numbers per channel,
0.2 ms per MobileNetV2 forward): in float32 that order stays nearer float64. MobileNetV3-
large @64 with test_mobile's far-from-identity BN statistics, max error / output scale
against torch's float64: torch float32 3.4e-5; BN as its own pass 6.2e-5; s in every
epilogue 7.2e-5 (1.06e-4 against torch float32, over the test's 1e-4); s in the depthwise
weights, epilogue elsewhere 4.8e-5 (5.1e-5 against torch float32).
MobileNetV2 b1 @224 forward, one thread, CPU time min of 15 interleaved with torch (load
2-4): BN as its own pass 29.1 ms; weights scaled per call (W' = W s) 22.5 ms (of which
1.2 ms the scaling); plus the clamp in the conv 20.5 ms; the epilogue as here 18.6 ms
(torch 15.8 ms).

A residual block (``models/resnet.py``) runs its last conv with the shortcut added and the
ReLU applied in the same epilogue (``conv_bn(..., residual=)``).

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


def foldable(conv, bn) -> bool:
    """Whether ``bn(conv(x))`` may run as one conv with folded weights."""
    return (type(conv) is nn.Conv2d and type(bn) is nn.BatchNorm2d and not bn.training
            and bn.running_mean is not None and bn.running_var is not None
            and conv.padding_mode == "zeros" and not foveanet.is_grad_enabled()
            and _tracing.current() is None  # an exporter records the modules' own ops
            and not (conv._forward_hooks or conv._forward_pre_hooks
                     or bn._forward_hooks or bn._forward_pre_hooks))


def bn_affine(conv, bn):
    """(s, b') of the module docstring as NumPy arrays in the conv's dtype: the conv times
    s plus b' is bn(conv)."""
    dt = conv.weight.data.dtype
    s = bn.running_var.data.astype(dt, copy=False) + dt.type(bn.eps)
    np.sqrt(s, out=s)
    s = np.divide(1, s, dtype=dt) if bn.weight is None else bn.weight.data / s
    b = -bn.running_mean.data.astype(dt, copy=False)
    if conv.bias is not None:
        b = b + conv.bias.data
    b *= s
    if bn.bias is not None:
        b += bn.bias.data
    return s, b


def clamp_of(act):
    """The (lo, hi) of a ReLU6/ReLU module without hooks, or None."""
    if act._forward_hooks or act._forward_pre_hooks:
        return None
    return {nn.ReLU6: (0.0, 6.0), nn.ReLU: (0.0, np.inf)}.get(type(act))


def conv_bn(conv, bn, x, clamp=None, residual=None):
    """``clamp(bn(conv(x)) + residual)`` as one conv with its epilogue (``foldable(conv, bn)``
    must hold; ``clamp`` (lo, hi) or None, ``residual`` None or a tensor of the output's
    shape: a residual block's shortcut)."""
    scale, b = bn_affine(conv, bn)
    w = conv.weight
    if conv.groups > 1:  # few weights per output: W' = W s (see the module docstring)
        w, scale = w.data * scale.reshape(-1, 1, 1, 1), None
    return conv2d_clamp(x, w, b, conv.stride, conv.padding, conv.dilation, conv.groups, clamp,
                        scale, residual)


def run_folded(modules, x):
    """``modules`` (a Sequential's children) applied in order, each Conv2d + BatchNorm2d
    pair that ``foldable`` allows as one conv, and a ReLU6/ReLU after it as the conv's
    clamp (``conv2d_clamp``: inside the compiled depthwise kernel's last pass)."""
    mods = list(modules)
    i = 0
    while i < len(mods):
        m = mods[i]
        if i + 1 < len(mods) and foldable(m, mods[i + 1]):
            clamp = clamp_of(mods[i + 2]) if i + 2 < len(mods) else None
            x = conv_bn(m, mods[i + 1], x, clamp)
            i += 2 if clamp is None else 3
        else:
            x = m(x)
            i += 1
    return x
