"""The compiled LSTM and GRU backward through time (foveanet/kernels/recurrent.py) against the
NumPy path it replaces (the same formulas; float64 to round-off, float32 to its epsilon) and
against PyTorch, in both directions, with initial states, over blocks of batch rows."""
import numpy as np
import pytest
import torch

import foveanet
from foveanet.backend import use_kernels
from foveanet.functional.recurrent import gru_layer, lstm_layer
from tests.kernels import on_threads

pytest.importorskip("numba")


def _grads(choice, x, h0, c0, w, gy, reverse):
    with use_kernels(choice):
        ts = [foveanet.tensor(a, requires_grad=True) for a in (x, h0, c0, *w)]
        y, h, c = lstm_layer(*ts, reverse=reverse)
        ((y * foveanet.tensor(gy)).sum() + (h * h).sum() + c.sum()).backward()
        return [t.grad.numpy() for t in ts]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
@pytest.mark.parametrize("shape", [(5, 3, 4, 6), (140, 16, 8, 24)], ids=["small", "row-blocks"])
def test_compiled_backward_equals_numpy_and_torch(dtype, reverse, shape):
    t_len, n, i, hid = shape   # (140, 16, ., 24): 215k gradients, two blocks of rows on two threads
    rng = np.random.default_rng(1)
    x = rng.standard_normal((t_len, n, i)).astype(dtype)
    h0, c0 = (0.5 * rng.standard_normal((n, hid)).astype(dtype) for _ in range(2))
    w = [(0.4 * rng.standard_normal(s)).astype(dtype)
         for s in ((4 * hid, i), (4 * hid, hid), (4 * hid,), (4 * hid,))]
    gy = rng.standard_normal((t_len, n, hid)).astype(dtype)
    got = on_threads(2, lambda: _grads("default", x, h0, c0, w, gy, reverse))
    ref = _grads("numpy", x, h0, c0, w, gy, reverse)
    tol = 1e-11 if dtype == np.float64 else 2e-5
    for a, b in zip(got, ref):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)
    lstm = torch.nn.LSTM(i, hid).double()
    with torch.no_grad():
        for p, v in zip((lstm.weight_ih_l0, lstm.weight_hh_l0, lstm.bias_ih_l0, lstm.bias_hh_l0), w):
            p.copy_(torch.from_numpy(v.astype(np.float64)))
    tx, th, tc = (torch.tensor(a.astype(np.float64), requires_grad=True) for a in (x, h0, c0))
    y, (h, c) = lstm(tx.flip(0) if reverse else tx, (th[None], tc[None]))
    ((y.flip(0) if reverse else y) * torch.from_numpy(gy.astype(np.float64))).sum().add(
        (h * h).sum() + c.sum()).backward()
    want = [tx.grad, th.grad, tc.grad, lstm.weight_ih_l0.grad, lstm.weight_hh_l0.grad,
            lstm.bias_ih_l0.grad, lstm.bias_hh_l0.grad]
    tol = 1e-10 if dtype == np.float64 else 2e-3
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b.numpy(), rtol=tol, atol=tol)


def test_row_blocks_are_independent():
    """The kernel on rows [0, 5) and [5, 9) in two calls writes what one call on [0, 9) does."""
    from foveanet.kernels.recurrent import lstm_backward

    rng = np.random.default_rng(2)
    t_len, n, hid = 7, 9, 5
    gates = rng.uniform(0.05, 0.95, (t_len, n, 4 * hid))
    out = rng.standard_normal((t_len, n, 2 * hid))
    grad = rng.standard_normal((t_len, n, 2 * hid))
    c0, w = rng.standard_normal((n, hid)), rng.standard_normal((4 * hid, hid))
    tanh_c = np.tanh(out[:, :, hid:])
    whole = [np.empty((t_len, n, 4 * hid)), np.empty((n, hid)), np.empty((n, hid))]
    lstm_backward(grad, gates, out, tanh_c, c0, w, *whole, 0, n, 1.0)
    split = [np.full_like(a, np.nan) for a in whole]
    for r0, r1 in ((0, 5), (5, 9)):
        lstm_backward(grad, gates, out, tanh_c, c0, w, *split, r0, r1, 1.0)
    for a, b in zip(whole, split):
        np.testing.assert_array_equal(a, b)


def _gru_grads(choice, x, h0, w, gy, reverse):
    with use_kernels(choice):
        ts = [foveanet.tensor(a, requires_grad=True) for a in (x, h0, *w)]
        y, h = gru_layer(*ts, reverse=reverse)
        ((y * foveanet.tensor(gy)).sum() + (h * h).sum()).backward()
        return [t.grad.numpy() for t in ts]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
@pytest.mark.parametrize("shape", [(5, 3, 4, 6), (140, 16, 8, 32)], ids=["small", "row-blocks"])
def test_compiled_gru_backward_equals_numpy_and_torch(dtype, reverse, shape):
    t_len, n, i, hid = shape   # (140, 16, ., 32): 215k gradients, two blocks of rows on two threads
    rng = np.random.default_rng(3)
    x = rng.standard_normal((t_len, n, i)).astype(dtype)
    h0 = 0.5 * rng.standard_normal((n, hid)).astype(dtype)
    w = [(0.4 * rng.standard_normal(s)).astype(dtype)
         for s in ((3 * hid, i), (3 * hid, hid), (3 * hid,), (3 * hid,))]
    gy = rng.standard_normal((t_len, n, hid)).astype(dtype)
    got = on_threads(2, lambda: _gru_grads("default", x, h0, w, gy, reverse))
    ref = _gru_grads("numpy", x, h0, w, gy, reverse)
    tol = 1e-11 if dtype == np.float64 else 2e-5
    for a, b in zip(got, ref):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)
    gru = torch.nn.GRU(i, hid).double()
    with torch.no_grad():
        for p, v in zip((gru.weight_ih_l0, gru.weight_hh_l0, gru.bias_ih_l0, gru.bias_hh_l0), w):
            p.copy_(torch.from_numpy(v.astype(np.float64)))
    tx, th = (torch.tensor(a.astype(np.float64), requires_grad=True) for a in (x, h0))
    y, h = gru(tx.flip(0) if reverse else tx, th[None])
    ((y.flip(0) if reverse else y) * torch.from_numpy(gy.astype(np.float64))).sum().add(
        (h * h).sum()).backward()
    want = [tx.grad, th.grad, gru.weight_ih_l0.grad, gru.weight_hh_l0.grad, gru.bias_ih_l0.grad,
            gru.bias_hh_l0.grad]
    tol = 1e-10 if dtype == np.float64 else 2e-3
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b.numpy(), rtol=tol, atol=tol)
