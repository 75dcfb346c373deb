"""PyTorch reference models for the benchmark (torch is the yardstick, not a dependency).

They follow foveanet.models' layer names, so ``copy_weights`` can load the foveanet
model's parameters and buffers by name and both sides compute the same function.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn


class LeNet5(nn.Module):
    """LeNet-5 for 28x28 inputs: conv 5x5 (pad 2) -> pool -> conv 5x5 -> pool -> 3 fc."""

    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(
            nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
            nn.Linear(84, num_classes))

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                            nn.BatchNorm2d(cout))

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        skip = x if self.downsample is None else self.downsample(x)
        return self.relu(out + skip)


class ResNet18(nn.Module):
    def __init__(self, num_classes: int = 1000):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        widths, cin = (64, 128, 256, 512), 64
        for i, w in enumerate(widths):
            stride = 1 if i == 0 else 2
            setattr(self, f"layer{i + 1}", nn.Sequential(BasicBlock(cin, w, stride),
                                                         BasicBlock(w, w, 1)))
            cin = w
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(512, num_classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class VGG16(nn.Module):
    CFG = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
           512, 512, 512, "M")

    def __init__(self, num_classes: int = 1000):
        super().__init__()
        layers, cin = [], 3
        for v in self.CFG:
            if v == "M":
                layers.append(nn.MaxPool2d(2))
            else:
                layers += [nn.Conv2d(cin, v, 3, padding=1), nn.ReLU()]
                cin = v
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(7)
        self.classifier = nn.Sequential(
            nn.Linear(512 * 49, 4096), nn.ReLU(), nn.Dropout(),
            nn.Linear(4096, 4096), nn.ReLU(), nn.Dropout(), nn.Linear(4096, num_classes))

    def forward(self, x):
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


class SmallVGG(nn.Module):
    """foveanet.models.vgg_small: 3 x (two 3x3 conv+BN+ReLU, max pool), dropout, linear."""

    def __init__(self, num_classes: int = 10, in_channels: int = 1, width: int = 32):
        super().__init__()
        layers, cin = [], in_channels
        for v in (width, width, "M", 2 * width, 2 * width, "M", 4 * width, 4 * width, "M"):
            if v == "M":
                layers.append(nn.MaxPool2d(2))
            else:
                layers += [nn.Conv2d(cin, v, 3, padding=1), nn.BatchNorm2d(v), nn.ReLU()]
                cin = v
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(3)
        self.classifier = nn.Sequential(nn.Dropout(0.3), nn.Linear(4 * width * 9, num_classes))

    def forward(self, x):
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


def resnet18():
    return ResNet18()


def vgg16():
    return VGG16()


def mobilenet_v2(num_classes: int = 1000):
    # torchvision's MobileNetV2 as the model tests write it (torchvision is not installable here)
    from tests.models.torch_mobile import TMobileNetV2
    return TMobileNetV2(num_classes=num_classes)


def _array(v):
    return np.asarray(getattr(v, "data", v))


def copy_weights(fv_model, torch_model) -> None:
    """Load foveanet's parameters and buffers into the torch model, by name when the names
    agree, else in registration order when every shape agrees; anything else is an error
    (a benchmark of two different functions would be meaningless)."""
    src = dict(fv_model.state_dict())
    dst = torch_model.state_dict()
    dst = {k: v for k, v in dst.items() if not k.endswith("num_batches_tracked")}
    src = {k: v for k, v in src.items() if not k.endswith("num_batches_tracked")}
    if set(src) == set(dst):
        pairs = [(dst[k], _array(src[k])) for k in dst]
    else:
        s_items, d_items = list(src.values()), list(dst.values())
        if len(s_items) != len(d_items) or any(
                tuple(_array(a).shape) != tuple(b.shape) for a, b in zip(s_items, d_items)):
            raise RuntimeError("benchmark: the torch reference does not match the foveanet model:\n"
                               f"  foveanet {[(k, _array(v).shape) for k, v in src.items()]}\n"
                               f"  torch    {[(k, tuple(v.shape)) for k, v in dst.items()]}")
        pairs = [(b, _array(a)) for a, b in zip(s_items, d_items)]
    with torch.no_grad():
        for t, a in pairs:
            t.copy_(torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)).reshape(t.shape))
