"""batch_norm, layer_norm, group_norm against PyTorch: forward, every gradient, running stats."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import foveanet as fn
from foveanet.functional.normalization import batch_norm, group_norm, layer_norm
from tests.torch_ref import close, f, t

SHAPES = [(5, 4), (3, 4, 7), (2, 4, 5, 6), (2, 4, 3, 2, 3)]


def _leaves(rng, shape, c, affine):
    x = (rng.standard_normal(shape) * 2.5 + 0.7).astype(np.float32)
    w = rng.standard_normal(c).astype(np.float32) if affine else None
    b = rng.standard_normal(c).astype(np.float32) if affine else None
    ours = [f(a, True) if a is not None else None for a in (x, w, b)]
    theirs = [t(a, True) if a is not None else None for a in (x, w, b)]
    return ours, theirs


def _compare_grads(ours, theirs, out_o, out_t, rng, rtol=1e-4, atol=1e-5):
    close(out_o, out_t, rtol, atol, "forward")
    assert out_o.dtype == np.float32
    g = rng.standard_normal(out_o.shape).astype(np.float32)
    out_o.backward(fn.tensor(g))
    out_t.backward(torch.from_numpy(g))
    for name, a, b in zip(("input", "weight", "bias"), ours, theirs):
        if a is not None:
            assert a.grad.dtype == np.float32, name
            close(a.grad, b.grad, rtol, atol * 10, f"grad of {name}")


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("momentum", [0.1, 0.5, 1.0])
def test_batch_norm_training_matches_torch(shape, affine, momentum, rng):
    c = shape[1]
    rm, rv = rng.standard_normal(c).astype(np.float32), rng.uniform(0.5, 2, c).astype(np.float32)
    rm_o, rv_o = f(rm), rv.copy()  # one as a Tensor, one as a bare array: both update in place
    rm_t, rv_t = t(rm), t(rv)
    for step in range(3):
        ours, theirs = _leaves(rng, shape, c, affine)
        y_o = batch_norm(ours[0], rm_o, rv_o, ours[1], ours[2], training=True, momentum=momentum)
        y_t = F.batch_norm(theirs[0], rm_t, rv_t, theirs[1], theirs[2], training=True, momentum=momentum)
        _compare_grads(ours, theirs, y_o, y_t, rng)
        close(rm_o, rm_t, 1e-5, 1e-6, f"running_mean after step {step}")
        close(rv_o, rv_t, 1e-5, 1e-6, f"running_var after step {step}")
    assert rm_o.dtype == np.float32 and rv_o.dtype == np.float32


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_eval_matches_torch(shape, affine, rng):
    c = shape[1]
    rm, rv = rng.standard_normal(c).astype(np.float32), rng.uniform(0.5, 2, c).astype(np.float32)
    ours, theirs = _leaves(rng, shape, c, affine)
    rm_before = rm.copy()
    y_o = batch_norm(ours[0], rm, rv, ours[1], ours[2], training=False, eps=1e-3)
    y_t = F.batch_norm(theirs[0], t(rm), t(rv), theirs[1], theirs[2], training=False, eps=1e-3)
    _compare_grads(ours, theirs, y_o, y_t, rng)
    np.testing.assert_array_equal(rm, rm_before)  # eval never touches the running stats


@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_in_parallel_channel_blocks_matches_torch(training, rng, monkeypatch):
    """Every input split into channel blocks on three workers (4 channels: 1 + 1 + 2)."""
    from foveanet.backend.cpu import kernels, threads

    monkeypatch.setattr(kernels, "CHANNEL_BLOCKS_MIN_ELEMENTS", 1)
    monkeypatch.setattr(threads, "_workers", 3)
    shape = (3, 4, 5, 6)
    rm, rv = rng.standard_normal(4).astype(np.float32), rng.uniform(0.5, 2, 4).astype(np.float32)
    rm_t, rv_t = t(rm), t(rv)
    ours, theirs = _leaves(rng, shape, 4, True)
    y_o = batch_norm(ours[0], rm, rv, ours[1], ours[2], training=training)
    y_t = F.batch_norm(theirs[0], rm_t, rv_t, theirs[1], theirs[2], training=training)
    _compare_grads(ours, theirs, y_o, y_t, rng)
    close(rm, rm_t, 1e-5, 1e-6, "running_mean")
    close(rv, rv_t, 1e-5, 1e-6, "running_var")


def test_batch_norm_training_without_running_stats(rng):
    ours, theirs = _leaves(rng, (6, 3, 4), 3, True)
    y_o = batch_norm(ours[0], None, None, ours[1], ours[2], training=True)
    y_t = F.batch_norm(theirs[0], None, None, theirs[1], theirs[2], training=True)
    _compare_grads(ours, theirs, y_o, y_t, rng)


def test_batch_norm_hand_example():
    # channel 0 = [1, 3]: mean 2, biased var 1 -> x̂ = [-1, 1]; unbiased var 2 for the update
    x = np.array([[1.0, 10.0], [3.0, 10.0]], np.float32)
    rm, rv = np.zeros(2, np.float32), np.ones(2, np.float32)
    y = batch_norm(x, rm, rv, training=True, momentum=0.5, eps=1e-12)
    np.testing.assert_allclose(y.numpy()[:, 0], [-1, 1], rtol=1e-6)
    np.testing.assert_allclose(rm, [1.0, 5.0])
    np.testing.assert_allclose(rv, [1.5, 0.5])


def test_batch_norm_large_feature_map_float32_precision(rng):
    # large offsets make naive float32 sums lose digits; pairwise sums keep up with torch
    x = (rng.standard_normal((8, 2, 64, 64)) + 50).astype(np.float32)
    y_o = batch_norm(x, None, None, training=True)
    y_t = F.batch_norm(t(x), None, None, training=True)
    close(y_o, y_t, 1e-3, 2e-4, "forward")


def test_batch_norm_no_grad_saves_nothing(rng):
    x = rng.standard_normal((4, 3)).astype(np.float32)
    with fn.no_grad():
        y = batch_norm(f(x, True), None, None, training=True)
    assert y.grad_fn is None and not y.requires_grad


@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_gradcheck(training, rng):
    x = fn.tensor(rng.standard_normal((3, 2, 4)), requires_grad=True)
    w = fn.tensor(rng.standard_normal(2), requires_grad=True)
    b = fn.tensor(rng.standard_normal(2), requires_grad=True)
    rm, rv = rng.standard_normal(2), rng.uniform(0.5, 2, 2)
    # gradcheck calls the op many times: training must not drift the stats it reads, so
    # the running stats are only read in eval and left out in training
    args = (None, None) if training else (rm, rv)
    assert fn.gradcheck(lambda x, w, b: batch_norm(x, *args, w, b, training=training), (x, w, b))


@pytest.mark.parametrize("shape,norm", [((4, 6), (6,)), ((2, 3, 5), (5,)), ((2, 3, 4, 5), (4, 5)),
                                        ((3, 2, 4), (3, 2, 4)), ((2, 7), 7)])
@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm_matches_torch(shape, norm, affine, rng):
    ns = (norm,) if isinstance(norm, int) else norm
    x = (rng.standard_normal(shape) * 3 - 1).astype(np.float32)
    ours, theirs = [f(x, True)], [t(x, True)]
    if affine:
        w, b = rng.standard_normal(ns).astype(np.float32), rng.standard_normal(ns).astype(np.float32)
        ours += [f(w, True), f(b, True)]
        theirs += [t(w, True), t(b, True)]
    else:
        ours += [None, None]
        theirs += [None, None]
    y_o = layer_norm(ours[0], norm, ours[1], ours[2], eps=1e-4)
    y_t = F.layer_norm(theirs[0], ns, theirs[1], theirs[2], eps=1e-4)
    _compare_grads(ours, theirs, y_o, y_t, rng)


@pytest.mark.parametrize("shape,groups", [((3, 6), 3), ((2, 6, 5), 2), ((2, 8, 3, 4), 4),
                                          ((2, 4, 3, 3), 1), ((2, 4, 3, 3), 4)])
@pytest.mark.parametrize("affine", [True, False])
def test_group_norm_matches_torch(shape, groups, affine, rng):
    ours, theirs = _leaves(rng, shape, shape[1], affine)
    y_o = group_norm(ours[0], groups, ours[1], ours[2])
    y_t = F.group_norm(theirs[0], groups, theirs[1], theirs[2])
    _compare_grads(ours, theirs, y_o, y_t, rng)


def test_layer_and_group_norm_gradcheck(rng):
    x = fn.tensor(rng.standard_normal((2, 4, 3)), requires_grad=True)
    w = fn.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    b = fn.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    assert fn.gradcheck(lambda x, w, b: layer_norm(x, (4, 3), w, b), (x, w, b))
    wc = fn.tensor(rng.standard_normal(4), requires_grad=True)
    bc = fn.tensor(rng.standard_normal(4), requires_grad=True)
    assert fn.gradcheck(lambda x, w, b: group_norm(x, 2, w, b), (x, wc, bc))


def test_errors():
    with pytest.raises(ValueError, match=r"batch_norm: expected more than 1 value per channel when "
                                         r"training, got input of shape \(1, 8\)"):
        batch_norm(np.zeros((1, 8), np.float32), None, None, training=True)
    with pytest.raises(ValueError, match=r"batch_norm: running_mean has 7 elements, expected 8"):
        batch_norm(np.zeros((4, 8), np.float32), np.zeros(7, np.float32), np.ones(8, np.float32))
    with pytest.raises(ValueError, match=r"batch_norm: weight has 3 elements, expected 8"):
        batch_norm(np.zeros((4, 8), np.float32), None, None, np.ones(3, np.float32), training=True)
    with pytest.raises(ValueError, match=r"batch_norm: bias has 2 elements, expected 8"):
        batch_norm(np.zeros((4, 8, 2), np.float32), None, None, None, np.ones(2, np.float32), training=True)
    with pytest.raises(ValueError, match="must be given in evaluation mode"):
        batch_norm(np.zeros((4, 8), np.float32), None, None, training=False)
    with pytest.raises(ValueError, match=r"batch_norm: expected an input of shape \(N, C\)"):
        batch_norm(np.zeros(8, np.float32), None, None, training=True)
    with pytest.raises(TypeError, match="batch_norm: momentum must be a float"):
        batch_norm(np.zeros((4, 8), np.float32), None, None, training=True, momentum=None)
    with pytest.raises(TypeError, match="batch_norm: input must be a float tensor"):
        batch_norm(np.zeros((4, 8), np.int64), None, None, training=True)
    with pytest.raises(ValueError, match=r"layer_norm: normalized_shape \(4,\) expects an input of "
                                         r"shape \(\*, 4\), got shape \(4, 6, 3\)"):
        layer_norm(np.zeros((4, 6, 3), np.float32), (4,))
    with pytest.raises(ValueError, match=r"layer_norm: bias has shape \(4,\), expected normalized_shape \(3,\)"):
        layer_norm(np.zeros((4, 6, 3), np.float32), 3, np.ones(3, np.float32), np.ones(4, np.float32))
    with pytest.raises(ValueError, match=r"group_norm: expected the number of channels \(6\) to be "
                                         r"divisible by num_groups \(4\), got input of shape \(4, 6, 3\)"):
        group_norm(np.zeros((4, 6, 3), np.float32), 4)
    with pytest.raises(ValueError, match=r"group_norm: weight has 4 elements, expected 6"):
        group_norm(np.zeros((4, 6, 3), np.float32), 3, np.ones(4, np.float32))
