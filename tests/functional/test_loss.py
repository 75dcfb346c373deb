"""Losses against PyTorch: forward and gradients for every reduction and weighting rule."""
import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import foveanet as fn
from foveanet.functional.loss import (
    binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy, l1_loss, mse_loss,
    nll_loss, smooth_l1_loss,
)
from tests.torch_ref import close, f, t

REDUCTIONS = ["none", "mean", "sum"]
# input shape -> class-target shape; (C,) is PyTorch's unbatched form
CLASS_SHAPES = [((6, 5), (6,)), ((5,), ()), ((3, 4, 7), (3, 7)), ((2, 5, 3, 4), (2, 3, 4))]


def _backward_both(ours, theirs, out_o, out_t, rng, rtol=1e-5, atol=1e-6):
    assert out_o.dtype == np.float32
    close(out_o, out_t, rtol, atol, "forward")
    g = rng.standard_normal(out_o.shape).astype(np.float32) if out_o.ndim else np.float32(1.7)
    out_o.backward(fn.tensor(np.asarray(g, np.float32)))
    out_t.backward(torch.tensor(g))
    for k, (a, b) in enumerate(zip(ours, theirs)):
        if a is not None and a.requires_grad:
            assert a.grad.dtype == np.float32
            close(a.grad, b.grad, rtol, atol, f"grad of input {k}")


def _class_case(rng, shape, tshape, ignore_index, scale=3.0):
    c = shape[0] if len(shape) == 1 else shape[1]
    x = (rng.standard_normal(shape) * scale).astype(np.float32)
    y = rng.integers(0, c, tshape).astype(np.int64)
    if ignore_index is not None and y.size > 1:
        y.reshape(-1)[:: 3] = ignore_index
    return x, y, c


@pytest.mark.parametrize("shapes", CLASS_SHAPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.15, 1.0])
@pytest.mark.parametrize("ignore_index", [None, -100, 2])
def test_cross_entropy_class_targets(shapes, reduction, weighted, smoothing, ignore_index, rng):
    x, y, c = _class_case(rng, *shapes, ignore_index)
    w = rng.uniform(0.2, 2.0, c).astype(np.float32) if weighted else None
    kw = dict(reduction=reduction, label_smoothing=smoothing)
    if ignore_index is not None:
        kw["ignore_index"] = ignore_index
    xo, xt = f(x, True), t(x, True)
    lo = cross_entropy(xo, y, None if w is None else f(w), **kw)
    lt = F.cross_entropy(xt, t(y), None if w is None else t(w), **kw)
    _backward_both([xo], [xt], lo, lt, rng)


@pytest.mark.parametrize("shape", [(6, 5), (5,), (3, 4, 7), (2, 5, 3, 4)])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_cross_entropy_probability_targets(shape, reduction, weighted, smoothing, rng):
    cdim = 0 if len(shape) == 1 else 1
    x = (rng.standard_normal(shape) * 3).astype(np.float32)
    q = rng.uniform(0, 1, shape).astype(np.float32)
    q /= q.sum(axis=cdim, keepdims=True)
    w = rng.uniform(0.2, 2.0, shape[cdim]).astype(np.float32) if weighted else None
    ours, theirs = [f(x, True), f(q, True)], [t(x, True), t(q, True)]
    lo = cross_entropy(*ours, None if w is None else w, reduction=reduction, label_smoothing=smoothing)
    lt = F.cross_entropy(*theirs, None if w is None else t(w), reduction=reduction, label_smoothing=smoothing)
    _backward_both(ours, theirs, lo, lt, rng)


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_cross_entropy_extreme_logits(smoothing, rng):
    x = np.array([[100.0, -100.0, 0.0], [-100.0, 100.0, 100.0], [-100.0, -100.0, -100.0],
                  [1e4, -1e4, 0.0]], np.float32)
    y = np.array([1, 0, 2, 1])
    xo, xt = f(x, True), t(x, True)
    lo = cross_entropy(xo, y, label_smoothing=smoothing)
    lt = F.cross_entropy(xt, t(y), label_smoothing=smoothing)
    assert np.isfinite(lo.item())
    _backward_both([xo], [xt], lo, lt, rng, rtol=1e-5, atol=1e-4)


def test_cross_entropy_hand_example():
    # uniform logits over 4 classes: loss = ln 4, dx = (1/4 - onehot) / N
    x = f(np.zeros((2, 4), np.float32), True)
    loss = cross_entropy(x, np.array([0, 3]))
    loss.backward()
    assert loss.item() == pytest.approx(math.log(4), rel=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), [[-0.375, 0.125, 0.125, 0.125],
                                                [0.125, 0.125, 0.125, -0.375]], rtol=1e-6)


def test_all_targets_ignored_gives_nan():
    x = np.zeros((3, 4), np.float32)
    y = np.full(3, -100)
    assert math.isnan(cross_entropy(x, y).item())
    assert math.isnan(nll_loss(x, y, weight=np.ones(4, np.float32)).item())
    assert cross_entropy(x, y, reduction="sum").item() == 0.0


