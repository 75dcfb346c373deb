"""Autograd against PyTorch: every operator's forward and gradient, on a DAG."""
import numpy as np
import pytest
import torch

import foveanet as fn
from tests.torch_ref import close, f, t


def both(*arrays):
    """The same leaves in foveanet and torch, requiring grad."""
    return [f(a, True) for a in arrays], [t(a, True) for a in arrays]


def check_grads(ours, theirs, out_o, out_t, rtol=1e-5, atol=1e-5):
    close(out_o, out_t, rtol, atol, "forward")
    g = np.random.default_rng(7).standard_normal(out_o.shape).astype(out_o.dtype)
    out_o.backward(fn.tensor(g))
    out_t.backward(torch.from_numpy(g))
    for i, (a, b) in enumerate(zip(ours, theirs)):
        close(a.grad, b.grad, rtol, atol, f"grad of input {i}")


BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / (b.abs() + 0.5),
    "pow": lambda a, b: (a.abs() + 0.1) ** b,
    "maximum": lambda a, b: a.maximum(b) if hasattr(a, "maximum") and not isinstance(a, torch.Tensor) else torch.maximum(a, b),
}
BROADCAST_SHAPES = [((3, 4), (3, 4)), ((2, 3, 4), (4,)), ((2, 1, 4), (3, 1)), ((5,), (2, 1, 5)), ((), (3, 2))]


@pytest.mark.parametrize("op", sorted(BINARY))
@pytest.mark.parametrize("shapes", BROADCAST_SHAPES)
def test_binary_broadcast(op, shapes, rng):
    a, b = (rng.standard_normal(s).astype(np.float32) for s in shapes)
    ours, theirs = both(a, b)
    check_grads(ours, theirs, BINARY[op](*ours), BINARY[op](*theirs), rtol=1e-4, atol=1e-5)


UNARY = {
    "neg": (lambda x: -x, lambda x: -x),
    "exp": (lambda x: x.exp(), torch.exp),
    "log": (lambda x: (x.abs() + 0.1).log(), lambda x: (x.abs() + 0.1).log()),
    "sqrt": (lambda x: (x.abs() + 0.1).sqrt(), lambda x: (x.abs() + 0.1).sqrt()),
    "tanh": (lambda x: x.tanh(), torch.tanh),
    "sigmoid": (lambda x: x.sigmoid(), torch.sigmoid),
    "clamp": (lambda x: x.clamp(-0.5, 0.7), lambda x: x.clamp(-0.5, 0.7)),
    "scalar_ops": (lambda x: 2.0 - x * 3 / 4.0 + 1 ** x, lambda x: 2.0 - x * 3 / 4.0 + 1 ** x),
    "rpow": (lambda x: 2.0 ** x, lambda x: 2.0 ** x),
    "rdiv": (lambda x: 1.0 / (x.abs() + 1), lambda x: 1.0 / (x.abs() + 1)),
}


@pytest.mark.parametrize("op", sorted(UNARY))
def test_unary(op, rng):
    x = rng.standard_normal((3, 5)).astype(np.float32)
    ours, theirs = both(x)
    fo, ft = UNARY[op]
    check_grads(ours, theirs, fo(ours[0]), ft(theirs[0]), rtol=1e-4)


@pytest.mark.parametrize("sa,sb", [((3, 4), (4, 5)), ((4,), (4, 5)), ((3, 4), (4,)), ((4,), (4,)),
                                   ((2, 3, 4), (4, 5)), ((2, 3, 4), (2, 4, 5)), ((2, 1, 3, 4), (5, 4, 2))])
def test_matmul(sa, sb, rng):
    a, b = rng.standard_normal(sa).astype(np.float32), rng.standard_normal(sb).astype(np.float32)
    ours, theirs = both(a, b)
    check_grads(ours, theirs, ours[0] @ ours[1], theirs[0] @ theirs[1], rtol=1e-4, atol=1e-4)


REDUCE = [None, 0, 1, -1, (0, 2)]


