"""Weights to and from other tools: PyTorch checkpoints (read without running pickled code),
safetensors, and ONNX graphs (export by tracing, import as a trainable Module)."""
from foveanet.interop.pretrained import load_pretrained, read_state_dict
from foveanet.interop.safetensors_io import load_safetensors, save_safetensors
from foveanet.interop.torch_pt import load_torch, save_torch

__all__ = ["load_torch", "save_torch", "load_safetensors", "save_safetensors", "load_pretrained",
           "read_state_dict", "onnx"]


def __getattr__(name):
    # onnx (the package) is an optional dependency: import it only when asked for
    if name == "onnx":
        import importlib

        return importlib.import_module("foveanet.interop.onnx")
    raise AttributeError(f"module 'foveanet.interop' has no attribute {name!r}")
