import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from torch import nn as tnn

import foveanet
from foveanet import models
from tests.models import (assert_outputs_match, assert_same_layout, image, load_from_torch, meta,
                          n_params, randomize_)


class TBasic(tnn.Module):
    def __init__(self, cin, cout, **kw):
        super().__init__()
        self.conv = tnn.Conv2d(cin, cout, bias=False, **kw)
        self.bn = tnn.BatchNorm2d(cout, eps=0.001)

    def forward(self, x):
        return TF.relu(self.bn(self.conv(x)))


class TInception(tnn.Module):
    def __init__(self, cin, c1, c3r, c3, c5r, c5, pp):
        super().__init__()
        self.branch1 = TBasic(cin, c1, kernel_size=1)
        self.branch2 = tnn.Sequential(TBasic(cin, c3r, kernel_size=1), TBasic(c3r, c3, kernel_size=3, padding=1))
        self.branch3 = tnn.Sequential(TBasic(cin, c5r, kernel_size=1), TBasic(c5r, c5, kernel_size=3, padding=1))
        self.branch4 = tnn.Sequential(tnn.MaxPool2d(3, 1, 1, ceil_mode=True), TBasic(cin, pp, kernel_size=1))

    def forward(self, x):
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


class TAux(tnn.Module):
    def __init__(self, cin, num_classes):
        super().__init__()
        self.conv = TBasic(cin, 128, kernel_size=1)
        self.fc1 = tnn.Linear(2048, 1024)
        self.fc2 = tnn.Linear(1024, num_classes)
        self.dropout = tnn.Dropout(0.7)

    def forward(self, x):
        x = torch.flatten(self.conv(TF.adaptive_avg_pool2d(x, 4)), 1)
        return self.fc2(self.dropout(TF.relu(self.fc1(x))))


INCEPTIONS = [("3a", (192, 64, 96, 128, 16, 32, 32)), ("3b", (256, 128, 128, 192, 32, 96, 64)),
              ("4a", (480, 192, 96, 208, 16, 48, 64)), ("4b", (512, 160, 112, 224, 24, 64, 64)),
              ("4c", (512, 128, 128, 256, 24, 64, 64)), ("4d", (512, 112, 144, 288, 32, 64, 64)),
              ("4e", (528, 256, 160, 320, 32, 128, 128)), ("5a", (832, 256, 160, 320, 32, 128, 128)),
              ("5b", (832, 384, 192, 384, 48, 128, 128))]


class TGoogLeNet(tnn.Module):
    def __init__(self, num_classes=1000, aux_logits=False, in_channels=3):
        super().__init__()
        self.conv1 = TBasic(in_channels, 64, kernel_size=7, stride=2, padding=3)
        self.maxpool1 = tnn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv2 = TBasic(64, 64, kernel_size=1)
        self.conv3 = TBasic(64, 192, kernel_size=3, padding=1)
        self.maxpool2 = tnn.MaxPool2d(3, 2, ceil_mode=True)
        for name, cfg in INCEPTIONS[:2]:
            setattr(self, "inception" + name, TInception(*cfg))
        self.maxpool3 = tnn.MaxPool2d(3, 2, ceil_mode=True)
        for name, cfg in INCEPTIONS[2:7]:
            setattr(self, "inception" + name, TInception(*cfg))
        self.maxpool4 = tnn.MaxPool2d(2, 2, ceil_mode=True)
        for name, cfg in INCEPTIONS[7:]:
            setattr(self, "inception" + name, TInception(*cfg))
        self.aux1 = TAux(512, num_classes) if aux_logits else None
        self.aux2 = TAux(528, num_classes) if aux_logits else None
        self.avgpool = tnn.AdaptiveAvgPool2d(1)
        self.dropout = tnn.Dropout(0.2)
        self.fc = tnn.Linear(1024, num_classes)

    def forward(self, x):
        x = self.maxpool2(self.conv3(self.conv2(self.maxpool1(self.conv1(x)))))
        x = self.maxpool3(self.inception3b(self.inception3a(x)))
        for n in ("4a", "4b", "4c", "4d", "4e"):
            x = getattr(self, "inception" + n)(x)
        x = self.inception5b(self.inception5a(self.maxpool4(x)))
        return self.fc(self.dropout(torch.flatten(self.avgpool(x), 1)))


def test_count_and_layout():
    tm = meta(TGoogLeNet)
    assert n_params(tm) == 6_624_904
    fm = models.googlenet()
    assert n_params(fm) == 6_624_904
    assert_same_layout(fm, tm)


def test_aux_classifiers_layout_and_training_outputs():
    tm = meta(TGoogLeNet, num_classes=10, aux_logits=True)
    fm = models.googlenet(num_classes=10, aux_logits=True)
    # each aux head: 1x1 conv 512/528->128 (+BN), 2048->1024, 1024->10
    assert n_params(fm) == n_params(tm) == 6_624_904 - 1000 * 1025 + 10 * 1025 + 2 * (
        128 * 2 + 2048 * 1024 + 1024 + 1024 * 10 + 10) + 128 * 512 + 128 * 528
    assert_same_layout(fm, tm)
    fm.train()
    out = fm(foveanet.tensor(image(2, 3, 96)))
    assert out.logits.shape == out.aux_logits1.shape == out.aux_logits2.shape == (2, 10)
    fm.eval()
    with foveanet.no_grad():
        assert fm(foveanet.tensor(image(2, 3, 96))).shape == (2, 10)


def test_outputs_match_torch_96px():
    tm = randomize_(TGoogLeNet(num_classes=10, in_channels=1))
    fm = load_from_torch(models.googlenet(num_classes=10, in_channels=1), tm)
    assert_outputs_match(fm, tm, image(2, 1, 96))


def test_transform_input_renormalises():
    fm = models.googlenet(transform_input=True)
    x = np.zeros((1, 3, 4, 4), np.float32)
    y = fm._transform_input(foveanet.tensor(x)).numpy()[0, :, 0, 0]
    np.testing.assert_allclose(y, [(0.485 - 0.5) / 0.5, (0.456 - 0.5) / 0.5, (0.406 - 0.5) / 0.5],
                               rtol=1e-6)
    with pytest.raises(ValueError, match="in_channels=3"):
        models.googlenet(transform_input=True, in_channels=1)


def test_init_truncated_normal():
    # torchvision passes a=-2, b=2: absolute bounds, 200 std away, so this is N(0, 0.01) in effect
    w = models.googlenet().inception4a.branch2[1].conv.weight.numpy()
    assert abs(w.std() - 0.01) < 1e-3 and abs(w.mean()) < 1e-4 and np.abs(w).max() > 0.04
