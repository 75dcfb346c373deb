"""Learning-rate schedules against torch.optim.lr_scheduler, step by step."""
import math
import warnings

import numpy as np
import pytest
import torch

import foveanet
from foveanet import optim
from foveanet.optim import lr_scheduler as sched

STEPS = 30


def _pair(opt_cls="SGD", lrs=(0.1,), **kw):
    ours_p = [foveanet.zeros(2, requires_grad=True) for _ in lrs]
    theirs_p = [torch.zeros(2, requires_grad=True) for _ in lrs]
    ours = getattr(optim, opt_cls)([{"params": [p], "lr": lr} for p, lr in zip(ours_p, lrs)], **kw)
    theirs = getattr(torch.optim, opt_cls)([{"params": [p], "lr": lr} for p, lr in zip(theirs_p, lrs)], **kw)
    return ours, theirs


def _compare(make, opt_cls="SGD", lrs=(0.1, 0.03), steps=STEPS, opt_kw=None, extra=None, rtol=1e-12):
    opt, topt = _pair(opt_cls, lrs, **(opt_kw or {}))
    ours, theirs = make(sched, opt), make(torch.optim.lr_scheduler, topt)
    seq, tseq = [ours.get_last_lr()], [theirs.get_last_lr()]
    extras, textras = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns when no optimizer.step() came first
        for _ in range(steps):
            opt.step()
            topt.step()
            ours.step()
            theirs.step()
            seq.append(ours.get_last_lr())
            tseq.append(theirs.get_last_lr())
            assert [g["lr"] for g in opt.param_groups] == seq[-1]
            if extra:
                extras.append([extra(g) for g in opt.param_groups])
                textras.append([extra(g) for g in topt.param_groups])
    np.testing.assert_allclose(np.array(seq), np.array(tseq), rtol=rtol, atol=0)
    if extra:
        np.testing.assert_allclose(np.array(extras), np.array(textras), rtol=rtol, atol=0)
    return ours, opt


