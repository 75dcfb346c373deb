"""The backend seam holds: op files say the math and leave threads to the backend, every
Function that multiplies matrices declares it, and the hook runs in forward and backward."""
import ast
import pathlib

import numpy as np
import pytest

import foveanet
from foveanet.autograd.function import Function
from foveanet.backend import array_module, kernels
from foveanet.backend.arrays import KernelSet

ROOT = pathlib.Path(foveanet.__file__).parent
MATH = ("functional", "autograd", "nn", "optim", "models")


def _sources():
    for folder in MATH:
        yield from sorted((ROOT / folder).rglob("*.py"))


def test_no_op_file_reaches_into_the_cpu_machinery():
    offenders = []
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("foveanet.backend.cpu"):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not offenders, offenders


def _multiplies_matrices(cls: ast.ClassDef) -> bool:
    for node in ast.walk(cls):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):
            return True
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr in ("matmul", "dot", "tensordot", "einsum"):
            return True
    return False


def test_every_function_that_multiplies_matrices_declares_uses_blas():
    import foveanet.functional  # noqa: F401  (loads every op)

    by_name = {}
    stack = [Function]
    while stack:
        cls = stack.pop()
        by_name[cls.__name__] = cls
        stack.extend(cls.__subclasses__())
    found, missing = [], []
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and node.name in by_name and _multiplies_matrices(node):
                found.append(node.name)
                if not by_name[node.name].uses_blas:
                    missing.append(f"{path.relative_to(ROOT)}: {node.name}")
    assert not missing, missing
    assert {"_Linear", "MatMul", "_Separable", "_AdaptiveAvg"} <= set(found)
    from foveanet.functional.conv import _Conv, _ConvTranspose  # GEMMs inside the kernels

    assert _Conv.uses_blas and _ConvTranspose.uses_blas


def test_the_hook_runs_before_forward_and_backward(monkeypatch):
    calls = []
    spy = KernelSet("spy", before_gemm=lambda: calls.append("gemm"))
    monkeypatch.setattr("foveanet.autograd.function.kernels", lambda a=None: spy)
    x = foveanet.randn(3, 4, requires_grad=True)
    y = foveanet.nn.functional.linear(x, foveanet.randn(2, 4))
    assert calls == ["gemm"]
    (y * y).sum().backward()  # Mul and Sum declare nothing: one more call, from linear's backward
    assert calls == ["gemm", "gemm"]


def test_array_module_and_kernels_of_a_numpy_array():
    a = np.zeros(3)
    assert array_module(a) is np and array_module([1.0], 2.0) is np
    assert kernels(a).name == "cpu" and kernels(a).conv is not None


@pytest.mark.parametrize("name", ["tensor", "Tensor", "manual_seed", "float32", "nn", "save"])
def test_public_names_load_on_first_use_and_are_listed(name):
    assert name in dir(foveanet)
    assert getattr(foveanet, name) is not None
    with pytest.raises(AttributeError, match="has no attribute 'nosuchname'"):
        foveanet.nosuchname
