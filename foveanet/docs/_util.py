"""Formatting helpers for the generated lecture, and a cheap way to build big models."""
from __future__ import annotations

import contextlib
import math

import numpy as np


def num(x) -> str:
    """1234567 -> '1,234,567'; an integral float prints as an int; others keep up to 4 decimals."""
    if isinstance(x, (float, np.floating)):
        if float(x).is_integer():
            return f"{int(x):,}"
        return f"{float(x):,.4f}".rstrip("0")
    return f"{int(x):,}"


def pct(x: float, digits: int = 1) -> str:
    """0.8893 -> '88.9%'."""
    return f"{100 * x:.{digits}f}%"


def words(n: int, sig: int) -> str:
    """``n`` rounded to ``sig`` significant figures, as the course says it: '230 billion'."""
    rounded = float(f"{n:.{sig}g}")
    for size, name in ((1e9, "billion"), (1e6, "million"), (1e3, "thousand")):
        if rounded >= size:
            v = rounded / size
            return f"{int(v) if v.is_integer() else v:g} {name}"
    return f"{int(rounded):,}"


def _cell(v) -> str:
    if isinstance(v, (float, np.floating)) and not float(v).is_integer():
        return f"{float(v):g}"
    return str(int(v))


def matrix(a) -> str:
    """A 2-d array as a Python list literal, ints where integral: '[[4, 5], [3, 4]]'."""
    a = np.asarray(a)
    return "[" + ", ".join("[" + ", ".join(_cell(v) for v in row) + "]" for row in a) + "]"


def grid(a) -> str:
    """A 2-d array as right-aligned columns, for a code block."""
    cells = [[_cell(v) for v in row] for row in np.asarray(a)]
    w = max(len(c) for row in cells for c in row)
    return "\n".join(" ".join(c.rjust(w) for c in row) for row in cells)


def table(headers, rows, right=()) -> str:
    """A Markdown table; columns whose index is in ``right`` are right-aligned."""
    align = ["---:" if i in right else "---" for i in range(len(headers))]
    out = ["| " + " | ".join(headers) + " |", "| " + " | ".join(align) + " |"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def shape(t) -> str:
    """(1, 10, 4, 4) -> '1x10x4x4'."""
    return "x".join(str(int(v)) for v in t)


def count(model) -> int:
    """Number of parameters of a model (each Parameter once)."""
    seen, total = set(), 0
    for p in model.parameters():
        if id(p) not in seen:
            seen.add(id(p))
            total += int(math.prod(p.shape))
    return total


@contextlib.contextmanager
def shapes_only():
    """Build models without running their weight initialisers.

    The layers allocate their parameters with ``np.empty`` and then initialise them through
    ``foveanet.nn.init``; for VGG-16 (138 million weights) the random draws take seconds.
    Parameter *counts* need only the shapes, so for the duration of the block every in-place
    initialiser of ``foveanet.nn.init`` returns its tensor untouched. The weights then hold
    whatever memory held: count them, never run them (zero them first when a forward pass is
    needed, as the receptive-field walk does).
    """
    from foveanet.nn import init

    saved = {n: getattr(init, n) for n in dir(init)
             if n.endswith("_") and not n.startswith("_") and callable(getattr(init, n))}
    try:
        for n in saved:
            setattr(init, n, lambda tensor, *args, **kwargs: tensor)
        yield
    finally:
        for n, f in saved.items():
            setattr(init, n, f)


def zero_(module):
    """Sets every parameter of ``module`` to 0 (after ``shapes_only``, before a forward)."""
    for p in module.parameters():
        p.data[...] = 0
    return module
