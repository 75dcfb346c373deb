"""Connectionist temporal classification (CTC) loss: forward-backward in log space.

Graves et al. 2006, "Connectionist Temporal Classification". A label sequence l of length S
is extended with blanks, ``l' = (b, l_1, b, l_2, ..., b, l_S, b)`` of length 2S + 1, and
every frame-wise path that collapses to l (merge repeats, then drop blanks) is summed by
dynamic programming over the frames t = 0..T-1 of one sample. The recursions run as array
operations over the batch here, and as one compiled loop per block of samples where the
kernels are there (``kernels/ctc.py``, held to this path in tests/kernels/test_ctc.py).
"""
from __future__ import annotations

import numpy as np

from foveanet.autograd.function import Function
from foveanet.autograd.tensor import Tensor
from foveanet.backend import devices
from foveanet.backend.arrays import array_module, kernels
from foveanet.functional._loss_common import _reduction
from foveanet.functional._utils import COMPILED_DTYPES, as_tensor, check_float

__all__ = ["ctc_loss"]

_NEG = -np.inf


def _lse(*terms):
    """log(sum(exp(terms))) elementwise, exact for terms equal to -inf."""
    xp = array_module(terms[0])
    m = terms[0]
    for x in terms[1:]:
        m = xp.maximum(m, x)
    safe = xp.where(xp.isfinite(m), m, 0)
    acc = xp.zeros_like(safe)
    for x in terms:
        acc += xp.exp(x - safe)
    with np.errstate(divide="ignore"):
        return xp.where(xp.isfinite(m), safe + xp.log(acc), m)


