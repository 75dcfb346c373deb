"""The compiled max pooling (foveanet/kernels/pooling.py) against the NumPy views (values
and indices the same; dX to round-off, as overlapping windows add in another order) and
against PyTorch, incl. padding, stride, dilation, ceil_mode, -inf windows and NaN."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import foveanet
import foveanet.nn.functional as F
from foveanet.backend import use_kernels
from tests.torch_ref import close

pytest.importorskip("numba")

# (shape, kernel, stride, padding, dilation, ceil_mode)
CASES = [
    ((2, 3, 9, 8), 3, 2, 1, 1, False),
    ((2, 3, 10, 11), 3, 2, 1, 2, True),
    ((1, 2, 7, 7), 2, 2, 0, 1, False),
    ((2, 2, 6, 5), (2, 3), (1, 2), (1, 1), 1, True),
    ((3, 4, 13, 12), 3, 1, 1, 1, False),
    ((4, 9, 10), 3, 2, 1, 1, False),   # unbatched (C, H, W)
    # windows that tile the input (kernels/pool_tiled.py), odd sides leaving a remainder
    ((2, 3, 9, 8), 2, 2, 0, 1, False),
    ((2, 3, 8, 11), (2, 3), (2, 3), 0, 1, False),
    ((1, 3, 6, 6), 3, 3, 0, 1, True),
]


def _input(shape, dtype, seed, specials=True):
    x = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    if specials:  # a window of -inf only, and a NaN (PyTorch reports the last NaN)
        x.reshape(-1, *shape[-2:])[0, 0, :4] = -np.inf
        x.reshape(-1, *shape[-2:])[0, 1, :4] = -np.inf
        x.reshape(-1, *shape[-2:])[-1, 2, 2] = np.nan
    return x


def _run(choice, x, gy, k, s, p, d, ceil):
    with use_kernels(choice):
        xt = foveanet.tensor(x, requires_grad=True)
        y, ind = F.max_pool2d(xt, k, s, p, d, ceil_mode=ceil, return_indices=True)
        (y * foveanet.tensor(gy)).sum().backward()
        return y.numpy(), ind.numpy(), xt.grad.numpy()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", CASES, ids=[f"case{i}" for i in range(len(CASES))])
def test_compiled_equals_numpy_and_torch(case, dtype):
    shape, k, s, p, d, ceil = case
    x = _input(shape, dtype, 0)
    ty, ti = TF.max_pool2d(torch.from_numpy(x), k, s, p, d, ceil_mode=ceil, return_indices=True)
    gy = np.random.default_rng(1).standard_normal(tuple(ty.shape)).astype(dtype)
    y, ind, dx = _run("numba", x, gy, k, s, p, d, ceil)
    ry, rind, rdx = _run("numpy", x, gy, k, s, p, d, ceil)
    np.testing.assert_array_equal(y, ry)
    np.testing.assert_array_equal(ind, rind)
    tol = 1e-12 if dtype == np.float64 else 1e-6
    np.testing.assert_allclose(dx, rdx, rtol=tol, atol=tol)
    xt = torch.tensor(x, requires_grad=True)
    ty = TF.max_pool2d(xt, k, s, p, d, ceil_mode=ceil)
    (ty * torch.from_numpy(gy)).sum().backward()
    np.testing.assert_array_equal(y, ty.detach().numpy())
    np.testing.assert_array_equal(ind, ti.numpy())
    close(dx, xt.grad, what="dx")


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", CASES, ids=[f"case{i}" for i in range(len(CASES))])
def test_values_only_kernel_equals_numpy_and_torch(case, dtype):
    """Inference (no backward, no indices) runs kernels/pooling.py's separable
    max_pool_values: the same values as the NumPy views and torch, -inf windows and NaN too."""
    shape, k, s, p, d, ceil = case
    x = _input(shape, dtype, 5)
    with foveanet.no_grad():
        with use_kernels("numba"):
            y = F.max_pool2d(x, k, s, p, d, ceil_mode=ceil).numpy()
        with use_kernels("numpy"):
            ry = F.max_pool2d(x, k, s, p, d, ceil_mode=ceil).numpy()
    np.testing.assert_array_equal(y, ry)
    np.testing.assert_array_equal(y, TF.max_pool2d(torch.from_numpy(x), k, s, p, d, ceil_mode=ceil).numpy())


def test_max_pool1d_runs_compiled_with_and_without_a_backward(monkeypatch):
    """foveanet/kernels/route.py: with a backward to come the argmax kernel runs; values
    only (no_grad, no indices) max_pool_values, never the argmax kernel."""
    x = _input((2, 3, 17), np.float32, 2, specials=False)
    expected = TF.max_pool1d(torch.from_numpy(x), 3, 2, 1)
    with use_kernels("numba"):
        y = F.max_pool1d(foveanet.tensor(x, requires_grad=True), 3, 2, 1)
        assert y.grad_fn.compiled is not None
        close(y.detach().numpy(), expected)
        ks = foveanet.kernels.load()
        values, calls = ks.max_pool_values, []
        monkeypatch.setattr(ks, "max_pool_forward", None)  # not called
        monkeypatch.setattr(ks, "max_pool_values", lambda *a: calls.append(1) or values(*a))
        with foveanet.no_grad():
            close(F.max_pool1d(x, 3, 2, 1).numpy(), expected)
        close(F.max_pool2d(x[None], 3, 2, 1).numpy()[0],
              TF.max_pool2d(torch.from_numpy(x[None]), 3, 2, 1)[0])
        assert len(calls) == 2


def test_float16_stays_on_the_numpy_views():
    x = _input((1, 2, 6, 6), np.float16, 3, specials=False)
    with use_kernels("numba"):
        y = F.max_pool2d(x, 2).numpy()
    assert y.dtype == np.float16
    np.testing.assert_array_equal(y, TF.max_pool2d(torch.from_numpy(x).float(), 2).half().numpy())


def test_exact_tilings_train_on_the_tiled_kernel():
    """foveanet/kernels/route.py: 2x2/2 on an even map runs kernels/pool_tiled.py when a
    backward follows; an overlapping 3x3/2 the general compiled kernel."""
    x = foveanet.tensor(_input((2, 3, 8, 8), np.float32, 4, specials=False), requires_grad=True)
    with use_kernels("numba"):
        fn = F.max_pool2d(x, 2).grad_fn
        assert fn.compiled is not None and fn.tiled
        fn = F.max_pool2d(x, 3, 2, 1).grad_fn
        assert fn.compiled is not None and not fn.tiled
        with foveanet.no_grad():
            close(F.max_pool2d(x, 2).numpy(), TF.max_pool2d(torch.from_numpy(x.numpy()), 2))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_2x2_pass_equals_the_general_tiling_on_ties_and_nans(dtype):
    """pool_tiled's 2x2 pass against its scan of any window: few distinct values (ties:
    the first maximum wins) and NaN in every cell of a window (the last NaN wins), odd
    sides leaving a remainder row and column that the backward zeroes."""
    from foveanet.kernels import pool_tiled as pt
    rng = np.random.default_rng(7)
    x = rng.integers(0, 3, (3, 4, 9, 11)).astype(dtype)
    x[rng.random(x.shape) < 0.1] = np.nan
    y, y2 = (np.empty((3, 4, 4, 5), dtype) for _ in range(2))
    idx, idx2 = (np.empty(y.shape, np.int32) for _ in range(2))
    pt._forward_any(x, y, idx, 0, 4, 2, 2)
    pt.max_pool_tiled_forward(x, y2, idx2, 0, 4, 2, 2)
    np.testing.assert_array_equal(idx2, idx)
    np.testing.assert_array_equal(y2, y)      # NaN where NaN
    assert np.isnan(y).any() and len(np.unique(idx % 11 % 2 + idx // 11 % 2 * 2)) == 4
    g = rng.standard_normal(y.shape).astype(dtype)
    dx, dx2 = np.empty_like(x), np.full_like(x, 5.0)
    pt._backward_any(g, idx, dx, 0, 4, 2, 2)
    pt.max_pool_tiled_backward(g, idx, dx2, 0, 4, 2, 2)
    np.testing.assert_array_equal(dx2, dx)
    assert (dx2[:, :, 8] == 0).all() and (dx2[:, :, :, 10] == 0).all()
