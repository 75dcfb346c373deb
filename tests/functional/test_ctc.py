"""ctc_loss against torch.nn.functional.ctc_loss, a hand-worked value, and gradcheck."""
import numpy as np
import pytest
import torch

import foveanet as fn
import foveanet.functional as F
import foveanet.nn as nn
from tests.torch_ref import close


def _case(seed, t_len=12, n=4, c=5, s=5):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(t_len, n, c)).astype(np.float32)
    tg = rng.integers(1, c, size=(n, s))
    tg[0, :4] = [2, 2, 2, 3]                 # repeated labels need a blank between them
    il = np.array([t_len, t_len - 2, t_len, 7])[:n]
    tl = np.array([s, 3, 0, 3])[:n]          # a full-length target and an empty one
    return x, tg, il, tl


def _torch(x, tg, il, tl, **kw):
    xt = torch.tensor(x, requires_grad=True)
    loss = torch.nn.functional.ctc_loss(xt.log_softmax(2), torch.tensor(tg), torch.tensor(il),
                                        torch.tensor(tl), **kw)
    loss.sum().backward()
    return loss, xt.grad


def _ours(x, tg, il, tl, **kw):
    xf = fn.tensor(x, requires_grad=True)
    loss = F.ctc_loss(F.log_softmax(xf, dim=2), tg, il, tl, **kw)
    loss.sum().backward()
    return loss, xf.grad


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_torch_value_and_logit_gradient(reduction, seed):
    case = _case(seed)
    lt, gt = _torch(*case, reduction=reduction)
    lf, gf = _ours(*case, reduction=reduction)
    close(lf, lt, rtol=1e-5, atol=1e-5, what=f"loss {reduction}")
    close(gf, gt, rtol=1e-4, atol=1e-6, what=f"grad {reduction}")


def test_log_prob_gradient_is_torchs_minus_the_probabilities():
    x, tg, il, tl = _case(3)
    lp = torch.tensor(x).log_softmax(2).requires_grad_(True)
    torch.nn.functional.ctc_loss(lp, torch.tensor(tg), torch.tensor(il), torch.tensor(tl),
                                 reduction="sum").backward()
    ours = fn.tensor(lp.detach().numpy(), requires_grad=True)
    F.ctc_loss(ours, tg, il, tl, reduction="sum").backward()
    used = np.arange(x.shape[0])[:, None] < il[None, :]      # torch leaves later frames at 0
    expect = (lp.grad.numpy() - np.exp(lp.detach().numpy())) * used[:, :, None]
    np.testing.assert_allclose(ours.grad.numpy(), expect, rtol=1e-4, atol=1e-6)


def test_concatenated_targets_equal_padded():
    x, tg, il, tl = _case(4)
    flat = np.concatenate([tg[i, :tl[i]] for i in range(len(tl))])
    a = F.ctc_loss(F.log_softmax(fn.tensor(x), dim=2), tg, il, tl, reduction="none").numpy()
    b = F.ctc_loss(F.log_softmax(fn.tensor(x), dim=2), flat, il, tl, reduction="none").numpy()
    lt, _ = _torch(x, flat, il, tl, reduction="none")
    np.testing.assert_allclose(a, b, rtol=1e-6)
    close(b, lt, rtol=1e-5, atol=1e-5)


def test_target_at_the_length_limit_and_infeasible_with_zero_infinity():
    # "1 1 2" needs 4 frames (a blank between the 1s): T = 4 is the limit, T = 3 is impossible
    rng = np.random.default_rng(5)
    x = rng.normal(size=(4, 2, 3)).astype(np.float32)
    tg = np.array([[1, 1, 2], [1, 1, 2]])
    il, tl = np.array([4, 3]), np.array([3, 3])
    lt, gt = _torch(x, tg, il, tl, reduction="none", zero_infinity=True)
    lf, gf = _ours(x, tg, il, tl, reduction="none", zero_infinity=True)
    assert np.isfinite(lf.numpy()[0]) and lf.numpy()[1] == 0
    close(lf, lt, rtol=1e-5, atol=1e-5)
    close(gf, gt, rtol=1e-4, atol=1e-6)
    inf = F.ctc_loss(F.log_softmax(fn.tensor(x), dim=2), tg, il, tl, reduction="none")
    assert np.isinf(inf.numpy()[1])


def test_hand_worked_two_frames():
    # T = 2, classes {blank, a}, target "a": paths "a-", "-a", "aa" -> p = 0.3*0.6 + 0.7*0.4 + 0.3*0.4
    y = np.array([[[0.7, 0.3]], [[0.6, 0.4]]])
    loss = F.ctc_loss(np.log(y), np.array([[1]]), [2], [1], reduction="sum")
    assert np.isclose(float(loss.numpy()), -np.log(0.18 + 0.28 + 0.12))


def test_gradcheck_float64_on_free_log_probs():
    rng = np.random.default_rng(6)
    lp = fn.tensor(rng.normal(size=(6, 2, 4)), dtype=fn.float64, requires_grad=True)
    for red in ("none", "mean"):
        assert fn.gradcheck(lambda a: F.ctc_loss(a, np.array([[1, 1], [2, 3]]), [6, 5], [2, 2],
                                                 reduction=red), (lp,))


def test_module_and_unbatched():
    x, tg, il, tl = _case(7)
    lp = F.log_softmax(fn.tensor(x), dim=2)
    ctc = nn.CTCLoss(blank=0, reduction="none")
    full = ctc(lp, tg, il, tl).numpy()
    one = F.ctc_loss(lp[:, 1], tg[1], il[1], tl[1], reduction="none").numpy()
    assert one.shape == () and np.isclose(one, full[1])


def test_bad_targets_raise_clear_errors():
    lp = F.log_softmax(fn.zeros(4, 1, 3), dim=2)
    with pytest.raises(ValueError, match="not the blank"):
        F.ctc_loss(lp, np.array([[0, 1]]), [4], [2])
    with pytest.raises(ValueError, match="input_lengths"):
        F.ctc_loss(lp, np.array([[1]]), [5], [1])
