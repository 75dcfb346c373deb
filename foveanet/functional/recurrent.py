"""Recurrent layers over time, one direction of one layer per op: LSTM and GRU cells
unrolled over the sequence with backward through time written by hand.

Gate order and weight layout are PyTorch's (``weight_ih`` is (G*H, I), ``weight_hh`` is
(G*H, H), gates stacked i, f, g, o for the LSTM and r, z, n for the GRU), so a
``torch.nn.LSTM``/``GRU`` state_dict loads without renaming. The input-to-hidden products
of all frames are one GEMM before the loop and their gradients one GEMM after it; only the
hidden-to-hidden product runs per frame. The backward loops run compiled where the kernels
are there (``kernels/recurrent.py``); the formulas below are their reference.
"""
from __future__ import annotations

import numpy as np

from foveanet.autograd.function import Function
from foveanet.backend.arrays import array_module, kernels
from foveanet.functional._utils import COMPILED_DTYPES, as_optional, as_tensor

__all__ = ["lstm_layer", "gru_layer"]


def _sigmoid(x):
    return 0.5 * (array_module(x).tanh(0.5 * x) + 1)   # stable for large |x|, same as 1/(1+exp(-x))


def _input_products(x, w_ih, b_ih, b_hh):
    t, n, _ = x.shape
    a = (x.reshape(t * n, -1) @ w_ih.T).reshape(t, n, -1)
    if b_ih is not None:
        a += b_ih
    if b_hh is not None:
        a += b_hh
    return a


def _compiled(grad):
    """The kernel set, if its compiled backward loops (``kernels/recurrent.py``: the formulas
    below, one loop per block of batch rows) take this backward (a GPU's set has none)."""
    ks = kernels(grad)
    return ks if ks.compiled is not None and grad.dtype in COMPILED_DTYPES else None


def _on_row_blocks(ks, n: int, size: int, job) -> None:
    """``job(rows)`` over blocks of the batch's ``n`` rows on foveanet's threads (rows never
    mix in a recurrence), then BLAS's threads back for the weight gradients' GEMMs: the
    region holds BLAS at one thread, and without the hand-back those GEMMs ran on one
    (BiLSTM(256, 96) fwd+bwd, 2 threads: 58.5 ms, the NumPy loop 55.7; with it 43.6)."""
    ks.each_channel_block(n, size, job)
    ks.before_gemm()


def _param_grads(self, x, da_in, da_hh, h_prev, w_ih):
    """Gradients of x, weight_ih, weight_hh, bias_ih, bias_hh from the pre-activation
    gradients of all frames (da_in feeds x W_ih^T + b_ih, da_hh feeds h W_hh^T + b_hh)."""
    t, n, i = x.shape
    gi = da_in.reshape(t * n, -1)
    gh = da_hh.reshape(t * n, -1)
    nig = self.needs_input_grad
    dx = (gi @ w_ih).reshape(t, n, i) if nig[0] else None
    dw_ih = gi.T @ x.reshape(t * n, i) if nig[-4] else None
    dw_hh = gh.T @ h_prev.reshape(t * n, -1) if nig[-3] else None
    db_ih = gi.sum(axis=0) if nig[-2] else None
    db_hh = gh.sum(axis=0) if nig[-1] else None
    if self.reverse and dx is not None:
        dx = dx[::-1]
    return dx, dw_ih, dw_hh, db_ih, db_hh


