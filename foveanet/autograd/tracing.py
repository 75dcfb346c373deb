"""Context-local op tracing: the hook through which ``foveanet.onnx.export`` sees a model's ops.

The public ops (``foveanet.functional``'s functions, ``cat``/``stack``/``flatten`` and the
Tensor operators and methods an exporter maps) are ``traceable``: each call asks a
``contextvars.ContextVar`` whether a tracer is active in the calling thread (or asyncio task)
and, if one is, hands the call to ``tracer.record(name, fn, args, kwargs)``; otherwise it runs
the op directly, at the cost of one ``ContextVar.get`` (about 50 ns against an op's
microseconds). ``Function.apply`` asks too, so that a tracer can refuse a differentiable op it
would miss. Nothing is patched: two threads can trace two models at the same time, and a
thread that traces nothing never sees a tracer.
"""
from __future__ import annotations

import contextlib
import contextvars
import functools

_CURRENT = contextvars.ContextVar("foveanet_tracer", default=None)


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
