"""The choice of kernels: FOVEANET_KERNELS and set_kernels select the compiled, the NumPy or
the reference path; Numba loads only when a compiled kernel runs; without Numba foveanet
runs the NumPy path and says so once."""
import subprocess
import sys
import warnings

import numpy as np
import pytest

import foveanet
import foveanet.nn.functional as F
from foveanet import kernels as compiled_kernels
from foveanet.backend import arrays, get_kernels, kernels, set_kernels, use_kernels
from foveanet.backend.cpu import kernels as cpu_kernels


def _python(code: str, **env) -> str:
    import os
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=root, env={**os.environ, "PYTHONPATH": root, **env}, check=True)
    return out.stdout.strip()


def test_each_choice_selects_its_set():
    pytest.importorskip("numba")
    x = np.zeros(3)
    with use_kernels("numpy"):
        assert kernels(x).compiled is None and kernels(x).conv is not None
    for choice in ("default", "numba"):
        with use_kernels(choice):
            assert kernels(x).compiled is not None
            assert kernels(x).compiled.max_pool_forward is not None
    with use_kernels("reference"):
        assert kernels(x).compiled is None and kernels(x).conv is None
    with pytest.raises(ValueError, match="expected one of default, numba, numpy, reference"):
        set_kernels("cuda")


def test_the_environment_variable_chooses_at_import():
    assert _python("import foveanet.backend as b; print(b.get_kernels())",
                   FOVEANET_KERNELS="numpy") == "numpy"
    err = subprocess.run([sys.executable, "-c", "import foveanet.backend as b; b.kernels()"],
                         capture_output=True, text=True, env={"FOVEANET_KERNELS": "fast",
                                                              "PYTHONPATH": "."})
    assert err.returncode != 0 and "expected one of default, numba, numpy, reference" in err.stderr


def test_numba_loads_only_when_a_compiled_kernel_runs():
    pytest.importorskip("numba")
    code = ("import sys, numpy as np, foveanet as fn, foveanet.nn.functional as F\n"
            "a = 'numba' in sys.modules\n"
            "F.relu(F.linear(fn.randn(2, 3), fn.randn(4, 3)))\n"
            "b = 'numba' in sys.modules\n"
            "F.avg_pool2d(fn.randn(1, 1, 4, 4), 2)\n"      # NumPy's views: no kernel
            "c = 'numba' in sys.modules\n"
            "F.max_pool2d(fn.randn(1, 1, 5, 5, requires_grad=True), 3, 2, 1)\n"
            "print(a, b, c, 'numba' in sys.modules)")
    assert _python(code, FOVEANET_KERNELS="default") == "False False False True"


def test_without_numba_the_numpy_path_runs_and_says_so_once(monkeypatch):
    monkeypatch.setattr(compiled_kernels, "available", lambda: False)
    monkeypatch.setattr(compiled_kernels, "_warned", False)
    monkeypatch.setattr(cpu_kernels, "_with_compiled", None)
    monkeypatch.setattr(arrays, "_cpu", {})
    x = np.random.default_rng(0).standard_normal((1, 2, 7, 7)).astype(np.float32)
    with use_kernels("default"):
        with pytest.warns(RuntimeWarning, match="Numba is not installed"):
            y = F.max_pool2d(x, 3, 2)
        assert kernels(x).compiled is None
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # the second op says nothing
            y2 = F.max_pool2d(x, 3, 2)
    # windows at rows/cols 0, 2, 4
    expected = np.stack([np.stack([x[:, :, 2 * i:2 * i + 3, 2 * j:2 * j + 3].max(axis=(2, 3))
                                   for j in range(3)], -1) for i in range(3)], -2)
    np.testing.assert_array_equal(y.numpy(), expected)
    np.testing.assert_array_equal(y2.numpy(), expected)


def test_use_kernels_restores_the_choice():
    before = get_kernels()
    with pytest.raises(RuntimeError):
        with use_kernels("numpy"):
            assert get_kernels() == "numpy"
            raise RuntimeError("inside")
    assert get_kernels() == before
