"""Winograd's minimal filtering F(2x2, 3x3) for 3x3, stride-1 convolutions.

Every 2x2 block of outputs (a *tile*) comes from the 4x4 input patch ``d`` under it as

    Y = A^T [ (G g G^T) * (B^T d B) ] A        (* elementwise, over the 4x4 positions)

    B^T = [1  0 -1  0]     G = [1    0    0 ]     A^T = [1  1  1  0]
          [0  1  1  0]         [1/2  1/2  1/2]           [0  1 -1 -1]
          [0 -1  1  0]         [1/2 -1/2  1/2]
          [0  1  0 -1]         [0    0    1 ]

so 16 products per tile instead of 2*2*9 = 36. Summed over channels, each of the 16
positions (a, b) is one GEMM over all tiles:  M_ab (Co, P) = U_ab (Co, C) @ V_ab (C, P),
with U = G g G^T per (o, c) and V = B^T d B per (c, tile). Y is linear in U and in V, so
backward stays in the same domain (dM = A dY A^T per tile):

    dU_ab = dM_ab @ V_ab^T          dW = G^T dU G
    dV_ab = U_ab^T @ dM_ab          dX = the overlap-add of B dV B^T over the tiles

Three GEMMs of 16/36 the multiply-adds of im2col's, and V is 16/(2*2) = 4 inputs big where
cols are 9. The transforms are additions only; they run on *parity planes*, the input split
into its even/odd rows and columns, so that every patch row 2i+k is row i + k//2 of plane
k%2 and each addition reads contiguous memory instead of stride-2 views.
"""
from __future__ import annotations

import numpy as np

from foveanet.backend.cpu import threads
from foveanet.backend.cpu.conv import route
from foveanet.backend.cpu.conv.gemm import add_into, split_batch
from foveanet.geometry import ConvGeom

_G = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]])
# dM is stored without A's minus sign in row/column 3 (it saves a negation pass); the sign
# is applied to the small matrices instead: s_ab = -1 when exactly one of a, b is 3
_SIGN = np.array([1.0, 1.0, 1.0, -1.0])
_SIGNS = np.outer(_SIGN, _SIGN).reshape(16, 1, 1)