class _LSTM(Function):
    """One LSTM layer in one direction; the output packs ``[h_t, c_t]`` per frame (T, N, 2H).

    Per frame, with a = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh split into (a_i, a_f, a_g, a_o):

        i = sigmoid(a_i), f = sigmoid(a_f), g = tanh(a_g), o = sigmoid(a_o)
        c_t = f * c_{t-1} + i * g,    h_t = o * tanh(c_t)

    Backward through time, from t = T-1 down, with dh, dc the totals reaching frame t
    (the output's gradient plus what frame t+1 sent back):

        do = dh * tanh(c_t),  dc += dh * o * (1 - tanh(c_t)^2)
        di = dc * g,  dg = dc * i,  df = dc * c_{t-1},  dc_{t-1} = dc * f
        da = (di i(1-i), df f(1-f), dg (1-g^2), do o(1-o)),  dh_{t-1} = da W_hh

    and over all frames dW_ih = sum_t da_t^T x_t, dW_hh = sum_t da_t^T h_{t-1},
    db_ih = db_hh = sum_t da_t, dx_t = da_t W_ih.
    """

    uses_blas = True

    def forward(self, x, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse=False):
        self.reverse = reverse
        xp = array_module(x)
        if reverse:
            x = x[::-1]
        t_len, n, _ = x.shape
        hid = w_hh.shape[1]
        a_in = _input_products(x, w_ih, b_ih, b_hh)
        out = xp.empty((t_len, n, 2 * hid), dtype=x.dtype)
        gates = xp.empty((t_len, n, 4 * hid), dtype=x.dtype) if self.requires_grad else None
        # tanh(c_t), which the backward reads again
        tanh_c = xp.empty((t_len, n, hid), dtype=x.dtype) if self.requires_grad else None
        h, c = h0, c0
        for t in range(t_len):
            a = a_in[t] + h @ w_hh.T
            s = _sigmoid(a)   # all four blocks at once: cheaper than picking three out
            i, f, o = s[:, :hid], s[:, hid:2 * hid], s[:, 3 * hid:]
            g = xp.tanh(a[:, 2 * hid:3 * hid])
            c = f * c + i * g
            tc = xp.tanh(c)
            h = o * tc
            out[t, :, :hid], out[t, :, hid:] = h, c
            if gates is not None:
                gates[t] = xp.concatenate([i, f, g, o], axis=1)
                tanh_c[t] = tc
        if self.requires_grad:
            self.x, self.h0, self.c0, self.w_ih, self.w_hh = x, h0, c0, w_ih, w_hh
            self.out, self.gates, self.tanh_c = out, gates, tanh_c
        return out[::-1].copy() if reverse else out

    def backward(self, grad):
        xp = array_module(grad)
        if self.reverse:
            grad = grad[::-1]
        out, gates, w_hh = self.out, self.gates, self.w_hh
        t_len, n, two_h = out.shape
        hid = two_h // 2
        h_all, c_all = out[:, :, :hid], out[:, :, hid:]
        da = xp.empty_like(gates)
        ks = _compiled(grad)
        if ks is not None:
            # the reversed direction's grad is a negative-stride view: the copy costs 0.05 ms,
            # the kernel reading the view 0.4 ms more (140 x 16 x 192 float32)
            grad, c0 = xp.ascontiguousarray(grad), xp.ascontiguousarray(self.c0)
            w = xp.ascontiguousarray(w_hh)
            dh = xp.empty((n, hid), dtype=grad.dtype)
            dc = xp.empty_like(dh)
            one = grad.dtype.type(1)
            _on_row_blocks(ks, n, da.size, lambda rows: ks.compiled.lstm_backward(
                grad, gates, out, self.tanh_c, c0, w, da, dh, dc, rows.start, rows.stop, one))
        else:
            dh = xp.zeros((n, hid), dtype=out.dtype)
            dc = xp.zeros_like(dh)
            for t in range(t_len - 1, -1, -1):
                i, f, g, o = (gates[t, :, k * hid:(k + 1) * hid] for k in range(4))
                c_prev = c_all[t - 1] if t else self.c0
                tc = self.tanh_c[t]
                dh = dh + grad[t, :, :hid]
                dc = dc + grad[t, :, hid:] + dh * o * (1 - tc * tc)
                da[t, :, :hid] = dc * g * i * (1 - i)
                da[t, :, hid:2 * hid] = dc * c_prev * f * (1 - f)
                da[t, :, 2 * hid:3 * hid] = dc * i * (1 - g * g)
                da[t, :, 3 * hid:] = dh * tc * o * (1 - o)
                dc = dc * f
                dh = da[t] @ w_hh
        h_prev = xp.concatenate([self.h0[None], h_all[:-1]], axis=0)
        dx, dw_ih, dw_hh, db_ih, db_hh = _param_grads(self, self.x, da, da, h_prev, self.w_ih)
        return dx, dh, dc, dw_ih, dw_hh, db_ih, db_hh


