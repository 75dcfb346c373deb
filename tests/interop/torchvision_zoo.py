"""torchvision's AlexNet, VGG(+BN), ResNeXt, DenseNet and GoogLeNet for the ONNX tests: the
torch references of tests/models (torchvision's module names), so that their state_dicts load
into foveanet's zoo (``foveanet.models``, which keeps the same names) and both directions of
the ONNX path can be held to the same torch outputs."""
from __future__ import annotations

from tests.models.test_alexnet_vgg import CFG, TorchAlexNet, TorchVGG
from tests.models.test_densenet import SPECS as DENSENETS
from tests.models.test_densenet import TDenseNet
from tests.models.test_googlenet import TGoogLeNet
from tests.models.test_resnet import torch_ref

# name: (torch builder, torchvision's parameter count, test input side, slow)
ZOO = {
    "alexnet": (TorchAlexNet, 61_100_840, 224, True),
    "vgg11": (lambda: TorchVGG(CFG["vgg11"]), 132_863_336, 224, True),
    "vgg11_bn": (lambda: TorchVGG(CFG["vgg11"], bn=True), 132_868_840, 224, True),
    "resnext50_32x4d": (lambda: torch_ref("resnext50_32x4d"), 25_028_904, 64, False),
    "densenet121": (lambda: TDenseNet(*DENSENETS["densenet121"][0]), 7_978_856, 64, True),
    "googlenet": (TGoogLeNet, 6_624_904, 64, False),
}
