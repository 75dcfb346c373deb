"""Every module foveanet exposes as an attribute (``fn.nn``, ``fn.onnx`` ...) is importable
under the same path, as ``import torch.onnx`` is: a user who reads ``fn.onnx.export`` in the
docs writes ``import foveanet.onnx``."""
import importlib
import inspect
import subprocess
import sys

import pytest

import foveanet

MODULES = sorted(n for n in dir(foveanet)
                 if not n.startswith("_") and inspect.ismodule(getattr(foveanet, n)))


def test_the_documented_modules_are_found():
    assert {"nn", "optim", "models", "data", "onnx", "distributed", "interop"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_attribute_module_is_importable_under_its_path(name):
    module = importlib.import_module(f"foveanet.{name}")
    assert getattr(foveanet, name) is module


def test_import_foveanet_onnx_in_a_fresh_process():
    code = ("import foveanet.onnx, foveanet as fn\n"
            "assert foveanet.onnx.export is fn.onnx.export and 'Conv' in foveanet.onnx.SUPPORTED_OPS\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
