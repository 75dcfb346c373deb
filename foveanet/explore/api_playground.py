"""``GET /api/playground``: the lecture's convolution arithmetic, computed live.

The output size is the lecture's formula (``foveanet.concepts.conv_output_size``, the one
the engine runs); the output itself comes from ``foveanet.functional.conv2d`` (or
``max_pool2d``), never from a loop written here. Presets are the lecture's examples:

    edge: 6x6 (10 left, 0 right) * 3x3 vertical-edge filter -> 4x4, every row 0 30 30 0
    pool: 2x2 max pooling, stride 2, of [[1,3,5,3],[4,2,3,1],[3,1,1,3],[0,1,0,4]] -> [[4,5],[3,4]]
"""
from __future__ import annotations

import numpy as np

from foveanet.explore.errors import bad_request

__all__ = ["playground", "PRESETS"]

PRESETS = ("edge", "pool")
# channels returned with every number (the page draws these; the sums use all of them)
SHOWN_IN, SHOWN_OUT = 3, 4


def _preset(name: str):
    if name == "edge":
        x = np.zeros((1, 1, 6, 6))
        x[..., :3] = 10                                    # bright left half, dark right half
        w = np.array([[1, 0, -1]] * 3, dtype=np.float64)[None, None]
        return "conv", x, w, dict(n=6, f=3, p=0, s=1, d=1, cin=1, cout=1)
    if name == "pool":
        x = np.array([[1, 3, 5, 3], [4, 2, 3, 1], [3, 1, 1, 3], [0, 1, 0, 4]], dtype=np.float64)[None, None]
        return "pool", x, None, dict(n=4, f=2, p=0, s=2, d=1, cin=1, cout=1)
    raise bad_request(f"unknown preset {name!r}; presets: {', '.join(PRESETS)}")


def playground(preset: str = "", n: int = 6, f: int = 3, p: int = 0, s: int = 1, d: int = 1,
               cin: int = 1, cout: int = 1, op: str = "conv", seed: int = 0) -> dict:
    """Sizes, formula, parameter count, the padded input, the filters and the output."""
    from foveanet import concepts as C
    from foveanet.functional import conv2d, max_pool2d

    if preset:
        op, x, w, dims = _preset(preset)
        n, f, p, s, d, cin, cout = (dims[k] for k in ("n", "f", "p", "s", "d", "cin", "cout"))
    else:
        if op not in ("conv", "pool"):
            raise bad_request(f"op must be conv or pool, got {op!r}")
        rng = np.random.default_rng(seed)
        x = rng.integers(0, 10, size=(1, cin, n, n)).astype(np.float64)   # small ints: sums readable
        w = rng.integers(-1, 2, size=(cout, cin, f, f)).astype(np.float64) if op == "conv" else None
    f_eff = d * (f - 1) + 1
    if n + 2 * p < f_eff:
        raise bad_request(f"the filter spans {f_eff} pixels (f_eff = d(f-1)+1 = {d}*({f}-1)+1) but the "
                          f"padded input has only n + 2p = {n + 2 * p}: no output")
    if op == "pool" and p > f // 2:
        raise bad_request(f"pooling padding must be at most half the window (f // 2 = {f // 2}), got p = {p}")
    if op == "conv":
        size = C.conv_output_size(n, f, padding=p, stride=s, dilation=d)
        y = conv2d(x, w, None, stride=s, padding=p, dilation=d).numpy()[0]
        params = C.conv_params_formula(f, cin, cout, True)
    else:
        size = C.pool_output_size(n, f, stride=s, padding=p, dilation=d)
        y = max_pool2d(x, f, stride=s, padding=p, dilation=d).numpy()[0]
        params = "0 (pooling has no parameters)"
        cout = cin
    padded = np.pad(x[0], ((0, 0), (p, p), (p, p))).tolist()
    if op == "pool" and p:
        # max pooling pads with -inf (a padded pixel never wins); JSON has no -inf: null
        for plane in padded:
            for i, row in enumerate(plane):
                for j in range(len(row)):
                    if not (p <= i < p + n and p <= j < p + n):
                        row[j] = None
    return {
        "op": op, "preset": preset or None, "n": n, "f": f, "p": p, "s": s, "d": d, "cin": cin, "cout": cout,
        "f_eff": f_eff, "output_size": int(size),
        "formula": f"floor((n + 2p - d(f-1) - 1)/s) + 1 = floor(({n} + 2*{p} - {d}*({f}-1) - 1)/{s}) + 1 = {size}",
        "params": params,
        "input": padded[:SHOWN_IN],
        "filters": None if w is None else w[:SHOWN_OUT, :SHOWN_IN].tolist(),
        "output": np.round(y[:SHOWN_OUT], 6).tolist(),
        "output_shape": [int(cout), int(size), int(size)],
    }
