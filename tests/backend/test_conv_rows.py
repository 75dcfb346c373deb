"""The row-GEMM conv1d engine (backend/cpu/conv/rows.py) as a text CNN calls it: on an
embedding's (N, L, C) output seen transposed (rows taken as a view, dX handed back in that
layout) and on a padded input (rows copied), one and two threads, several dW groups;
against the reference formulas (float64 to round-off) and PyTorch (float32)."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import foveanet
import foveanet.functional as F
from foveanet.backend import use_kernels
from foveanet.backend.cpu import threads
from foveanet.backend.cpu.conv import route, rows
from foveanet.geometry import ConvGeom


@pytest.fixture(params=[1, 2], ids=["1thread", "2threads"])
def workers(request):
    before = threads.workers()
    threads.set_workers(request.param)
    yield
    threads.set_workers(before)


def _step(choice, x, w, b, gy, padding, dilation):
    with use_kernels(choice):
        xt, wt, bt = (foveanet.tensor(a, requires_grad=True) for a in (x, w, b))
        y = F.conv1d(xt.transpose(1, 2), wt, bt, padding=padding, dilation=dilation)
        (y * foveanet.tensor(gy)).sum().backward()
        return y.numpy(), xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("padding,dilation,k", [(0, 1, 2), (0, 2, 4), (2, 1, 3)],
                         ids=["view-k2", "view-dilated", "padded"])
def test_rows_engine_equals_reference_and_torch(workers, monkeypatch, dtype, padding, dilation, k):
    monkeypatch.setattr(rows, "DW_GROUP_ROWS", 40)   # two sequences per dW task: 3 tasks
    rng = np.random.default_rng(k)
    N, L, C, Co = 5, 19, 64, 6
    x = rng.standard_normal((N, L, C)).astype(dtype)   # (N, L, C): conv1d sees (N, C, L)
    w = rng.standard_normal((Co, C, k)).astype(dtype)
    b = rng.standard_normal(Co).astype(dtype)
    lo = L + 2 * padding - dilation * (k - 1)
    gy = rng.standard_normal((N, Co, lo)).astype(dtype)
    g = ConvGeom(N, C, 1, L, Co, 1, 1, k, (1, 1), (1, dilation), (0, 0, padding, padding))
    assert route.path(g) == "rows"
    got = _step("numpy", x, w, b, gy, padding, dilation)
    ref = _step("reference", x, w, b, gy, padding, dilation)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    ty = TF.conv1d(tx.transpose(1, 2), tw, tb, padding=padding, dilation=dilation)
    (ty * torch.from_numpy(gy)).sum().backward()
    theirs = (ty.detach().numpy(), tx.grad.numpy(), tw.grad.numpy(), tb.grad.numpy())
    tol = 1e-10 if dtype == np.float64 else 2e-4
    for a, r, t in zip(got, ref, theirs):
        assert a.shape == r.shape == t.shape
        np.testing.assert_allclose(a, r, rtol=tol, atol=tol * np.abs(r).max())
        np.testing.assert_allclose(a, t, rtol=tol, atol=tol * np.abs(t).max())


def test_rows_are_a_view_of_an_unpadded_transposed_input():
    """No copy in: the rows engine reads the (N, L, C) memory itself; a padded input is copied."""
    x = np.random.default_rng(0).standard_normal((3, 11, 64)).astype(np.float32)
    xt = x.transpose(0, 2, 1)[:, :, None, :]                      # (N, C, 1, L)
    g = ConvGeom(3, 64, 1, 11, 8, 1, 1, 3, (1, 1), (1, 1), (0, 0, 0, 0))
    assert np.shares_memory(rows.to_rows(xt, g), x)
    g_pad = ConvGeom(3, 64, 1, 11, 8, 1, 1, 3, (1, 1), (1, 1), (0, 0, 1, 1))
    r = rows.to_rows(xt, g_pad)
    assert not np.shares_memory(r, x) and r.shape == (3 * 13, 64)
    np.testing.assert_array_equal(r.reshape(3, 13, 64)[:, 1:12], x)


def test_an_empty_batch_gives_zero_weight_gradients():
    x = foveanet.zeros(0, 10, 64, requires_grad=True)
    w = foveanet.ones(4, 64, 3, requires_grad=True)
    y = F.conv1d(x.transpose(1, 2), w)
    assert y.shape == (0, 4, 8)
    y.sum().backward()
    assert x.grad.shape == (0, 10, 64)
    assert w.grad.shape == (4, 64, 3) and not w.grad.numpy().any()


@pytest.mark.parametrize("shape,k", [((6, 96, 1, 1), 1), ((4, 64, 1, 9), 3)], ids=["se-1x1", "short-k3"])
def test_short_sequences_run_as_one_gemm_and_equal_torch(workers, shape, k):
    # an SE block's 1x1 maps (one-row sequences) and a short 1-d input take the whole-batch GEMM
    g = ConvGeom(shape[0], shape[1], 1, shape[3], 24, 1, 1, k, (1, 1), (1, 1), (0, 0, 0, 0))
    assert route.path(g) == "rows" and g.Wp < rows.SHORT_SEQUENCE
    rng = np.random.default_rng(3)
    x, w, b = (rng.standard_normal(s) for s in (shape, (24, shape[1], 1, k), (24,)))
    gy = rng.standard_normal((shape[0], 24, 1, shape[3] - k + 1))
    xt, wt, bt = (foveanet.tensor(a, requires_grad=True) for a in (x, w, b))
    y = F.conv2d(xt, wt, bt)
    (y * foveanet.tensor(gy)).sum().backward()
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    ty = TF.conv2d(tx, tw, tb)
    (ty * torch.tensor(gy)).sum().backward()
    for ours, ref in ((y.numpy(), ty.detach()), (xt.grad.numpy(), tx.grad), (wt.grad.numpy(), tw.grad)):
        np.testing.assert_allclose(ours, ref.numpy(), rtol=1e-10, atol=1e-10)