class _CTC(Function):
    """CTC negative log-likelihood per sample, forward-backward in log space.

    With emissions e_t(s) = log_probs[t, l'_s] (log-probabilities y_t^k), the forward
    variables of one sample (input length L, target length S) are

        alpha_0(0) = e_0(0),  alpha_0(1) = e_0(1),  alpha_0(s) = -inf for s > 1
        alpha_t(s) = e_t(s) + lse(alpha_{t-1}(s), alpha_{t-1}(s-1), [skip_s] alpha_{t-1}(s-2))

    where skip_s holds when l'_s is not blank and l'_s != l'_{s-2}; the backward variables

        beta_{L-1}(2S) = e_{L-1}(2S),  beta_{L-1}(2S-1) = e_{L-1}(2S-1)
        beta_t(s) = e_t(s) + lse(beta_{t+1}(s), beta_{t+1}(s+1), [skip_{s+2}] beta_{t+1}(s+2))

    and ``log p(l|x) = lse(alpha_{L-1}(2S), alpha_{L-1}(2S-1))``; the loss is ``-log p``.
    Since alpha and beta both hold the emission of frame t, for any t

        p = sum_s alpha_t(s) beta_t(s) / y_t^{l'_s}

    and the gradient of the loss with respect to the log-probability of class k at frame t is

        d loss / d log y_t^k = -exp(lse_{s: l'_s = k}(alpha_t(s) + beta_t(s)) - e_t(k) - log p)

    (zero for frames t >= L). PyTorch returns this plus ``y_t^k``, which sums to zero
    through a log_softmax; the value here is the exact partial derivative (gradcheck holds
    on free log-probabilities), and both agree on the gradient of the logits.
    """

    def forward(self, lp, ext, in_len, tgt_len, reduction, zero_infinity):
        xp = array_module(lp)
        ks = kernels(lp)
        if ks.compiled is not None and lp.dtype in COMPILED_DTYPES:   # a GPU's set has none
            nll, grad = self._compiled(xp, ks, lp, ext, in_len, tgt_len)
        else:
            nll, grad = self._recursions(xp, lp, ext, in_len, tgt_len)
        inf = ~xp.isfinite(nll)
        if zero_infinity:
            nll = xp.where(inf, 0, nll).astype(lp.dtype)
        if self.requires_grad:
            if zero_infinity:
                grad[:, inf, :] = 0
            else:
                grad[:, inf, :] = np.nan
            self.grad, self.reduction = grad, reduction
            self.scale = 1.0 / xp.maximum(tgt_len, 1).astype(lp.dtype) / lp.shape[1]

        if reduction == "none":
            return nll.astype(lp.dtype)
        if reduction == "sum":
            return xp.asarray(nll.sum(), dtype=lp.dtype)
        return xp.asarray((nll / xp.maximum(tgt_len, 1)).mean(), dtype=lp.dtype)

    def _recursions(self, xp, lp, ext, in_len, tgt_len):
        """(-log p per sample, the gradient or None): the recursions of the class docstring
        as array operations over the batch, frame by frame."""
        t_max, n, c = lp.shape
        s_ext = ext.shape[1]
        rows = xp.arange(n)
        # emissions e[t, n, s] = lp[t, n, ext[n, s]]
        e = lp[:, rows[:, None], ext]
        blank_ok = xp.zeros((n, s_ext), dtype=bool)  # skip from s-2 allowed at s
        blank_ok[:, 2:] = (ext[:, 2:] != ext[:, :1]) & (ext[:, 2:] != ext[:, :-2])
        blank_ok[:, 2:] &= (xp.arange(s_ext)[None, 2:] % 2 == 1)
        valid = xp.arange(s_ext)[None, :] < (2 * tgt_len + 1)[:, None]
        neg = xp.full((n, s_ext), _NEG, dtype=lp.dtype)

        alpha = xp.full((t_max, n, s_ext), _NEG, dtype=lp.dtype)
        a0 = neg.copy()
        a0[:, 0] = e[0, :, 0]
        a0[:, 1] = xp.where(tgt_len > 0, e[0, :, 1], _NEG) if s_ext > 1 else a0[:, 1]
        alpha[0] = xp.where(valid, a0, _NEG)
        for t in range(1, t_max):
            prev = alpha[t - 1]
            sh1 = xp.concatenate([neg[:, :1], prev[:, :-1]], axis=1)
            sh2 = xp.concatenate([neg[:, :2], prev[:, :-2]], axis=1)[:, :s_ext]
            sh2 = xp.where(blank_ok, sh2, _NEG)
            alpha[t] = xp.where(valid, e[t] + _lse(prev, sh1, sh2), _NEG)

        last = xp.clip(in_len - 1, 0, t_max - 1)
        a_end = alpha[last, rows]                              # (N, S')
        end1 = a_end[rows, 2 * tgt_len]
        end2 = xp.where(tgt_len > 0, a_end[rows, xp.maximum(2 * tgt_len - 1, 0)], _NEG)
        logp = _lse(end1, end2)
        nll = -logp
        grad = None
        if self.requires_grad:
            beta = xp.full((t_max, n, s_ext), _NEG, dtype=lp.dtype)
            init = neg.copy()
            init[rows, 2 * tgt_len] = e[last, rows, 2 * tgt_len]
            has = tgt_len > 0
            idx = xp.maximum(2 * tgt_len - 1, 0)
            init[rows[has], idx[has]] = e[last[has], rows[has], idx[has]]
            skip_next = xp.concatenate([blank_ok[:, 2:], xp.zeros((n, 2), bool)], axis=1)
            nxt = neg
            for t in range(t_max - 1, -1, -1):
                up1 = xp.concatenate([nxt[:, 1:], neg[:, :1]], axis=1)
                up2 = xp.where(skip_next, xp.concatenate([nxt[:, 2:], neg[:, :2]], axis=1), _NEG)
                rec = xp.where(valid, e[t] + _lse(nxt, up1, up2), _NEG)
                cur = xp.where((t == last)[:, None], init, xp.where((t < last)[:, None], rec, _NEG))
                beta[t] = cur
                nxt = cur
            with np.errstate(invalid="ignore"):
                w = alpha + beta - e - logp[None, :, None]
                w = xp.exp(xp.where(xp.isfinite(alpha + beta), w, _NEG))
            grad = xp.zeros_like(lp)
            for s in range(s_ext):
                grad[:, rows, ext[:, s]] -= w[:, :, s]
        return nll, grad

    def _compiled(self, xp, ks, lp, ext, in_len, tgt_len):
        """The same as ``_recursions``, one compiled loop per block of samples
        (``kernels/ctc.py``) on foveanet's threads."""
        t_max, n, _ = lp.shape
        lp = xp.ascontiguousarray(lp)
        alpha = xp.empty((t_max, n, ext.shape[1]), dtype=lp.dtype)
        nll = xp.empty(n, dtype=lp.dtype)
        grad = xp.zeros_like(lp) if self.requires_grad else xp.zeros((1, 1, 1), lp.dtype)
        ninf = lp.dtype.type(-np.inf)
        ks.each_channel_block(n, alpha.size, lambda rows: ks.compiled.ctc_forward_backward(
            lp, ext, in_len, tgt_len, alpha, grad, nll, self.requires_grad, rows.start, rows.stop, ninf))
        return nll, (grad if self.requires_grad else None)

    def backward(self, g):
        if self.reduction == "none":
            per = g
        elif self.reduction == "sum":
            per = array_module(g).broadcast_to(g.astype(self.grad.dtype), self.grad.shape[1:2])
        else:
            per = g * self.scale
        return self.grad * per.astype(self.grad.dtype)[None, :, None], None, None, None


