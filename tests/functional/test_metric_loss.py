"""Metric-learning losses against torch (nn.TripletMarginLoss, and the contrastive loss,
the batch mining and ArcFace's margin written out in torch here), plus float64 gradcheck."""
import math

import numpy as np
import pytest
import torch

import foveanet
import foveanet.functional as F
import foveanet.nn as nn
from tests.torch_ref import close, t


def _torch_contrastive(x1, x2, y, margin, eps, reduction):
    d = torch.nn.functional.pairwise_distance(x1, x2, eps=eps)
    loss = y * d ** 2 + (1 - y) * torch.clamp(margin - d, min=0) ** 2
    return {"mean": loss.mean(), "sum": loss.sum(), "none": loss}[reduction]


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_contrastive_matches_torch(reduction, rng):
    x1, x2 = (rng.standard_normal((7, 5)).astype(np.float32) * 0.4 for _ in range(2))
    y = (rng.random(7) < 0.5).astype(np.float32)
    a, b = foveanet.tensor(x1, requires_grad=True), foveanet.tensor(x2, requires_grad=True)
    ta, tb = t(x1, True), t(x2, True)
    ours = F.contrastive_loss(a, b, y, margin=1.5, reduction=reduction)
    ref = _torch_contrastive(ta, tb, torch.from_numpy(y), 1.5, 1e-6, reduction)
    close(ours, ref, rtol=1e-5, atol=1e-6, what="contrastive value")
    g = rng.standard_normal(7).astype(np.float32) if reduction == "none" else None
    (ours * foveanet.tensor(g)).sum().backward() if g is not None else ours.backward()
    (ref * torch.from_numpy(g)).sum().backward() if g is not None else ref.backward()
    close(a.grad, ta.grad, rtol=1e-4, atol=1e-6, what="contrastive d x1")
    close(b.grad, tb.grad, rtol=1e-4, atol=1e-6, what="contrastive d x2")


@pytest.mark.parametrize("reduction,margin", [("mean", 1.0), ("sum", 0.3), ("none", 2.0)])
def test_triplet_matches_torch_module(reduction, margin, rng):
    xs = [rng.standard_normal((9, 4)).astype(np.float32) for _ in range(3)]
    ours_in = [foveanet.tensor(x, requires_grad=True) for x in xs]
    ref_in = [t(x, True) for x in xs]
    ours = nn.TripletMarginLoss(margin=margin, reduction=reduction)(*ours_in)
    ref = torch.nn.TripletMarginLoss(margin=margin, reduction=reduction)(*ref_in)
    close(ours, ref, rtol=1e-5, atol=1e-6, what="triplet value")
    ours.sum().backward()
    ref.sum().backward()
    for o, r, name in zip(ours_in, ref_in, "apn"):
        close(o.grad, r.grad, rtol=1e-4, atol=1e-6, what=f"triplet d{name}")


def _torch_mined(x, labels, margin, mining, eps=1e-6):
    """The mining rules written independently, with loops, in torch."""
    n = len(x)
    d = torch.cdist(x.detach() + 0, x.detach())  # choice only: the loss uses pairwise_distance
    rows = []
    for a in range(n):
        pos = [j for j in range(n) if j != a and labels[j] == labels[a]]
        neg = [j for j in range(n) if labels[j] != labels[a]]
        if not pos or not neg:
            continue
        if mining == "hard":
            rows.append((a, max(pos, key=lambda j: d[a, j]), min(neg, key=lambda j: d[a, j])))
            continue
        for p in pos:
            beyond = [j for j in neg if d[a, j] > d[a, p]]
            rows.append((a, p, min(beyond, key=lambda j: d[a, j]) if beyond
                         else max(neg, key=lambda j: d[a, j])))
    a, p, ng = (list(c) for c in zip(*rows))
    return torch.nn.functional.triplet_margin_loss(x[a], x[p], x[ng], margin=margin, eps=eps)


@pytest.mark.parametrize("mining", ["hard", "semi-hard"])
def test_mined_triplets_match_torch(mining, rng):
    x = rng.standard_normal((12, 3)).astype(np.float32)
    labels = rng.integers(0, 3, 12)
    ours_x, ref_x = foveanet.tensor(x, requires_grad=True), t(x, True)
    ours = nn.BatchHardTripletLoss(margin=0.5, mining=mining)(ours_x, labels)
    ref = _torch_mined(ref_x, labels, 0.5, mining)
    close(ours, ref, rtol=1e-5, atol=1e-6, what=f"{mining} value")
    ours.backward()
    ref.backward()
    close(ours_x.grad, ref_x.grad, rtol=1e-4, atol=1e-6, what=f"{mining} grad")