@pytest.mark.parametrize("name", ["sum", "mean", "amax", "amin", "var"])
@pytest.mark.parametrize("dim", REDUCE)
@pytest.mark.parametrize("keepdim", [False, True])
def test_reductions(name, dim, keepdim, rng):
    x = rng.standard_normal((3, 4, 5)).astype(np.float32)
    ours, theirs = both(x)
    if dim is None and name in ("amax", "amin", "var"):
        out_o, out_t = getattr(ours[0], name)(), getattr(theirs[0], name)()
    elif dim is None:
        out_o, out_t = getattr(ours[0], name)(), getattr(theirs[0], name)()
    else:
        out_o = getattr(ours[0], name)(dim, keepdim=keepdim)
        out_t = getattr(theirs[0], name)(dim, keepdim=keepdim)
    check_grads(ours, theirs, out_o, out_t, rtol=1e-4)


def test_amax_ties_share_gradient():
    x = fn.tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]], requires_grad=True)
    xt = torch.tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]], requires_grad=True)
    x.amax(1).sum().backward()
    xt.amax(1).sum().backward()
    close(x.grad, xt.grad)


@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("keepdim", [False, True])
def test_max_with_dim_returns_values_and_indices(dim, keepdim, rng):
    x = rng.standard_normal((4, 6)).astype(np.float32)
    ours, theirs = both(x)
    vo, io = ours[0].max(dim, keepdim=keepdim)
    vt, it = theirs[0].max(dim, keepdim=keepdim)
    np.testing.assert_array_equal(io.numpy(), it.numpy())
    check_grads(ours, theirs, vo, vt)


def test_shape_ops(rng):
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    ours, theirs = both(x)

    def chain(z, lib):
        a = z.reshape(6, 4).transpose(0, 1)          # (4, 6)
        b = a.permute(1, 0).unsqueeze(0).squeeze(0)  # (6, 4)
        c = b.flatten()[3:17].view(2, 7)
        d = z.permute(2, 0, 1).flatten(1)            # (4, 6)
        e = z[:, 1:, ::2][..., None].expand(2, 2, 2, 3)
        return lib.cat([c.sum(1, keepdim=True), d[:2, :1]], 0).sum() + (b * d.T).sum() + e.mean()

    check_grads(ours, theirs, chain(ours[0], fn), chain(theirs[0], torch), rtol=1e-4)


def test_advanced_indexing_accumulates_repeats(rng):
    x = rng.standard_normal((5, 3)).astype(np.float32)
    ours, theirs = both(x)
    idx = np.array([0, 2, 2, 4, 0, 0])
    check_grads(ours, theirs, ours[0][idx] * 2, theirs[0][torch.from_numpy(idx)] * 2)
    mask = x > 0
    ours, theirs = both(x)
    check_grads(ours, theirs, ours[0][mask], theirs[0][torch.from_numpy(mask)])


def test_cat_stack_split(rng):
    a, b, c = (rng.standard_normal((2, 3)).astype(np.float32) for _ in range(3))
    ours, theirs = both(a, b, c)
    out_o = fn.stack([fn.cat(ours, 1), fn.cat([ours[2], ours[0], ours[1]], 1)], 0)
    out_t = torch.stack([torch.cat(theirs, 1), torch.cat([theirs[2], theirs[0], theirs[1]], 1)], 0)
    parts_o = out_o.split(4, dim=2)
    parts_t = out_t.split(4, dim=2)
    check_grads(ours, theirs, parts_o[0] * 2 + parts_o[1][..., :4] * parts_o[2][..., :1],
                parts_t[0] * 2 + parts_t[1][..., :4] * parts_t[2][..., :1])


def test_dag_reuse_and_residual_accumulate(rng):
    """A tensor used by several ops (a residual block) receives the sum of its paths."""
    x = rng.standard_normal((4, 4)).astype(np.float32)
    w = rng.standard_normal((4, 4)).astype(np.float32)
    ours, theirs = both(x, w)

    def block(z, k):
        h = (z @ k).tanh()
        return (h @ k + z) * z + h.sum(0)

    check_grads(ours, theirs, block(*ours), block(*theirs), rtol=1e-4, atol=1e-5)


