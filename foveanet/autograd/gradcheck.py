"""Finite-difference gradient check, in float64, for any function of Tensors."""
from __future__ import annotations

import numpy as np

from foveanet.autograd.function import no_grad
from foveanet.autograd.tensor import Tensor


class GradcheckError(AssertionError):
    pass


def gradcheck(fn, inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              seed: int = 0, raise_exception: bool = True) -> bool:
    """Compare the hand-written backward of ``fn`` with central differences.

    The scalar probed is L = sum(fn(*inputs) * v) for a fixed random v, so every output
    element takes part. For each input x that requires grad, and each element x_i,

        dL/dx_i  ~=  (L(x_i + eps) - L(x_i - eps)) / (2 eps)

    which must match ``x.grad`` within ``atol + rtol * |numeric|``. Inputs must be float64
    (float32 round-off is larger than the differences being measured).
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
    probes = [rng.standard_normal(o.shape) for o in outs]

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
        analytic = np.zeros(t.shape) if t.grad is None else t.grad.data
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
