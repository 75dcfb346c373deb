"""Transforms of weights that cannot change, made once and kept for later inference calls.

A Winograd conv multiplies the transformed weight ``U = G w G^T`` (16/9 of the weight), and
making it is part of every call: for ResNet-18 at batch 1 on one thread the weight
transforms are 5.8 of 40 ms a forward (cProfile), and on the 512-channel 7x7 layers they
outweigh the multiplies Winograd saves (``route.winograd_one``). onnxruntime makes such
packed weights once, when it loads a model. Here a weight's transform is kept only while
nothing can write to the weight: the array and every array it views are read-only
(``foveanet.freeze`` makes a model's parameters so). Where anything could write, the
transform is made per call, as before, so an optimizer step or an in-place edit is never
read stale.

An entry lives as long as its weight array: it is dropped when the array is collected, so
``foveanet.unfreeze`` (new writable copies) or rebinding ``p.data`` leaves nothing behind.
"""
from __future__ import annotations

import threading
import weakref

import numpy as np

__all__ = ["owner", "read_only", "kept", "count"]

_lock = threading.Lock()
# (id(owner), where the view starts, its shape and strides, kind) -> (weakref to the owner,
# the transform). Keyed by the array that owns the memory: a layer's weight reaches the
# engine as a new view (a reshape) in every call.
_entries: dict = {}


def owner(w: np.ndarray):
    """The array owning ``w``'s memory if nothing can write to ``w``'s numbers (``w`` and
    every array it is a view of are read-only), else None. A view of a foreign buffer
    (which someone else might write) gives None."""
    a = w
    while True:
        if a.flags.writeable:
            return None
        base = a.base
        if base is None:
            return a
        if not isinstance(base, np.ndarray):
            return None
        a = base


def read_only(w: np.ndarray) -> bool:
    """Whether nothing can write to ``w``'s numbers (``owner`` finds its read-only owner)."""
    return owner(w) is not None


def kept(w: np.ndarray, kind: str, make):
    """``make()``, the transform ``kind`` of the weight ``w``: made once and kept while
    ``read_only(w)``, made afresh each call otherwise. The kept array is read-only."""
    own = owner(w)
    if own is None:
        return make()
    start = w.__array_interface__["data"][0] - own.__array_interface__["data"][0]
    key = (id(own), start, w.shape, w.strides, w.dtype.str, kind)
    with _lock:
        hit = _entries.get(key)
    if hit is not None and hit[0]() is own:
        return hit[1]
    value = make()
    value.flags.writeable = False
    with _lock:
        if key not in _entries:
            weakref.finalize(own, _entries.pop, key, None)
        _entries[key] = (weakref.ref(own), value)
    return value


def count() -> int:
    """How many transforms are kept (for tests)."""
    with _lock:
        return len(_entries)
