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


# kind -> (gate blocks, initial states, the functional layer, torch's module, hidden units of
# the row-blocks case, seed); (140, 16, ., 24 or 32): 215k gradients, two blocks of rows on
# two threads
KINDS = {"LSTM": (4, 2, lstm_layer, torch.nn.LSTM, 24, 1), "GRU": (3, 1, gru_layer, torch.nn.GRU, 32, 3)}


def _grads(choice, layer, x, states, w, gy, reverse):
    """Gradients of sum(y * gy) + sum(h_n^2) (+ sum(c_n) for an LSTM) w.r.t. x, the initial
    states and the weights."""
    with use_kernels(choice):
        ts = [foveanet.tensor(a, requires_grad=True) for a in (x, *states, *w)]
        y, h, *c = layer(*ts, reverse=reverse)
        loss = (y * foveanet.tensor(gy)).sum() + (h * h).sum()
        for cell in c:
            loss = loss + cell.sum()
        loss.backward()
        return [t.grad.numpy() for t in ts]


def _torch_grads(module, x, states, w, gy, reverse):
    """The same gradients from torch.nn.LSTM / GRU in float64."""
    rnn = module(x.shape[2], states[0].shape[1]).double()
    params = (rnn.weight_ih_l0, rnn.weight_hh_l0, rnn.bias_ih_l0, rnn.bias_hh_l0)
    with torch.no_grad():
        for p, v in zip(params, w):
            p.copy_(torch.from_numpy(v.astype(np.float64)))
    tx, *ts = (torch.tensor(a.astype(np.float64), requires_grad=True) for a in (x, *states))
    init = tuple(t[None] for t in ts) if len(ts) > 1 else ts[0][None]
    y, last = rnn(tx.flip(0) if reverse else tx, init)
    last = last if isinstance(last, tuple) else (last,)
    loss = ((y.flip(0) if reverse else y) * torch.from_numpy(gy.astype(np.float64))).sum()
    loss = loss + (last[0] * last[0]).sum() + sum(cell.sum() for cell in last[1:])
    loss.backward()
    return [g.numpy() for g in (tx.grad, *(t.grad for t in ts), *(p.grad for p in params))]


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
@pytest.mark.parametrize("size", ["small", "row-blocks"])
def test_compiled_backward_equals_numpy_and_torch(kind, dtype, reverse, size):
    gates, n_states, layer, module, wide, seed = KINDS[kind]
    t_len, n, i, hid = (5, 3, 4, 6) if size == "small" else (140, 16, 8, wide)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((t_len, n, i)).astype(dtype)
    states = [0.5 * rng.standard_normal((n, hid)).astype(dtype) for _ in range(n_states)]
    w = [(0.4 * rng.standard_normal(s)).astype(dtype)
         for s in ((gates * hid, i), (gates * hid, hid), (gates * hid,), (gates * hid,))]
    gy = rng.standard_normal((t_len, n, hid)).astype(dtype)
    got = on_threads(2, lambda: _grads("default", layer, x, states, w, gy, reverse))
    ref = _grads("numpy", layer, x, states, w, gy, reverse)
    tol = 1e-11 if dtype == np.float64 else 2e-5
    for a, b in zip(got, ref):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)
    tol = 1e-10 if dtype == np.float64 else 2e-3
    for a, b in zip(got, _torch_grads(module, x, states, w, gy, reverse)):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


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