@pytest.mark.parametrize("shapes", CLASS_SHAPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ignore_index", [None, 1])
def test_nll_loss(shapes, reduction, weighted, ignore_index, rng):
    x, y, c = _class_case(rng, *shapes, ignore_index)
    w = rng.uniform(0.2, 2.0, c).astype(np.float32) if weighted else None
    kw = {"reduction": reduction} if ignore_index is None else {"reduction": reduction, "ignore_index": ignore_index}
    xo, xt = f(x, True), t(x, True)
    lo = nll_loss(xo, y, w, **kw)
    lt = F.nll_loss(xt, t(y), None if w is None else t(w), **kw)
    _backward_both([xo], [xt], lo, lt, rng)


@pytest.mark.parametrize("shape", [(7,), (4, 5), (2, 3, 4, 5)])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weight_shape", [None, "full", "last"])
@pytest.mark.parametrize("pos_weight", [False, True])
def test_bce_with_logits(shape, reduction, weight_shape, pos_weight, rng):
    x = (rng.standard_normal(shape) * 4).astype(np.float32)
    x.reshape(-1)[:2] = [100.0, -100.0]  # stability: log1p(e^-|x|) never overflows
    y = rng.uniform(0, 1, shape).astype(np.float32)
    w = None if weight_shape is None else rng.uniform(0.2, 2, shape if weight_shape == "full" else shape[-1:]).astype(np.float32)
    pw = rng.uniform(0.5, 3, shape[-1:]).astype(np.float32) if pos_weight else None
    ours, theirs = [f(x, True), f(y, True)], [t(x, True), t(y, True)]
    lo = binary_cross_entropy_with_logits(*ours, w, reduction=reduction, pos_weight=pw)
    lt = F.binary_cross_entropy_with_logits(*theirs, None if w is None else t(w), reduction=reduction,
                                            pos_weight=None if pw is None else t(pw))
    _backward_both(ours, theirs, lo, lt, rng, atol=1e-5)


@pytest.mark.parametrize("shape", [(7,), (4, 5), (2, 3, 4)])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_bce(shape, reduction, weighted, rng):
    p = rng.uniform(0.01, 0.99, shape).astype(np.float32)
    y = rng.uniform(0, 1, shape).astype(np.float32)
    w = rng.uniform(0.2, 2, shape[-1:]).astype(np.float32) if weighted else None
    ours, theirs = [f(p, True), f(y, True)], [t(p, True), t(y, True)]
    lo = binary_cross_entropy(*ours, w, reduction=reduction)
    lt = F.binary_cross_entropy(*theirs, None if w is None else t(w), reduction=reduction)
    _backward_both(ours, theirs, lo, lt, rng, rtol=1e-4, atol=1e-5)


def test_bce_at_exact_zero_and_one(rng):
    # log 0 is clamped to -100, so the loss is finite; PyTorch's gradient uses an eps of 1e-12
    p = np.array([0.0, 1.0, 0.0, 1.0, 0.5], np.float32)
    y = np.array([0.0, 1.0, 1.0, 0.0, 1.0], np.float32)
    po, pt = f(p, True), t(p, True)
    lo, lt = binary_cross_entropy(po, y, reduction="none"), F.binary_cross_entropy(pt, t(y), reduction="none")
    np.testing.assert_allclose(lo.numpy(), [0, 0, 100, 100, math.log(2)], rtol=1e-6)
    _backward_both([po], [pt], lo, lt, rng, rtol=1e-5, atol=1e-3)


REGRESSION = [(mse_loss, F.mse_loss, {}), (l1_loss, F.l1_loss, {}),
              (smooth_l1_loss, F.smooth_l1_loss, {}), (smooth_l1_loss, F.smooth_l1_loss, {"beta": 0.3}),
              (smooth_l1_loss, F.smooth_l1_loss, {"beta": 0.0})]


@pytest.mark.parametrize("case", range(len(REGRESSION)))
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shapes", [((5,), (5,)), ((3, 4), (3, 4)), ((2, 3, 4), (3, 4)), ((3, 1), (1, 4))])
def test_regression_losses(case, reduction, shapes, rng):
    ours_fn, torch_fn, kw = REGRESSION[case]
    x = rng.standard_normal(shapes[0]).astype(np.float32)
    y = rng.standard_normal(shapes[1]).astype(np.float32)
    if shapes[0] == shapes[1]:
        y.reshape(-1)[0] = x.reshape(-1)[0]  # d = 0: l1's subgradient is 0, as in PyTorch
    ours, theirs = [f(x, True), f(y, True)], [t(x, True), t(y, True)]
    lo = ours_fn(*ours, reduction=reduction, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns about broadcasting target shapes
        lt = torch_fn(*theirs, reduction=reduction, **kw)
    _backward_both(ours, theirs, lo, lt, rng)


@pytest.mark.parametrize("ours_fn,torch_fn", [(mse_loss, F.mse_loss), (l1_loss, F.l1_loss)])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_weighted_regression(ours_fn, torch_fn, reduction, rng):
    x, y = (rng.standard_normal((4, 3)).astype(np.float32) for _ in range(2))
    w = rng.uniform(0, 2, (4, 3)).astype(np.float32)
    ours, theirs = [f(x, True), f(y, True)], [t(x, True), t(y, True)]
    lo, lt = ours_fn(*ours, reduction=reduction, weight=w), torch_fn(*theirs, reduction=reduction, weight=t(w))
    _backward_both(ours, theirs, lo, lt, rng)


@pytest.mark.filterwarnings("ignore:size_average and reduce")
def test_legacy_size_average_and_reduce(rng):
    x = rng.standard_normal((4, 3)).astype(np.float32)
    y = np.array([0, 2, 1, 1])
    for sa, rd in [(False, None), (None, False), (True, True)]:
        close(cross_entropy(x, y, size_average=sa, reduce=rd), F.cross_entropy(t(x), t(y), size_average=sa, reduce=rd),
              1e-5, 1e-6, f"size_average={sa} reduce={rd}")


GRADCHECK = [
    lambda x, q: cross_entropy(x, np.array([1, 0, 3]), weight=np.array([1.0, 2.0, 0.5, 1.0]), label_smoothing=0.1),
    lambda x, q: cross_entropy(x, q, label_smoothing=0.2, reduction="sum"),
    lambda x, q: nll_loss(x, np.array([1, -100, 3]), reduction="none"),
    lambda x, q: binary_cross_entropy_with_logits(x, q, pos_weight=np.array([1.0, 2.0, 3.0, 0.5])),
    lambda x, q: binary_cross_entropy(fn.tensor(1.0) / (fn.tensor(1.0) + (-x).exp()), q),
    lambda x, q: mse_loss(x, q) + l1_loss(x, q * 2, reduction="sum") + smooth_l1_loss(x, q, beta=0.5),
]


@pytest.mark.parametrize("k", range(len(GRADCHECK)))
def test_gradcheck_float64(k, rng):
    x = fn.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    q = rng.uniform(0.1, 1, (3, 4))
    q = fn.tensor(q / q.sum(1, keepdims=True), requires_grad=True)
    assert fn.gradcheck(GRADCHECK[k], (x, q))


def test_errors():
    x = np.zeros((8, 10), np.float32)
    with pytest.raises(ValueError, match="cross_entropy: target 12 is out of range for 10 classes"):
        cross_entropy(x, np.array([0, 1, 12, 3, 4, 5, 6, 7]))
    with pytest.raises(ValueError, match="cross_entropy: target -1 is out of range"):
        cross_entropy(x, np.full(8, -1))
    with pytest.raises(ValueError, match="cross_entropy: input batch size 8 does not match target batch size 7"):
        cross_entropy(x, np.zeros(7, np.int64))
    with pytest.raises(TypeError, match="cross_entropy: target must hold integer class indices"):
        cross_entropy(x, np.zeros(8, np.float32))
    with pytest.raises(ValueError, match=r"cross_entropy: weight has shape \(3,\), expected \(10,\)"):
        cross_entropy(x, np.zeros(8, np.int64), weight=np.ones(3, np.float32))
    with pytest.raises(ValueError, match="cross_entropy: reduction must be 'none', 'mean' or 'sum', got 'avg'"):
        cross_entropy(x, np.zeros(8, np.int64), reduction="avg")
    with pytest.raises(ValueError, match="label_smoothing must be in"):
        cross_entropy(x, np.zeros(8, np.int64), label_smoothing=1.5)
    with pytest.raises(ValueError, match=r"nll_loss: target shape \(2, 3\) does not fit input shape \(2, 5, 4\)"):
        nll_loss(np.zeros((2, 5, 4), np.float32), np.zeros((2, 3), np.int64))
    with pytest.raises(ValueError, match="binary_cross_entropy_with_logits: target shape .* must match input shape"):
        binary_cross_entropy_with_logits(np.zeros((4, 3), np.float32), np.zeros((4, 1), np.float32))
    with pytest.raises(ValueError, match="pos_weight of shape"):
        binary_cross_entropy_with_logits(x, x, pos_weight=np.ones(3, np.float32))
    with pytest.raises(ValueError, match=r"binary_cross_entropy: input must hold probabilities in \[0, 1\]"):
        binary_cross_entropy(np.array([1.5], np.float32), np.array([1.0], np.float32))
    with pytest.raises(ValueError, match="mse_loss: input shape .* do not broadcast"):
        mse_loss(np.zeros(3, np.float32), np.zeros(4, np.float32))
    with pytest.raises(ValueError, match="weight requires grad"):
        cross_entropy(x, np.zeros(8, np.int64), weight=fn.ones(10, requires_grad=True))
