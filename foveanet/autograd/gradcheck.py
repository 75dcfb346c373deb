"""Finite-difference gradient check, in float64, for any function of Tensors."""
from __future__ import annotations

import numpy as np

from foveanet.backend import devices as _device
from foveanet.autograd.function import no_grad
from foveanet.autograd.tensor import Tensor


class GradcheckError(AssertionError):
    """Raised by ``gradcheck`` when a backward disagrees with finite differences.

    The message names the input, how many gradient entries differ, and the worst one.

    Example::

        >>> class Wrong(fn.Function):
        ...     def forward(self, x):
        ...         return x * x
        ...     def backward(self, grad_out):
        ...         return grad_out          # should be 2 * x * grad_out
        >>> x = fn.tensor([1.0, 2.0], dtype=fn.float64, requires_grad=True)
        >>> try:
        ...     fn.gradcheck(Wrong.apply, (x,))
        ... except fn.GradcheckError as e:
        ...     print(e)
        gradcheck: input 0 (shape (2,)): 2 of 2 gradient entries differ;
        worst at (1,): analytic -0.132105 vs numeric -0.528419
    """


def gradcheck(fn, inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              seed: int = 0, raise_exception: bool = True) -> bool:
    """Compare the hand-written backward of ``fn`` with central differences.

    The scalar probed is ``L = sum(fn(*inputs) * v)`` for a fixed random v, so every output
    element takes part. For each input x that requires grad, and each element x_i,

        dL/dx_i  ~=  (L(x_i + eps) - L(x_i - eps)) / (2 eps)

    which must match ``x.grad`` within ``atol + rtol * |numeric|``. Inputs must be float64
    (float32 round-off is larger than the differences being measured).

    Args:
        fn: a function of the inputs returning a Tensor (or a tuple/list of Tensors).
        inputs: a Tensor or a tuple of them (other values are passed through); those with
            ``requires_grad`` are checked.
        eps: the finite-difference step (default 1e-6).
        atol: absolute tolerance (default 1e-5).
        rtol: relative tolerance, times ``|numeric|`` (default 1e-3).
        seed: seed of the random probe v (default 0).
        raise_exception: raise ``GradcheckError`` on a mismatch (default True);
            False returns False instead.

    Returns:
        bool: True when every gradient matches.

    Raises:
        GradcheckError: a gradient differs (with ``raise_exception=True``).

    Example::

        >>> x = fn.tensor([[1.0, -2.0], [0.5, 3.0]], dtype=fn.float64, requires_grad=True)
        >>> fn.gradcheck(lambda t: (t * t).sum(dim=1), (x,))
        True
        >>> fn.gradcheck(lambda t: t * 2, x, raise_exception=False)
        True
        >>> fn.gradcheck(lambda t: t.detach() * t, x, raise_exception=False)
        False
    """
    if isinstance(inputs, Tensor):
        inputs = (inputs,)
    inputs = tuple(inputs)
    checked = [t for t in inputs if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad")
    for t in checked:
        if t.dtype != np.float64:
            raise TypeError(f"gradcheck: inputs must be float64, got {t.dtype}")

    out = fn(*inputs)
    outs = out if isinstance(out, (tuple, list)) else (out,)
    rng = np.random.default_rng(seed)
    # drawn on the host, so the probe (and the verdict) is the same on every device
    probes = [_device.to_device(rng.standard_normal(o.shape), o.device) for o in outs]

    def scalar() -> float:
        with no_grad():
            res = fn(*inputs)
        res = res if isinstance(res, (tuple, list)) else (res,)
        return float(sum((r.data * v).sum() for r, v in zip(res, probes)))

    for t in checked:
        t.grad = None
    loss = sum((o * Tensor(v)).sum() for o, v in zip(outs, probes))
    loss.backward()

    for k, t in enumerate(checked):
        analytic = np.zeros(t.shape) if t.grad is None else _device.to_host(t.grad.data)
        numeric = np.zeros(t.shape)
        flat = t.data.reshape(-1)
        for i in range(flat.size):
            orig = flat[i]
            flat[i] = orig + eps
            hi = scalar()
            flat[i] = orig - eps
            lo = scalar()
            flat[i] = orig
            numeric.reshape(-1)[i] = (hi - lo) / (2 * eps)
        bad = np.abs(analytic - numeric) > atol + rtol * np.abs(numeric)
        if bad.any():
            if not raise_exception:
                return False
            i = np.unravel_index(np.argmax(np.abs(analytic - numeric)), t.shape)
            raise GradcheckError(
                f"gradcheck: input {k} (shape {t.shape}): {int(bad.sum())} of {t.data.size} "
                f"gradient entries differ; worst at {tuple(int(j) for j in i)}: "
                f"analytic {analytic[i]:.6g} vs numeric {numeric[i]:.6g}"
            )
    return True
