"""Adam and AdamW (Kingma & Ba 2015; Loshchilov & Hutter 2019) in PyTorch's formulation."""
from __future__ import annotations

import math

from foveanet.backend.arrays import array_module
from foveanet.optim.optimizer import Optimizer


class Adam(Optimizer):
    r"""Adam, with optional AMSGrad, L2 or decoupled weight decay, as torch.optim.Adam.

    Each step, for every parameter p with a gradient (t counts the steps):

        g = -grad if maximize else grad
        L2 (Adam):          g += weight_decay * p
        decoupled (AdamW):  p *= 1 - lr * weight_decay
        m = b1 m + (1 - b1) g;   v = b2 v + (1 - b2) g^2;   v_max = max(v_max, v) (amsgrad)
        p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)

    eps is added after the bias correction of sqrt(v), as in PyTorch (it differs from the
    paper's eps-hat, which matters when v is tiny).

    Args:
        params: the parameters to optimize: an iterable of Tensors, or of dicts defining
            parameter groups (see ``Optimizer``).
        lr: the learning rate (default 1e-3).
        betas: (b1, b2), the decay rates of m and v (default (0.9, 0.999)).
        eps: added to the denominator for stability (default 1e-8).
        weight_decay: the weight decay's factor (default 0).
        amsgrad: divide by the running max of v (AMSGrad) (default False).
        maximize: ascend the objective instead of descending it (default False).
        decoupled_weight_decay: decay the weights directly, as AdamW, instead of adding
            the L2 term to the gradient (default False).

    Example::

        >>> w = nn.Parameter(fn.tensor([1.0, -2.0]))
        >>> opt = fn.optim.Adam([w], lr=0.1)
        >>> (w * w).sum().backward()                    # grad = [2, -4]
        >>> opt.step()
        >>> w.numpy().round(4)                          # the first step is lr * sign(grad)
        array([ 0.9, -1.9], dtype=float32)
        >>> opt.state[w]["step"], opt.state[w]["exp_avg"]   # m = (1 - b1) grad
        (1, array([ 0.2, -0.4], dtype=float32))
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 amsgrad=False, *, maximize=False, decoupled_weight_decay=False):
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, maximize=maximize,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def _check_group(self, group):
        lr, eps, wd = group["lr"], group["eps"], group["weight_decay"]
        group["betas"] = tuple(group["betas"])
        b1, b2 = group["betas"]
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if eps < 0.0:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= b1 < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {b1}")
        if not 0.0 <= b2 < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {b2}")
        if wd < 0.0:
            raise ValueError(f"Invalid weight_decay value: {wd}")

    def _update_group(self, group):
        lr, eps, wd = float(group["lr"]), float(group["eps"]), float(group["weight_decay"])
        b1, b2 = (float(b) for b in group["betas"])
        amsgrad, maximize = group["amsgrad"], group["maximize"]
        decoupled = group["decoupled_weight_decay"]
        for p, grad, param in self._grads(group):
            xp = array_module(p)
            state = self.state.setdefault(param, {})
            if not state:  # on the parameter's device
                state["step"] = 0
                state["exp_avg"] = xp.zeros_like(p)
                state["exp_avg_sq"] = xp.zeros_like(p)
                if amsgrad:
                    state["max_exp_avg_sq"] = xp.zeros_like(p)
            state["step"] += 1
            t = state["step"]
            m, v = state["exp_avg"], state["exp_avg_sq"]

            g = grad
            if decoupled:
                if wd != 0.0:
                    p *= 1.0 - lr * wd
                if maximize:
                    g = xp.negative(grad, out=self._work(p, 1))
            else:
                g = self._decayed_grad(p, grad, wd, maximize)

            tmp = self._work(p, 0)
            # m moves toward g by (1 - b1): the lerp form PyTorch uses
            xp.subtract(g, m, out=tmp)
            tmp *= 1.0 - b1
            m += tmp
            v *= b2
            xp.multiply(g, g, out=tmp)
            tmp *= 1.0 - b2
            v += tmp

            step_size = lr / (1.0 - b1 ** t)
            bc2_sqrt = math.sqrt(1.0 - b2 ** t)
            if amsgrad:
                vmax = state["max_exp_avg_sq"]
                xp.maximum(vmax, v, out=vmax)
                xp.sqrt(vmax, out=tmp)
            else:
                xp.sqrt(v, out=tmp)
            tmp /= bc2_sqrt
            tmp += eps
            xp.divide(m, tmp, out=tmp)
            tmp *= step_size
            p -= tmp


class AdamW(Adam):
    """Adam with decoupled weight decay: ``p *= 1 - lr * weight_decay`` before the Adam step,
    so the decay is not rescaled by the adaptive denominator.

    The same as ``Adam(..., decoupled_weight_decay=True)``, with a default weight decay of
    1e-2 (Loshchilov & Hutter 2019; torch.optim.AdamW).

    Args:
        params: the parameters to optimize: an iterable of Tensors, or of dicts defining
            parameter groups (see ``Optimizer``).
        lr: the learning rate (default 1e-3).
        betas: (b1, b2), the decay rates of m and v (default (0.9, 0.999)).
        eps: added to the denominator for stability (default 1e-8).
        weight_decay: the decoupled decay's factor (default 1e-2).
        amsgrad: divide by the running max of v (AMSGrad) (default False).
        maximize: ascend the objective instead of descending it (default False).

    Example::

        >>> w = nn.Parameter(fn.tensor([1.0, -2.0]))
        >>> opt = fn.optim.AdamW([w], lr=0.1, weight_decay=0.5)
        >>> (w * w).sum().backward()
        >>> opt.step()
        >>> w.numpy()               # w * (1 - 0.1 * 0.5), then the Adam step -0.1 * sign(grad)
        array([ 0.85, -1.8 ], dtype=float32)
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, maximize=maximize, decoupled_weight_decay=True)
