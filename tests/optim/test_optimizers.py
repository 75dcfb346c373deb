"""SGD / Adam / AdamW against torch.optim on identical parameters and gradient sequences."""
import numpy as np
import pytest
import torch

import foveanet
from foveanet import optim
from tests.torch_ref import close

SHAPES = [(3, 4), (5,), (2, 3, 2)]
STEPS = 10


def _params(rng, shapes=SHAPES, dtype=np.float32):
    arrays = [rng.standard_normal(s).astype(dtype) for s in shapes]
    ours = [foveanet.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    return ours, theirs


def _grads(rng, shapes, steps=STEPS, dtype=np.float32):
    return [[rng.standard_normal(s).astype(dtype) for s in shapes] for _ in range(steps)]


def _set_grads(ours, theirs, grads):
    for p, q, g in zip(ours, theirs, grads):
        p.grad = foveanet.tensor(g)
        q.grad = torch.tensor(g)


def _groups(params, group_opts):
    if group_opts is None:
        return params
    # split the params into one group per option dict
    return [dict(opts, params=[params[i]]) for i, opts in enumerate(group_opts)]


def _run(cls, tcls, kwargs, rng, group_opts=None, steps=STEPS, dtype=np.float32, rtol=1e-5, atol=1e-6):
    ours, theirs = _params(rng, dtype=dtype)
    opt = cls(_groups(ours, group_opts), **kwargs)
    topt = tcls(_groups(theirs, group_opts), **kwargs)
    for k, grads in enumerate(_grads(rng, SHAPES, steps, dtype)):
        _set_grads(ours, theirs, grads)
        opt.step()
        topt.step()
        for i, (p, q) in enumerate(zip(ours, theirs)):
            assert p.dtype == dtype
            close(p, q, rtol=rtol, atol=atol, what=f"{cls.__name__} {kwargs} step {k} param {i}")
    return opt, ours


SGD_CASES = [
    dict(lr=0.1),
    dict(lr=0.1, momentum=0.9),
    dict(lr=0.05, momentum=0.9, dampening=0.3),
    dict(lr=0.05, momentum=0.9, nesterov=True),
    dict(lr=0.05, momentum=0.8, weight_decay=0.1),
    dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.05, maximize=True),
    dict(lr=0.05, weight_decay=0.1, maximize=True),
    dict(lr=0.05, maximize=True),
]


@pytest.mark.parametrize("kwargs", SGD_CASES)
def test_sgd_matches_torch(kwargs, rng):
    _run(optim.SGD, torch.optim.SGD, kwargs, rng)


ADAM_CASES = [
    dict(),
    dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6),
    dict(lr=0.01, weight_decay=0.1),
    dict(lr=0.01, amsgrad=True),
    dict(lr=0.01, amsgrad=True, weight_decay=0.05, maximize=True),
    dict(lr=0.01, maximize=True),
]


@pytest.mark.parametrize("kwargs", ADAM_CASES)
def test_adam_matches_torch(kwargs, rng):
    _run(optim.Adam, torch.optim.Adam, kwargs, rng)


@pytest.mark.parametrize("kwargs", ADAM_CASES + [dict(lr=0.05, weight_decay=0.5)])
def test_adamw_matches_torch(kwargs, rng):
    _run(optim.AdamW, torch.optim.AdamW, kwargs, rng)


def test_float64_params_stay_float64(rng):
    _run(optim.Adam, torch.optim.Adam, dict(lr=0.01, weight_decay=0.1), rng, dtype=np.float64,
         rtol=1e-12, atol=1e-14)
    _run(optim.SGD, torch.optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True), rng,
         dtype=np.float64, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("cls,tcls,base,groups", [
    (optim.SGD, torch.optim.SGD, dict(lr=0.1, momentum=0.9),
     [dict(lr=0.01), dict(momentum=0.5, weight_decay=0.1), {}]),
    (optim.Adam, torch.optim.Adam, dict(lr=0.01),
     [dict(lr=0.1), dict(betas=(0.5, 0.9), amsgrad=True), {}]),
    (optim.AdamW, torch.optim.AdamW, dict(lr=0.01),
     [dict(lr=0.1, weight_decay=0.3), dict(weight_decay=0.0), {}]),
])
def test_param_groups_match_torch(cls, tcls, base, groups, rng):
    opt, _ = _run(cls, tcls, base, rng, group_opts=groups)
    assert opt.param_groups[0]["lr"] == groups[0].get("lr", base["lr"])
    assert opt.param_groups[2]["lr"] == base["lr"]


