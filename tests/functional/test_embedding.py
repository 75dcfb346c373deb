"""embedding against PyTorch: lookup, scatter-add gradient, padding_idx, max_norm, errors."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import foveanet as fn
from foveanet.functional.sparse import embedding
from tests.torch_ref import close, f, t


@pytest.mark.parametrize("idx_shape", [(), (7,), (4, 9), (2, 3, 5)])
@pytest.mark.parametrize("padding_idx", [None, 0, 3, -1])
@pytest.mark.parametrize("scale_grad_by_freq", [False, True])
def test_matches_torch(idx_shape, padding_idx, scale_grad_by_freq, rng):
    v, d = 6, 5  # few rows: indices repeat, so the gradient must add up
    w = rng.standard_normal((v, d)).astype(np.float32)
    idx = rng.integers(0, v, idx_shape)
    wo, wt = f(w, True), t(w, True)
    kw = dict(padding_idx=padding_idx, scale_grad_by_freq=scale_grad_by_freq)
    yo, yt = embedding(idx, wo, **kw), F.embedding(t(idx), wt, **kw)
    assert yo.shape == idx_shape + (d,) and yo.dtype == np.float32
    close(yo, yt, 0, 0, "forward")
    g = rng.standard_normal(yo.shape).astype(np.float32)
    yo.backward(fn.tensor(g))
    yt.backward(torch.from_numpy(g))
    close(wo.grad, wt.grad, 1e-6, 1e-6, "grad of weight")


def test_repeated_indices_hand_example():
    w = fn.zeros(4, 2, requires_grad=True)
    y = embedding(np.array([[1, 1], [3, 1]]), w, padding_idx=3)
    y.backward(fn.tensor(np.arange(8, dtype=np.float32).reshape(2, 2, 2)))
    # row 1 gets [0,1] + [2,3] + [6,7]; row 3 is padding
    np.testing.assert_array_equal(w.grad.numpy(), [[0, 0], [8, 11], [0, 0], [0, 0]])


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0])
def test_max_norm_renormalises_in_place_like_torch(norm_type, rng):
    w = (rng.standard_normal((8, 4)) * 3).astype(np.float32)
    idx = np.array([[0, 2, 2], [5, 7, 0]])
    wo, wt = f(w, True), t(w, True)
    yo = embedding(idx, wo, max_norm=1.5, norm_type=norm_type)
    yt = F.embedding(t(idx), wt, max_norm=1.5, norm_type=norm_type)
    close(yo, yt, 1e-6, 1e-6, "forward")
    close(wo.data, wt.detach(), 1e-6, 1e-6, "renormalised table")
    untouched = [1, 3, 4, 6]
    np.testing.assert_array_equal(wo.numpy()[untouched], w[untouched])
    g = rng.standard_normal(yo.shape).astype(np.float32)
    yo.backward(fn.tensor(g))
    yt.backward(torch.from_numpy(g))
    close(wo.grad, wt.grad, 1e-6, 1e-6, "grad")


def test_gradcheck_float64(rng):
    w = fn.tensor(rng.standard_normal((5, 3)), requires_grad=True)
    idx = np.array([[0, 4, 4], [2, 0, 1]])
    # padding_idx and scale_grad_by_freq alter the gradient on purpose: only the plain lookup
    # (and a padding row that is never looked up) must match finite differences
    assert fn.gradcheck(lambda a: embedding(idx, a), (w,))
    assert fn.gradcheck(lambda a: embedding(idx, a, padding_idx=3), (w,))


def test_accepts_tensor_indices_and_int32(rng):
    w = rng.standard_normal((5, 3)).astype(np.float32)
    idx = np.array([4, 0, 2], np.int32)
    np.testing.assert_array_equal(embedding(fn.tensor(idx), w).numpy(), w[idx])


def test_errors():
    w = np.zeros((1000, 8), np.float32)
    with pytest.raises(IndexError, match=r"embedding: index 1000 is out of range for 1000 embeddings \(valid 0..999\)"):
        embedding(np.array([3, 1000]), w)
    with pytest.raises(IndexError, match="embedding: index -2 is out of range for 1000 embeddings"):
        embedding(np.array([-2, 5]), w)
    with pytest.raises(TypeError, match="embedding: indices must be an integer tensor .*got float32"):
        embedding(np.array([1.0, 2.0], np.float32), w)
    with pytest.raises(ValueError, match="embedding: padding_idx 1000 must be within"):
        embedding(np.array([1]), w, padding_idx=1000)
    with pytest.raises(ValueError, match="embedding: weight must be 2-d"):
        embedding(np.array([1]), np.zeros(5, np.float32))
