"""Dice loss (composition of tensor ops) against the same formula in torch; ce_dice = sum."""
import numpy as np
import pytest
import torch

import foveanet
import foveanet.functional as F
from foveanet.segmentation.losses import ce_dice, dice_loss, one_hot
from tests.torch_ref import close


def _torch_dice(logits, target, eps, ignore=-100):
    p = torch.softmax(logits, 1)
    C = logits.shape[1]
    valid = (target != ignore)
    y = torch.nn.functional.one_hot(target.clamp(min=0), C).permute(0, 3, 1, 2).float() * valid[:, None]
    p = p * valid[:, None]
    inter = (p * y).sum((0, 2, 3))
    card = p.sum((0, 2, 3)) + y.sum((0, 2, 3))
    return 1 - ((2 * inter + eps) / (card + eps)).mean()


@pytest.mark.parametrize("eps,C,ignore", [(1.0, 4, False), (1e-3, 3, False), (0.5, 5, True)])
def test_dice_matches_torch(eps, C, ignore, rng):
    x = rng.standard_normal((3, C, 5, 6)).astype(np.float32) * 2
    t = rng.integers(0, C - 1, size=(3, 5, 6))  # class C-1 absent: eps must keep it finite
    if ignore:
        t[0, :2] = -100
    xf = foveanet.tensor(x, requires_grad=True)
    xt = torch.from_numpy(x.copy()).requires_grad_(True)
    lf = dice_loss(xf, t, eps=eps)
    lt = _torch_dice(xt, torch.from_numpy(t), eps)
    close(lf, lt, rtol=1e-5, atol=1e-6, what="dice value")
    lf.backward()
    lt.backward()
    close(xf.grad, xt.grad, rtol=1e-4, atol=1e-7, what="dice grad")


def test_dice_perfect_and_worst():
    t = np.array([[[0, 1], [2, 2]]])
    perfect = one_hot(t, 3)[0][None] * 50.0
    assert dice_loss(foveanet.tensor(perfect), t, eps=1e-6).item() == pytest.approx(0.0, abs=1e-5)
    wrong = one_hot((t + 1) % 3, 3) * 50.0
    assert dice_loss(foveanet.tensor(wrong), t, eps=1e-6).item() == pytest.approx(1.0, abs=1e-5)


def test_ce_dice_is_the_sum(rng):
    x = rng.standard_normal((2, 3, 4, 4)).astype(np.float32)
    t = rng.integers(0, 3, size=(2, 4, 4))
    w = np.array([0.5, 1.0, 2.0], np.float32)
    total = ce_dice(foveanet.tensor(x), t, weight=w, dice_weight=0.5).item()
    ce = torch.nn.functional.cross_entropy(torch.from_numpy(x), torch.from_numpy(t), weight=torch.from_numpy(w))
    assert total == pytest.approx(ce.item() + 0.5 * _torch_dice(torch.from_numpy(x), torch.from_numpy(t), 1.0).item(),
                                  rel=1e-5)


def test_dice_gradcheck():
    rng = np.random.default_rng(3)
    x = foveanet.tensor(rng.standard_normal((2, 3, 3, 3)), requires_grad=True)
    t = rng.integers(0, 3, size=(2, 3, 3))
    assert foveanet.gradcheck(lambda a: dice_loss(a, t, eps=0.1), (x,))


def test_target_must_be_integer():
    with pytest.raises(TypeError, match="integer class indices"):
        dice_loss(foveanet.randn(1, 2, 2, 2), np.zeros((1, 2, 2), np.float32))
