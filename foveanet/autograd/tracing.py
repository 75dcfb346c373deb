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
passed on as it is (``x.view(x.size(0), -1)``, ``fn.zeros(x.shape[0], 4)``) can be exported
as an op computing it from the input rather than as the number it had once.
"""
from __future__ import annotations

import contextlib
import contextvars
import functools

_CURRENT = contextvars.ContextVar("foveanet_tracer", default=None)


class Dim(int):
    """A size read from a traced tensor: the int, plus the tensor (``source``) and ``axis``
    it came from. Arithmetic on it gives plain ints."""

    def __new__(cls, value: int, source, axis: int):
        dim = super().__new__(cls, value)
        dim.source, dim.axis = source, axis
        return dim


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
