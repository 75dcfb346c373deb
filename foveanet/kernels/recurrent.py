"""An LSTM or GRU layer's backward through time, for a block of batch rows.

The NumPy path (``functional/recurrent.py``, which states the formulas) runs some fifteen
small array operations per frame, each a few microseconds of dispatch on a (N, H) array:
for a line recognizer's 140 frames of 16 lines with 96 units that is most of the layer's
backward, on one thread. Here the whole sequence is one compiled loop, and since batch rows
never mix in the recurrence, a caller runs blocks of rows on its threads. From the last
frame down, with dh, dc the totals reaching frame t:

    do = dh tanh(c_t),  dc += dh o (1 - tanh(c_t)^2)
    da = (dc g i(1-i), dc c_{t-1} f(1-f), dc i (1-g^2), do o(1-o)),  dc_{t-1} = dc f
    dh_{t-1} = da W_hh

The product with W_hh runs as multiply-adds along its contiguous rows, four rows a pass,
each read once per frame for all the block's rows (``_add_product``, both layers); tanh(c_t)
is the forward's, kept. The
forward stays NumPy's: its five tanh per unit cost ~15 ns each as scalar calls in a compiled
loop against ~0.4 ns in NumPy's vectorised tanh, and a compiled forward measured 24 ms
against NumPy's 8.5 for (T, N, H) = (140, 16, 96), one thread. ``gru_backward`` is the
same loop for a GRU (its formulas on the function).

Measured (``python -m benchmarks.bench_sequence``, 2-core AMD EPYC, wall ms min, NumPy loop ->
this kernel): one direction's loop alone 7.5 -> 4.1 ms (one thread; 2.0 for half the rows);
a bidirectional LSTM(256, 96) over 140 frames of 16 lines, fwd+bwd, 54.2 -> 43.6 ms on two
threads, 68.1 -> 61.0 on one; a bidirectional GRU of the same size 42.0 -> 34.7 ms on two;
the Odia recipe's CRNN training step with the CTC kernel too 141-144 -> 127-132 ms (median
of paired rounds 0.87-0.89).
"""
from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["lstm_backward", "gru_backward"]


@njit(cache=True, nogil=True, inline="always", fastmath={"contract"})
def _add_product(dh, d, r0, w):
    """``dh[b, k] += sum_j d[r0 + b, j] w[j, k]`` for the block's rows b: a frame's product
    with W_hh, four weight rows a pass (each pass reads them once for all the rows and
    writes dh once for four), the last G mod 4 rows one at a time."""
    G, H = w.shape
    j = 0
    while j + 4 <= G:
        for b in range(dh.shape[0]):
            n = r0 + b
            d0, d1, d2, d3 = d[n, j], d[n, j + 1], d[n, j + 2], d[n, j + 3]
            for k in range(H):
                dh[b, k] += d0 * w[j, k] + d1 * w[j + 1, k] + d2 * w[j + 2, k] + d3 * w[j + 3, k]
        j += 4
    while j < G:
        for b in range(dh.shape[0]):
            dj = d[r0 + b, j]
            for k in range(H):
                dh[b, k] += dj * w[j, k]
        j += 1


@njit(cache=True, nogil=True, fastmath={"contract"})
def lstm_backward(grad, gates, out, tanh_c, c0, w_hh, da, dh0, dc0, r0, r1, one):
    """Rows [r0, r1): the pre-activation gradients ``da`` (T, N, 4H) of every frame from
    the output's gradient ``grad`` (T, N, 2H: of h_t and c_t), and the gradients of the
    initial states into ``dh0``, ``dc0`` (N, H). The forward's ``gates`` (T, N, 4H: i, f,
    g, o), ``out`` (T, N, 2H: h_t, c_t) and ``tanh_c`` (T, N, H), ``w_hh`` W_hh (4H, H),
    all contiguous; ``one`` is 1 in the arrays' dtype (a literal would make float32
    arithmetic float64)."""
    T, _, G = gates.shape
    H = G // 4
    zero = one - one
    dh = np.zeros_like(dh0[r0:r1])
    dc = np.zeros_like(dc0[r0:r1])
    for t in range(T - 1, -1, -1):
        for b in range(r1 - r0):
            n = r0 + b
            for j in range(H):
                i = gates[t, n, j]
                f = gates[t, n, H + j]
                g = gates[t, n, 2 * H + j]
                o = gates[t, n, 3 * H + j]
                c_prev = out[t - 1, n, H + j] if t else c0[n, j]
                tc = tanh_c[t, n, j]
                dhj = dh[b, j] + grad[t, n, j]
                dcj = dc[b, j] + grad[t, n, H + j] + dhj * o * (one - tc * tc)
                da[t, n, j] = dcj * g * i * (one - i)
                da[t, n, H + j] = dcj * c_prev * f * (one - f)
                da[t, n, 2 * H + j] = dcj * i * (one - g * g)
                da[t, n, 3 * H + j] = dhj * tc * o * (one - o)
                dc[b, j] = dcj * f
        dh[:] = zero
        _add_product(dh, da[t], r0, w_hh)   # dh_{t-1} = da_t W_hh
    for b in range(r1 - r0):
        for j in range(H):
            dh0[r0 + b, j] = dh[b, j]
            dc0[r0 + b, j] = dc[b, j]


@njit(cache=True, nogil=True, fastmath={"contract"})
def gru_backward(grad, keep, out, h0, w_hh, dgi, dgh, dh0, r0, r1, one):
    """A GRU layer's backward, rows [r0, r1): the gradients ``dgi`` and ``dgh`` (T, N, 3H) of
    each frame's input and hidden products from the output's gradient ``grad`` (T, N, H),
    and the initial state's into ``dh0`` (N, H). ``keep`` (T, N, 4H: r, z, n and the hidden
    product's n block), ``out`` (T, N, H), ``w_hh`` W_hh (3H, H), all contiguous. With dh
    the total reaching frame t:

        da_n = dh (1 - z)(1 - n^2),  da_r = da_n gh_n r (1 - r),  da_z = dh (h_{t-1} - n) z (1 - z)
        dgi = (da_r, da_z, da_n),  dgh = (da_r, da_z, da_n r),  dh_{t-1} = dh z + dgh W_hh
    """
    T, _, H = out.shape
    dh = np.zeros_like(dh0[r0:r1])
    for t in range(T - 1, -1, -1):
        for b in range(r1 - r0):
            n = r0 + b
            for j in range(H):
                r = keep[t, n, j]
                z = keep[t, n, H + j]
                nn = keep[t, n, 2 * H + j]
                ghn = keep[t, n, 3 * H + j]
                h_prev = out[t - 1, n, j] if t else h0[n, j]
                d = dh[b, j] + grad[t, n, j]
                da_n = d * (one - z) * (one - nn * nn)
                da_r = da_n * ghn * r * (one - r)
                da_z = d * (h_prev - nn) * z * (one - z)
                dgi[t, n, j] = da_r
                dgi[t, n, H + j] = da_z
                dgi[t, n, 2 * H + j] = da_n
                dgh[t, n, j] = da_r
                dgh[t, n, H + j] = da_z
                dgh[t, n, 2 * H + j] = da_n * r
                dh[b, j] = d * z
        _add_product(dh, dgh[t], r0, w_hh)   # dh_{t-1} = dh z + dgh_t W_hh
    for b in range(r1 - r0):
        for j in range(H):
            dh0[r0 + b, j] = dh[b, j]
