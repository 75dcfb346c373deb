"""Where foveanet's own calls begin and end: a module's forward, an op, a backward sweep.

A backend may keep a setting for the length of one call and undo it when the call returns
(the CPU holds BLAS at one thread while its tasks run, ``backend/cpu/blas.py``): it registers
an ``at_end`` hook, run when the outermost call of the last thread inside one returns. The
math files mark their calls with ``with CALL:`` and know nothing of what a backend does there.
"""
from __future__ import annotations

import threading

__all__ = ["CALL", "Call", "outside", "at_end"]

_lock = threading.Lock()
_local = threading.local()   # .depth: this thread's nesting of foveanet calls
_busy = 0                    # threads inside a call
_ends: list = []


class Call:
    """``with CALL:`` around one of foveanet's calls. Reentrant and per thread (the depth is
    thread-local); the object holds no state, so the one ``CALL`` serves every caller."""
    __slots__ = ()

    def __enter__(self):
        global _busy
        depth = getattr(_local, "depth", 0)
        _local.depth = depth + 1
        if depth == 0:
            with _lock:
                _busy += 1
        return self

    def __exit__(self, *exc):
        global _busy
        depth = _local.depth - 1
        _local.depth = depth
        if depth == 0:
            with _lock:
                _busy -= 1
                last = _busy == 0
            if last:
                for end in _ends:
                    end()
        return False


CALL = Call()


def outside() -> bool:
    """True when no thread is inside one of foveanet's calls."""
    return _busy == 0 and not getattr(_local, "depth", 0)


def at_end(hook) -> None:
    """Run ``hook()`` whenever the last call in progress returns (registered once)."""
    if hook not in _ends:
        _ends.append(hook)
