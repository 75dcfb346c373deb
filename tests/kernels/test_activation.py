"""ReLU's compiled backward (foveanet/kernels/activation.py) against the NumPy path and
PyTorch: zeros, NaN and both dtypes, on a map big enough to split across the worker threads."""
import numpy as np
import pytest
import torch

import foveanet
import foveanet.functional as F
from foveanet.backend import use_kernels

pytest.importorskip("numba")


def _run(choice, x, g):
    with use_kernels(choice):
        xt = foveanet.tensor(x, requires_grad=True)
        y = F.relu(xt)
        y.backward(foveanet.tensor(g))
        return y.numpy(), xt.grad.numpy()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", [(7,), (16, 6, 28, 28)])
def test_relu_backward_compiled_equals_numpy_and_torch(shape, dtype):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(dtype)
    flat = x.reshape(-1)
    flat[:3] = 0.0             # relu'(0) = 0, as PyTorch
    flat[3] = np.nan           # NaN: g passes, as PyTorch's threshold_backward
    flat[4] = -np.inf
    g = rng.standard_normal(shape).astype(dtype)
    y, dx = _run("numba", x, g)
    ry, rdx = _run("numpy", x, g)
    np.testing.assert_array_equal(y, ry)
    np.testing.assert_array_equal(dx, rdx)   # a select, no arithmetic: exactly equal
    xt = torch.tensor(x, requires_grad=True)
    torch.relu(xt).backward(torch.from_numpy(g))
    np.testing.assert_array_equal(dx, xt.grad.numpy())
    np.testing.assert_array_equal(np.nan_to_num(y), np.nan_to_num(torch.relu(torch.from_numpy(x)).numpy()))


def test_relu_backward_takes_the_compiled_kernel(monkeypatch):
    """The CPU backward calls kernels/activation.py (a failing stand-in proves it ran)."""
    ks = foveanet.kernels.load()
    calls = []
    real = ks.relu_backward
    monkeypatch.setattr(ks, "relu_backward", lambda *a: (calls.append(1), real(*a)))
    with use_kernels("numba"):
        x = foveanet.tensor(np.array([-1.0, 2.0], np.float32), requires_grad=True)
        F.relu(x).backward(foveanet.tensor(np.ones(2, np.float32)))
    assert calls and x.grad.numpy().tolist() == [0.0, 1.0]