class _GRU(Function):
    """One GRU layer in one direction; the output is h_t per frame (T, N, H).

    Per frame, with gi = x_t W_ih^T + b_ih and gh = h_{t-1} W_hh^T + b_hh split into (r, z, n):

        r = sigmoid(gi_r + gh_r),  z = sigmoid(gi_z + gh_z)
        n = tanh(gi_n + r * gh_n),  h_t = (1 - z) * n + z * h_{t-1}

    Backward through time, with dh the total reaching frame t:

        dn = dh (1 - z),  dz = dh (h_{t-1} - n),  da_n = dn (1 - n^2)
        da_r = da_n gh_n r (1 - r),  da_z = dz z (1 - z)
        dgi = (da_r, da_z, da_n),  dgh = (da_r, da_z, da_n * r)
        dh_{t-1} = dh z + dgh W_hh

    and dW_ih = sum_t dgi_t^T x_t, dW_hh = sum_t dgh_t^T h_{t-1}, db_ih = sum_t dgi_t,
    db_hh = sum_t dgh_t, dx_t = dgi_t W_ih.
    """

    uses_blas = True

    def forward(self, x, h0, w_ih, w_hh, b_ih, b_hh, reverse=False):
        self.reverse = reverse
        xp = array_module(x)
        if reverse:
            x = x[::-1]
        t_len, n, _ = x.shape
        hid = w_hh.shape[1]
        gi_all = _input_products(x, w_ih, b_ih, None)
        out = xp.empty((t_len, n, hid), dtype=x.dtype)
        keep = xp.empty((t_len, n, 4 * hid), dtype=x.dtype) if self.requires_grad else None
        h = h0
        for t in range(t_len):
            gh = h @ w_hh.T
            if b_hh is not None:
                gh += b_hh
            gi = gi_all[t]
            rz = _sigmoid(gi[:, :2 * hid] + gh[:, :2 * hid])
            r, z = rz[:, :hid], rz[:, hid:]
            nn_ = xp.tanh(gi[:, 2 * hid:] + r * gh[:, 2 * hid:])
            h = (1 - z) * nn_ + z * h
            out[t] = h
            if keep is not None:
                keep[t] = xp.concatenate([r, z, nn_, gh[:, 2 * hid:]], axis=1)
        if self.requires_grad:
            self.x, self.h0, self.w_ih, self.w_hh, self.out, self.keep = x, h0, w_ih, w_hh, out, keep
        return out[::-1].copy() if reverse else out

    def backward(self, grad):
        xp = array_module(grad)
        if self.reverse:
            grad = grad[::-1]
        out, keep, w_hh = self.out, self.keep, self.w_hh
        t_len, n, hid = out.shape
        dgi = xp.empty((t_len, n, 3 * hid), dtype=out.dtype)
        dgh = xp.empty_like(dgi)
        ks = _compiled(grad)
        if ks is not None:
            grad, h0 = xp.ascontiguousarray(grad), xp.ascontiguousarray(self.h0)
            w = xp.ascontiguousarray(w_hh)
            dh = xp.empty((n, hid), dtype=grad.dtype)
            one = grad.dtype.type(1)
            _on_row_blocks(ks, n, dgi.size, lambda rows: ks.compiled.gru_backward(
                grad, keep, out, h0, w, dgi, dgh, dh, rows.start, rows.stop, one))
        else:
            dh = xp.zeros((n, hid), dtype=out.dtype)
            for t in range(t_len - 1, -1, -1):
                r, z, nn_, ghn = (keep[t, :, k * hid:(k + 1) * hid] for k in range(4))
                h_prev = out[t - 1] if t else self.h0
                dh = dh + grad[t]
                da_n = dh * (1 - z) * (1 - nn_ * nn_)
                da_r = da_n * ghn * r * (1 - r)
                da_z = dh * (h_prev - nn_) * z * (1 - z)
                dgi[t, :, :hid], dgi[t, :, hid:2 * hid], dgi[t, :, 2 * hid:] = da_r, da_z, da_n
                dgh[t, :, :2 * hid] = dgi[t, :, :2 * hid]
                dgh[t, :, 2 * hid:] = da_n * r
                dh = dh * z + dgh[t] @ w_hh
        h_prev = xp.concatenate([self.h0[None], out[:-1]], axis=0)
        dx, dw_ih, dw_hh, db_ih, db_hh = _param_grads(self, self.x, dgi, dgh, h_prev, self.w_ih)
        return dx, dh, dw_ih, dw_hh, db_ih, db_hh


