from collections import OrderedDict

import pytest
import torch
import torch.nn.functional as TF
from torch import nn as tnn

from foveanet import models
from tests.models import (assert_outputs_match, assert_same_layout, image, load_from_torch, meta,
                          n_params, randomize_)


class TLayer(tnn.Module):
    def __init__(self, cin, growth, bn_size):
        super().__init__()
        self.norm1 = tnn.BatchNorm2d(cin)
        self.relu1 = tnn.ReLU()
        self.conv1 = tnn.Conv2d(cin, bn_size * growth, 1, bias=False)
        self.norm2 = tnn.BatchNorm2d(bn_size * growth)
        self.relu2 = tnn.ReLU()
        self.conv2 = tnn.Conv2d(bn_size * growth, growth, 3, padding=1, bias=False)

    def forward(self, feats):
        h = self.conv1(self.relu1(self.norm1(torch.cat(feats, 1))))
        return self.conv2(self.relu2(self.norm2(h)))


class TBlock(tnn.ModuleDict):
    def __init__(self, n, cin, bn_size, growth):
        super().__init__({f"denselayer{i + 1}": TLayer(cin + i * growth, growth, bn_size)
                          for i in range(n)})

    def forward(self, x):
        feats = [x]
        for layer in self.values():
            feats.append(layer(feats))
        return torch.cat(feats, 1)


class TDenseNet(tnn.Module):
    def __init__(self, growth, blocks, init, num_classes=1000, in_channels=3, bn_size=4):
        super().__init__()
        self.features = tnn.Sequential(OrderedDict([
            ("conv0", tnn.Conv2d(in_channels, init, 7, 2, 3, bias=False)), ("norm0", tnn.BatchNorm2d(init)),
            ("relu0", tnn.ReLU()), ("pool0", tnn.MaxPool2d(3, 2, 1))]))
        c = init
        for i, n in enumerate(blocks):
            self.features.add_module(f"denseblock{i + 1}", TBlock(n, c, bn_size, growth))
            c += n * growth
            if i < len(blocks) - 1:
                self.features.add_module(f"transition{i + 1}", tnn.Sequential(OrderedDict([
                    ("norm", tnn.BatchNorm2d(c)), ("relu", tnn.ReLU()),
                    ("conv", tnn.Conv2d(c, c // 2, 1, bias=False)), ("pool", tnn.AvgPool2d(2, 2))])))
                c //= 2
        self.features.add_module("norm5", tnn.BatchNorm2d(c))
        self.classifier = tnn.Linear(c, num_classes)

    def forward(self, x):
        x = TF.adaptive_avg_pool2d(TF.relu(self.features(x)), 1)
        return self.classifier(torch.flatten(x, 1))


SPECS = {"densenet121": ((32, (6, 12, 24, 16), 64), 7_978_856),
         "densenet161": ((48, (6, 12, 36, 24), 96), 28_681_000),
         "densenet169": ((32, (6, 12, 32, 32), 64), 14_149_480),
         "densenet201": ((32, (6, 12, 48, 32), 64), 20_013_928)}


@pytest.mark.parametrize("name", list(SPECS))
def test_counts_and_layout(name):
    cfg, want = SPECS[name]
    tm = meta(TDenseNet, *cfg)
    assert n_params(tm) == want
    fm = models.get_model(name)
    assert n_params(fm) == want
    assert_same_layout(fm, tm)
    assert "features.denseblock1.denselayer1.norm1.running_var" in fm.state_dict()
    assert "features.transition3.conv.weight" in fm.state_dict()


def test_densenet121_outputs_match_torch_64px():
    tm = randomize_(TDenseNet(*SPECS["densenet121"][0], num_classes=10, in_channels=1))
    fm = load_from_torch(models.densenet121(num_classes=10, in_channels=1), tm)
    assert_outputs_match(fm, tm, image(2, 1, 64))
