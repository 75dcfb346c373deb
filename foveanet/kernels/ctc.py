"""The CTC loss's forward-backward in log space and its gradient, for a block of samples.

The NumPy path (``functional/ctc.py``, which states the recursions) steps through the frames
with some twenty array operations each, on (N, 2S+1) arrays: for a line recognizer's 140
frames of 16 lines that is dispatch, on one thread. Here each sample's alpha recursion, its
beta recursion and the gradient are one compiled loop; samples never mix, so a caller runs
blocks of them on its threads. With e_t(s) the log-probability of l'_s at frame t:

    alpha_t(s) = e_t(s) + lse(alpha_{t-1}(s), alpha_{t-1}(s-1), [skip_s] alpha_{t-1}(s-2))
    beta_t(s)  = e_t(s) + lse(beta_{t+1}(s), beta_{t+1}(s+1), [skip_{s+2}] beta_{t+1}(s+2))
    log p = lse(alpha_{L-1}(2S), alpha_{L-1}(2S-1))
    d loss / d log y_t^{l'_s} -= exp(alpha_t(s) + beta_t(s) - e_t(s) - log p)

beta is kept for one frame at a time: each frame's gradient is taken as soon as its beta is
known. The log-sum-exps are NumPy's, term for term (the maximum subtracted, -inf and NaN
passed through). Measured (``python -m benchmarks.bench_sequence``, 2-core AMD EPYC, wall ms
min): 140 frames of 16 lines over 99 classes with 20-label targets, fwd+bwd, NumPy 8.8 ->
compiled 3.4 (2 threads), 8.9 -> 3.7 (1 thread).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["ctc_forward_backward"]


@njit(cache=True, nogil=True, inline="always")
def _max(a, b):
    """np.maximum of two numbers: NaN if either is."""
    if a != a or b != b:
        return a + b
    return a if a >= b else b


@njit(cache=True, nogil=True, inline="always")
def _lse3(a, b, c):
    """log(exp(a) + exp(b) + exp(c)) as ``functional.ctc._lse`` computes it."""
    m = _max(_max(a, b), c)
    if not math.isfinite(m):
        return m
    return m + math.log(math.exp(a - m) + math.exp(b - m) + math.exp(c - m))


@njit(cache=True, nogil=True)
def ctc_forward_backward(lp, ext, in_len, tgt_len, alpha, grad, nll, want_grad, r0, r1, ninf):
    """Samples [r0, r1): ``nll[n] = -log p`` and, with ``want_grad``, the loss's gradient
    with respect to ``lp`` (T, N, C) subtracted into ``grad`` (zeros of lp's shape).
    ``ext`` (N, 2S+1) is each target extended with blanks (padded with the blank),
    ``in_len``, ``tgt_len`` (N,) the lengths, ``alpha`` (T, N, 2S+1) a work buffer,
    ``ninf`` -inf in lp's dtype. A sample whose loss is infinite keeps its gradient as
    computed; the caller zeroes it or sets NaN."""
    T = lp.shape[0]
    S = ext.shape[1]
    nxt = np.empty_like(alpha[0, 0])   # beta of frames t + 1 and t
    cur = np.empty_like(alpha[0, 0])
    for n in range(r0, r1):
        sv = 2 * tgt_len[n] + 1
        last = min(max(in_len[n] - 1, 0), T - 1)
        for s in range(S):
            alpha[0, n, s] = ninf
        alpha[0, n, 0] = lp[0, n, ext[n, 0]]
        if tgt_len[n] > 0:
            alpha[0, n, 1] = lp[0, n, ext[n, 1]]
        for t in range(1, last + 1):
            for s in range(S):
                if s >= sv:
                    alpha[t, n, s] = ninf
                    continue
                a = alpha[t - 1, n, s]
                b = alpha[t - 1, n, s - 1] if s >= 1 else ninf
                skip = s >= 2 and s % 2 == 1 and ext[n, s] != ext[n, 0] and ext[n, s] != ext[n, s - 2]
                c = alpha[t - 1, n, s - 2] if skip else ninf
                alpha[t, n, s] = lp[t, n, ext[n, s]] + _lse3(a, b, c)
        end2 = alpha[last, n, 2 * tgt_len[n] - 1] if tgt_len[n] > 0 else ninf
        logp = _lse3(alpha[last, n, 2 * tgt_len[n]], end2, ninf)
        nll[n] = -logp
        if not want_grad:
            continue
        for t in range(last, -1, -1):   # frames after the last have beta = -inf: no gradient
            if t == last:
                for s in range(S):
                    cur[s] = ninf
                cur[2 * tgt_len[n]] = lp[last, n, ext[n, 2 * tgt_len[n]]]
                if tgt_len[n] > 0:
                    cur[2 * tgt_len[n] - 1] = lp[last, n, ext[n, 2 * tgt_len[n] - 1]]
            else:
                for s in range(S):
                    if s >= sv:
                        cur[s] = ninf
                        continue
                    b = nxt[s + 1] if s + 1 < S else ninf
                    u = s + 2
                    skip = (u < S and u % 2 == 1 and ext[n, u] != ext[n, 0]
                            and ext[n, u] != ext[n, u - 2])
                    c = nxt[u] if skip else ninf
                    cur[s] = lp[t, n, ext[n, s]] + _lse3(nxt[s], b, c)
            for s in range(sv):
                ab = alpha[t, n, s] + cur[s]
                if math.isfinite(ab):
                    k = ext[n, s]
                    grad[t, n, k] -= math.exp(ab - lp[t, n, k] - logp)
            for s in range(S):
                nxt[s] = cur[s]
