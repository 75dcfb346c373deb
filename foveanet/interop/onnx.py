"""``foveanet.onnx``: ``export(model, example_input, path)`` and ``load(path) -> Module``."""
from foveanet.interop.onnx_export import export
from foveanet.interop.onnx_import import SUPPORTED_OPS, load

__all__ = ["export", "load", "SUPPORTED_OPS"]