CASES = {
    "step": lambda m, o: m.StepLR(o, step_size=4, gamma=0.5),
    "multistep": lambda m, o: m.MultiStepLR(o, milestones=[3, 7, 7, 20], gamma=0.3),
    "exponential": lambda m, o: m.ExponentialLR(o, gamma=0.9),
    "cosine": lambda m, o: m.CosineAnnealingLR(o, T_max=10),
    "cosine_eta_min": lambda m, o: m.CosineAnnealingLR(o, T_max=7, eta_min=0.001),
    "linear": lambda m, o: m.LinearLR(o, start_factor=0.25, end_factor=1.0, total_iters=8),
    "linear_down": lambda m, o: m.LinearLR(o, start_factor=1.0, end_factor=0.1, total_iters=12),
    "lambda": lambda m, o: m.LambdaLR(o, lambda e: 0.95 ** e),
    "lambda_list": lambda m, o: m.LambdaLR(o, [lambda e: 1 / (e + 1), lambda e: 0.9 ** e]),
    "sequential": lambda m, o: m.SequentialLR(
        o, [m.LinearLR(o, start_factor=0.1, total_iters=5), m.ExponentialLR(o, gamma=0.9),
            m.StepLR(o, step_size=3)], milestones=[5, 15]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_schedule_matches_torch(name):
    _compare(CASES[name])


def _onecycle(**kw):
    return lambda m, o: m.OneCycleLR(o, **kw)


@pytest.mark.parametrize("kw", [
    dict(max_lr=0.5, total_steps=STEPS),
    dict(max_lr=[0.5, 0.2], epochs=5, steps_per_epoch=6, pct_start=0.25, anneal_strategy="linear"),
    dict(max_lr=0.5, total_steps=STEPS, three_phase=True, div_factor=10.0, final_div_factor=100.0),
    dict(max_lr=0.5, total_steps=STEPS, base_momentum=[0.8, 0.7], max_momentum=0.9),
])
def test_onecycle_sgd_momentum_matches_torch(kw):
    _compare(_onecycle(**kw), opt_kw=dict(momentum=0.9), extra=lambda g: g["momentum"])


@pytest.mark.parametrize("opt_cls", ["Adam", "AdamW"])
def test_onecycle_drives_adam_beta1(opt_cls):
    _, opt = _compare(_onecycle(max_lr=0.01, total_steps=STEPS, pct_start=0.4), opt_cls=opt_cls,
                      extra=lambda g: g["betas"][0])
    assert opt.param_groups[0]["betas"][1] == 0.999


def test_onecycle_without_momentum_cycling_and_overrun():
    _compare(_onecycle(max_lr=0.3, total_steps=STEPS, cycle_momentum=False), opt_kw=dict(momentum=0.5),
             extra=lambda g: g["momentum"])
    opt, _ = _pair()
    s = sched.OneCycleLR(opt, max_lr=0.1, total_steps=3)
    for _ in range(3):
        s.step()
    with pytest.raises(ValueError, match="Tried to step 4 times. The specified number of total steps is 3"):
        s.step()


@pytest.mark.parametrize("kw,msg", [
    (dict(max_lr=0.1), "You must define either total_steps OR"),
    (dict(max_lr=0.1, total_steps=0), "Expected positive integer total_steps, but got 0"),
    (dict(max_lr=0.1, total_steps=5, pct_start=1.5), "Expected float between 0 and 1 pct_start"),
    (dict(max_lr=0.1, total_steps=5, anneal_strategy="exp"), "anneal_strategy must be one of"),
    (dict(max_lr=[0.1, 0.2, 0.3], total_steps=5), "max_lr must have the same length"),
])
def test_onecycle_validation(kw, msg):
    opt, _ = _pair(lrs=(0.1, 0.2), momentum=0.9)
    with pytest.raises(ValueError, match=msg):
        sched.OneCycleLR(opt, **kw)


METRICS = [1.0, 0.9, 0.95, 0.95, 0.96, 0.97, 0.5, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.4, 0.41,
           0.42, 0.43, 0.44, 0.45, 0.46, 0.47, 0.48, 0.49, 0.5, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3]


@pytest.mark.parametrize("kw", [
    dict(patience=2),
    dict(mode="max", factor=0.5, patience=1, cooldown=2),
    dict(patience=1, threshold=0.05, threshold_mode="abs", min_lr=[0.01, 0.0]),
    dict(patience=0, factor=0.2, min_lr=0.003, eps=1e-4),
])
def test_reduce_on_plateau_matches_torch(kw):
    opt, topt = _pair(lrs=(0.1, 0.05))
    ours = sched.ReduceLROnPlateau(opt, **kw)
    theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(topt, **kw)
    for m in METRICS:
        ours.step(m)
        theirs.step(m)
        np.testing.assert_allclose(ours.get_last_lr(), theirs.get_last_lr(), rtol=1e-12)
        assert ours.num_bad_epochs == theirs.num_bad_epochs
        assert ours.best == theirs.best
    assert ours.get_last_lr() != [0.1, 0.05]  # the sequence did trigger reductions


def test_reduce_on_plateau_validation():
    opt, _ = _pair()
    with pytest.raises(ValueError, match="Factor should be < 1.0."):
        sched.ReduceLROnPlateau(opt, factor=1.0)
    with pytest.raises(ValueError, match="mode sideways is unknown!"):
        sched.ReduceLROnPlateau(opt, mode="sideways")
    with pytest.raises(ValueError, match="expected 1 min_lrs, got 2"):
        sched.ReduceLROnPlateau(opt, min_lr=[0.1, 0.2])


def test_closed_form_jump_matches_torch():
    for name in ("step", "multistep", "exponential", "cosine_eta_min", "linear"):
        opt, topt = _pair(lrs=(0.1,))
        ours, theirs = CASES[name](sched, opt), CASES[name](torch.optim.lr_scheduler, topt)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for e in (3, 7, 12, 4):
                ours.step(e)
                theirs.step(e)
                np.testing.assert_allclose(ours.get_last_lr(), theirs.get_last_lr(), rtol=1e-12,
                                           err_msg=f"{name} epoch {e}")


@pytest.mark.parametrize("name", ["step", "multistep", "cosine_eta_min", "linear", "sequential"])
def test_state_dict_resume(name, tmp_path):
    def run(n, resume_from=None):
        opt, _ = _pair(lrs=(0.1, 0.03))
        s = CASES[name](sched, opt)
        if resume_from is not None:
            opt.load_state_dict(resume_from["opt"])
            s.load_state_dict(resume_from["sched"])
        lrs = []
        for _ in range(n):
            opt.step()
            s.step()
            lrs.append(s.get_last_lr())
        return lrs, {"opt": opt.state_dict(), "sched": s.state_dict()}

    full, _ = run(20)
    first, ck = run(8)
    foveanet.save(ck, tmp_path / "ck.safetensors")
    second, _ = run(12, foveanet.load(tmp_path / "ck.safetensors"))
    assert first + second == full


def test_onecycle_and_plateau_state_dict_resume(tmp_path):
    opt, _ = _pair(opt_cls="Adam", lrs=(0.1,))
    s = sched.OneCycleLR(opt, max_lr=0.1, total_steps=20)
    for _ in range(7):
        s.step()
    foveanet.save({"opt": opt.state_dict(), "s": s.state_dict()}, tmp_path / "a")
    ck = foveanet.load(tmp_path / "a")
    opt2, _ = _pair(opt_cls="Adam", lrs=(0.1,))
    s2 = sched.OneCycleLR(opt2, max_lr=0.1, total_steps=20)
    opt2.load_state_dict(ck["opt"])
    s2.load_state_dict(ck["s"])
    for _ in range(13):
        s.step()
        s2.step()
        assert s.get_last_lr() == s2.get_last_lr()
        assert opt.param_groups[0]["betas"] == opt2.param_groups[0]["betas"]

    opt, _ = _pair()
    p = sched.ReduceLROnPlateau(opt, patience=1)
    foveanet.save(p.state_dict(), tmp_path / "b")
    back = foveanet.load(tmp_path / "b")
    assert back["best"] == math.inf and back["patience"] == 1


def test_resume_requires_initial_lr():
    opt, _ = _pair()
    with pytest.raises(KeyError, match="initial_lr"):
        sched.StepLR(opt, step_size=2, last_epoch=4)
