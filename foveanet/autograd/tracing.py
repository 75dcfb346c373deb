"""Context-local op tracing: the hook through which ``foveanet.onnx.export`` sees a model's ops.

The public ops (``foveanet.functional``'s functions, ``cat``/``stack``/``flatten`` and the
Tensor operators and methods an exporter maps) are ``traceable``: each call asks a
``contextvars.ContextVar`` whether a tracer is active in the calling thread (or asyncio task)
and, if one is, hands the call to ``tracer.record(name, fn, args, kwargs)``; otherwise it runs
the op directly, at the cost of one ``ContextVar.get`` (about 50 ns against an op's
microseconds). ``Function.apply`` asks too, so that a tracer can refuse a differentiable op it
would miss. Nothing is patched: two threads can trace two models at the same time, and a
thread that traces nothing never sees a tracer.

While a tracer is active, ``Tensor.shape``/``size()`` at the top level (outside a recorded op)
return ``Dim`` ints that remember which tensor and axis they were read from, so that a size
passed on as it is or computed with ints (``x.view(x.size(0), -1)``, ``fn.zeros(x.shape[0] * 2, 4)``)
can be exported as ops computing it from the input rather than as the number it had once.
"""
from __future__ import annotations

import contextlib
import contextvars
import functools

_CURRENT = contextvars.ContextVar("foveanet_tracer", default=None)


class Dim(int):
    """A size read from a traced tensor: the int, plus the tensor (``source``) and ``axis``
    it came from. ``+ - * //`` with ints give Dims that keep the expression (``expr``: the
    ONNX op and its two operands), so that ``x.size(0) * 2`` is exported as Shape -> Mul
    and follows the batch, rather than as the number it was when traced."""

    def __new__(cls, value: int, source=None, axis: int | None = None, expr=None):
        dim = super().__new__(cls, value)
        dim.source, dim.axis, dim.expr = source, axis, expr
        return dim

    def leaves(self):
        """The Dims read straight from tensors that this one is computed from."""
        if self.expr is None:
            return [self]
        return [leaf for x in self.expr[1:] if isinstance(x, Dim) for leaf in x.leaves()]


def _arith(op: str, compute, swap: bool = False):
    def method(self, other):
        if not isinstance(other, int) or isinstance(other, bool):
            return NotImplemented  # floats and the rest: plain arithmetic, as before
        a, b = (other, self) if swap else (self, other)
        return Dim(compute(int(a), int(b)), expr=(op, a, b))

    return method


for _name, _op, _f in (("add", "Add", int.__add__), ("sub", "Sub", int.__sub__),
                       ("mul", "Mul", int.__mul__), ("floordiv", "Div", int.__floordiv__)):
    # ONNX's integer Div truncates where // floors: the same for the sizes (>= 0) it sees
    setattr(Dim, f"__{_name}__", _arith(_op, _f))
    setattr(Dim, f"__r{_name}__", _arith(_op, _f, swap=True))


def current():
    """The tracer active in this context, or None."""
    return _CURRENT.get()


@contextlib.contextmanager
def tracing(tracer):
    """Make ``tracer`` the active one in this context (thread/task) for the ``with`` block."""
    token = _CURRENT.set(tracer)
    try:
        yield tracer
    finally:
        _CURRENT.reset(token)


def traceable(fn, name: str | None = None):
    """``fn`` wrapped so that an active tracer records its calls under ``name`` (default: the
    function's ``__qualname__``); signature and docstring stay ``fn``'s."""
    key = name or fn.__qualname__

    @functools.wraps(fn)
    def traced(*args, **kwargs):
        tracer = _CURRENT.get()
        if tracer is None:
            return fn(*args, **kwargs)
        return tracer.record(key, fn, args, kwargs)

    traced.trace_name = key
    return traced
