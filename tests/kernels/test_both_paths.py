"""The key ops against PyTorch under each kernel choice, so that a change to either path
is caught by one `make test` run (the whole suite runs on the default choice; CI's
FOVEANET_KERNELS=numpy run covers the rest). Forward and every gradient, float32."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import foveanet
import foveanet.nn.functional as F
from foveanet.backend import use_kernels
from tests.torch_ref import close

CHOICES = ["default", "numpy", "reference"]

# (name, foveanet op, torch op, input shape, extra array shapes, settings)
OPS = [
    ("conv3x3", F.conv2d, TF.conv2d, (2, 4, 9, 8), [(6, 4, 3, 3), (6,)], dict(padding=1)),
    ("conv5x5-s2", F.conv2d, TF.conv2d, (2, 3, 11, 10), [(5, 3, 5, 5)], dict(stride=2, padding=2)),
    ("depthwise", F.conv2d, TF.conv2d, (2, 6, 9, 9), [(6, 1, 3, 3), (6,)], dict(padding=1, groups=6)),
    ("depthwise-s2-d2", F.conv2d, TF.conv2d, (2, 4, 12, 11), [(4, 1, 3, 3)],
     dict(stride=2, padding=2, dilation=2, groups=4)),
    ("conv1d", F.conv1d, TF.conv1d, (2, 5, 17), [(3, 5, 4)], dict(padding=1)),
    ("max_pool-tiling", F.max_pool2d, TF.max_pool2d, (2, 3, 8, 8), [], dict(kernel_size=2)),
    ("max_pool-overlap", F.max_pool2d, TF.max_pool2d, (2, 3, 11, 9), [],
     dict(kernel_size=3, stride=2, padding=1)),
    ("max_pool1d", F.max_pool1d, TF.max_pool1d, (2, 3, 15), [], dict(kernel_size=3, stride=2)),
    ("avg_pool", F.avg_pool2d, TF.avg_pool2d, (2, 3, 9, 9), [],
     dict(kernel_size=3, stride=2, padding=1)),
    ("adaptive_max_pool1d", F.adaptive_max_pool1d, TF.adaptive_max_pool1d, (2, 3, 23), [],
     dict(output_size=5)),
    ("relu", F.relu, TF.relu, (4, 7), [], {}),
    ("linear", F.linear, TF.linear, (4, 7), [(3, 7), (3,)], {}),
]


@pytest.mark.parametrize("choice", CHOICES)
@pytest.mark.parametrize("op", OPS, ids=[o[0] for o in OPS])
def test_op_matches_torch(op, choice):
    name, ours, theirs, shape, extra, kw = op
    r = np.random.default_rng(OPS.index(op))
    arrays = [r.standard_normal(s).astype(np.float32) for s in (shape, *extra)]
    with use_kernels(choice):
        leaves = [foveanet.tensor(a, requires_grad=True) for a in arrays]
        y = ours(*leaves, **kw)
        gy = r.standard_normal(y.shape).astype(np.float32)
        y.backward(foveanet.tensor(gy))
    tleaves = [torch.tensor(a, requires_grad=True) for a in arrays]
    ty = theirs(*tleaves, **kw)
    ty.backward(torch.from_numpy(gy))
    close(y, ty, what=f"{name} forward")
    for i, (a, t) in enumerate(zip(leaves, tleaves)):
        close(a.grad, t.grad, rtol=1e-4, atol=1e-4, what=f"{name} grad {i}")


@pytest.mark.parametrize("choice", CHOICES)
def test_batch_norm_training_matches_torch(choice):
    r = np.random.default_rng(5)
    x, w, b = (r.standard_normal(s).astype(np.float32) for s in ((4, 3, 5, 6), (3,), (3,)))
    rm, rv = np.zeros(3, np.float32), np.ones(3, np.float32)
    trm, trv = torch.zeros(3), torch.ones(3)
    with use_kernels(choice):
        leaves = [foveanet.tensor(a, requires_grad=True) for a in (x, w, b)]
        y = F.batch_norm(leaves[0], rm, rv, leaves[1], leaves[2], training=True)
        (y * y).sum().backward()
    tl = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
    ty = TF.batch_norm(tl[0], trm, trv, tl[1], tl[2], training=True)
    (ty * ty).sum().backward()
    close(y, ty, what="forward")
    close(rm, trm, what="running mean")
    close(rv, trv, what="running var")
    for a, t in zip(leaves, tl):
        close(a.grad, t.grad, rtol=1e-4, atol=1e-4)
