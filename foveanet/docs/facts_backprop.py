"""Values for slide 16: the gradients of convolution and pooling, checked three ways.

For each op the hand-written backward of foveanet (the *analytic* gradient) is compared with
  1. the lecture's formula, evaluated with foveanet's forward ops (dX as a full correlation of
     dY with the flipped kernel, dW as a correlation of X with dY, ...),
  2. central differences (L(x + eps) - L(x - eps)) / (2 eps), the *numeric* gradient,
  3. PyTorch's autograd, when torch is installed.

The inputs are multiples of 1/8 and eps = 2**-10: every product and sum is then exact in
float64, the numeric gradient of these (piecewise) linear ops is exact too, and any nonzero
difference is a real disagreement, not rounding (and the numbers do not change from one BLAS
to another). ``foveanet.gradcheck`` additionally runs on ordinary random float64 inputs.
"""
from __future__ import annotations

import numpy as np

EPS = 2.0 ** -10


def _dyadic(rng, shape, lo=-8, hi=8, denom=8):
    return rng.integers(lo, hi + 1, size=shape).astype(np.float64) / denom


def _numeric(loss, arrays: list, eps: float = EPS) -> list:
    """Central differences of the scalar ``loss(*arrays)`` w.r.t. every element of every array."""
    grads = []
    for a in arrays:
        g = np.zeros_like(a)
        flat, gflat = a.reshape(-1), g.reshape(-1)
        for i in range(flat.size):
            orig = flat[i]
            flat[i] = orig + eps
            hi = loss(*arrays)
            flat[i] = orig - eps
            lo = loss(*arrays)
            flat[i] = orig
            gflat[i] = (hi - lo) / (2 * eps)
        grads.append(g)
    return grads


def _analytic(fn, arrays: list, g: np.ndarray) -> list:
    """foveanet's backward: the gradients of sum(fn(*arrays) * g)."""
    import foveanet as fn_

    ts = [fn_.tensor(a, requires_grad=True) for a in arrays]
    (fn(*ts) * fn_.tensor(g)).sum().backward()
    return [t.grad.numpy() for t in ts]


def _torch(fn_name, arrays: list, g: np.ndarray, **kw):
    """PyTorch's gradients of the same loss, or None when torch is not installed."""
    try:
        import torch
    except ImportError:
        return None
    ts = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    out = getattr(torch.nn.functional, fn_name)(*ts, **kw)
    (out * torch.tensor(g)).sum().backward()
    return [t.grad.numpy() for t in ts]


def _maxdiff(a, b) -> str:
    return f"{float(np.max(np.abs(np.asarray(a) - np.asarray(b)))):g}"


def _gradcheck(fn, shapes, seed=1) -> str:
    """foveanet.gradcheck on random normal float64 inputs: 'passes' or the error."""
    import foveanet as fn_

    rng = np.random.default_rng(seed)
    ts = [fn_.tensor(rng.standard_normal(s), requires_grad=True) for s in shapes]
    try:
        fn_.gradcheck(fn, ts)
    except AssertionError as e:
        return f"FAILS ({e})"
    return "passes"


def _row(name, analytic, formula, numeric, torch_) -> tuple:
    return (name, "x".join(map(str, analytic.shape)), _maxdiff(analytic, formula), _maxdiff(analytic, numeric),
            "not installed" if torch_ is None else _maxdiff(analytic, torch_))


def conv_check() -> tuple:
    from foveanet.functional import conv2d

    rng = np.random.default_rng(0)
    x, w, b = _dyadic(rng, (1, 2, 5, 5)), _dyadic(rng, (3, 2, 3, 3)), _dyadic(rng, (3,))
    f = w.shape[-1]
    g = _dyadic(rng, (1, 3, 3, 3), -4, 4, 4)                  # dL/dY, the upstream gradient

    def fwd(x_, w_, b_):
        return conv2d(x_, w_, b_)

    dx, dw, db = _analytic(fwd, [x, w, b], g)
    # the lecture's formulas, evaluated with foveanet's forward conv2d
    w_flip = w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3).copy()          # (C_in, C_out, f, f), flipped
    fx = conv2d(g, w_flip, padding=f - 1).numpy()                       # full correlation
    fw = conv2d(x.transpose(1, 0, 2, 3).copy(), g.transpose(1, 0, 2, 3).copy()).numpy().transpose(1, 0, 2, 3)
    fb = g.sum(axis=(0, 2, 3))
    # the classic mistake, for contrast: the same full correlation without flipping the kernel
    no_flip = conv2d(g, w.transpose(1, 0, 2, 3).copy(), padding=f - 1).numpy()
    nx, nw, nb = _numeric(lambda *a: float((fwd(*a).numpy() * g).sum()), [x.copy(), w.copy(), b.copy()])
    t = _torch("conv2d", [x, w, b], g) or (None, None, None)
    rows = [_row("dX", dx, fx, nx, t[0]), _row("dW", dw, fw, nw, t[1]), _row("db", db, fb, nb, t[2])]
    gc = _gradcheck(lambda x_, w_, b_: conv2d(x_, w_, b_, padding=1, stride=2), [(2, 2, 5, 5), (3, 2, 3, 3), (3,)])
    return rows, gc, {"x": x.shape, "w": w.shape, "y": g.shape, "no_flip": _maxdiff(dx, no_flip)}


