"""Receptive field r, jump j and start against hand-worked values.

The tracer reads any module with PyTorch's API, so torch.nn models built here check the graph
walk (ResNet adds, Inception concats) independently of foveanet.nn; foveanet's own models are
checked the same way once they import.
"""
import pytest
import torch
from torch import nn

from foveanet.concepts import receptive_field

VGG16 = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]
# hand-worked: each 3x3 conv adds 2*j, each 2x2/2 pool adds 1*j and doubles j
VGG16_RF = {"conv1_2": (5, 1), "pool1": (6, 2), "conv2_2": (14, 2), "pool2": (16, 4),
            "conv3_3": (40, 4), "pool3": (44, 8), "conv4_3": (92, 8), "pool4": (100, 16),
            "conv5_1": (132, 16), "conv5_3": (196, 16), "pool5": (212, 32)}
# the index in torchvision's vgg16().features of each named layer
VGG16_INDEX = {"conv1_2": 2, "pool1": 4, "conv2_2": 7, "pool2": 9, "conv3_3": 14, "pool3": 16,
               "conv4_3": 21, "pool4": 23, "conv5_1": 24, "conv5_3": 28, "pool5": 30}


def torch_vgg16(num_classes=1000):
    layers, c = [], 3
    for v in VGG16:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(c, v, 3, padding=1), nn.ReLU(inplace=True)]
            c = v

    class VGG(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(*layers)
            self.avgpool = nn.AdaptiveAvgPool2d(7)
            self.classifier = nn.Sequential(
                nn.Linear(512 * 49, 4096), nn.ReLU(True), nn.Dropout(),
                nn.Linear(4096, 4096), nn.ReLU(True), nn.Dropout(), nn.Linear(4096, num_classes))

        def forward(self, x):
            return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))

    return VGG()


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + identity)


def torch_resnet18(num_classes=1000):
    class ResNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
            self.bn1 = nn.BatchNorm2d(64)
            self.relu = nn.ReLU(inplace=True)
            self.maxpool = nn.MaxPool2d(3, 2, 1)
            chans = [(64, 64, 1), (64, 128, 2), (128, 256, 2), (256, 512, 2)]
            for i, (a, b, s) in enumerate(chans, 1):
                setattr(self, f"layer{i}", nn.Sequential(BasicBlock(a, b, s), BasicBlock(b, b, 1)))
            self.avgpool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(512, num_classes)

        def forward(self, x):
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            return self.fc(torch.flatten(self.avgpool(x), 1))

    return ResNet()


class Inception(nn.Module):
    """Four branches concatenated: 1x1 | 1x1,3x3 | 1x1,5x5 | 3x3 pool,1x1, then a 1x1 conv."""

    def __init__(self):
        super().__init__()
        self.b1 = nn.Conv2d(3, 4, 1)
        self.b2 = nn.Sequential(nn.Conv2d(3, 4, 1), nn.Conv2d(4, 4, 3, padding=1))
        self.b3 = nn.Sequential(nn.Conv2d(3, 4, 1), nn.Conv2d(4, 4, 5, padding=2))
        self.b4 = nn.Sequential(nn.MaxPool2d(3, 1, 1), nn.Conv2d(3, 4, 1))
        self.head = nn.Conv2d(16, 8, 1)

    def forward(self, x):
        return self.head(torch.cat([self.b1(x), self.b2(x), self.b3(x), self.b4(x)], 1))


def test_layer_list_by_hand():
    rf = receptive_field([(3, 1, 0), (3, 1, 0)], 6)            # two 3x3: 5x5
    assert [(r.rf, r.jump) for r in rf] == [(3, 1), (5, 1)]
    assert rf.final.size == (2, 2)
    # the lecture's network: 3x3 s1, 5x5 s2, 5x5 s2 on 39x39
    rf = receptive_field([(3, 1, 0), (5, 2, 0), (5, 2, 0)], (3, 39, 39))
    assert [(r.rf, r.jump, r.size) for r in rf] == [(3, 1, (37, 37)), (7, 2, (17, 17)), (15, 4, (7, 7))]
    # start: (k-1)/2*d - p per layer, times the jump before it
    assert [r.start for r in rf] == [(1, 1), (3, 3), (7, 7)]
    # dilation 2: a 3x3 filter spans 5
    assert receptive_field([(3, 1, 0, 2)], 9).final.rf == 5


def test_layer_list_global_layers():
    rf = receptive_field([(5, 1, 0), {"kernel_size": 2, "stride": 2}, nn.Flatten(), nn.Linear(4, 2)], 10)
    # 10 -> 6 -> 3; flatten covers the 3x3 map: r = 6 + (3-1)*2 = 10
    assert [r.rf for r in rf] == [5, 6, 10, 10]
    with pytest.raises(ValueError, match="input_size"):
        receptive_field([(3, 1, 0), nn.Flatten()])


def test_torch_vgg16_against_hand_values():
    rf = receptive_field(torch_vgg16(10), (3, 32, 32))
    for name, (r, j) in VGG16_RF.items():
        row = rf[f"features.{VGG16_INDEX[name]}"]
        assert (row.rf, row.jump) == (r, j), name
    assert rf["features.30"].start == (15.5, 15.5)               # centre of pixels 0..31


def test_torch_resnet18_follows_the_conv_path():
    rf = receptive_field(torch_resnet18(10), (3, 64, 64))
    # stem: 7x7/2 -> 7, j2; 3x3/2 pool -> 11, j4; each 3x3 conv adds 2j
    assert (rf["conv1"].rf, rf["maxpool"].rf, rf["maxpool"].jump) == (7, 11, 4)
    assert rf["layer1.0.conv2"].rf == 27
    # the add takes the largest branch: the block output sees what conv2 sees
    add = [r for r in rf if r.name == "layer1.0.relu"][-1]
    assert add.rf == 27 and "2 branches" in add.note
    assert rf["layer2.0.downsample.0"].rf == 43                  # a 1x1/2 on the block input
    assert (rf["layer4.1.conv2"].rf, rf["layer4.1.conv2"].jump) == (435, 32)


def test_inception_concat_takes_the_largest_branch():
    rf = receptive_field(Inception(), (3, 12, 12))
    assert rf["b3.1"].rf == 5 and rf["b4.0"].rf == 3 and rf["b1"].rf == 1
    head = rf["head"]
    assert head.rf == 5 and "4 branches" in head.note


def test_foveanet_models():
    models = pytest.importorskip("foveanet.models")
    try:
        net = models.get_model("lenet5")
    except ImportError as e:  # nn still landing
        pytest.skip(str(e))
    rf = receptive_field(net, (1, 28, 28))
    # 5x5 p2 -> 5; pool -> 6, j2; 5x5 -> 6 + 4*2 = 14; pool -> 16, j4; flatten 5x5 -> 16 + 4*4
    assert [(rf[n].rf, rf[n].jump) for n in ("features.0", "features.2", "features.3", "features.5")] \
        == [(5, 1), (6, 2), (14, 2), (16, 4)]
    assert rf["features.5"].start == (5.5, 5.5)
    assert rf["classifier.0"].rf == 32
