"""An inference convolution's epilogue: per-channel scale and shift, then a clamp, applied
in place to the NCHW output of any engine (eval batch norm and ReLU6 of a block,
``models/fold.py``; the compiled depthwise kernel does the same inside its last pass).
"""
from __future__ import annotations

import numpy as np

from foveanet.backend.cpu import threads
from foveanet.backend.cpu.conv import route


def epilogue(y: np.ndarray, scale, bias, clamp, compiled=None, residual=None) -> np.ndarray:
    """NCHW ``y`` in place: ``y * scale[c] + bias[c]`` (either may be None), plus
    ``residual`` (an array of y's shape, or None), then clamped to ``clamp`` = (lo, hi)
    (None: not): one compiled pass over each image's (C, H*W) rows, in channel blocks on
    the threads, or NumPy's passes without ``compiled`` or with a residual."""
    C = y.shape[1]
    if residual is not None:
        y = epilogue(y, scale, bias, None, compiled)
        y += residual
        return epilogue(y, None, None, clamp)
    if compiled is None:
        if scale is not None:
            y *= scale.reshape(1, -1, 1, 1)
        if bias is not None:
            y += bias.reshape(1, -1, 1, 1)
        if clamp is not None:
            np.clip(y, *clamp, out=y)
        return y
    y = np.ascontiguousarray(y)  # an engine may return a transposed view (patches)
    dt = y.dtype
    s = np.ones(C, dt) if scale is None else np.ascontiguousarray(scale, dt)
    b = np.zeros(C, dt) if bias is None else np.ascontiguousarray(bias, dt)
    lo, hi = (dt.type(v) for v in ((-np.inf, np.inf) if clamp is None else clamp))
    planes = y.reshape(y.shape[0], C, -1)
    parts = threads.workers() if y.size >= route.EPILOGUE_PARALLEL_MIN else 1
    n = -(-C // (2 * parts)) if parts > 1 else C
    blocks = [(i, c0, min(c0 + n, C)) for i in range(y.shape[0]) for c0 in range(0, C, n)]
    threads.each(blocks, lambda blk: compiled.affine_clamp(planes[blk[0]], s, b, lo, hi,
                                                           blk[1], blk[2]))
    return y