def _route_max(x, g, k, s) -> np.ndarray:
    """The max-pool formula by loops: each window's gradient goes to its largest input (+=)."""
    out = np.zeros_like(x)
    for i in range(g.shape[-2]):
        for j in range(g.shape[-1]):
            win = x[0, 0, i * s:i * s + k, j * s:j * s + k]
            u, v = np.unravel_index(np.argmax(win), win.shape)
            out[0, 0, i * s + u, j * s + v] += g[0, 0, i, j]
    return out


def _spread_avg(x, g, k, s) -> np.ndarray:
    """The average-pool formula by loops: each window's gradient / k^2 to each of its inputs."""
    out = np.zeros_like(x)
    for i in range(g.shape[-2]):
        for j in range(g.shape[-1]):
            out[0, 0, i * s:i * s + k, j * s:j * s + k] += g[0, 0, i, j] / (k * k)
    return out


def pool_check() -> tuple:
    from foveanet.functional import avg_pool2d, max_pool2d

    rng = np.random.default_rng(0)
    x = (rng.permutation(16) + 1).reshape(1, 1, 4, 4).astype(np.float64) / 8   # distinct: no ties
    rows = []
    for label, op, name, formula, k, s in (("max 2x2/2", max_pool2d, "max_pool2d", _route_max, 2, 2),
                                           ("max 2x2/1 (overlapping)", max_pool2d, "max_pool2d", _route_max, 2, 1),
                                           ("avg 2x2/2", avg_pool2d, "avg_pool2d", _spread_avg, 2, 2)):
        n_out = (4 - k) // s + 1
        g = _dyadic(rng, (1, 1, n_out, n_out), -4, 4, 4)

        def fwd(x_, op=op, k=k, s=s):
            return op(x_, k, s)

        (dx,) = _analytic(fwd, [x], g)
        (nx,) = _numeric(lambda a, fwd=fwd, g=g: float((fwd(a).numpy() * g).sum()), [x.copy()])
        t = _torch(name, [x], g, kernel_size=k, stride=s)
        rows.append(_row(f"dX, {label}", dx, formula(x, g, k, s), nx, None if t is None else t[0]))
    gc_max = _gradcheck(lambda a: max_pool2d(a, 3, 2, padding=1), [(2, 3, 7, 7)])
    gc_avg = _gradcheck(lambda a: avg_pool2d(a, 3, 2, padding=1), [(2, 3, 7, 7)])
    return rows, gc_max, gc_avg, x


def compute() -> dict:
    from foveanet.docs._util import grid, shape, table

    heads = ["gradient", "shape", "vs formula", "vs numeric", "vs PyTorch"]
    crows, cgc, shapes = conv_check()
    prows, gc_max, gc_avg, px = pool_check()
    ok = all(r[2] == r[3] == "0" and r[4] in ("0", "not installed") for r in crows + prows)
    return {"bp_conv_table": table(heads, crows), "bp_pool_table": table(heads, prows),
            "bp_x": shape(shapes["x"]), "bp_w": shape(shapes["w"]), "bp_y": shape(shapes["y"]),
            "bp_gc_conv": cgc, "bp_gc_max": gc_max, "bp_gc_avg": gc_avg, "bp_pool_x": grid(px[0, 0] * 8),
            "bp_eps": f"2**{int(np.log2(EPS))}", "bp_denom": "1/8", "bp_noflip": shapes["no_flip"], "bp_verdict": ("every difference is exactly 0" if ok else
                                               "SOME DIFFERENCES ARE NOT 0: a backward is wrong")}
