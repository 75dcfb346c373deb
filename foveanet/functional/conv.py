"""Convolutions: conv1d, conv2d, conv_transpose1d, conv_transpose2d (PyTorch names and signatures).

A convolution is im2col plus one matrix product per group (``functional/im2col.py``, the
reference); the backend runs it with its own kernels where it has them (on the CPU:
``backend/cpu/conv``, which routes each layer to the fastest of five engines). A 1-d
convolution is the 2-d one with H = 1; a transposed convolution is the adjoint of a direct
one, so its forward is the direct conv's input-gradient and vice versa.

Notation for one spatial axis: n input size, f kernel size, s stride, p padding, d dilation.
"""
from __future__ import annotations

import numbers

from foveanet.autograd.function import Function, is_grad_enabled
from foveanet.autograd.tensor import Tensor
from foveanet.backend import kernels
from foveanet.functional import im2col as ref
from foveanet.functional.activation import _relu_backward
from foveanet.functional._utils import as_optional, as_tensor, check_ndim, check_float, ntuple
from foveanet.geometry import ConvGeom, conv_transpose_output, effective_kernel, same_padding_split

__all__ = ["conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d"]

_LAYOUT = {1: "(N, C, L) or (C, L)", 2: "(N, C, H, W) or (C, H, W)"}


# ----------------------------------------------------------------------------- Functions


class _ConvFunction(Function):
    """What the two convolutions share: they run GEMMs, and say which engine ran them."""

    # BLAS's own threads only for training: at inference every engine runs its GEMMs in
    # tasks with BLAS held at one thread, so giving BLAS its threads back before each conv,
    # only to take them again in the conv's first region, is two thread-count changes per
    # conv for nothing. One run of ResNet-18 b1 alone in its process (2 threads, Intel Xeon)
    # read 54-57 -> 36-37 ms median with this; `python -m benchmarks.bench_alone` later read
    # 35-36 ms either way, so the stall it removes is not always there.
    uses_blas = "grad"
    kernel = None  # the backend's conv kernels (None: functional/im2col.py)
    state = None   # what backward reads, as the kernel or the reference saved it
    cols = None    # the backend's im2col/col2im for the reference (None: im2col.py's)

    @property
    def path(self) -> str:
        """The engine that ran: the backend's choice (e.g. 'winograd'), or 'reference'."""
        return "reference" if self.kernel is None else self.state.path


