"""torchvision's MobileNetV2, MobileNetV3 and EfficientNet-B0 in plain torch (torchvision is not
installable here): the same module tree, so state_dict keys are torchvision's."""
from functools import partial

import torch
from torch import nn


def divisible(v, d=8):
    n = max(d, int(v + d / 2) // d * d)
    return n + d if n < 0.9 * v else n


class CNA(nn.Sequential):
    """torchvision.ops.Conv2dNormActivation."""

    def __init__(self, cin, cout, k=3, s=1, groups=1, norm=nn.BatchNorm2d, act=nn.ReLU, dilation=1):
        layers = [nn.Conv2d(cin, cout, k, s, (k - 1) // 2 * dilation, dilation=dilation, groups=groups,
                            bias=False), norm(cout)]
        if act is not None:
            layers.append(act(inplace=True))
        super().__init__(*layers)


class SE(nn.Module):
    """torchvision.ops.SqueezeExcitation."""

    def __init__(self, c, sq, act=nn.ReLU, gate=nn.Sigmoid):
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1, self.fc2 = nn.Conv2d(c, sq, 1), nn.Conv2d(sq, c, 1)
        self.activation, self.scale_activation = act(), gate()

    def forward(self, x):
        return self.scale_activation(self.fc2(self.activation(self.fc1(self.avgpool(x))))) * x


def stochastic_depth(x, p, mode, training):
    """torchvision.ops.stochastic_depth."""
    if not training or p == 0.0:
        return x
    size = [x.shape[0]] + [1] * (x.ndim - 1) if mode == "row" else [1] * x.ndim
    noise = torch.empty(size, dtype=x.dtype).bernoulli_(1 - p)
    return x * noise.div_(1 - p) if p < 1 else x * noise


# ----------------------------------------------------------------------------- MobileNetV2


class TIR2(nn.Module):
    def __init__(self, inp, oup, stride, t):
        super().__init__()
        hid = int(round(inp * t))
        self.use_res = stride == 1 and inp == oup
        layers = [CNA(inp, hid, 1, act=nn.ReLU6)] if t != 1 else []
        layers += [CNA(hid, hid, 3, stride, groups=hid, act=nn.ReLU6), nn.Conv2d(hid, oup, 1, bias=False),
                   nn.BatchNorm2d(oup)]
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.conv(x) if self.use_res else self.conv(x)


class TMobileNetV2(nn.Module):
    def __init__(self, num_classes=1000, width_mult=1.0, dropout=0.2, in_channels=3):
        super().__init__()
        cin = divisible(32 * width_mult)
        last = divisible(1280 * max(1.0, width_mult))
        feats = [CNA(in_channels, cin, 3, 2, act=nn.ReLU6)]
        for t, c, n, s in [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                           (6, 160, 3, 2), (6, 320, 1, 1)]:
            for i in range(n):
                cout = divisible(c * width_mult)
                feats.append(TIR2(cin, cout, s if i == 0 else 1, t))
                cin = cout
        feats.append(CNA(cin, last, 1, act=nn.ReLU6))
        self.features = nn.Sequential(*feats)
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(last, num_classes))

    def forward(self, x):
        x = nn.functional.adaptive_avg_pool2d(self.features(x), (1, 1))
        return self.classifier(torch.flatten(x, 1))


# ----------------------------------------------------------------------------- MobileNetV3

V3_LARGE = [(16, 3, 16, 16, False, "RE", 1), (16, 3, 64, 24, False, "RE", 2), (24, 3, 72, 24, False, "RE", 1),
            (24, 5, 72, 40, True, "RE", 2), (40, 5, 120, 40, True, "RE", 1), (40, 5, 120, 40, True, "RE", 1),
            (40, 3, 240, 80, False, "HS", 2), (80, 3, 200, 80, False, "HS", 1), (80, 3, 184, 80, False, "HS", 1),
            (80, 3, 184, 80, False, "HS", 1), (80, 3, 480, 112, True, "HS", 1),
            (112, 3, 672, 112, True, "HS", 1), (112, 5, 672, 160, True, "HS", 2),
            (160, 5, 960, 160, True, "HS", 1), (160, 5, 960, 160, True, "HS", 1)]
