"""The CPU convolution kernels: one entry point per direction; ``route`` picks the engine.

``functional.conv`` states the math and calls these with NCHW arrays and the convolution's
``foveanet.geometry.ConvGeom``; each returns what the reference convolution in
``functional/im2col.py`` returns, up to float round-off (``tests/backend/test_conv_paths.py``
holds every engine to it in float64).

    forward(x, w, bias, g, need_x, need_w) -> (y, state)     state: what backward reads,
                                                              state.path the engine that ran
    backward(gy, state, g, need_x, need_w) -> (dX, dW)
    transpose_forward(x, w, g, need_w)    -> (y, state)      the adjoint of forward

For inference, ``forward(..., clamp=(lo, hi), scale=s, residual=r)`` returns ``clamp(conv
* s[o] + b[o] + r)`` (eval batch norm, a residual block's shortcut and its ReLU or ReLU6,
``models/fold.py``): inside the compiled depthwise kernel's last pass, on each thread's
piece of the output (one image, ``single``; ``winograd_one`` with the compiled kernels), or
as one epilogue pass after the other engines.
    transpose_backward(gy, state, g, need_x, need_w) -> (dX, dW)

``need_x``/``need_w`` say which gradients will be asked for, so that inference and first
layers keep nothing they will not read.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from foveanet.kernels import route as compiled_route

from foveanet.backend.cpu.conv import (
    depthwise, direct, epilogue, gemm, packed, patches, route, rows, single, winograd, winograd_one,
)

__all__ = ["forward", "backward", "transpose_forward", "transpose_backward"]


class State(NamedTuple):
    path: str      # one of route.PATHS
    saved: tuple   # (what dW needs, what dX needs), None where that gradient is not wanted


def forward(x, w, bias, g, need_x: bool, need_w: bool, clamp=None, scale=None, compiled=None,
            residual=None):
    inference = not (need_x or need_w)
    path = route.path(g, inference=inference)
    if (inference and compiled is not None and x.dtype in (np.float32, np.float64)
            and route.winograd_one(g, packed.read_only(w))):
        # the compiled transforms, the epilogue in the output's
        y = winograd_one.forward(x, w, g, compiled, bias, scale, clamp, residual)
        return y, State("winograd_one", (None, None))
    if path == "single":  # the epilogue on each thread's piece of the output
        return single.forward(x, w, g, bias, scale, clamp, residual), State(path, (None, None))
    if path == "depthwise" and residual is None:
        y = depthwise.depthwise(x, w, g, bias, compiled, clamp, scale, inference)
        return y, State(path, (x if need_w else None, w if need_x else None))
    if scale is not None or clamp is not None or residual is not None:
        # inference: the conv, then one epilogue pass
        y, state = forward(x, w, None if scale is not None else bias, g, need_x, need_w)
        return epilogue.epilogue(y, scale, bias if scale is not None else None, clamp,
                                 compiled, residual), state
    if path == "rows":
        xr = rows.to_rows(x, g)
        y = rows.rows_forward(xr, w, g, bias)
        saved = (xr if need_w else None, w if need_x else None)
    elif path == "winograd":
        y, u, kept = winograd.conv_forward(x, w, g, bias, keep=need_w)
        saved = (kept, u if need_x else None)
    elif path == "patches":
        y, kept = patches.conv_forward(x, w, g, bias)
        saved = (kept if need_w else None, w if need_x else None)
    else:
        wm = gemm.w_matrix(w, g.G)
        y, kept = gemm.conv_forward(x, wm, g, bias)
        saved = (kept if need_w else None, wm if need_x else None)
    return y, State(path, saved)


def _nothing(gy, x_saved, w_saved, g, need_x, need_w):
    """The single and winograd_one engines run only where no dX or dW is wanted (the bias's
    db is the caller's): there is nothing to compute."""
    return None, None


_BACKWARD = {"single": _nothing, "winograd_one": _nothing, "depthwise": depthwise.depthwise_grads,
             "rows": rows.rows_backward, "winograd": winograd.conv_backward, "patches": patches.conv_backward,
             "gemm": gemm.conv_backward}


def backward(gy, state, g, need_x: bool, need_w: bool):
    x_saved, w_saved = state.saved
    return _BACKWARD[state.path](gy, x_saved, w_saved, g, need_x, need_w)


def transpose_forward(x, w, g, need_w: bool):
    """y = the input-gradient of the direct conv ``g`` applied to ``x`` (N, Co, Ho, Wo)."""
    wm = gemm.w_matrix(w, g.G)
    y = gemm.conv_data(x, wm, g)
    return y, State("gemm", (gemm.to_cn(x) if need_w else None, wm))


def transpose_backward(gy, state, g, need_x: bool, need_w: bool):
    """dX = the direct conv of dY; dW = X @ im2col(padded dY)^T, both from one cols buffer."""
    xm, wm = state.saved
    cols = gemm.im2col(gemm.pad_cn(gy, g), g)
    dx = gemm.from_cn(gemm.gemm_forward(cols, wm), g) if need_x else None
    dw = gemm.gemm_weight(xm, cols, g.G) if need_w else None
    return dx, dw


class WithCompiled:
    """The four entry points, with the depthwise engine on the compiled kernels
    (``compiled``: the namespace of ``foveanet.kernels``), and the layers that
    ``foveanet.kernels.route.direct`` names on the compiled direct conv (an inference
    layer's clamp inside it; one-image 3x3 layers that the kept Winograd transform takes stay
    there); every other path as above."""

    def __init__(self, compiled):
        self.compiled = compiled

    def forward(self, x, w, bias, g, need_x: bool, need_w: bool, clamp=None, scale=None,
                residual=None):
        inference = not (need_x or need_w)
        if (scale is None and residual is None and compiled_route.direct(g)
                and not (inference and route.winograd_one(g, packed.read_only(w)))):
            y = direct.forward(x, w, g, bias, self.compiled, clamp)
            return y, State("direct", (x if need_w else None, w))
        return forward(x, w, bias, g, need_x, need_w, clamp, scale, self.compiled, residual)

    def backward(self, gy, state, g, need_x: bool, need_w: bool):
        if state.path == "direct":
            return direct.grads(gy, *state.saved, g, need_x, need_w, self.compiled)
        if state.path != "depthwise":
            return backward(gy, state, g, need_x, need_w)
        x_saved, w_saved = state.saved
        return depthwise.depthwise_grads(gy, x_saved, w_saved, g, need_x, need_w, self.compiled)

    transpose_forward = staticmethod(transpose_forward)
    transpose_backward = staticmethod(transpose_backward)
