"""The sliding-window arithmetic of one spatial axis, written once: the lecture's formulas
are the ones the engine runs.

Notation: n input size, f kernel (filter) size, s stride, p padding on each side (``pad``:
the total of both sides, the lecture's 2p when symmetric), d dilation.

    effective kernel     f_eff = d(f - 1) + 1
    conv output size     floor((n + 2p - f_eff) / s) + 1
    'same' padding       total f_eff - 1 at stride 1, split (total // 2, rest): the odd
                         pixel right/bottom, as PyTorch
    pool output size     the conv formula; ceil_mode rounds up, dropping a last window that
                         would start inside the right padding
    transposed conv      (n - 1)s - 2p + f_eff + output_padding

These take plain ints and check nothing: each caller (``functional``, ``nn``,
``concepts.formulas``) validates its arguments under its own name and then asks here.
``ConvGeom`` gathers one 2-d convolution's sizes from them, for the reference
convolution in ``functional`` and the backends' kernels alike.
"""
from __future__ import annotations

__all__ = ["effective_kernel", "same_padding_split", "conv_output", "pool_output",
           "conv_transpose_output", "ConvGeom"]


def effective_kernel(f: int, d: int = 1) -> int:
    """f_eff = d(f - 1) + 1: the input pixels a dilated kernel spans."""
    return d * (f - 1) + 1


def same_padding_split(f: int, d: int = 1) -> tuple[int, int]:
    """(left, right) padding that keeps the size at stride 1: total f_eff - 1, the odd
    pixel on the right (PyTorch's ``padding='same'``)."""
    total = effective_kernel(f, d) - 1
    return total // 2, total - total // 2


def conv_output(n: int, f: int, pad: int = 0, s: int = 1, d: int = 1) -> int:
    """floor((n + pad - f_eff) / s) + 1, ``pad`` the padding of both sides together."""
    return (n + pad - effective_kernel(f, d)) // s + 1


def pool_output(n: int, f: int, s: int, p: int = 0, d: int = 1, ceil_mode: bool = False) -> int:
    """Windows of a pooling layer with ``p`` padding on each side; ``ceil_mode`` rounds up
    but drops a last window that would start in the right padding (PyTorch's rule)."""
    span = n + 2 * p - effective_kernel(f, d)
    if not ceil_mode:
        return span // s + 1
    out = -(-span // s) + 1
    if (out - 1) * s >= n + p:
        out -= 1
    return out


def conv_transpose_output(n: int, f: int, s: int = 1, p: int = 0, d: int = 1,
                          output_padding: int = 0) -> int:
    """(n - 1)s - 2p + f_eff + output_padding: the size whose direct conv gives n."""
    return (n - 1) * s - 2 * p + effective_kernel(f, d) + output_padding


class ConvGeom:
    """Sizes of one convolution seen as the map  x (N, C, H, W) -> y (N, Co, Ho, Wo), with
    G groups, a kh x kw kernel, stride (sh, sw), dilation (dh, dw) and ``pads`` (top,
    bottom, left, right); Hp, Wp are the padded input's sizes. A 1-d convolution is the
    case H = kh = 1.

    For a transposed convolution the same object describes the *adjoint* direct conv:
    its ``x`` is the transposed conv's output and its ``y`` the transposed conv's input.
    """

    __slots__ = ("N", "C", "H", "W", "Co", "G", "kh", "kw", "sh", "sw", "dh", "dw",
                 "pads", "Hp", "Wp", "Ho", "Wo")

    def __init__(self, N, C, H, W, Co, G, kh, kw, stride, dilation, pads, Ho=None, Wo=None):
        self.N, self.C, self.H, self.W, self.Co, self.G = N, C, H, W, Co, G
        self.kh, self.kw = kh, kw
        self.sh, self.sw = stride
        self.dh, self.dw = dilation
        self.pads = pads
        self.Hp = H + pads[0] + pads[1]
        self.Wp = W + pads[2] + pads[3]
        self.Ho = conv_output(H, kh, pads[0] + pads[1], self.sh, self.dh) if Ho is None else Ho
        self.Wo = conv_output(W, kw, pads[2] + pads[3], self.sw, self.dw) if Wo is None else Wo

    def with_batch(self, n: int) -> "ConvGeom":
        return ConvGeom(n, self.C, self.H, self.W, self.Co, self.G, self.kh, self.kw,
                        (self.sh, self.sw), (self.dh, self.dw), self.pads, self.Ho, self.Wo)

    def __repr__(self):
        return (f"ConvGeom(x=({self.N}, {self.C}, {self.H}, {self.W}) -> y=({self.N}, {self.Co}, "
                f"{self.Ho}, {self.Wo}), groups={self.G}, kernel=({self.kh}, {self.kw}), "
                f"stride=({self.sh}, {self.sw}), dilation=({self.dh}, {self.dw}), pads={self.pads})")