def test_leaf_grad_accumulates_across_backward_calls():
    x = fn.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3 + 2, 3 + 4])


def test_where_and_gather(rng):
    x = rng.standard_normal((3, 4)).astype(np.float32)
    y = rng.standard_normal((3, 4)).astype(np.float32)
    ours, theirs = both(x, y)
    cond = x > y
    idx = np.array([[0, 3], [2, 2], [1, 0]])
    out_o = fn.where(cond, ours[0], ours[1]) + fn.gather(ours[0], 1, idx).sum(1, keepdim=True)
    out_t = torch.where(torch.from_numpy(cond), theirs[0], theirs[1]) + \
        torch.gather(theirs[0], 1, torch.from_numpy(idx)).sum(1, keepdim=True)
    check_grads(ours, theirs, out_o, out_t)


def test_float64_end_to_end_and_gradcheck(rng):
    a = fn.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    b = fn.tensor(rng.standard_normal((4, 2)), requires_grad=True)
    assert a.dtype == np.float64
    out = ((a @ b).tanh() * a.sum(1, keepdim=True)).sigmoid()
    assert out.dtype == np.float64
    assert fn.gradcheck(lambda a, b: ((a @ b).tanh() * a.sum(1, keepdim=True)).sigmoid(), (a, b))


def test_gradcheck_catches_a_wrong_backward():
    class BadSquare(fn.Function):
        def forward(self, x):
            self.x = x
            return x * x

        def backward(self, g):
            return g * self.x  # should be 2x

    x = fn.tensor(np.array([0.5, -1.5]), requires_grad=True)
    with pytest.raises(fn.GradcheckError, match="differ"):
        fn.gradcheck(lambda z: BadSquare.apply(z), (x,))


def test_dtypes_follow_torch_rules():
    assert fn.tensor([1.0, 2.0]).dtype == np.float32
    assert fn.tensor([1, 2]).dtype == np.int64
    assert fn.tensor(np.zeros(2, np.float64)).dtype == np.float64
    x = fn.ones(2)
    for y in (x * 2.5, x + np.float64(1.0), 2.5 / x, x ** 2, x - np.array(1.0)):
        assert y.dtype == np.float32, y.dtype


def test_no_grad_records_nothing_and_detach():
    x = fn.ones(3, requires_grad=True)
    with fn.no_grad():
        y = x * 2
    assert not y.requires_grad and y.grad_fn is None
    z = (x * 2).detach()
    assert not z.requires_grad
    assert (x * 2).numpy().tolist() == [2.0, 2.0, 2.0]  # numpy() works on grad-requiring tensors

    @fn.no_grad()
    def infer(v):
        return v * 3

    assert not infer(x).requires_grad


def test_retain_grad_on_intermediate():
    x = fn.tensor([1.0, -2.0], requires_grad=True)
    h = x * 3
    h.retain_grad()
    (h * h).sum().backward()
    np.testing.assert_allclose(h.grad.numpy(), [6.0, -12.0])


def test_manual_seed_reproducible():
    fn.manual_seed(3)
    a = fn.randn(4).numpy().copy()
    fn.manual_seed(3)
    assert np.array_equal(a, fn.randn(4).numpy())


def test_errors_are_clear():
    with pytest.raises(RuntimeError, match="scalar outputs"):
        fn.ones(3, requires_grad=True).backward()
    with pytest.raises(RuntimeError, match="does not require grad"):
        fn.ones(1).backward()
    with pytest.raises(TypeError, match="floating-point"):
        fn.tensor([1, 2], requires_grad=True)
    with pytest.raises(ValueError, match="invalid for input of size 6"):
        fn.ones(2, 3).reshape(4, 2)
    with pytest.raises(ValueError, match="sizes must match except in dim 0"):
        fn.cat([fn.ones(2, 3), fn.ones(2, 4)], 0)
    with pytest.raises(IndexError, match="out of range for a tensor of shape"):
        fn.ones(2, 3)[5]
    with pytest.raises(IndexError, match="dimension 3 out of range"):
        fn.ones(2, 3).sum(3)
