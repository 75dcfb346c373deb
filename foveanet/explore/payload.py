"""Arrays in the JSON answers: float32 little-endian bytes in base64, with shape and range.

A 64x112x112 feature-map block is 3.2 MB as float32 and about twice that as JSON numbers;
base64 keeps it at 4.3 MB and the browser reads it with one ``Float32Array`` (no parsing
per number), then draws it on a canvas where hovering shows each value.
"""
from __future__ import annotations

import base64

import numpy as np

__all__ = ["array_json"]


def array_json(a) -> dict:
    """``{"shape", "min", "max", "b64"}`` of an array (float32 little-endian, C order)."""
    a = np.ascontiguousarray(a, dtype="<f4")
    finite = a[np.isfinite(a)]
    return {"shape": list(a.shape),
            "min": float(finite.min()) if finite.size else 0.0,
            "max": float(finite.max()) if finite.size else 0.0,
            "b64": base64.b64encode(a.tobytes()).decode("ascii")}