def test_skips_params_without_grad(rng):
    ours, theirs = _params(rng)
    opt, topt = optim.Adam(ours, lr=0.1), torch.optim.Adam(theirs, lr=0.1)
    before = ours[1].data.copy()
    for grads in _grads(rng, SHAPES, 4):
        _set_grads(ours, theirs, grads)
        ours[1].grad, theirs[1].grad = None, None
        opt.step()
        topt.step()
    np.testing.assert_array_equal(ours[1].data, before)
    assert ours[1] not in opt.state
    for p, q in zip(ours, theirs):
        close(p, q, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cls,kwargs", [
    (optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
    (optim.SGD, dict(lr=0.1)),
    (optim.Adam, dict(lr=0.01, amsgrad=True)),
    (optim.AdamW, dict(lr=0.01, betas=(0.8, 0.9))),
])
@pytest.mark.parametrize("through_file", [False, True])
def test_state_dict_resume_equals_uninterrupted(cls, kwargs, through_file, rng, tmp_path):
    arrays = [rng.standard_normal(s).astype(np.float32) for s in SHAPES]
    grads = _grads(rng, SHAPES, 10)

    def fresh():
        ps = [foveanet.tensor(a, requires_grad=True) for a in arrays]
        return ps, cls([{"params": ps[:1], "lr": 0.2}, {"params": ps[1:]}], **kwargs)

    full, opt = fresh()
    for g in grads:
        for p, a in zip(full, g):
            p.grad = foveanet.tensor(a)
        opt.step()

    first, opt1 = fresh()
    for g in grads[:5]:
        for p, a in zip(first, g):
            p.grad = foveanet.tensor(a)
        opt1.step()
    sd = opt1.state_dict()
    assert sorted(sd) == ["param_groups", "state"]
    assert [g["params"] for g in sd["param_groups"]] == [[0], [1, 2]]
    if through_file:
        foveanet.save({"optim": sd, "params": [p.data for p in first]}, tmp_path / "ck.safetensors")
        ck = foveanet.load(tmp_path / "ck.safetensors")
        sd, saved = ck["optim"], ck["params"]
    else:
        saved = [p.data.copy() for p in first]
    opt1.step()  # later steps must not leak into the saved snapshot
    second, opt2 = fresh()
    for p, a in zip(second, saved):
        p.data[...] = np.asarray(a)
    opt2.load_state_dict(sd)
    for g in grads[5:]:
        for p, a in zip(second, g):
            p.grad = foveanet.tensor(a)
        opt2.step()
    for p, q in zip(second, full):
        np.testing.assert_array_equal(p.data, q.data)
    assert opt2.param_groups[0]["lr"] == 0.2
    if "betas" in kwargs:
        assert opt2.param_groups[1]["betas"] == kwargs["betas"]


def test_state_dict_layout_matches_torch(rng):
    ours, theirs = _params(rng)
    opt = optim.Adam([{"params": ours[:2]}, {"params": ours[2:], "lr": 0.5}], amsgrad=True)
    topt = torch.optim.Adam([{"params": theirs[:2]}, {"params": theirs[2:], "lr": 0.5}], amsgrad=True)
    _set_grads(ours, theirs, _grads(rng, SHAPES, 1)[0])
    opt.step()
    topt.step()
    sd, tsd = opt.state_dict(), topt.state_dict()
    assert list(sd["state"]) == list(tsd["state"]) == [0, 1, 2]
    for i in range(3):
        assert set(sd["state"][i]) == set(tsd["state"][i])
        close(sd["state"][i]["exp_avg"], tsd["state"][i]["exp_avg"])
        assert int(sd["state"][i]["step"]) == int(tsd["state"][i]["step"]) == 1
    for g, tg in zip(sd["param_groups"], tsd["param_groups"]):
        assert g["params"] == tg["params"]
        for k in ("lr", "betas", "eps", "weight_decay", "amsgrad", "maximize"):
            assert g[k] == tg[k], k


