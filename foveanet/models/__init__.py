"""Classic CNNs with torchvision's module names, so their state_dicts load unchanged.

    from foveanet import models
    net = models.get_model("resnet18", num_classes=10, in_channels=1)
    models.list_models()     # every name get_model accepts
"""
from __future__ import annotations

# the builders are imported by name after their submodules: "alexnet" and "googlenet" are both
# a submodule and a function, and the function must win (models.alexnet(...) as in torchvision)
from foveanet.models.lenet import LeNet5, LeNet1998, lenet5
from foveanet.models.alexnet import AlexNet, alexnet
from foveanet.models.vgg import (VGG, SmallVGG, vgg11, vgg11_bn, vgg13, vgg13_bn, vgg16, vgg16_bn,
                                 vgg19, vgg19_bn, vgg_small)
from foveanet.models.resnet import (ResNet, resnet18, resnet34, resnet50, resnet101, resnet152,
                                    resnext50_32x4d, resnext101_32x8d)
from foveanet.models.googlenet import GoogLeNet, googlenet
from foveanet.models.densenet import DenseNet, densenet121, densenet161, densenet169, densenet201
from foveanet.models.unet import UNet, unet
from foveanet.models.textcnn import TextCNN, textcnn
from foveanet.models.xmlcnn import XMLCNN, xmlcnn
from foveanet.models.ops import (Conv2dNormActivation, SqueezeExcitation, StochasticDepth,
                                 make_divisible, stochastic_depth)
from foveanet.models.mobilenetv2 import MobileNetV2, mobilenet_v2
from foveanet.models.mobilenetv3 import MobileNetV3, mobilenet_v3_large, mobilenet_v3_small
from foveanet.models.efficientnet import EfficientNet, efficientnet_b0

_REGISTRY = {f.__name__: f for f in (
    lenet5, alexnet, vgg_small, vgg11, vgg11_bn, vgg13, vgg13_bn, vgg16, vgg16_bn, vgg19, vgg19_bn,
    resnet18, resnet34, resnet50, resnet101, resnet152, resnext50_32x4d, resnext101_32x8d,
    googlenet, densenet121, densenet161, densenet169, densenet201, unet, textcnn, xmlcnn,
    mobilenet_v2, mobilenet_v3_large, mobilenet_v3_small, efficientnet_b0)}


def list_models() -> list:
    """The names ``get_model`` accepts, sorted.

    Example::

        >>> names = fn.models.list_models()
        >>> len(names), names[:3]
        (30, ['alexnet', 'densenet121', 'densenet161'])
        >>> "resnet18" in names and "unet" in names
        True
    """
    return sorted(_REGISTRY)


def get_model(name: str, **kwargs):
    """Build the model ``name`` with the builder's keyword arguments.

    The image models take ``num_classes`` and ``in_channels``; the text models (textcnn,
    xmlcnn) take ``vocab_size`` and ``num_classes`` / ``num_labels`` (their token-id input
    has no channels).

    Args:
        name: one of ``list_models`` (case-insensitive); ValueError otherwise.
        **kwargs: passed to the builder.

    Example::

        >>> net = fn.models.get_model("resnet18", num_classes=10, in_channels=1)
        >>> net(fn.ones(2, 1, 32, 32)).shape
        (2, 10)
        >>> fn.models.get_model("xmlcnn", vocab_size=100, num_labels=7).fc.out_features
        7
    """
    key = name.lower()
    if key not in _REGISTRY:
        raise ValueError(f"get_model: unknown model {name!r}; available: {', '.join(list_models())}")
    return _REGISTRY[key](**kwargs)


__all__ = ["get_model", "list_models", "LeNet5", "LeNet1998", "AlexNet", "VGG", "SmallVGG", "ResNet",
           "GoogLeNet", "DenseNet", "UNet", "TextCNN", "XMLCNN", "MobileNetV2", "MobileNetV3",
           "EfficientNet", "Conv2dNormActivation", "SqueezeExcitation", "StochasticDepth",
           "stochastic_depth", "make_divisible", *_REGISTRY]
