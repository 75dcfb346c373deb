"""The compiled embedding scatter-add (foveanet/kernels/embedding.py) against the NumPy
reference (np.add.at: the same additions in the same order, so the same bits) and against
PyTorch, with repeated ids, a padding row and scale_grad_by_freq."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import foveanet
import foveanet.functional as F
from foveanet.backend import use_kernels

pytest.importorskip("numba")


def _grad(choice, w, ids, gy, **kw):
    with use_kernels(choice):
        wt = foveanet.tensor(w, requires_grad=True)
        (F.embedding(ids, wt, **kw) * foveanet.tensor(gy)).sum().backward()
        return wt.grad.numpy()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kw", [{}, {"padding_idx": 3}, {"scale_grad_by_freq": True}],
                         ids=["plain", "padding", "freq"])
@pytest.mark.parametrize("shape", [(4, 50), (64, 300)], ids=["small", "blocks"])
def test_compiled_equals_numpy_and_torch(dtype, kw, shape):
    rng = np.random.default_rng(0)
    v, d = 40, 7 if shape[0] < 10 else 300   # 64 x 300 x 300 columns: two column blocks
    w = rng.standard_normal((v, d)).astype(dtype)
    ids = rng.integers(0, v, shape)           # far more positions than ids: many repeats
    gy = rng.standard_normal(shape + (d,)).astype(dtype)
    got = _grad("default", w, ids, gy, **kw)
    ref = _grad("numpy", w, ids, gy, **kw)
    np.testing.assert_array_equal(got, ref)
    tw = torch.tensor(w, requires_grad=True)
    (TF.embedding(torch.from_numpy(ids), tw, **kw) * torch.from_numpy(gy)).sum().backward()
    tol = 1e-12 if dtype == np.float64 else 1e-4
    np.testing.assert_allclose(got, tw.grad.numpy(), rtol=tol, atol=tol)
    if "padding_idx" in kw:
        assert not got[kw["padding_idx"]].any()
