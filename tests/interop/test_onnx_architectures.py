"""torchvision architectures, exported by torch.onnx, run in foveanet with torch's outputs.

The torch modules below are compact rewrites of torchvision's definitions (torchvision is not a
dependency): the same layers and op types (ReLU6, Hardswish, Hardsigmoid, SiLU, squeeze-excitation,
depthwise and grouped convs, channel shuffle by reshape/transpose, LayerNorm), checked against
torchvision's published parameter counts. Each is built at full width with seeded weights and
non-trivial batch-norm statistics, exported at opset 17 and loaded with ``foveanet.onnx.load``;
most run at a reduced input size to keep the suite fast (the weights do not depend on it).

AlexNet, VGG(+BN), ResNeXt, DenseNet and GoogLeNet (tests/models' references, torchvision's names) also
go the other way: their weights load into ``foveanet.models``, whose export runs in onnxruntime.

foveanet vs onnxruntime inference time per model, batch 1, 3x224x224::

    .venv/bin/python tests/interop/test_onnx_architectures.py [model ...]
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from torch import nn

import foveanet
from tests.interop.torchvision_zoo import ZOO

onnx = pytest.importorskip("onnx")


def _divisible(v, divisor=8, min_value=None):
    """torchvision's _make_divisible: round v to a multiple of divisor, losing at most 10%."""
    min_value = min_value or divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    return new_v + divisor if new_v < 0.9 * v else new_v


