"""The compiled CTC forward-backward (foveanet/kernels/ctc.py) against the NumPy recursions it
replaces and against PyTorch: repeated labels, empty targets, inputs shorter than the frames,
targets no alignment fits (zero_infinity on and off), float64 and float32, on blocks of
samples across two threads."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import foveanet
import foveanet.nn.functional as F
from foveanet.backend import use_kernels
from tests.kernels import on_threads

pytest.importorskip("numba")


def _case(rng, t_max, n, c, dtype):
    lp = np.log(rng.dirichlet(np.ones(c), (t_max, n))).astype(dtype)
    tgt_len = rng.integers(0, 6, n)
    tgt_len[0] = 5
    tg = rng.integers(1, c, (n, 5))
    tg[0, :3] = 2                       # a repeated label: a blank must separate them
    in_len = rng.integers(t_max // 2, t_max + 1, n)
    in_len[0] = t_max
    in_len[-1] = 2                      # too short for its target unless that is empty
    tgt_len[-1] = 4
    return lp, tg, in_len, tgt_len


def _run(choice, lp, tg, in_len, tgt_len, zero_infinity):
    with use_kernels(choice):
        x = foveanet.tensor(lp, requires_grad=True)
        loss = F.ctc_loss(x, tg, in_len, tgt_len, reduction="none", zero_infinity=zero_infinity)
        (loss * foveanet.tensor(np.linspace(0.5, 1.5, len(in_len)).astype(lp.dtype))).sum().backward()
        return loss.numpy(), x.grad.numpy()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("zero_infinity", [True, False])
@pytest.mark.parametrize("size", [(12, 5, 4), (140, 16, 30)], ids=["small", "sample-blocks"])
def test_compiled_equals_numpy_and_torch(dtype, zero_infinity, size):
    rng = np.random.default_rng(7)
    lp, tg, in_len, tgt_len = _case(rng, *size, dtype)
    got = on_threads(2, lambda: _run("default", lp, tg, in_len, tgt_len, zero_infinity))
    ref = _run("numpy", lp, tg, in_len, tgt_len, zero_infinity)
    tol = 1e-12 if dtype == np.float64 else 2e-5
    for a, b in zip(got, ref):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)   # NaN rows must match NaN rows
    assert np.isinf(got[0][-1]) != zero_infinity                # the infeasible sample
    x = torch.tensor(lp.astype(np.float64), requires_grad=True)
    want = TF.ctc_loss(x, torch.from_numpy(tg), torch.from_numpy(in_len), torch.from_numpy(tgt_len),
                       reduction="none", zero_infinity=zero_infinity)
    tol = 1e-10 if dtype == np.float64 else 1e-4
    np.testing.assert_allclose(got[0], want.detach().numpy(), rtol=tol, atol=tol)
    # torch's gradient adds y_t^k (exp(lp)) per sample weight; on the samples some alignment fits
    (want * torch.from_numpy(np.linspace(0.5, 1.5, len(in_len)))).sum().backward()
    ok = np.isfinite(_run("numpy", lp, tg, in_len, tgt_len, False)[0])
    assert not ok[-1] and ok[:-1].sum() >= len(ok) - 2
    frames = np.arange(lp.shape[0])[:, None] < in_len[None, :]
    weight = np.linspace(0.5, 1.5, len(in_len))[None, :, None]
    mine = got[1].astype(np.float64) + np.exp(lp.astype(np.float64)) * weight * frames[:, :, None]
    np.testing.assert_allclose(mine[:, ok], x.grad.numpy()[:, ok], rtol=tol * 10, atol=tol * 10)
