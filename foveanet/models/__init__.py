"""Classic CNNs with torchvision's module names, so their state_dicts load unchanged.

    from foveanet import models
    net = models.get_model("resnet18", num_classes=10, in_channels=1)
    models.list_models()     # every name get_model accepts

Builders are imported on first use: constructing a registry entry must not pull in every
architecture (and ``import foveanet.models`` stays cheap for the trainer and the CLI).
"""
from __future__ import annotations

import importlib

# name -> submodule that defines a builder function of the same name
_REGISTRY = {
    "lenet5": "lenet",
    "alexnet": "alexnet",
    **{n: "vgg" for n in ("vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn",
                          "vgg19", "vgg19_bn")},
    **{n: "resnet" for n in ("resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
                             "resnext50_32x4d", "resnext101_32x8d")},
    "googlenet": "googlenet",
    **{n: "densenet" for n in ("densenet121", "densenet161", "densenet169", "densenet201")},
}


def _builder(key: str):
    mod = importlib.import_module(f"foveanet.models.{_REGISTRY[key]}")
    # importing foveanet.models.alexnet binds the *submodule* to the package attribute
    # "alexnet"; rebind the builders so models.alexnet(...) is the function, as in torchvision
    for name, sub in _REGISTRY.items():
        if sub == _REGISTRY[key]:
            globals()[name] = getattr(mod, name)
    return getattr(mod, key)


def list_models() -> list:
    """The names ``get_model`` accepts, sorted."""
    return sorted(_REGISTRY)


def get_model(name: str, **kwargs):
    """Build the model ``name`` (e.g. ``num_classes=10, in_channels=1``)."""
    key = name.lower()
    if key not in _REGISTRY:
        raise ValueError(f"get_model: unknown model {name!r}; available: {', '.join(list_models())}")
    return _builder(key)(**kwargs)


def __getattr__(name):
    # models.resnet18(...) and models.lenet5(...) work without importing every file up front
    if name in _REGISTRY:
        return _builder(name)
    raise AttributeError(f"module 'foveanet.models' has no attribute {name!r}")


__all__ = ["get_model", "list_models", *_REGISTRY]
