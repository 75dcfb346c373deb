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
"""
from __future__ import annotations

__all__ = ["effective_kernel", "same_padding_split", "conv_output", "pool_output",
           "conv_transpose_output"]


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
