"""Stochastic gradient descent with momentum, in PyTorch's exact formulation."""
from __future__ import annotations

from foveanet.backend.arrays import array_module
from foveanet.optim.optimizer import Optimizer


class SGD(Optimizer):
    r"""Stochastic gradient descent with momentum, Nesterov and weight decay, as torch.optim.SGD.

    Each step, for every parameter p with a gradient:

        g = -grad if maximize else grad;  g += weight_decay * p
        momentum:  b = g (first step),  b = momentum * b + (1 - dampening) * g  (later)
                   g = g + momentum * b  (nesterov)  or  g = b
        p -= lr * g

    Note the momentum is applied to the gradient before the learning rate (PyTorch's form,
    not Sutskever's), so changing ``lr`` mid-run does not rescale the accumulated velocity.

    Args:
        params: the parameters to optimize: an iterable of Tensors, or of dicts defining
            parameter groups (see ``Optimizer``).
        lr: the learning rate (default 1e-3).
        momentum: the momentum factor (default 0: none).
        dampening: the dampening of momentum (default 0).
        weight_decay: the L2 penalty's factor (default 0).
        nesterov: use Nesterov momentum (default False; needs momentum > 0, dampening 0).
        maximize: ascend the objective instead of descending it (default False).

    Example::

        >>> w = nn.Parameter(fn.tensor([1.0, 2.0]))
        >>> opt = fn.optim.SGD([w], lr=0.1, momentum=0.9)
        >>> for _ in range(2):
        ...     opt.zero_grad()
        ...     (w * w).sum().backward()                # grad = 2 w
        ...     opt.step()
        ...     print(w.numpy())
        [0.8 1.6]
        [0.46 0.92]

    The second step:

        b = 0.9 * [2, 4] + [1.6, 3.2] = [3.4, 6.8]
        w = [0.8, 1.6] - 0.1 b = [0.46, 0.92]
    """

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0,
                 nesterov=False, *, maximize=False):
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize)
        super().__init__(params, defaults)

    def _check_group(self, group):
        lr, momentum, wd = group["lr"], group["momentum"], group["weight_decay"]
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if wd < 0.0:
            raise ValueError(f"Invalid weight_decay value: {wd}")
        if group["nesterov"] and (momentum <= 0 or group["dampening"] != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")

    def _update_group(self, group):
        # Python floats keep float32 arrays float32 (NumPy treats them as weak scalars)
        lr = float(group["lr"])
        momentum = float(group["momentum"])
        dampening = float(group["dampening"])
        wd = float(group["weight_decay"])
        nesterov, maximize = group["nesterov"], group["maximize"]
        for p, grad, param in self._grads(group):
            xp = array_module(p)
            g = self._decayed_grad(p, grad, wd, maximize)
            out = self._work(p, 0)
            if momentum != 0.0:
                state = self.state.setdefault(param, {})
                buf = state.get("momentum_buffer")
                if buf is None:
                    buf = g.astype(p.dtype, copy=True)
                    state["momentum_buffer"] = buf
                else:
                    buf *= momentum
                    if dampening == 0.0:
                        buf += g
                    else:
                        xp.multiply(g, 1.0 - dampening, out=out)
                        buf += out
                if nesterov:
                    xp.multiply(buf, momentum, out=out)
                    out += g
                    g = out
                else:
                    g = buf
            xp.multiply(g, lr, out=out)
            p -= out
