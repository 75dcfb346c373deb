"""nn.LSTM / nn.GRU against torch.nn.LSTM / GRU: outputs, final states, every gradient."""
import numpy as np
import pytest
import torch

import foveanet as fn
import foveanet.nn as nn
from tests.torch_ref import close


def _pair(kind, **kw):
    torch.manual_seed(0)
    ref = getattr(torch.nn, kind)(**kw).double()
    ours = getattr(nn, kind)(**kw, dtype=np.float64)
    ours.load_state_dict({k: v.detach().numpy().copy() for k, v in ref.state_dict().items()})
    return ours, ref


CONFIGS = [
    dict(input_size=3, hidden_size=4),
    dict(input_size=3, hidden_size=5, num_layers=2, bidirectional=True),
    dict(input_size=2, hidden_size=3, batch_first=True, bias=False),
]


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
@pytest.mark.parametrize("cfg", CONFIGS)
def test_outputs_states_and_gradients_match_torch(kind, cfg):
    ours, ref = _pair(kind, **cfg)
    rng = np.random.default_rng(1)
    t_len, n = 6, 3
    shape = (n, t_len, cfg["input_size"]) if cfg.get("batch_first") else (t_len, n, cfg["input_size"])
    x = rng.normal(size=shape)
    dirs = 2 if cfg.get("bidirectional") else 1
    h0 = rng.normal(size=(cfg.get("num_layers", 1) * dirs, n, cfg["hidden_size"]))
    c0 = rng.normal(size=h0.shape)
    xt, ht, ct = (torch.tensor(a, requires_grad=True) for a in (x, h0, c0))
    xf, hf, cf = (fn.tensor(a, requires_grad=True) for a in (x, h0, c0))
    if kind == "LSTM":
        yt, (hnt, cnt) = ref(xt, (ht, ct))
        yf, (hnf, cnf) = ours(xf, (hf, cf))
        close(cnf, cnt, rtol=1e-9, atol=1e-10, what="c_n")
        extra_t, extra_f = (cnt * 0.7).sum(), (cnf * 0.7).sum()
    else:
        yt, hnt = ref(xt, ht)
        yf, hnf = ours(xf, hf)
        extra_t = extra_f = 0
    close(yf, yt, rtol=1e-9, atol=1e-10, what="output")
    close(hnf, hnt, rtol=1e-9, atol=1e-10, what="h_n")
    wy = rng.normal(size=yt.shape)
    ((yt * torch.tensor(wy)).sum() + (hnt * 0.3).sum() + extra_t).backward()
    ((yf * fn.tensor(wy)).sum() + (hnf * 0.3).sum() + extra_f).backward()
    close(xf.grad, xt.grad, rtol=1e-8, atol=1e-10, what="dx")
    close(hf.grad, ht.grad, rtol=1e-8, atol=1e-10, what="dh0")
    if kind == "LSTM":
        close(cf.grad, ct.grad, rtol=1e-8, atol=1e-10, what="dc0")
    params = dict(ours.named_parameters())
    for name, p in ref.named_parameters():
        close(params[name].grad, p.grad, rtol=1e-8, atol=1e-10, what=f"d{name}")


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_unbatched_with_default_zero_states(kind):
    _, ref = _pair(kind, input_size=3, hidden_size=4)
    x = np.random.default_rng(2).normal(size=(5, 3))
    yt = ref(torch.tensor(x))[0]
    yf = getattr(nn, kind)(3, 4, dtype=np.float64)
    yf.load_state_dict({k: v.detach().numpy().copy() for k, v in ref.state_dict().items()})
    out = yf(fn.tensor(x))[0]
    assert out.shape == (5, 4)
    close(out, yt, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_gradcheck_float64(kind):
    m = getattr(nn, kind)(2, 3, bidirectional=True, dtype=np.float64)
    x = fn.tensor(np.random.default_rng(3).normal(size=(4, 2, 2)), requires_grad=True)
    params = tuple(m.parameters())

    def run(x, *ps):
        return m(x)[0]
    assert fn.gradcheck(run, (x,) + params)


def test_state_dict_keys_and_shapes_are_torchs():
    ref = torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True)
    ours = nn.LSTM(3, 4, num_layers=2, bidirectional=True)
    assert {k: tuple(v.shape) for k, v in ref.state_dict().items()} == \
           {k: tuple(v.shape) for k, v in ours.state_dict().items()}


def test_bad_input_size_is_a_clear_error():
    with pytest.raises(ValueError, match="input_size=3"):
        nn.GRU(3, 4)(fn.zeros(5, 2, 7))
