"""foveanet.freeze / unfreeze: an inference model with read-only weights gives the same
numbers as the model it came from, refuses writes, and after unfreeze trains and is never
read through a stale kept transform."""
import numpy as np
import pytest

import foveanet
from foveanet import nn
from foveanet.models import resnet18


def _pair(seed=0):
    foveanet.manual_seed(seed)
    a = resnet18(num_classes=10).eval()
    b = resnet18(num_classes=10)
    b.load_state_dict(a.state_dict())
    return a, foveanet.freeze(b)


def test_a_frozen_resnet_gives_the_numbers_of_the_model_it_came_from():
    plain, frozen = _pair()
    x = foveanet.randn(1, 3, 64, 64)
    with foveanet.no_grad():
        want = plain(x).numpy()
        for _ in range(2):  # the second forward reads the kept transforms
            got = frozen(x).numpy()
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * np.abs(want).max())
    assert not frozen.training
    assert all(not p.requires_grad and not p.data.flags.writeable for p in frozen.parameters())


def test_a_frozen_weight_refuses_writes_and_unfreeze_trains_without_stale_transforms():
    plain, frozen = _pair(1)
    x = foveanet.randn(1, 3, 64, 64)
    with foveanet.no_grad():
        frozen(x)
    with pytest.raises(ValueError, match="read-only"):
        frozen.conv1.weight.data[0] = 0
    foveanet.unfreeze(frozen)
    assert all(p.requires_grad and p.data.flags.writeable for p in frozen.parameters())
    for m in (plain, frozen):  # the same in-place edit on both
        m.layer1[0].conv1.weight.data *= 2
    with foveanet.no_grad():
        np.testing.assert_allclose(frozen.eval()(x).numpy(), plain(x).numpy(), rtol=1e-5, atol=1e-5)
    frozen.train()
    opt = foveanet.optim.SGD(frozen.parameters(), lr=0.1)
    before = frozen.fc.weight.data.copy()
    frozen(foveanet.randn(2, 3, 32, 32)).sum().backward()
    opt.step()
    assert not np.array_equal(frozen.fc.weight.data, before)


def test_freeze_wants_a_module():
    with pytest.raises(TypeError, match="expected a foveanet.nn.Module, got ndarray"):
        foveanet.freeze(np.zeros(3))
    lin = foveanet.freeze(nn.Linear(3, 2))
    assert lin.weight.grad is None and foveanet.unfreeze(lin) is lin