def lstm_layer(input, h0, c0, weight_ih, weight_hh, bias_ih=None, bias_hh=None, reverse=False):
    """One LSTM layer in one direction over a (T, N, I) sequence, with PyTorch's gate order.

    Per frame, with ``a = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh`` split into four
    H-wide blocks (input, forget, cell, output gates):

        i = sigmoid(a_i), f = sigmoid(a_f), g = tanh(a_g), o = sigmoid(a_o)
        c_t = f * c_{t-1} + i * g,    h_t = o * tanh(c_t)

    The backward runs through time from the last frame to the first (formulas on
    ``_LSTM``). ``reverse=True`` reads the sequence from the last frame (the backward
    direction of a bidirectional layer); outputs stay in input order.

    Args:
        input: (T, N, I) sequence.
        h0, c0: (N, H) initial hidden and cell states.
        weight_ih: (4H, I); weight_hh: (4H, H); bias_ih, bias_hh: (4H,) or None.
        reverse: run from frame T-1 down to 0 (default False).

    Returns:
        (output, h_n, c_n): the (T, N, H) hidden states and the last frame's (N, H) states.

    Example::

        >>> from foveanet.functional.recurrent import lstm_layer
        >>> z = np.zeros
        >>> y, h, c = lstm_layer(z((2, 1, 1), np.float32), z((1, 1), np.float32), z((1, 1), np.float32),
        ...                      z((4, 1), np.float32), z((4, 1), np.float32), np.ones(4, np.float32))
        >>> round(float(c.numpy()[0, 0]), 4)    # c_1 = s(1) tanh(1); c_2 = s(1) c_1 + s(1) tanh(1)
        1.2153
    """
    x = as_tensor(input, op="lstm")
    hid = weight_hh.shape[1]
    packed = _LSTM.apply(x, as_tensor(h0), as_tensor(c0), as_tensor(weight_ih), as_tensor(weight_hh),
                         as_optional(bias_ih, "bias_ih"), as_optional(bias_hh, "bias_hh"),
                         reverse=bool(reverse))
    last = 0 if reverse else -1
    return packed[:, :, :hid], packed[last, :, :hid], packed[last, :, hid:]


def gru_layer(input, h0, weight_ih, weight_hh, bias_ih=None, bias_hh=None, reverse=False):
    """One GRU layer in one direction over a (T, N, I) sequence, with PyTorch's gate order.

    Per frame, with ``gi = x_t W_ih^T + b_ih`` and ``gh = h_{t-1} W_hh^T + b_hh`` split into
    reset, update and new blocks:

        r = sigmoid(gi_r + gh_r),  z = sigmoid(gi_z + gh_z)
        n = tanh(gi_n + r * gh_n),  h_t = (1 - z) * n + z * h_{t-1}

    The backward runs through time (formulas on ``_GRU``).

    Args:
        input: (T, N, I) sequence.
        h0: (N, H) initial hidden state.
        weight_ih: (3H, I); weight_hh: (3H, H); bias_ih, bias_hh: (3H,) or None.
        reverse: run from frame T-1 down to 0 (default False).

    Returns:
        (output, h_n): the (T, N, H) hidden states and the last frame's (N, H) state.

    Example::

        >>> from foveanet.functional.recurrent import gru_layer
        >>> z = np.zeros
        >>> y, h = gru_layer(z((1, 1, 1), np.float32), z((1, 1), np.float32),
        ...                  z((3, 1), np.float32), z((3, 1), np.float32), np.ones(3, np.float32))
        >>> round(float(h.numpy()[0, 0]), 4)    # (1 - s(1)) tanh(1 + s(1))
        0.2634
    """
    x = as_tensor(input, op="gru")
    out = _GRU.apply(x, as_tensor(h0), as_tensor(weight_ih), as_tensor(weight_hh),
                     as_optional(bias_ih, "bias_ih"), as_optional(bias_hh, "bias_hh"),
                     reverse=bool(reverse))
    return out, out[0 if reverse else -1]