def test_zero_grad(rng):
    ours, _ = _params(rng)
    opt = optim.SGD(ours, lr=0.1)
    for p in ours:
        p.grad = foveanet.ones(*p.shape)
    opt.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.data.any() for p in ours)
    opt.zero_grad()
    assert all(p.grad is None for p in ours)


def test_add_param_group_and_step_after(rng):
    ours, theirs = _params(rng)
    opt = optim.SGD(ours[:1], lr=0.1, momentum=0.9)
    topt = torch.optim.SGD(theirs[:1], lr=0.1, momentum=0.9)
    opt.add_param_group({"params": ours[1:], "lr": 0.01})
    topt.add_param_group({"params": theirs[1:], "lr": 0.01})
    assert opt.param_groups[1]["momentum"] == 0.9
    for grads in _grads(rng, SHAPES, 3):
        _set_grads(ours, theirs, grads)
        opt.step()
        topt.step()
    for p, q in zip(ours, theirs):
        close(p, q, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": ours[:1]})


def test_step_records_no_graph_and_calls_closure(rng):
    ours, _ = _params(rng)
    opt = optim.Adam(ours, lr=0.1)
    for p in ours:
        p.grad = foveanet.ones(*p.shape)
    assert opt.step(lambda: 3.5) == 3.5
    assert all(p.is_leaf and p.grad_fn is None for p in ours)


@pytest.mark.parametrize("make,msg", [
    (lambda p: optim.SGD(p, lr=-1), "Invalid learning rate: -1"),
    (lambda p: optim.SGD(p, lr=0.1, momentum=-0.5), "Invalid momentum value: -0.5"),
    (lambda p: optim.SGD(p, lr=0.1, weight_decay=-1), "Invalid weight_decay value: -1"),
    (lambda p: optim.SGD(p, lr=0.1, nesterov=True), "Nesterov momentum requires"),
    (lambda p: optim.SGD(p, lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), "Nesterov"),
    (lambda p: optim.Adam(p, lr=-0.1), "Invalid learning rate: -0.1"),
    (lambda p: optim.Adam(p, eps=-1.0), "Invalid epsilon value: -1.0"),
    (lambda p: optim.Adam(p, betas=(1.0, 0.9)), "Invalid beta parameter at index 0: 1.0"),
    (lambda p: optim.Adam(p, betas=(0.9, -0.1)), "Invalid beta parameter at index 1: -0.1"),
    (lambda p: optim.AdamW(p, weight_decay=-0.1), "Invalid weight_decay value: -0.1"),
    (lambda p: optim.SGD([], lr=0.1), "empty parameter list"),
    (lambda p: optim.SGD(p + [p[0]], lr=0.1), "duplicate parameters"),
    (lambda p: optim.SGD([{"params": p[:1], "lr": -2.0}], lr=0.1), "Invalid learning rate: -2.0"),
])
def test_invalid_arguments(make, msg, rng):
    ours, _ = _params(rng)
    with pytest.raises(ValueError, match=msg.replace("(", r"\(").replace(")", r"\)")):
        make(ours)


def test_type_errors(rng):
    ours, _ = _params(rng)
    with pytest.raises(TypeError, match="iterable of Tensors or dicts"):
        optim.SGD(ours[0], lr=0.1)
    with pytest.raises(TypeError, match="can only optimize Tensors"):
        optim.SGD([np.zeros(3)], lr=0.1)


def test_load_state_dict_rejects_mismatched_groups(rng):
    ours, _ = _params(rng)
    sd = optim.SGD(ours, lr=0.1).state_dict()
    with pytest.raises(ValueError, match="different number of parameter groups"):
        optim.SGD([{"params": ours[:1]}, {"params": ours[1:]}], lr=0.1).load_state_dict(sd)
    with pytest.raises(ValueError, match="doesn't match the size"):
        optim.SGD(ours[:2], lr=0.1).load_state_dict(sd)


def test_wrong_grad_shape_is_an_error(rng):
    ours, _ = _params(rng)
    ours[0].grad = foveanet.ones(1)
    with pytest.raises(ValueError, match=r"grad of shape \(1,\) for a parameter of shape \(3, 4\)"):
        optim.SGD(ours, lr=0.1).step()