def _cba(cin, cout, k=3, s=1, groups=1, act=nn.ReLU, eps=1e-5, bias=False):
    """Conv2dNormActivation: conv (padding k//2) -> BatchNorm2d -> activation (None: none)."""
    layers = [nn.Conv2d(cin, cout, k, s, k // 2, groups=groups, bias=bias), nn.BatchNorm2d(cout, eps=eps)]
    return nn.Sequential(*layers, *([act()] if act else []))


class _SE(nn.Module):
    """torchvision.ops.SqueezeExcitation: x · σ(fc2(act(fc1(avgpool(x))))) with 1x1 convs."""

    def __init__(self, c, squeeze, act=nn.ReLU, scale=nn.Sigmoid):
        super().__init__()
        self.fc1, self.fc2 = nn.Conv2d(c, squeeze, 1), nn.Conv2d(squeeze, c, 1)
        self.act, self.scale = act(), scale()

    def forward(self, x):
        return x * self.scale(self.fc2(self.act(self.fc1(TF.adaptive_avg_pool2d(x, 1)))))


class _Classified(nn.Module):
    """features -> global average pool -> flatten -> classifier, the common torchvision tail."""

    def __init__(self, features, classifier):
        super().__init__()
        self.features, self.classifier = features, classifier

    def forward(self, x):
        return self.classifier(torch.flatten(TF.adaptive_avg_pool2d(self.features(x), 1), 1))


# --- MobileNetV2 ---------------------------------------------------------------------------------

class _InvertedResidualV2(nn.Module):
    def __init__(self, cin, cout, stride, expand):
        super().__init__()
        hidden = round(cin * expand)
        self.use_res = stride == 1 and cin == cout
        layers = [_cba(cin, hidden, 1, act=nn.ReLU6)] if expand != 1 else []
        self.conv = nn.Sequential(*layers, _cba(hidden, hidden, 3, stride, hidden, nn.ReLU6),
                                  nn.Conv2d(hidden, cout, 1, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        return x + self.conv(x) if self.use_res else self.conv(x)


def mobilenet_v2():
    layers, cin = [_cba(3, 32, 3, 2, act=nn.ReLU6)], 32
    for t, c, n, s in [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1],
                       [6, 160, 3, 2], [6, 320, 1, 1]]:
        for i in range(n):
            layers.append(_InvertedResidualV2(cin, c, s if i == 0 else 1, t))
            cin = c
    layers.append(_cba(cin, 1280, 1, act=nn.ReLU6))
    return _Classified(nn.Sequential(*layers), nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, 1000)))


# --- SqueezeNet 1.1 -------------------------------------------------------------------------------

class _Fire(nn.Module):
    def __init__(self, cin, squeeze, e1, e3):
        super().__init__()
        self.squeeze = nn.Conv2d(cin, squeeze, 1)
        self.expand1x1, self.expand3x3 = nn.Conv2d(squeeze, e1, 1), nn.Conv2d(squeeze, e3, 3, padding=1)

    def forward(self, x):
        x = TF.relu(self.squeeze(x))
        return torch.cat([TF.relu(self.expand1x1(x)), TF.relu(self.expand3x3(x))], 1)


def squeezenet1_1():
    pool = lambda: nn.MaxPool2d(3, 2, ceil_mode=True)  # noqa: E731
    features = nn.Sequential(
        nn.Conv2d(3, 64, 3, 2), nn.ReLU(), pool(), _Fire(64, 16, 64, 64), _Fire(128, 16, 64, 64), pool(),
        _Fire(128, 32, 128, 128), _Fire(256, 32, 128, 128), pool(), _Fire(256, 48, 192, 192),
        _Fire(384, 48, 192, 192), _Fire(384, 64, 256, 256), _Fire(512, 64, 256, 256))
    return nn.Sequential(features, nn.Dropout(0.5), nn.Conv2d(512, 1000, 1), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(1))


# --- ShuffleNetV2 x1.0 ----------------------------------------------------------------------------

def _channel_shuffle(x, groups):
    b, c, h, w = x.size()
    return x.view(b, groups, c // groups, h, w).transpose(1, 2).contiguous().view(b, -1, h, w)


class _ShuffleUnit(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.stride, bf = stride, cout // 2
        if stride > 1:
            self.branch1 = nn.Sequential(_cba(cin, cin, 3, stride, cin, None), _cba(cin, bf, 1))
        self.branch2 = nn.Sequential(_cba(cin if stride > 1 else bf, bf, 1),
                                     _cba(bf, bf, 3, stride, bf, None), _cba(bf, bf, 1))

    def forward(self, x):
        if self.stride == 1:
            x1, x2 = x.chunk(2, dim=1)
            out = torch.cat((x1, self.branch2(x2)), 1)
        else:
            out = torch.cat((self.branch1(x), self.branch2(x)), 1)
        return _channel_shuffle(out, 2)


class ShuffleNetV2(nn.Module):
    def __init__(self, repeats=(4, 8, 4), channels=(24, 116, 232, 464, 1024)):
        super().__init__()
        self.conv1, self.maxpool = _cba(3, channels[0], 3, 2), nn.MaxPool2d(3, 2, 1)
        stages, cin = [], channels[0]
        for n, c in zip(repeats, channels[1:4]):
            stages.append(nn.Sequential(*[_ShuffleUnit(cin if i == 0 else c, c, 2 if i == 0 else 1) for i in range(n)]))
            cin = c
        self.stages, self.conv5 = nn.Sequential(*stages), _cba(cin, channels[4], 1)
        self.fc = nn.Linear(channels[4], 1000)

    def forward(self, x):
        return self.fc(self.conv5(self.stages(self.maxpool(self.conv1(x)))).mean([2, 3]))


# --- MobileNetV3-Small ----------------------------------------------------------------------------

class _InvertedResidualV3(nn.Module):
    def __init__(self, cin, k, exp, cout, se, act, stride):
        super().__init__()
        act = nn.Hardswish if act == "HS" else nn.ReLU
        self.use_res = stride == 1 and cin == cout
        layers = [_cba(cin, exp, 1, act=act, eps=1e-3)] if exp != cin else []
        layers.append(_cba(exp, exp, k, stride, exp, act, eps=1e-3))
        if se:
            layers.append(_SE(exp, _divisible(exp // 4, 8), scale=nn.Hardsigmoid))
        self.block = nn.Sequential(*layers, _cba(exp, cout, 1, act=None, eps=1e-3))

    def forward(self, x):
        return x + self.block(x) if self.use_res else self.block(x)


def mobilenet_v3_small():
    cfg = [[16, 3, 16, 16, True, "RE", 2], [16, 3, 72, 24, False, "RE", 2], [24, 3, 88, 24, False, "RE", 1],
           [24, 5, 96, 40, True, "HS", 2], [40, 5, 240, 40, True, "HS", 1], [40, 5, 240, 40, True, "HS", 1],
           [40, 5, 120, 48, True, "HS", 1], [48, 5, 144, 48, True, "HS", 1], [48, 5, 288, 96, True, "HS", 2],
           [96, 5, 576, 96, True, "HS", 1], [96, 5, 576, 96, True, "HS", 1]]
    features = nn.Sequential(_cba(3, 16, 3, 2, act=nn.Hardswish, eps=1e-3),
                             *[_InvertedResidualV3(*c) for c in cfg], _cba(96, 576, 1, act=nn.Hardswish, eps=1e-3))
    return _Classified(features, nn.Sequential(nn.Linear(576, 1024), nn.Hardswish(), nn.Dropout(0.2),
                                               nn.Linear(1024, 1000)))


# --- MNASNet 1.0 ----------------------------------------------------------------------------------

class _MnasResidual(nn.Module):
    def __init__(self, cin, cout, k, stride, expand):
        super().__init__()
        mid, m = cin * expand, 1 - 0.9997
        self.use_res = cin == cout and stride == 1
        self.layers = nn.Sequential(
            nn.Conv2d(cin, mid, 1, bias=False), nn.BatchNorm2d(mid, momentum=m), nn.ReLU(),
            nn.Conv2d(mid, mid, k, stride, k // 2, groups=mid, bias=False), nn.BatchNorm2d(mid, momentum=m), nn.ReLU(),
            nn.Conv2d(mid, cout, 1, bias=False), nn.BatchNorm2d(cout, momentum=m))

    def forward(self, x):
        return x + self.layers(x) if self.use_res else self.layers(x)


class MNASNet(nn.Module):
    def __init__(self):
        super().__init__()
        d = [32, 16, 24, 40, 80, 96, 192, 320]  # _get_depths(1.0)
        layers = [_cba(3, d[0], 3, 2), _cba(d[0], d[0], 3, 1, d[0]), _cba(d[0], d[1], 1, act=None)]
        for cin, cout, k, s, e, n in zip(d[1:7], d[2:8], [3, 5, 5, 3, 5, 3], [2, 2, 2, 1, 2, 1],
                                         [3, 3, 6, 6, 6, 6], [3, 3, 3, 2, 4, 1]):
            layers += [_MnasResidual(cin if i == 0 else cout, cout, k, s if i == 0 else 1, e) for i in range(n)]
        self.layers = nn.Sequential(*layers, _cba(d[7], 1280, 1))
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, 1000))

    def forward(self, x):
        return self.classifier(self.layers(x).mean([2, 3]))


# --- EfficientNet-B0 ------------------------------------------------------------------------------

class _MBConv(nn.Module):
    def __init__(self, expand, k, stride, cin, cout):
        super().__init__()
        exp = _divisible(cin * expand, 8)
        self.use_res = stride == 1 and cin == cout
        layers = [_cba(cin, exp, 1, act=nn.SiLU)] if exp != cin else []
        layers += [_cba(exp, exp, k, stride, exp, nn.SiLU), _SE(exp, max(1, cin // 4), act=nn.SiLU),
                   _cba(exp, cout, 1, act=None)]
        self.block = nn.Sequential(*layers)

    def forward(self, x):  # stochastic depth is the identity in eval mode
        return x + self.block(x) if self.use_res else self.block(x)


def efficientnet_b0():
    layers = [_cba(3, 32, 3, 2, act=nn.SiLU)]
    for e, k, s, cin, cout, n in [(1, 3, 1, 32, 16, 1), (6, 3, 2, 16, 24, 2), (6, 5, 2, 24, 40, 2),
                                  (6, 3, 2, 40, 80, 3), (6, 5, 1, 80, 112, 3), (6, 5, 2, 112, 192, 4),
                                  (6, 3, 1, 192, 320, 1)]:
        layers.append(nn.Sequential(*[_MBConv(e, k, s if i == 0 else 1, cin if i == 0 else cout, cout)
                                      for i in range(n)]))
    layers.append(_cba(320, 1280, 1, act=nn.SiLU))
    return _Classified(nn.Sequential(*layers), nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, 1000)))


# --- RegNetX-400MF --------------------------------------------------------------------------------

def _regnet_stages(depth, w_0, w_a, w_m, group_width):
    """torchvision BlockParams.from_init_params: (width, depth, group width) per stage."""
    cont = np.arange(depth) * w_a + w_0
    capacity = np.round(np.log(cont / w_0) / math.log(w_m))
    widths = (np.round(w_0 * np.power(w_m, capacity) / 8) * 8).astype(int).tolist()
    splits = [w != wp for w, wp in zip(widths + [0], [0] + widths)]
    stage_widths = [w for w, t in zip(widths, splits[:-1]) if t]
    stage_depths = np.diff([d for d, t in enumerate(splits) if t]).tolist()
    groups = [min(group_width, w) for w in stage_widths]
    stage_widths = [_divisible(w, g) for w, g in zip(stage_widths, groups)]
    return list(zip(stage_widths, stage_depths, groups))


class _ResBottleneck(nn.Module):
    def __init__(self, cin, cout, stride, group_width):
        super().__init__()
        self.proj = _cba(cin, cout, 1, stride, act=None) if cin != cout or stride != 1 else None
        self.f = nn.Sequential(_cba(cin, cout, 1), _cba(cout, cout, 3, stride, cout // group_width),
                               _cba(cout, cout, 1, act=None))

    def forward(self, x):
        return TF.relu((x if self.proj is None else self.proj(x)) + self.f(x))


def regnet_x_400mf():
    layers, cin = [_cba(3, 32, 3, 2)], 32
    for w, d, g in _regnet_stages(22, 24, 24.48, 2.54, 16):
        layers.append(nn.Sequential(*[_ResBottleneck(cin if i == 0 else w, w, 2 if i == 0 else 1, g)
                                      for i in range(d)]))
        cin = w
    return _Classified(nn.Sequential(*layers), nn.Linear(cin, 1000))


# --- ConvNeXt-Tiny --------------------------------------------------------------------------------

class _LayerNorm2d(nn.LayerNorm):
    def forward(self, x):
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class _CNBlock(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.dwconv, self.norm = nn.Conv2d(dim, dim, 7, padding=3, groups=dim), nn.LayerNorm(dim, eps=1e-6)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))
        self.layer_scale = nn.Parameter(torch.full((dim, 1, 1), 1e-6))

    def forward(self, x):
        y = self.mlp(self.norm(self.dwconv(x).permute(0, 2, 3, 1))).permute(0, 3, 1, 2)
        return x + self.layer_scale * y


def convnext_tiny():
    dims, depths = [96, 192, 384, 768], [3, 3, 9, 3]
    layers = [nn.Sequential(nn.Conv2d(3, 96, 4, 4), _LayerNorm2d(96, eps=1e-6))]
    for i, (dim, n) in enumerate(zip(dims, depths)):
        layers.append(nn.Sequential(*[_CNBlock(dim) for _ in range(n)]))
        if i < 3:
            layers.append(nn.Sequential(_LayerNorm2d(dim, eps=1e-6), nn.Conv2d(dim, dims[i + 1], 2, 2)))
    model = nn.Sequential(nn.Sequential(*layers), nn.AdaptiveAvgPool2d(1),  # features, avgpool, classifier
                          nn.Sequential(_LayerNorm2d(768, eps=1e-6), nn.Flatten(1), nn.Linear(768, 1000)))
    return model


# --- Inception-v3 ---------------------------------------------------------------------------------

def _bc(cin, cout, kernel_size, **kw):
    """Inception's BasicConv2d: conv (no bias) -> BatchNorm2d(eps=1e-3) -> ReLU."""
    return nn.Sequential(nn.Conv2d(cin, cout, kernel_size, bias=False, **kw), nn.BatchNorm2d(cout, eps=1e-3), nn.ReLU())


def _avg3(x):
    return TF.avg_pool2d(x, 3, 1, 1)


class _InceptionA(nn.Module):
    def __init__(self, cin, pool):
        super().__init__()
        self.b1 = _bc(cin, 64, 1)
        self.b5 = nn.Sequential(_bc(cin, 48, 1), _bc(48, 64, 5, padding=2))
        self.b3 = nn.Sequential(_bc(cin, 64, 1), _bc(64, 96, 3, padding=1), _bc(96, 96, 3, padding=1))
        self.bp = _bc(cin, pool, 1)

    def forward(self, x):
        return torch.cat([self.b1(x), self.b5(x), self.b3(x), self.bp(_avg3(x))], 1)


class _InceptionB(nn.Module):
    def __init__(self, cin):
        super().__init__()
        self.b3 = _bc(cin, 384, 3, stride=2)
        self.b3d = nn.Sequential(_bc(cin, 64, 1), _bc(64, 96, 3, padding=1), _bc(96, 96, 3, stride=2))

    def forward(self, x):
        return torch.cat([self.b3(x), self.b3d(x), TF.max_pool2d(x, 3, 2)], 1)


def _b17(cin, cout):  # 1x7
    return _bc(cin, cout, (1, 7), padding=(0, 3))


def _b71(cin, cout):  # 7x1
    return _bc(cin, cout, (7, 1), padding=(3, 0))


class _InceptionC(nn.Module):
    def __init__(self, cin, c7):
        super().__init__()
        self.b1 = _bc(cin, 192, 1)
        self.b7 = nn.Sequential(_bc(cin, c7, 1), _b17(c7, c7), _b71(c7, 192))
        self.b7d = nn.Sequential(_bc(cin, c7, 1), _b71(c7, c7), _b17(c7, c7), _b71(c7, c7), _b17(c7, 192))
        self.bp = _bc(cin, 192, 1)

    def forward(self, x):
        return torch.cat([self.b1(x), self.b7(x), self.b7d(x), self.bp(_avg3(x))], 1)


class _InceptionD(nn.Module):
    def __init__(self, cin):
        super().__init__()
        self.b3 = nn.Sequential(_bc(cin, 192, 1), _bc(192, 320, 3, stride=2))
        self.b7 = nn.Sequential(_bc(cin, 192, 1), _b17(192, 192), _b71(192, 192), _bc(192, 192, 3, stride=2))

    def forward(self, x):
        return torch.cat([self.b3(x), self.b7(x), TF.max_pool2d(x, 3, 2)], 1)


class _InceptionE(nn.Module):
    def __init__(self, cin):
        super().__init__()
        self.b1, self.b3_1 = _bc(cin, 320, 1), _bc(cin, 384, 1)
        self.bd_1 = nn.Sequential(_bc(cin, 448, 1), _bc(448, 384, 3, padding=1))
        self.b3_a, self.b3_b = _bc(384, 384, (1, 3), padding=(0, 1)), _bc(384, 384, (3, 1), padding=(1, 0))
        self.bd_a, self.bd_b = _bc(384, 384, (1, 3), padding=(0, 1)), _bc(384, 384, (3, 1), padding=(1, 0))
        self.bp = _bc(cin, 192, 1)

    def forward(self, x):
        y3, yd = self.b3_1(x), self.bd_1(x)
        return torch.cat([self.b1(x), self.b3_a(y3), self.b3_b(y3), self.bd_a(yd), self.bd_b(yd), self.bp(_avg3(x))], 1)


class Inception3(nn.Module):
    """aux_logits=True (counted, as in torchvision's 27,161,264), unused in eval mode."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(_bc(3, 32, 3, stride=2), _bc(32, 32, 3), _bc(32, 64, 3, padding=1),
                                  nn.MaxPool2d(3, 2),
                                  _bc(64, 80, 1), _bc(80, 192, 3), nn.MaxPool2d(3, 2))
        self.mixed6 = nn.Sequential(_InceptionA(192, 32), _InceptionA(256, 64), _InceptionA(288, 64), _InceptionB(288),
                                    _InceptionC(768, 128), _InceptionC(768, 160), _InceptionC(768, 160),
                                    _InceptionC(768, 192))
        self.aux = nn.ModuleDict(dict(conv0=_bc(768, 128, 1), conv1=_bc(128, 768, 5), fc=nn.Linear(768, 1000)))
        self.mixed7 = nn.Sequential(_InceptionD(768), _InceptionE(1280), _InceptionE(2048))
        self.fc = nn.Sequential(nn.Dropout(0.5), nn.Linear(2048, 1000))

    def forward(self, x):
        y = self.mixed7(self.mixed6(self.stem(x)))
        return self.fc(torch.flatten(TF.adaptive_avg_pool2d(y, 1), 1))


# --- ResNet-18, Wide ResNet-50-2 ------------------------------------------------------------------

class _BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, cin, planes, stride, width):
        super().__init__()
        self.f = nn.Sequential(_cba(cin, planes, 3, stride), _cba(planes, planes, 3, act=None))
        self.down = _cba(cin, planes, 1, stride, act=None) if stride != 1 or cin != planes else None

    def forward(self, x):
        return TF.relu(self.f(x) + (x if self.down is None else self.down(x)))


class _Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin, planes, stride, width):
        super().__init__()
        w, cout = planes * width // 64, planes * 4
        self.f = nn.Sequential(_cba(cin, w, 1), _cba(w, w, 3, stride), _cba(w, cout, 1, act=None))
        self.down = _cba(cin, cout, 1, stride, act=None) if stride != 1 or cin != cout else None

    def forward(self, x):
        return TF.relu(self.f(x) + (x if self.down is None else self.down(x)))


def _resnet(block, depths, width=64):
    layers, cin = [nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(3, 2, 1)], 64
    for i, (planes, n) in enumerate(zip([64, 128, 256, 512], depths)):
        for j in range(n):
            layers.append(block(cin, planes, 2 if i > 0 and j == 0 else 1, width))
            cin = planes * block.expansion
    return _Classified(nn.Sequential(*layers), nn.Linear(cin, 1000))


# name: (builder, torchvision's parameter count, test input side, slow)
MODELS = {
    "mobilenet_v2": (mobilenet_v2, 3_504_872, 64, False),
    "squeezenet1_1": (squeezenet1_1, 1_235_496, 64, False),
    "shufflenet_v2_x1_0": (ShuffleNetV2, 2_278_604, 64, False),
    "mobilenet_v3_small": (mobilenet_v3_small, 2_542_856, 64, False),
    "mnasnet1_0": (MNASNet, 4_383_312, 64, False),
    "efficientnet_b0": (efficientnet_b0, 5_288_548, 64, False),
    "regnet_x_400mf": (regnet_x_400mf, 5_495_976, 64, False),
    "convnext_tiny": (convnext_tiny, 28_589_128, 64, False),
    "inception_v3": (Inception3, 27_161_264, 107, False),
    "resnet18": (lambda: _resnet(_BasicBlock, [2, 2, 2, 2]), 11_689_512, 64, False),
    "wide_resnet50_2": (lambda: _resnet(_Bottleneck, [3, 4, 6, 3], 128), 68_883_240, 64, True),
}


def build(name):
    """The seeded eval-mode torch model, with batch-norm statistics and layer scales drawn at random."""
    torch.manual_seed(0)
    model = {**MODELS, **ZOO}[name][0]()
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):  # eval BN is not the identity
                m.running_mean.copy_(0.1 * torch.randn(m.num_features, generator=g))
                m.running_var.copy_(0.5 + torch.rand(m.num_features, generator=g))
                m.weight.copy_(0.5 + torch.rand(m.num_features, generator=g))
                m.bias.copy_(0.1 * torch.randn(m.num_features, generator=g))
            if isinstance(m, _CNBlock):  # the 1e-6 init would make every block the identity
                m.layer_scale.copy_(0.5 + torch.rand(m.layer_scale.shape, generator=g))
    return model.eval()


def export(model, side, path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.zeros(1, 3, side, side),), str(path), opset_version=17, dynamo=False,
                          input_names=["input"], output_names=["output"])
    return path


@pytest.mark.parametrize("name", [pytest.param(n, marks=[pytest.mark.slow] if m[3] else []) for n, m in MODELS.items()])
def test_torchvision_architecture_gives_torch_outputs(tmp_path, name):
    model, side = build(name), MODELS[name][2]
    assert sum(p.numel() for p in model.parameters()) == MODELS[name][1]
    x = torch.randn(1, 3, side, side, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        want = model(x).numpy()
    fv = foveanet.onnx.load(export(model, side, tmp_path / f"{name}.onnx")).eval()
    with foveanet.no_grad():
        got = fv(foveanet.tensor(x.numpy())).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.abs(want).max())


@pytest.mark.parametrize("name", [pytest.param(n, marks=[pytest.mark.slow] if m[3] else []) for n, m in ZOO.items()])
def test_torchvision_classifier_goes_both_ways(tmp_path, name):
    """torch -> torch.onnx -> foveanet, and the same weights in foveanet's zoo -> foveanet.onnx ->
    onnxruntime, both give torch's outputs."""
    ort = pytest.importorskip("onnxruntime")
    model, side = build(name), ZOO[name][2]
    assert sum(p.numel() for p in model.parameters()) == ZOO[name][1]
    x = torch.randn(1, 3, side, side, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        want = model(x).numpy()
    tol = dict(rtol=1e-4, atol=1e-4 * np.abs(want).max())
    fv = foveanet.onnx.load(export(model, side, tmp_path / "torch.onnx")).eval()
    with foveanet.no_grad():
        np.testing.assert_allclose(fv(foveanet.tensor(x.numpy())).numpy(), want, **tol)
    zoo = foveanet.models.get_model(name)
    zoo.load_state_dict({k: v.numpy() for k, v in model.state_dict().items()})
    foveanet.onnx.export(zoo.eval(), x.numpy(), tmp_path / "foveanet.onnx")
    got = ort.InferenceSession(str(tmp_path / "foveanet.onnx"), providers=["CPUExecutionProvider"]).run(
        None, {"input": x.numpy()})[0]
    np.testing.assert_allclose(got, want, **tol)


def _time(fn, runs=5):
    import time
    fn()  # warm-up
    best = math.inf
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


if __name__ == "__main__":
    import sys
    import tempfile
    from pathlib import Path

    import onnxruntime as ort

    print(f"{'model':20s} {'foveanet ms':>12s} {'onnxruntime ms':>15s} {'fv speed / ort':>15s}")
    with tempfile.TemporaryDirectory() as tmp:
        for name in sys.argv[1:] or {**MODELS, **ZOO}:
            path = export(build(name), 224, Path(tmp) / f"{name}.onnx")
            x = np.random.default_rng(0).standard_normal((1, 3, 224, 224)).astype(np.float32)
            fv = foveanet.onnx.load(path).eval()
            sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
            with foveanet.no_grad():
                t_fv = _time(lambda: fv(foveanet.tensor(x)))
            t_ort = _time(lambda: sess.run(None, {"input": x}))
            print(f"{name:20s} {1e3 * t_fv:12.1f} {1e3 * t_ort:15.1f} {t_ort / t_fv:14.2f}x", flush=True)
