"""The compiled batch norm (foveanet/kernels/batchnorm.py) against the NumPy engine
(float64, to round-off: the sums run in another order) and PyTorch (float32), training and
eval, with and without the affine parameters, on (N, C), (N, C, L) and (N, C, H, W)."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import foveanet
import foveanet.nn.functional as F
from foveanet.backend import use_kernels
from tests.torch_ref import close

pytest.importorskip("numba")

SHAPES = [(6, 5), (4, 3, 7), (5, 6, 4, 3)]


def _arrays(shape, dtype, seed):
    r = np.random.default_rng(seed)
    c = shape[1]
    x = (r.standard_normal(shape) * 3 + 1.5).astype(dtype)
    return (x, r.uniform(0.5, 2, c).astype(dtype), r.standard_normal(c).astype(dtype),
            r.standard_normal(c).astype(dtype), r.uniform(0.5, 2, c).astype(dtype),
            r.standard_normal(shape).astype(dtype))


def _run(choice, arrays, training, affine, need_x=True):
    x, w, b, rm, rv, gy = arrays
    rm, rv = rm.copy(), rv.copy()
    with use_kernels(choice):
        xt = foveanet.tensor(x, requires_grad=need_x)
        wt = foveanet.tensor(w, requires_grad=True) if affine else None
        bt = foveanet.tensor(b, requires_grad=True) if affine else None
        y = F.batch_norm(xt, rm, rv, wt, bt, training=training)
        (y * foveanet.tensor(gy)).sum().backward()
    grads = [xt.grad.numpy() if need_x else None]
    grads += [wt.grad.numpy(), bt.grad.numpy()] if affine else [None, None]
    return [y.numpy(), *grads, rm, rv]


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("affine", [True, False])
def test_compiled_equals_numpy_in_float64(shape, training, affine):
    arrays = _arrays(shape, np.float64, 0)
    got, want = _run("numba", arrays, training, affine), _run("numpy", arrays, training, affine)
    for a, e in zip(got, want):
        if e is not None:
            np.testing.assert_allclose(a, e, rtol=1e-12, atol=1e-12)


def test_eval_forward_is_the_same_numbers():
    """With the running statistics nothing is summed: the elementwise pass is NumPy's."""
    arrays = _arrays(SHAPES[2], np.float64, 3)
    got = _run("numba", arrays, False, True)
    want = _run("numpy", arrays, False, True)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])


def test_only_the_weight_gradients():
    arrays = _arrays(SHAPES[2], np.float64, 4)
    got = _run("numba", arrays, True, True, need_x=False)
    want = _run("numpy", arrays, True, True, need_x=False)
    np.testing.assert_allclose(got[2], want[2], rtol=1e-12)
    np.testing.assert_allclose(got[3], want[3], rtol=1e-12)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("training", [True, False])
def test_compiled_matches_torch_in_float32(shape, training):
    x, w, b, rm, rv, gy = arrays = _arrays(shape, np.float32, 1)
    y, dx, dw, db, rm_out, rv_out = _run("numba", arrays, training, True)
    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    trm, trv = torch.tensor(rm), torch.tensor(rv)
    ty = TF.batch_norm(xt, trm, trv, wt, bt, training=training)
    (ty * torch.from_numpy(gy)).sum().backward()
    close(y, ty, what="y")
    close(dx, xt.grad, rtol=1e-4, atol=1e-4, what="dx")
    close(dw, wt.grad, rtol=1e-4, atol=1e-4, what="dw")
    close(db, bt.grad, rtol=1e-4, atol=1e-4, what="db")
    close(rm_out, trm, what="running mean")
    close(rv_out, trv, what="running var")


def test_a_large_batch_runs_in_channel_blocks_on_two_threads():
    """Above each_channel_block's threshold the channels split across the workers: the
    same result as one thread."""
    arrays = _arrays((8, 16, 48, 48), np.float32, 2)
    before = foveanet.get_num_threads()
    try:
        foveanet.set_num_threads(1)
        one = _run("numba", arrays, True, True)
        foveanet.set_num_threads(2)
        two = _run("numba", arrays, True, True)
    finally:
        foveanet.set_num_threads(before)
    for a, e in zip(two, one):
        np.testing.assert_array_equal(a, e)
