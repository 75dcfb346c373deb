"""Post-accumulate-grad hooks and end-of-backward callbacks: what DistributedDataParallel
builds its gradient buckets on."""
import numpy as np
import pytest
import torch

import foveanet as fn
from foveanet.autograd.function import queue_callback


def test_hook_sees_the_final_gradient_of_a_leaf_used_twice():
    # w feeds two branches: the hook must run once, after both contributions are summed
    w = fn.tensor([1.0, -2.0], requires_grad=True)
    seen = []
    w.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.numpy().copy()))
    ((w * w).sum() + (3 * w).sum()).backward()
    tw = torch.tensor([1.0, -2.0], requires_grad=True)
    ((tw * tw).sum() + (3 * tw).sum()).backward()
    assert len(seen) == 1
    np.testing.assert_allclose(seen[0], tw.grad.numpy())


def test_hooks_run_in_the_order_backward_finishes_the_leaves():
    # the layer nearest the loss finishes first: what DDP's bucket order relies on
    a = fn.tensor([2.0], requires_grad=True)
    b = fn.tensor([3.0], requires_grad=True)
    order = []
    a.register_post_accumulate_grad_hook(lambda t: order.append("a"))
    b.register_post_accumulate_grad_hook(lambda t: order.append("b"))
    ((a * 2).exp() * b).sum().backward()
    assert order == ["b", "a"]


def test_hook_on_a_non_leaf_is_refused_and_a_removed_hook_stays_silent():
    x = fn.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="only a leaf tensor"):
        (x * 2).register_post_accumulate_grad_hook(lambda t: None)
    calls = []
    handle = x.register_post_accumulate_grad_hook(lambda t: calls.append(1))
    (x * 2).sum().backward()
    handle.remove()
    (x * 2).sum().backward()
    assert calls == [1] and x.grad.numpy().tolist() == [4.0]


def test_parameters_take_hooks_too():
    lin = fn.nn.Linear(2, 1)
    seen = []
    lin.weight.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.shape))
    lin(fn.ones(3, 2)).sum().backward()
    assert seen == [(1, 2)]


def test_queued_callbacks_run_after_every_hook_and_are_dropped_when_backward_raises():
    w = fn.tensor([1.0, 2.0], requires_grad=True)
    v = fn.tensor([3.0], requires_grad=True)
    events = []

    def hook(t):
        events.append("hook")
        if len(events) == 1:
            queue_callback(lambda: events.append("end"))

    w.register_post_accumulate_grad_hook(hook)
    v.register_post_accumulate_grad_hook(hook)
    ((w * v).sum()).backward()
    assert events == ["hook", "hook", "end"]

    class Boom(fn.Function):
        def forward(self, x):
            return x

        def backward(self, g):
            raise ValueError("boom")

    queue_callback(lambda: events.append("stale"))
    with pytest.raises(ValueError, match="boom"):
        Boom.apply(w).sum().backward()
    (w * 1).sum().backward()
    assert "stale" not in events


def test_a_layers_gradients_are_final_before_the_layers_below_run_backward():
    events = []

    class Mark(fn.Function):
        def forward(self, x):
            return x

        def backward(self, g):
            events.append("backward between the layers")
            return g

    first, second = fn.nn.Linear(3, 3), fn.nn.Linear(3, 2)
    for name, p in [("first.weight", first.weight), ("second.weight", second.weight)]:
        p.register_post_accumulate_grad_hook(lambda t, name=name: events.append(name))
    second(Mark.apply(first(fn.ones(4, 3)))).sum().backward()
    assert events == ["second.weight", "backward between the layers", "first.weight"]