class _Conv(_ConvFunction):
    """Direct convolution (cross-correlation, as in every CNN framework).

    y[n, o, h, w] = b[o] + sum_{c, i, j} W[o, c, i, j] * xpad[n, g(o)*C/G + c, h*s + i*d, w*s + j*d]
    As matrices (per group): Y = W_mat @ cols, cols = im2col(xpad).
      dW = dY @ cols^T                  (correlation of X with dY)
      dX = col2im(W_mat^T @ dY)         (full correlation of dY with the flipped kernel)
      db = sum of dY over N, H, W

    ``relu=True`` (``conv_relu``): z = max(y, 0) as the engine writes y, and dY = dZ·[not
    z <= 0] first in the backward, ReLU's own rule: the numbers of conv then relu.
    """

    relu_out = None  # z, kept for the backward of a fused ReLU

    def forward(self, x, w, *bias, geom, lift, clamp=None, scale=None, residual=None,
                relu=False):
        g = geom
        x4 = x.reshape(g.N, g.C, g.H, g.W)
        w4 = w.reshape(g.Co, g.C // g.G, g.kh, g.kw)
        b = bias[0] if bias else None
        need_x, need_w = self.needs_input_grad[:2]
        if relu:  # the engines' clamp (conv2d_clamp's) applies it
            clamp = (0.0, float("inf"))
        if residual is not None and residual.size != g.N * g.Co * g.Ho * g.Wo:
            raise ValueError(f"conv2d_clamp: residual has shape {residual.shape}, expected the "
                             f"output's {lift((g.N, g.Co, g.Ho, g.Wo))}")
        ks = kernels(x)
        self.kernel, self.cols = ks.conv, ks.cols
        if self.kernel is None:
            if scale is None:
                y = ref.conv(x4, w4, b, g, self.cols)
            else:
                y = ref.conv(x4, w4, None, g, self.cols) * scale.reshape(1, -1, 1, 1)
                if b is not None:
                    y += b.reshape(1, -1, 1, 1)
            state = (x4 if need_w else None, w4 if need_x else None)
            if residual is not None:
                y += residual.reshape(y.shape)
            if clamp is not None:
                y.clip(*clamp, out=y)
        elif clamp is not None or scale is not None or residual is not None:  # conv2d_clamp, relu
            if residual is not None:
                residual = residual.reshape(g.N, g.Co, g.Ho, g.Wo)
            y, state = self.kernel.forward(x4, w4, b, g, need_x, need_w, clamp=clamp,
                                           scale=scale, residual=residual)
        else:  # inference and first layers keep nothing they will not read
            y, state = self.kernel.forward(x4, w4, b, g, need_x, need_w)
        if self.requires_grad:
            self.geom, self.shapes, self.nbias, self.state = g, (x.shape, w.shape), len(bias), state
            if relu:
                self.relu_out = y
        return y.reshape(lift(y.shape))

    def backward(self, grad):
        g = self.geom
        need_x, need_w = self.needs_input_grad[:2]
        g4 = grad.reshape(g.N, g.Co, g.Ho, g.Wo)
        if self.relu_out is not None:
            g4 = _relu_backward(g4, self.relu_out, 0.0)
        db = g4.sum(axis=(0, 2, 3)) if self.nbias and self.needs_input_grad[2] else None
        if self.kernel is None:
            x4, w4 = self.state
            dx = ref.conv_input_grad(g4, w4, g, self.cols) if need_x else None
            dw = ref.conv_weight_grad(g4, x4, g, self.cols) if need_w else None
        else:
            dx, dw = self.kernel.backward(g4, self.state, g, need_x, need_w)
        dx = None if dx is None else dx.reshape(self.shapes[0])
        dw = None if dw is None else dw.reshape(self.shapes[1])
        return (dx, dw, db)[:2 + self.nbias]


class _ConvTranspose(_ConvFunction):
    """Transposed convolution: the adjoint (input-gradient) of the direct convolution
    with the same weight, stride, padding and dilation.

    With ``weight (C_in, C_out/G, kh, kw)`` read as a direct conv mapping C_out -> C_in:
      y  = col2im(W_mat^T @ X) cropped by p  (+ b)
      dX = im2col(pad(dY)) correlated with W, i.e. the direct conv of dY
      dW = X @ im2col(pad(dY))^T
      db = sum of dY over N, H, W
    """

    def forward(self, x, w, *bias, geom, lift):
        g = geom  # the adjoint direct conv: its x is our output, its y our input
        x4 = x.reshape(g.N, g.Co, g.Ho, g.Wo)
        w4 = w.reshape(g.Co, g.C // g.G, g.kh, g.kw)
        need_w = self.needs_input_grad[1]
        ks = kernels(x)
        self.kernel, self.cols = ks.conv, ks.cols
        if self.kernel is None:
            y = ref.conv_input_grad(x4, w4, g, self.cols)
            state = (x4 if need_w else None, w4)
        else:
            y, state = self.kernel.transpose_forward(x4, w4, g, need_w)
        if bias:
            y += bias[0].reshape(1, -1, 1, 1)
        if self.requires_grad:
            self.geom, self.shapes, self.nbias, self.state = g, (x.shape, w.shape), len(bias), state
        return y.reshape(lift(y.shape))

    def backward(self, grad):
        g = self.geom
        need_x, need_w = self.needs_input_grad[:2]
        g4 = grad.reshape(g.N, g.C, g.H, g.W)
        db = g4.sum(axis=(0, 2, 3)) if self.nbias and self.needs_input_grad[2] else None
        if self.kernel is None:
            x4, w4 = self.state
            dx = ref.conv(g4, w4, None, g, self.cols) if need_x else None
            dw = ref.conv_weight_grad(x4, g4, g, self.cols) if need_w else None
        else:
            dx, dw = self.kernel.transpose_backward(g4, self.state, g, need_x, need_w)
        dx = None if dx is None else dx.reshape(self.shapes[0])
        dw = None if dw is None else dw.reshape(self.shapes[1])
        return (dx, dw, db)[:2 + self.nbias]


# ------------------------------------------------------------------------ argument checks


def _positive(value, nd, name, op):
    out = ntuple(value, nd, name, op)
    if any(v <= 0 for v in out):
        raise ValueError(f"{op}: {name} must be positive, got {value!r}")
    return out


def _tensors(op, nd, input, weight, bias):
    x = as_tensor(input, "input", op)
    w = as_tensor(weight, "weight", op)
    b = as_optional(bias, "bias", op)
    check_ndim(x, (nd + 1, nd + 2), op, _LAYOUT[nd])
    if w.ndim != nd + 2:
        raise ValueError(f"{op}: expected a {nd + 2}-d weight, got shape {tuple(w.shape)}")
    check_float(x, op)
    check_float(w, op, "weight")
    if w.dtype != x.dtype:
        raise TypeError(f"{op}: input is {x.dtype} but weight is {w.dtype}; cast one of them")
    if b is not None and b.dtype != x.dtype:
        raise TypeError(f"{op}: input is {x.dtype} but bias is {b.dtype}; cast one of them")
    return x, w, b


def _groups(groups, op):
    if not isinstance(groups, numbers.Integral) or isinstance(groups, bool) or groups <= 0:
        raise ValueError(f"{op}: groups must be a positive int, got {groups!r}")
    return int(groups)


def _check_bias(b, channels, op):
    if b is not None and tuple(b.shape) != (channels,):
        raise ValueError(f"{op}: bias must have shape ({channels},), got {tuple(b.shape)}")


def _lifter(nd, unbatched):
    """Maps the engine's 4-d output shape back to the caller's rank."""
    def lift(shape):
        if nd == 1:
            shape = shape[:2] + shape[3:]
        return shape[1:] if unbatched else shape
    return lift


def _spatial(x, nd):
    """(N, C, H, W) of the input seen as a 4-d batch (conv1d: H = 1; unbatched: N = 1)."""
    unbatched = x.ndim == nd + 1
    shape = (1,) + tuple(x.shape) if unbatched else tuple(x.shape)
    return (shape[0], shape[1], 1, shape[2]) if nd == 1 else shape, unbatched


def _kernel(w, nd):
    return (1, w.shape[2]) if nd == 1 else tuple(w.shape[2:])


def _conv(op, nd, input, weight, bias, stride, padding, dilation, groups, **inference):
    x, w, b = _tensors(op, nd, input, weight, bias)
    stride = _positive(stride, nd, "stride", op)
    dilation = _positive(dilation, nd, "dilation", op)
    G = _groups(groups, op)
    (N, C, H, W), unbatched = _spatial(x, nd)
    Co, Cg = w.shape[0], w.shape[1]
    if Co % G:
        raise ValueError(f"{op}: out_channels {Co} (weight shape {tuple(w.shape)}) "
                         f"is not divisible by groups={G}")
    if C != Cg * G:
        extra = f" x groups={G}" if G > 1 else ""
        if C % G:
            raise ValueError(f"{op}: in_channels {C} is not divisible by groups={G}")
        raise ValueError(f"{op}: input has {C} channels, weight expects {Cg * G} "
                         f"(weight shape {tuple(w.shape)}{extra})")
    _check_bias(b, Co, op)
    kh, kw = _kernel(w, nd)
    if nd == 1:
        stride, dilation = (1,) + stride, (1,) + dilation
    eff = (effective_kernel(kh, dilation[0]), effective_kernel(kw, dilation[1]))
    if isinstance(padding, str):
        if padding == "valid":
            pads = (0, 0, 0, 0)
        elif padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError(f"{op}: padding='same' is not supported for strided convolutions "
                                 f"(stride={stride[2 - nd:]}); PyTorch forbids it too")
            # PyTorch's rule: total d(k-1), the extra odd pixel goes right/bottom
            pads = same_padding_split(kh, dilation[0]) + same_padding_split(kw, dilation[1])
        else:
            raise ValueError(f"{op}: padding must be an int, a tuple, 'valid' or 'same', "
                             f"got {padding!r}")
    else:
        p = ntuple(padding, nd, "padding", op)
        if any(v < 0 for v in p):
            raise ValueError(f"{op}: padding must be non-negative, got {padding!r}")
        ph, pw = (0, p[0]) if nd == 1 else p
        pads = (ph, ph, pw, pw)
    padded = (H + pads[0] + pads[1], W + pads[2] + pads[3])
    if padded[0] < eff[0] or padded[1] < eff[1]:
        sl = slice(2 - nd, None)
        raise ValueError(f"{op}: kernel size {eff[sl]} (with dilation) is larger than the padded "
                         f"input {padded[sl]} (input shape {tuple(x.shape)})")
    geom = ConvGeom(N, C, H, W, Co, G, kh, kw, stride, dilation, pads)
    args = (x, w) if b is None else (x, w, b)
    return _Conv.apply(*args, geom=geom, lift=_lifter(nd, unbatched), **inference)


def conv2d_clamp(input, weight, bias, stride, padding, dilation, groups, clamp, scale=None,
                 residual=None):
    """``clamp(conv2d(input, weight) * scale[o] + bias[o] + residual, lo, hi)`` for
    inference: ``clamp = (lo, hi)`` (ReLU6: (0, 6), ReLU: (0, inf); None: no clamp),
    ``scale`` a (C_out,) array or None (eval batch norm folded in, ``models/fold.py``),
    ``residual`` None or a tensor or array of the output's shape (a residual block's
    shortcut). The engine does it in a pass it makes anyway (the compiled depthwise kernel's
    last, or on each thread's piece of a single image's output) or in one epilogue pass.
    No gradient: under ``no_grad`` or on inputs that need none (a clear error otherwise)."""
    if is_grad_enabled() and any(getattr(t, "requires_grad", False)
                                 for t in (input, weight, bias, residual)):
        raise RuntimeError("conv2d_clamp: an inference op, it has no backward; "
                           "call it under foveanet.no_grad()")
    if residual is not None:
        residual = residual.data if isinstance(residual, Tensor) else residual
    inference = {k: v for k, v in (("clamp", clamp), ("scale", scale), ("residual", residual))
                 if v is not None}
    return _conv("conv2d", 2, input, weight, bias, stride, padding, dilation, groups, **inference)


def _conv_transpose(op, nd, input, weight, bias, stride, padding, output_padding, groups,
                    dilation):
    x, w, b = _tensors(op, nd, input, weight, bias)
    stride = _positive(stride, nd, "stride", op)
    dilation = _positive(dilation, nd, "dilation", op)
    G = _groups(groups, op)
    if isinstance(padding, str):
        raise ValueError(f"{op}: padding must be an int or a tuple, got {padding!r} "
                         "(string padding is not defined for transposed convolutions)")
    pad = ntuple(padding, nd, "padding", op)
    if any(v < 0 for v in pad):
        raise ValueError(f"{op}: padding must be non-negative, got {padding!r}")
    opad = ntuple(output_padding, nd, "output_padding", op)
    for o, s, d in zip(opad, stride, dilation):
        if o < 0 or (o >= s and o >= d):
            raise ValueError(f"{op}: output_padding must be non-negative and smaller than either "
                             f"stride or dilation, got output_padding={output_padding!r}, "
                             f"stride={stride}, dilation={dilation}")
    (N, Cin, H, W), unbatched = _spatial(x, nd)
    if w.shape[0] != Cin:
        raise ValueError(f"{op}: input has {Cin} channels, weight expects {w.shape[0]} "
                         f"(weight shape {tuple(w.shape)}: (in_channels, out_channels/groups, ...))")
    if Cin % G:
        raise ValueError(f"{op}: in_channels {Cin} is not divisible by groups={G}")
    Cout = w.shape[1] * G
    _check_bias(b, Cout, op)
    kh, kw = _kernel(w, nd)
    if nd == 1:
        stride, dilation, pad, opad = (1,) + stride, (1,) + dilation, (0,) + pad, (0,) + opad
    # out = (n - 1)s - 2p + d(f - 1) + output_padding + 1
    out = tuple(conv_transpose_output(n, k, s, p, d, o)
                for n, s, p, d, k, o in zip((H, W), stride, pad, dilation, (kh, kw), opad))
    if out[0] <= 0 or out[1] <= 0:
        raise ValueError(f"{op}: output size {out[2 - nd:]} is not positive "
                         f"(input shape {tuple(x.shape)}, padding={padding!r})")
    geom = ConvGeom(N, Cout, out[0], out[1], Cin, G, kh, kw, stride, dilation,
                  (pad[0], pad[0], pad[1], pad[1]), Ho=H, Wo=W)
    args = (x, w) if b is None else (x, w, b)
    return _ConvTranspose.apply(*args, geom=geom, lift=_lifter(nd, unbatched))


def conv_relu(op, input, weight, bias, stride, padding, dilation, groups):
    """``relu(conv1d|conv2d(...))`` as one op, ``op`` naming the conv: the ReLU applied as the
    engine writes the output (inside the compiled direct conv's copy-out) rather than as
    another pass over it, with the numbers of the two ops. ``nn.Sequential`` runs its Conv +
    ReLU pairs through it; not traceable (an exporter sees the two ops run apart)."""
    nd = 1 if op == "conv1d" else 2
    return _conv(op, nd, input, weight, bias, stride, padding, dilation, groups, relu=True)


# ------------------------------------------------------------------------- public ops


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """Convolution over 2-d maps (a cross-correlation, as in every CNN framework).

    With g the group of output channel o:

        y[n, o, i, j] = b[o] + Σ_{c, p, q} W[o, c, p, q]·xpad[n, g·C_in/G + c, s·i + d·p, s·j + d·q]

    Per group, as matrices, with cols = im2col(padded X):

        Y = W_mat @ cols
        backward:
            dW = dY @ colsᵀ             (the correlation of X with dY)
            dX = col2im(W_matᵀ @ dY)    (the full correlation of dY with the flipped kernel)
            db = Σ dY over N, H, W

    Args:
        input: (N, C_in, H, W) or (C_in, H, W), float.
        weight: (C_out, C_in/groups, kH, kW), the input's dtype.
        bias: (C_out,) or None (default).
        stride: s, an int or (sH, sW) (default 1).
        padding: p, an int, (pH, pW), 'valid' (= 0) or 'same' (stride 1 only: d(k-1) in
            all, d(k-1)//2 on the left/top and the rest right/bottom, as PyTorch) (default 0).
        dilation: d, the spacing of the kernel taps, an int or a pair (default 1).
        groups: G, the channels split into G independent convolutions; G = C_in is a
            depthwise convolution (default 1).

    Shape:
        - Output: (N, C_out, H_out, W_out) or (C_out, H_out, W_out), per axis
          H_out = floor((H + 2p - d(k-1) - 1) / s) + 1.

    Example::

        >>> x = fn.arange(9.).reshape(1, 1, 3, 3).requires_grad_()
        >>> w = fn.ones(1, 1, 2, 2, requires_grad=True)
        >>> y = F.conv2d(x, w, fn.tensor([1.]))
        >>> y.numpy()
        array([[[[ 9., 13.],
                 [21., 25.]]]], dtype=float32)
        >>> y.sum().backward()
        >>> x.grad.numpy()  # how many windows hold each pixel
        array([[[[1., 2., 1.],
                 [2., 4., 2.],
                 [1., 2., 1.]]]], dtype=float32)
        >>> w.grad.numpy()  # each tap's sum over the windows
        array([[[[ 8., 12.],
                 [20., 24.]]]], dtype=float32)
        >>> x8, w3 = fn.ones(1, 3, 8, 8), fn.ones(4, 3, 3, 3)
        >>> F.conv2d(x8, w3, padding="same").shape, F.conv2d(x8, w3, stride=2, padding=1).shape
        ((1, 4, 8, 8), (1, 4, 4, 4))
    """
    return _conv("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """Convolution over 1-d sequences (a cross-correlation): text CNNs, C_in = embedding size.

    With g the group of output channel o:

        y[n, o, i] = b[o] + Σ_{c, q} W[o, c, q]·xpad[n, g·C_in/G + c, s·i + d·q]
        backward (cols = im2col(padded X)):
            dW = dY @ colsᵀ,   dX = col2im(W_matᵀ @ dY),   db = Σ dY over N and L

    It runs as ``conv2d`` with H = 1.

    Args:
        input: (N, C_in, L) or (C_in, L), float.
        weight: (C_out, C_in/groups, k), the input's dtype.
        bias: (C_out,) or None (default).
        stride: s, an int or a 1-tuple (default 1).
        padding: p, an int, a 1-tuple, 'valid' or 'same' (as ``conv2d``) (default 0).
        dilation: d, the spacing of the kernel taps (default 1).
        groups: G, the channels split into G independent convolutions (default 1).

    Shape:
        - Output: (N, C_out, L_out) or (C_out, L_out), L_out = floor((L + 2p - d(k-1) - 1) / s) + 1.

    Example::

        >>> x = fn.tensor([[[1., 2., 3., 4.]]])
        >>> w = fn.tensor([[[1., 2., -1.]]])
        >>> F.conv1d(x, w).numpy()  # 1·x[i] + 2·x[i+1] - x[i+2]
        array([[[2., 4.]]], dtype=float32)
        >>> F.conv1d(x, w, padding=1).numpy()
        array([[[ 0.,  2.,  4., 11.]]], dtype=float32)
        >>> F.conv1d(fn.ones(2, 300, 20), fn.ones(100, 300, 3)).shape
        (2, 100, 18)
    """
    return _conv("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """Transposed 2-d convolution ("deconvolution"): the upsampling of U-Net and FCN decoders.

    It is the adjoint (the input-gradient) of ``conv2d`` with the same weight and
    settings, the weight read as a direct conv mapping C_out -> C_in:

        y = col2im(W_matᵀ @ X), cropped by p on each side (+ b)
        backward:
            dX = conv2d(dY, W, stride, padding, dilation, groups)
            dW = X @ im2col(padded dY)ᵀ    (the correlation of dY with X)
            db = Σ dY over N, H, W

    Args:
        input: (N, C_in, H, W) or (C_in, H, W), float.
        weight: (C_in, C_out/groups, kH, kW), the input's dtype.
        bias: (C_out,) or None (default).
        stride: s, an int or a pair (default 1).
        padding: p, an int or a pair: the conv2d padding this op undoes, cropped from the
            output (default 0).
        output_padding: added to one side of the output, < stride or < dilation: picks among
            the sizes that conv2d maps back to H (default 0).
        groups: G, as in ``conv2d`` (default 1).
        dilation: d, an int or a pair (default 1).

    Shape:
        - Output: (N, C_out, H_out, W_out) or (C_out, H_out, W_out), per axis
          H_out = (H - 1)s - 2p + d(k - 1) + output_padding + 1.

    Example::

        >>> x = fn.tensor([[[[1., 2.], [3., 4.]]]], requires_grad=True)
        >>> y = F.conv_transpose2d(x, fn.ones(1, 1, 2, 2), stride=2)
        >>> y.numpy()  # each input spread over a 2x2 block
        array([[[[1., 1., 2., 2.],
                 [1., 1., 2., 2.],
                 [3., 3., 4., 4.],
                 [3., 3., 4., 4.]]]], dtype=float32)
        >>> y.sum().backward()
        >>> x.grad.numpy()
        array([[[[4., 4.],
                 [4., 4.]]]], dtype=float32)
        >>> F.conv_transpose2d(fn.ones(1, 1, 2, 2), fn.ones(1, 1, 3, 3), stride=2, padding=1,
        ...                    output_padding=1).shape
        (1, 1, 4, 4)
    """
    return _conv_transpose("conv_transpose2d", 2, input, weight, bias, stride, padding,
                           output_padding, groups, dilation)


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """Transposed 1-d convolution: the adjoint (input-gradient) of ``conv1d``.

    It runs as ``conv_transpose2d`` with H = 1:

        y = col2im(W_matᵀ @ X), cropped by p on each side (+ b)
        backward:
            dX = conv1d(dY, W, stride, padding, dilation, groups)
            dW = X @ im2col(padded dY)ᵀ,   db = Σ dY over N and L

    Args:
        input: (N, C_in, L) or (C_in, L), float.
        weight: (C_in, C_out/groups, k), the input's dtype.
        bias: (C_out,) or None (default).
        stride: s (default 1).
        padding: p, cropped from each end of the output (default 0).
        output_padding: added to the right end, < stride or < dilation (default 0).
        groups: G, as in ``conv1d`` (default 1).
        dilation: d (default 1).

    Shape:
        - Output: (N, C_out, L_out) or (C_out, L_out),
          L_out = (L - 1)s - 2p + d(k - 1) + output_padding + 1.

    Example::

        >>> x, w = fn.tensor([[[1., 2.]]]), fn.tensor([[[1., 1., 1.]]])
        >>> F.conv_transpose1d(x, w).numpy()  # each input spread over 3 outputs, overlaps add
        array([[[1., 3., 3., 2.]]], dtype=float32)
        >>> F.conv_transpose1d(x, w, stride=2).numpy()
        array([[[1., 1., 3., 2., 2.]]], dtype=float32)
    """
    return _conv_transpose("conv_transpose1d", 1, input, weight, bias, stride, padding,
                           output_padding, groups, dilation)