def test_semi_hard_picks_inside_the_margin():
    # anchor 0 at 0, positive at 1; negatives at 1.2 (semi-hard), 0.5 (hard), 3 (easy)
    x = np.array([[0.], [1.], [1.2], [0.5], [3.]])
    from foveanet.functional.metric_loss import mine_triplets
    a, p, n = mine_triplets(x, np.array([0, 0, 1, 1, 1]), margin=0.5, mining="semi-hard", eps=0)
    assert (a[0], p[0], n[0]) == (0, 1, 2)
    a, p, n = mine_triplets(x, np.array([0, 0, 1, 1, 1]), margin=0.5, mining="hard", eps=0)
    assert (a[0], p[0], n[0]) == (0, 1, 3)


def _torch_arcface(x, w, y, m, s):
    cos = torch.nn.functional.linear(torch.nn.functional.normalize(x), torch.nn.functional.normalize(w))
    ct = cos.gather(1, y[:, None]).clamp(-1, 1)
    theta = torch.acos(ct)
    psi = torch.where(theta + m <= math.pi, torch.cos(theta + m), ct - m * math.sin(m))
    onehot = torch.nn.functional.one_hot(y, cos.shape[1]).bool()
    return s * torch.where(onehot, psi, cos)


@pytest.mark.parametrize("m,s", [(0.5, 64.0), (0.2, 16.0), (2.8, 4.0)])
def test_arcface_matches_torch(m, s, rng):
    x = rng.standard_normal((8, 6)).astype(np.float32)
    y = rng.integers(0, 5, 8)
    head = nn.ArcFace(6, 5, margin=m, scale=s)
    w = head.weight.numpy().copy()
    xo = foveanet.tensor(x, requires_grad=True)
    xt, wt = t(x, True), t(w, True)
    ours = F.cross_entropy(head(xo, y), y)
    ref = torch.nn.functional.cross_entropy(_torch_arcface(xt, wt, torch.from_numpy(y), m, s), torch.from_numpy(y))
    close(ours, ref, rtol=1e-4, atol=1e-4, what="arcface loss")
    ours.backward()
    ref.backward()
    close(xo.grad, xt.grad, rtol=1e-3, atol=1e-5, what="arcface d x")
    close(head.weight.grad, wt.grad, rtol=1e-3, atol=1e-5, what="arcface d W")


def test_normalize_matches_torch(rng):
    x = rng.standard_normal((4, 5)).astype(np.float32)
    x[1] = 0
    xo, xt = foveanet.tensor(x, requires_grad=True), t(x, True)
    close(F.normalize(xo, dim=1), torch.nn.functional.normalize(xt, dim=1), what="normalize")
    g = rng.standard_normal((4, 5)).astype(np.float32)
    (F.normalize(xo) * foveanet.tensor(g)).sum().backward()
    (torch.nn.functional.normalize(xt) * torch.from_numpy(g)).sum().backward()
    close(xo.grad, xt.grad, rtol=1e-4, atol=1e-6, what="normalize grad")


def test_gradcheck_float64():
    rng = np.random.default_rng(5)
    x = foveanet.tensor(rng.standard_normal((6, 3)), requires_grad=True)
    x2 = foveanet.tensor(rng.standard_normal((6, 3)) * 0.3, requires_grad=True)
    y = np.array([1., 0., 1., 0., 0., 1.])
    assert foveanet.gradcheck(lambda a, b: F.contrastive_loss(a, b, y, margin=1.0), (x, x2))
    labels = np.array([0, 0, 1, 1, 2, 2])
    for mining in ("hard", "semi-hard"):
        assert foveanet.gradcheck(lambda a: F.batch_hard_triplet_loss(a, labels, 2.0, mining), (x,))
    c = foveanet.tensor(rng.uniform(-0.9, 0.9, (6, 4)), requires_grad=True)
    assert foveanet.gradcheck(lambda a: F.arc_margin(a, np.array([0, 1, 2, 3, 0, 1]), 0.5, 8.0), (c,))
    assert foveanet.gradcheck(lambda a: F.normalize(a), (x,))


def test_bad_shapes_are_named():
    with pytest.raises(ValueError, match="contrastive_loss: target"):
        F.contrastive_loss(foveanet.randn(3, 2), foveanet.randn(3, 2), np.ones(2))
    with pytest.raises(ValueError, match="arc_margin: targets must lie"):
        F.arc_margin(foveanet.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(ValueError, match="mining must be"):
        nn.BatchHardTripletLoss(mining="easy")
