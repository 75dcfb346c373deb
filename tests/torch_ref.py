"""Shared helpers for tests that use PyTorch as the oracle."""
import numpy as np
import torch

import foveanet

torch.set_num_threads(1)


def t(x, requires_grad=False):
    """A torch tensor with the same values (and dtype) as ``x``."""
    arr = x.numpy() if isinstance(x, foveanet.Tensor) else np.asarray(x)
    out = torch.from_numpy(np.array(arr, copy=True))
    return out.requires_grad_(requires_grad)


def f(x, requires_grad=False):
    """A foveanet tensor with the same values as ``x`` (ndarray or torch tensor)."""
    if isinstance(x, torch.Tensor):
        x = x.detach().numpy()
    return foveanet.tensor(np.array(x, copy=True), requires_grad=requires_grad)


def close(ours, theirs, rtol=1e-4, atol=1e-5, what=""):
    a = ours.numpy() if isinstance(ours, foveanet.Tensor) else np.asarray(ours)
    b = theirs.detach().numpy() if isinstance(theirs, torch.Tensor) else np.asarray(theirs)
    assert a.shape == b.shape, f"{what}: shape {a.shape} vs torch {b.shape}"
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=what)