V3_SMALL = [(16, 3, 16, 16, True, "RE", 2), (16, 3, 72, 24, False, "RE", 2), (24, 3, 88, 24, False, "RE", 1),
            (24, 5, 96, 40, True, "HS", 2), (40, 5, 240, 40, True, "HS", 1), (40, 5, 240, 40, True, "HS", 1),
            (40, 5, 120, 48, True, "HS", 1), (48, 5, 144, 48, True, "HS", 1), (48, 5, 288, 96, True, "HS", 2),
            (96, 5, 576, 96, True, "HS", 1), (96, 5, 576, 96, True, "HS", 1)]


class TIR3(nn.Module):
    def __init__(self, cin, k, exp, cout, se, act, stride, norm):
        super().__init__()
        self.use_res = stride == 1 and cin == cout
        act = nn.Hardswish if act == "HS" else nn.ReLU
        layers = [CNA(cin, exp, 1, norm=norm, act=act)] if exp != cin else []
        layers.append(CNA(exp, exp, k, stride, groups=exp, norm=norm, act=act))
        if se:
            layers.append(SE(exp, divisible(exp // 4), gate=nn.Hardsigmoid))
        layers.append(CNA(exp, cout, 1, norm=norm, act=None))
        self.block = nn.Sequential(*layers)

    def forward(self, x):
        y = self.block(x)
        return y + x if self.use_res else y


class TMobileNetV3(nn.Module):
    def __init__(self, arch="large", num_classes=1000, dropout=0.2, in_channels=3):
        super().__init__()
        setting, last = (V3_LARGE, 1280) if arch == "large" else (V3_SMALL, 1024)
        norm = partial(nn.BatchNorm2d, eps=0.001, momentum=0.01)
        layers = [CNA(in_channels, setting[0][0], 3, 2, norm=norm, act=nn.Hardswish)]
        layers += [TIR3(*row, norm=norm) for row in setting]
        c = setting[-1][3]
        layers.append(CNA(c, 6 * c, 1, norm=norm, act=nn.Hardswish))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Linear(6 * c, last), nn.Hardswish(), nn.Dropout(dropout),
                                        nn.Linear(last, num_classes))

    def forward(self, x):
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


# ----------------------------------------------------------------------------- EfficientNet-B0

B0 = [(1, 3, 1, 32, 16, 1), (6, 3, 2, 16, 24, 2), (6, 5, 2, 24, 40, 2), (6, 3, 2, 40, 80, 3),
      (6, 5, 1, 80, 112, 3), (6, 5, 2, 112, 192, 4), (6, 3, 1, 192, 320, 1)]


class TMBConv(nn.Module):
    def __init__(self, t, k, s, cin, cout, sd_prob):
        super().__init__()
        self.use_res = s == 1 and cin == cout
        exp = divisible(cin * t)
        layers = [CNA(cin, exp, 1, act=nn.SiLU)] if exp != cin else []
        layers += [CNA(exp, exp, k, s, groups=exp, act=nn.SiLU), SE(exp, max(1, cin // 4), act=nn.SiLU),
                   CNA(exp, cout, 1, act=None)]
        self.block = nn.Sequential(*layers)
        self.sd_prob = sd_prob

    def forward(self, x):
        y = self.block(x)
        if self.use_res:
            y = stochastic_depth(y, self.sd_prob, "row", self.training) + x
        return y


class TEfficientNetB0(nn.Module):
    def __init__(self, num_classes=1000, dropout=0.2, sd_prob=0.2, in_channels=3):
        super().__init__()
        layers = [CNA(in_channels, 32, 3, 2, act=nn.SiLU)]
        total, i = sum(r[-1] for r in B0), 0
        for t, k, s, cin, cout, n in B0:
            stage = []
            for j in range(n):
                first = j == 0
                stage.append(TMBConv(t, k, s if first else 1, cin if first else cout, cout, sd_prob * i / total))
                i += 1
            layers.append(nn.Sequential(*stage))
        layers.append(CNA(320, 1280, 1, act=nn.SiLU))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(1280, num_classes))

    def forward(self, x):
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))
