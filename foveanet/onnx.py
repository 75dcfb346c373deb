"""``import foveanet.onnx``, as ``import torch.onnx``: ``export(model, example_input, path)``
writes an ONNX graph that runs in onnxruntime, ``load(path)`` reads one back as a trainable
foveanet Module, ``SUPPORTED_OPS`` names the operators the importer knows.

The code lives in ``foveanet.interop`` beside the PyTorch and safetensors readers; this module
is the path users type.
"""
from foveanet.interop.onnx import SUPPORTED_OPS, export, load

__all__ = ["export", "load", "SUPPORTED_OPS"]
