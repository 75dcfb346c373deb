"""The compiled adaptive max pooling (foveanet/kernels/adaptive.py) against the NumPy
gathers (values and indices the same; dX the same bits in float64) and against PyTorch,
with overlapping windows, shared windows (out > n), -inf windows and a NaN."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import foveanet
import foveanet.functional as F
from foveanet.backend import use_kernels

pytest.importorskip("numba")

# (input shape, output size): 1-d then 2-d, none of them a tiling (that runs as max_pool)
CASES = [((2, 3, 499), 8), ((1, 4, 7), 3), ((2, 2, 5), 7), ((2, 3, 9, 10), (4, 3)),
         ((1, 2, 5, 6), (7, 4))]


def _run(choice, x, gy, out):
    op = F.adaptive_max_pool1d if x.ndim == 3 else F.adaptive_max_pool2d
    with use_kernels(choice):
        xt = foveanet.tensor(x, requires_grad=True)
        y, ind = op(xt, out, return_indices=True)
        y.backward(foveanet.tensor(gy))
        return y.numpy(), ind.numpy(), xt.grad.numpy()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", CASES, ids=[f"case{i}" for i in range(len(CASES))])
def test_compiled_equals_numpy_and_torch(case, dtype):
    shape, out = case
    x = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    flat = x.reshape(-1, shape[-1])
    flat[0, :3] = -np.inf        # a window of -inf only (the first cell is the argmax)
    flat[-1, 2] = np.nan         # PyTorch takes a NaN as the max
    op = TF.adaptive_max_pool1d if x.ndim == 3 else TF.adaptive_max_pool2d
    tx = torch.tensor(x, requires_grad=True)
    ty, ti = op(tx, out, return_indices=True)
    gy = np.random.default_rng(1).standard_normal(tuple(ty.shape)).astype(dtype)
    ty.backward(torch.from_numpy(gy))
    y, ind, gx = _run("default", x, gy, out)
    ry, rind, rgx = _run("numpy", x, gy, out)
    np.testing.assert_array_equal(y, ry)
    np.testing.assert_array_equal(ind, rind)
    np.testing.assert_array_equal(y, ty.detach().numpy())
    np.testing.assert_array_equal(ind, ti.numpy())
    if dtype == np.float64:
        np.testing.assert_array_equal(gx, rgx)
    tol = 1e-12 if dtype == np.float64 else 1e-6
    np.testing.assert_allclose(gx, rgx, rtol=tol, atol=tol)
    np.testing.assert_allclose(gx, tx.grad.numpy(), rtol=tol, atol=tol)


def test_an_empty_batch():
    x = foveanet.zeros(0, 3, 10, requires_grad=True)
    y = F.adaptive_max_pool1d(x, 3)
    y.sum().backward()
    assert y.shape == (0, 3, 3) and x.grad.shape == (0, 3, 10)