def _lengths(x, n, name):
    arr = devices.to_host(x.data if isinstance(x, Tensor) else x)  # an array's .data is its buffer
    arr = np.atleast_1d(arr).astype(np.int64)
    if arr.shape != (n,):
        raise ValueError(f"ctc_loss: {name} must hold one length per sample ({n}), got shape {arr.shape}")
    return arr


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank: int = 0,
             reduction: str = "mean", zero_infinity: bool = False):
    """Connectionist temporal classification loss of frame-wise log-probabilities.

    The loss of one sample is ``-log p(l | x)``, the probability of its target l summed over
    every alignment (a label or blank per frame) that collapses to l by merging repeats and
    dropping blanks. It is computed by the forward-backward recursion over the target
    extended with blanks ``l' = (b, l_1, b, ..., l_S, b)``, in log space:

        alpha_t(s) = log y_t^{l'_s} + lse(alpha_{t-1}(s), alpha_{t-1}(s-1), alpha_{t-1}(s-2))
        log p = lse(alpha_{L-1}(2S), alpha_{L-1}(2S-1))

    (the s-2 term only where l'_s is a label different from l'_{s-2}). The gradient, from
    the backward variables beta, is

        d loss / d log y_t^k = -exp(lse_{s: l'_s = k}(alpha_t(s) + beta_t(s)) - log y_t^k - log p)

    PyTorch's gradient adds ``y_t^k`` (zero in total through a log_softmax), so the two
    agree on the logits' gradient; this one is the exact partial derivative.

    Args:
        log_probs: (T, N, C) or unbatched (T, C) log-probabilities (a log_softmax output).
        targets: (N, S) padded label ids, or 1-d concatenated targets of total length
            ``sum(target_lengths)``; ids in [0, C) and never ``blank``.
        input_lengths: (N,) frames used per sample, each <= T.
        target_lengths: (N,) labels per sample, each <= S.
        blank: the blank class id (default 0).
        reduction: ``'mean'`` (default: each loss divided by its target length, then the
            batch mean), ``'sum'`` or ``'none'`` (the (N,) losses).
        zero_infinity: set infinite losses (a target that no alignment fits) and their
            gradients to zero (default False).

    Shape:
        - Output: a scalar, or (N,) with ``reduction='none'``.

    Example::

        >>> lp = F.log_softmax(fn.tensor(np.zeros((3, 1, 2), np.float32)), dim=2)
        >>> loss = F.ctc_loss(lp, np.array([[1]]), [3], [1], reduction='sum')
        >>> round(float(loss.numpy()), 4)     # 6 of the 8 paths read "1": -log(6/8)
        0.2877
    """
    reduction = _reduction("ctc_loss", reduction)
    lp = as_tensor(log_probs, "log_probs", "ctc_loss")
    check_float(lp, "ctc_loss", "log_probs")
    unbatched = lp.ndim == 2
    if lp.ndim not in (2, 3):
        raise ValueError(f"ctc_loss: log_probs must be (T, N, C) or (T, C), got shape {tuple(lp.shape)}")
    if unbatched:
        lp = lp.reshape(lp.shape[0], 1, lp.shape[1])
    t_max, n, c = lp.shape
    if not 0 <= blank < c:
        raise ValueError(f"ctc_loss: blank {blank} is out of range for {c} classes")
    # lengths and targets are a few ints each: checked and laid out on the host, then moved
    tg = devices.to_host(targets.data if hasattr(targets, "_ctx") else targets).astype(np.int64)
    if unbatched and tg.ndim == 1:
        tg = tg[None, :]
    in_len = _lengths(input_lengths, n, "input_lengths")
    tgt_len = _lengths(target_lengths, n, "target_lengths")
    if (in_len > t_max).any() or (in_len < 1).any():
        raise ValueError(f"ctc_loss: input_lengths must be in [1, {t_max}], got {in_len.tolist()}")
    if tg.ndim == 1:
        if tg.shape[0] != tgt_len.sum():
            raise ValueError(f"ctc_loss: 1-d targets hold {tg.shape[0]} labels, "
                             f"target_lengths sum to {int(tgt_len.sum())}")
        offs = np.concatenate([[0], np.cumsum(tgt_len)])
        rows = [tg[offs[i]:offs[i + 1]] for i in range(n)]
    elif tg.ndim == 2 and tg.shape[0] == n:
        if (tgt_len > tg.shape[1]).any():
            raise ValueError(f"ctc_loss: target_lengths {tgt_len.tolist()} exceed the padded "
                             f"target length {tg.shape[1]}")
        rows = [tg[i, :tgt_len[i]] for i in range(n)]
    else:
        raise ValueError(f"ctc_loss: targets must be (N, S) or 1-d, got shape {tg.shape} for N={n}")
    s_max = int(tgt_len.max()) if n else 0
    ext = np.full((n, 2 * s_max + 1), blank, dtype=np.int64)
    for i, r in enumerate(rows):
        if ((r < 0) | (r >= c) | (r == blank)).any():
            raise ValueError(f"ctc_loss: target of sample {i} holds {r.tolist()}; labels must be "
                             f"in [0, {c}) and not the blank {blank}")
        ext[i, 1:2 * len(r):2] = r
    ext, in_len, tgt_len = (devices.to_device(a, lp.device) for a in (ext, in_len, tgt_len))
    out = _CTC.apply(lp, ext, in_len, tgt_len, reduction=reduction, zero_infinity=bool(zero_infinity))
    if unbatched and reduction == "none":
        return out.reshape(())
    return out
