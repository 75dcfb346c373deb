import pytest
import torch
from torch import nn as tnn

from foveanet import models
from tests.models import (assert_outputs_match, assert_same_layout, image, load_from_torch, meta,
                          n_params, randomize_)

CFG = {"vgg11": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
       "vgg13": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
       "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
       "vgg19": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
                 512, 512, 512, 512, "M"]}


class TorchAlexNet(tnn.Module):
    def __init__(self, num_classes=1000, in_channels=3):
        super().__init__()
        C, R, P = tnn.Conv2d, tnn.ReLU, tnn.MaxPool2d
        self.features = tnn.Sequential(
            C(in_channels, 64, 11, 4, 2), R(), P(3, 2), C(64, 192, 5, padding=2), R(), P(3, 2),
            C(192, 384, 3, padding=1), R(), C(384, 256, 3, padding=1), R(),
            C(256, 256, 3, padding=1), R(), P(3, 2))
        self.avgpool = tnn.AdaptiveAvgPool2d((6, 6))
        self.classifier = tnn.Sequential(
            tnn.Dropout(), tnn.Linear(9216, 4096), R(), tnn.Dropout(), tnn.Linear(4096, 4096), R(),
            tnn.Linear(4096, num_classes))

    def forward(self, x):
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


class TorchVGG(tnn.Module):
    def __init__(self, cfg, bn=False, num_classes=1000, in_channels=3):
        super().__init__()
        layers, c = [], in_channels
        for v in cfg:
            if v == "M":
                layers.append(tnn.MaxPool2d(2, 2))
                continue
            layers += [tnn.Conv2d(c, v, 3, padding=1)] + ([tnn.BatchNorm2d(v)] if bn else []) + [tnn.ReLU()]
            c = v
        self.features = tnn.Sequential(*layers)
        self.avgpool = tnn.AdaptiveAvgPool2d((7, 7))
        self.classifier = tnn.Sequential(
            tnn.Linear(25088, 4096), tnn.ReLU(), tnn.Dropout(), tnn.Linear(4096, 4096), tnn.ReLU(),
            tnn.Dropout(), tnn.Linear(4096, num_classes))

    def forward(self, x):
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


def test_alexnet_count_and_layout():
    tm = meta(TorchAlexNet)
    assert n_params(tm) == 61_100_840
    fm = models.alexnet()
    assert n_params(fm) == 61_100_840
    assert_same_layout(fm, tm)


@pytest.fixture(scope="module")
def vgg16():
    # built once: ~138M parameters take seconds to initialise
    return models.vgg16()


def test_vgg16_count_layout_and_init(vgg16):
    tm = meta(TorchVGG, CFG["vgg16"])
    assert n_params(tm) == n_params(vgg16) == 138_357_544
    assert_same_layout(vgg16, tm)
    # torchvision's init: kaiming_normal fan_out for convs, N(0, 0.01) for FC, zero biases
    fc = vgg16.classifier[0].weight.numpy()
    assert abs(fc.std() - 0.01) < 1e-4 and not vgg16.classifier[0].bias.numpy().any()
    conv = vgg16.features[2].weight.numpy()     # 64 -> 64: std sqrt(2 / (64 * 9))
    assert abs(conv.std() / (2 / (64 * 9)) ** 0.5 - 1) < 0.05
    assert not vgg16.features[2].bias.numpy().any()


def test_vgg16_bn_count_and_layout():
    tm = meta(TorchVGG, CFG["vgg16"], True)
    fm = models.vgg16_bn()
    assert n_params(tm) == n_params(fm) == 138_365_992
    assert_same_layout(fm, tm)
    assert (fm.features[1].weight.numpy() == 1).all()


@pytest.mark.slow
@pytest.mark.parametrize("name,want", [("vgg11", 132_863_336), ("vgg13", 133_047_848),
                                       ("vgg19", 143_667_240), ("vgg19_bn", 143_678_248)])
def test_other_vgg_counts_and_layout(name, want):
    tm = meta(TorchVGG, CFG[name.removesuffix("_bn")], name.endswith("_bn"))
    fm = models.get_model(name)
    assert n_params(tm) == n_params(fm) == want
    assert_same_layout(fm, tm)


def test_alexnet_outputs_match_torch_64px():
    tm = randomize_(TorchAlexNet(num_classes=10, in_channels=1))
    fm = load_from_torch(models.alexnet(num_classes=10, in_channels=1), tm)
    assert_outputs_match(fm, tm, image(2, 1, 64))


# the BN variant's extra (BN in eval) is also covered by the ResNet/DenseNet comparisons; a VGG
# build costs seconds of weight initialisation, so the BN one waits for the slow suite
@pytest.mark.parametrize("bn", [False, pytest.param(True, marks=pytest.mark.slow)])
def test_vgg11_outputs_match_torch_32px(bn):
    # 32x32 ends at 1x1 before the adaptive pool: the classifier sees the 7x7-replicated map
    tm = randomize_(TorchVGG(CFG["vgg11"], bn, num_classes=10))
    fm = models.get_model("vgg11_bn" if bn else "vgg11", num_classes=10)
    # vgg11 with 1000 classes has 132,863,336 parameters; 10 classes drop 990 rows of 4097
    bn_params = 2 * (64 + 128 + 2 * 256 + 4 * 512) if bn else 0
    assert n_params(fm) == 132_863_336 - 990 * 4097 + bn_params
    assert_same_layout(fm, tm)
    assert_outputs_match(load_from_torch(fm, tm), tm, image(2, 3, 32))


@pytest.mark.slow
def test_vgg16_224_matches_torch():
    tm = randomize_(TorchVGG(CFG["vgg16"]))
    fm = load_from_torch(models.vgg16(), tm)
    assert_outputs_match(fm, tm, image(1, 3, 224))


class TorchSmallVGG(tnn.Module):
    def __init__(self, width=32, in_channels=1, num_classes=10):
        super().__init__()
        w, layers, c = width, [], in_channels
        for v in (w, w, "M", 2 * w, 2 * w, "M", 4 * w, 4 * w, "M"):
            if v == "M":
                layers.append(tnn.MaxPool2d(2, 2))
                continue
            layers += [tnn.Conv2d(c, v, 3, padding=1), tnn.BatchNorm2d(v), tnn.ReLU()]
            c = v
        self.features = tnn.Sequential(*layers)
        self.avgpool = tnn.AdaptiveAvgPool2d((3, 3))
        self.classifier = tnn.Sequential(tnn.Dropout(0.3), tnn.Linear(4 * w * 9, num_classes))

    def forward(self, x):
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


@pytest.mark.parametrize("width, size, want", [(32, 28, 298_858), (8, 32, 21_154)])
def test_vgg_small_count_layout_and_outputs(width, size, want):
    tm = randomize_(TorchSmallVGG(width))
    fm = models.get_model("vgg_small", num_classes=10, in_channels=1, width=width)
    # convs: 3*3*cin*cout + cout, BN 2*cout, head 4w*9*10 + 10
    convs = [(1, width), (width, width), (width, 2 * width), (2 * width, 2 * width),
             (2 * width, 4 * width), (4 * width, 4 * width)]
    assert want == sum(9 * a * b + 3 * b for a, b in convs) + 4 * width * 9 * 10 + 10
    assert n_params(fm) == n_params(tm) == want
    assert_same_layout(fm, tm)
    assert_outputs_match(load_from_torch(fm, tm), tm, image(2, 1, size))
