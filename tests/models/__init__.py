"""Shared helpers: torch reference modules <-> foveanet models."""
import numpy as np
import torch

import foveanet

# as tests/torch_ref: one thread per xdist worker; torch's OpenMP pool collapses when the
# two cores are shared with another worker (a 64px DenseNet forward went from 0.1 s to 3 s)
torch.set_num_threads(1)


def n_params(model) -> int:
    return int(sum(p.numel() for p in model.parameters()))


def torch_state(tmodel) -> dict:
    return {k: v.detach().numpy().copy() for k, v in tmodel.state_dict().items()}


def assert_same_layout(fmodel, tmodel):
    """Same state_dict keys, in the same order, with the same shapes."""
    ours = {k: tuple(v.shape) for k, v in fmodel.state_dict().items()}
    theirs = {k: tuple(v.shape) for k, v in tmodel.state_dict().items()}
    assert list(ours) == list(theirs), (
        f"keys differ: only ours {sorted(set(ours) - set(theirs))[:5]}, "
        f"only torch {sorted(set(theirs) - set(ours))[:5]}")
    bad = [(k, ours[k], theirs[k]) for k in ours if ours[k] != theirs[k]]
    assert not bad, f"shapes differ: {bad[:5]}"


def meta(builder, *args, **kwargs):
    """A torch reference built without memory or initialisation: enough for counts and layout."""
    with torch.device("meta"):
        return builder(*args, **kwargs)


@torch.no_grad()
def randomize_(tmodel, seed=0):
    """Weights that keep activations O(1) through depth, and BN statistics far from the
    identity, so an output comparison exercises every parameter and buffer. VGG/AlexNet's
    giant FC layers keep torch's default init (drawing 100M normals costs seconds)."""
    g = torch.Generator().manual_seed(seed)
    for m in tmodel.modules():
        if isinstance(m, torch.nn.Linear) and m.weight.numel() > 4_000_000:
            continue
        if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)):
            fan_in = m.weight[0].numel()
            m.weight.copy_(torch.randn(m.weight.shape, generator=g) * (2.0 / fan_in) ** 0.5)
            if m.bias is not None:
                m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)
        elif isinstance(m, torch.nn.BatchNorm2d):
            c = m.num_features
            m.weight.copy_(torch.rand(c, generator=g) + 0.5)
            m.bias.copy_(torch.randn(c, generator=g) * 0.1)
            m.running_mean.copy_(torch.randn(c, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(c, generator=g) + 0.5)
    return tmodel


def load_from_torch(fmodel, tmodel):
    """The torch module's state_dict as is (torch tensors, strict): what loading a torchvision
    checkpoint does."""
    result = fmodel.load_state_dict(tmodel.state_dict())
    assert not result.missing_keys and not result.unexpected_keys
    return fmodel


def assert_outputs_match(fmodel, tmodel, x: np.ndarray, tol=1e-4):
    """Eval-mode outputs agree to ``tol`` relative to the output's largest magnitude."""
    fmodel.eval()
    tmodel.eval()
    with torch.no_grad():
        ref = tmodel(torch.from_numpy(x)).numpy()
    with foveanet.no_grad():
        ours = fmodel(foveanet.tensor(x)).numpy()
    assert ours.shape == ref.shape, f"output shape {ours.shape} vs torch {ref.shape}"
    assert ours.dtype == np.float32, ours.dtype
    scale = float(np.abs(ref).max())
    err = float(np.abs(ours - ref).max())
    assert scale > 0 and err <= tol * scale, f"max error {err:.3g} vs output scale {scale:.3g}"


def image(n, c, h, w=None, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, c, h, w or h)).astype(np.float32)