def _phases(pad: int, n: int, tiles: int):
    """For each parity p of the padded axis: (p, first plane index, first source index,
    count): padded row 2i + p holds source row 2i + p - pad."""
    for p in (0, 1):
        i0 = max(0, (pad - p + 1) // 2)
        r0 = 2 * i0 + p - pad
        count = max(0, min(tiles + 1 - i0, -(-(n - r0) // 2)))
        yield p, i0, r0, count


# --------------------------------------------------------------------- the 1-d transforms


def _bt(e, o, n, axis, outs):
    """The four rows of B^T d along ``axis`` from the even/odd planes (n + 1 long):
    d0 - d2, d1 + d2, d2 - d1, d1 - d3 with d_k = plane(k % 2)[k // 2 : k // 2 + n]."""
    lo, hi = _cut(axis, 0, n), _cut(axis, 1, n + 1)
    e0, e1, o0, o1 = e[lo], e[hi], o[lo], o[hi]
    np.subtract(e0, e1, out=outs[0])
    np.add(o0, e1, out=outs[1])
    np.subtract(e1, o0, out=outs[2])
    np.subtract(o0, o1, out=outs[3])


def _bt_adjoint(d, n, axis, e, o):
    """The adjoint of ``_bt``: the even/odd planes (n + 1 long) from d[0..3]:
    e[:n] gets d0 and e[1:] gets d1 + d2 - d0;  o[:n] gets d1 - d2 + d3 and o[1:] gets -d3."""
    lo, hi, last = _cut(axis, 0, n), _cut(axis, 1, n + 1), _cut(axis, n, n + 1)
    tmp = np.add(d[1], d[2])
    tmp -= d[0]
    e[lo] = d[0]
    e[last] = 0
    e[hi] += tmp
    np.subtract(d[1], d[2], out=o[lo])
    o[lo] += d[3]
    o[last] = 0
    o[hi] -= d[3]


def _cut(axis, start, stop):
    """An index that slices ``axis`` (negative: counted from the end) and keeps the rest."""
    return (Ellipsis, slice(start, stop)) + (slice(None),) * (-axis - 1)


def _at(m, out0, out1):
    """The two rows of A^T m: m0 + m1 + m2 and m1 - m2 - m3."""
    np.add(m[0], m[1], out=out0)
    out0 += m[2]
    np.subtract(m[1], m[2], out=out1)
    out1 -= m[3]


# ---------------------------------------------------------------------- weight and input


def weight_u(w: np.ndarray) -> np.ndarray:
    """U (16, Co, C): U[(a, b), o, c] = (G w[o, c] G^T)[a, b], in the weight's dtype.

    One GEMM with the Kronecker product, (G kron G) (16, 9) @ w as (9, Co*C): for a 512x512
    weight, one thread, 2.9 ms against 13.4 ms for an einsum over the small axes."""
    Co, C = w.shape[:2]
    k = np.kron(_G, _G).astype(w.dtype)
    return (k @ w.reshape(Co * C, 9).T).reshape(16, Co, C)


def _weight_grad(du: np.ndarray) -> np.ndarray:
    """dW (Co, C, 3, 3) = G^T dU G per (o, c), the adjoint of ``weight_u``."""
    _, Co, C = du.shape
    # a small GEMM (K = 16) between two parallel regions: BLAS stays held (see threads.py)
    k = np.kron(_G, _G).astype(du.dtype)
    return np.ascontiguousarray((k.T @ du.reshape(16, Co * C)).T).reshape(Co, C, 3, 3)


def input_v(x: np.ndarray, g: ConvGeom) -> np.ndarray:
    """NCHW ``x`` (a batch chunk) -> V (16, C, n*th*(tw+1)): B^T d B of every tile.

    The tile grid carries one junk column (tile tw): along the columns the transform then
    runs on whole flattened planes, each addition one contiguous pass (28-number rows cost
    3x more as separate loops); the junk tiles are finite and dropped at the output. Every
    addition covers all parities (and all four rows a) at once: fewer, larger NumPy calls,
    which is what lets two threads run them side by side (each call takes the GIL)."""
    n = x.shape[0]
    th, tw = route.winograd_tiles(g)
    q = np.zeros((2, 2, g.C, n, th + 1, tw + 1), dtype=x.dtype)  # [row parity, col parity]
    xt = x.transpose(1, 0, 2, 3)
    for p, i0, r0, ni in _phases(g.pads[0], g.H, th):
        for s, j0, c0, nj in _phases(g.pads[2], g.W, tw):
            q[p, s, :, :, i0:i0 + ni, j0:j0 + nj] = xt[:, :, r0::2, c0::2][:, :, :ni, :nj]
    t = np.empty((4, 2, g.C, n, th, tw + 1), dtype=x.dtype)  # [a, col parity]: B^T along rows
    _bt(q[0], q[1], th, -2, t)
    L = g.C * n * th * (tw + 1)
    t = t.reshape(4, 2, L)
    v = np.empty((4, 4, L), dtype=x.dtype)
    _bt(t[:, 0], t[:, 1], L - 1, -1, [v[:, b, :L - 1] for b in range(4)])
    v[:, :, L - 1] = 0
    return v.reshape(16, g.C, n * th * (tw + 1))


def grad_input(dv: np.ndarray, n: int, g: ConvGeom, out: np.ndarray) -> None:
    """The adjoint of ``input_v``: dV (16, C, n*th*(tw+1)) -> dX (n, C, H, W) into ``out``."""
    th, tw = route.winograd_tiles(g)
    L = g.C * n * th * (tw + 1)
    dv = dv.reshape(4, 4, L)
    dt = np.empty((4, 2, L), dtype=dv.dtype)
    _bt_adjoint([dv[:, b, :L - 1] for b in range(4)], L - 1, -1, dt[:, 0], dt[:, 1])
    dt = dt.reshape(4, 2, g.C, n, th, tw + 1)
    dq = np.empty((2, 2, g.C, n, th + 1, tw + 1), dtype=dv.dtype)
    _bt_adjoint(dt, th, -2, dq[0], dq[1])
    ot = out.transpose(1, 0, 2, 3)
    for p, i0, r0, ni in _phases(g.pads[0], g.H, th):
        for s, j0, c0, nj in _phases(g.pads[2], g.W, tw):
            ot[:, :, r0::2, c0::2][:, :, :ni, :nj] = dq[p, s, :, :, i0:i0 + ni, j0:j0 + nj]


# ---------------------------------------------------------------------- output and dY


def output_y(m: np.ndarray, n: int, g: ConvGeom, out: np.ndarray, bias=None) -> None:
    """M (16, Co, n*th*(tw+1)) -> Y = A^T M A per tile, written NCHW into ``out`` (n, Co, Ho, Wo)."""
    th, tw = route.winograd_tiles(g)
    m = m.reshape(4, 4, g.Co, n, th, tw + 1)
    half = np.empty((2, 4, g.Co, n, th, tw + 1), dtype=m.dtype)  # [s, a]: A along the columns
    _at(m.transpose(1, 0, 2, 3, 4, 5), half[0], half[1])
    yq = np.empty((2, 2, g.Co, n, th, tw + 1), dtype=m.dtype)  # [row parity, col parity]
    _at(half.transpose(1, 0, 2, 3, 4, 5), yq[0], yq[1])
    if bias is not None:
        yq += bias.reshape(1, 1, -1, 1, 1, 1)
    ot = out.transpose(1, 0, 2, 3)
    for p in (0, 1):
        for s in (0, 1):
            dst = ot[:, :, p::2, s::2]
            dst[...] = yq[p, s, :, :, :dst.shape[2], :dst.shape[3]]


def grad_m(gy: np.ndarray, g: ConvGeom) -> np.ndarray:
    """dY (n, Co, Ho, Wo) -> dM (16, Co, n*th*(tw+1)) = A dY A^T per tile, row/column 3
    without its minus sign (see _SIGNS)."""
    n = gy.shape[0]
    th, tw = route.winograd_tiles(g)
    dq = np.zeros((2, 2, g.Co, n, th, tw + 1), dtype=gy.dtype)  # [row parity, col parity]
    gt = gy.transpose(1, 0, 2, 3)
    for p in (0, 1):
        for s in (0, 1):
            src = gt[:, :, p::2, s::2]
            dq[p, s, :, :, :src.shape[2], :src.shape[3]] = src
    d = np.empty((4, 2, g.Co, n, th, tw + 1), dtype=gy.dtype)  # [a, col parity]: A along rows
    _a(dq[0], dq[1], d)
    dm = np.empty((4, 4, g.Co, n, th, tw + 1), dtype=gy.dtype)
    _a(d[:, 0], d[:, 1], dm.transpose(1, 0, 2, 3, 4, 5))
    return dm.reshape(16, g.Co, n * th * (tw + 1))


def _a(r0, r1, outs):
    """The four rows of A r (A = (A^T)^T), the last without its sign: r0, r0 + r1, r0 - r1, r1."""
    outs[0] = r0
    np.add(r0, r1, out=outs[1])
    np.subtract(r0, r1, out=outs[2])
    outs[3] = r1


# ---------------------------------------------------------------------- the convolution


def _chunks(g: ConvGeom, itemsize: int) -> list[tuple[int, int]]:
    """Batch chunks of about route.WINOGRAD_CHUNK_BYTES of V each (also the parallel tasks)."""
    return split_batch(g.N, route.winograd_image_bytes(g, itemsize), route.WINOGRAD_CHUNK_BYTES)


def conv_forward(x: np.ndarray, w: np.ndarray, g: ConvGeom, bias=None, keep: bool = False):
    """y = conv(x, w) + bias, NCHW. Returns (y, U, kept): U serves backward's dX, and
    ``kept`` (with ``keep``) is [(chunk, V)] for dW; V is 4 inputs big, im2col's cols 9."""
    u = weight_u(w)
    y = np.empty((g.N, g.Co, g.Ho, g.Wo), dtype=x.dtype)

    def job(chunk):
        n0, n1 = chunk
        v = input_v(x[n0:n1], g)
        output_y(np.matmul(u, v), n1 - n0, g, y[n0:n1], bias)
        return (chunk, v) if keep else None

    kept = threads.each(_chunks(g, x.dtype.itemsize), job)
    return y, u, (kept if keep else None)


def conv_backward(gy: np.ndarray, kept, u, g: ConvGeom, need_x: bool, need_w: bool):
    """(dX NCHW, dW (Co, C, 3, 3)) from NCHW ``gy``; ``kept`` (conv_forward's) is needed for
    dW only, ``u`` for dX only."""
    if not (need_x or need_w):  # only the bias wanted a gradient
        return None, None
    dx = np.empty((g.N, g.C, g.H, g.W), dtype=gy.dtype) if need_x else None
    ut = np.ascontiguousarray((u * _SIGNS.astype(u.dtype)).transpose(0, 2, 1)) if need_x else None
    # forward's chunks, each with its V (without dW: the same chunks, no V)
    items = kept if need_w else [(c, None) for c in _chunks(g, gy.dtype.itemsize)]

    def job(item):
        (n0, n1), v = item
        dm = grad_m(gy[n0:n1], g)
        if need_x:
            grad_input(np.matmul(ut, dm), n1 - n0, g, dx[n0:n1])
        if need_w:
            return np.matmul(dm, v.transpose(0, 2, 1))

    if not need_w:
        threads.each(items, job)
        return dx, None
    du = threads.each(items, job, fold=add_into) * _SIGNS.astype(gy.dtype)
    return dx, _weight_grad(du)
