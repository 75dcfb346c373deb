"""CPU cost of the device seam in the converted ops: foveanet time / torch time of each op's
forward + backward (1 thread each side), median of 7 interleaved repeats of 20 calls.

Run from a checkout: ``PYTHONPATH=. python benchmarks/bench_seam_rest.py LABEL`` (LABEL names
the code under test in the output, e.g. ``main`` or ``seam``); results-seam-rest.md holds runs.
"""
import os
import sys
import time

import numpy as np
import torch

import foveanet as fn
import foveanet.nn.functional as F

_rng = np.random.default_rng(0)
X = _rng.standard_normal((256, 100)).astype(np.float32)
T = _rng.integers(0, 100, 256)
IMG = _rng.standard_normal((16, 8, 32, 32)).astype(np.float32)

# name -> (input, foveanet op, torch op); each op returns what .sum().backward() starts from
CASES = {
    "cross_entropy": (X, lambda a: F.cross_entropy(a, fn.tensor(T), label_smoothing=0.1),
                      lambda a: torch.nn.functional.cross_entropy(a, torch.tensor(T), label_smoothing=0.1)),
    "gelu": (IMG, F.gelu, torch.nn.functional.gelu),
    "pad_reflect": (IMG, lambda a: F.pad(a, (2, 2, 2, 2), mode="reflect"),
                    lambda a: torch.nn.functional.pad(a, (2, 2, 2, 2), mode="reflect")),
    "bilinear_x2": (IMG, lambda a: F.interpolate(a, scale_factor=2, mode="bilinear"),
                    lambda a: torch.nn.functional.interpolate(a, scale_factor=2, mode="bilinear")),
    "softplus": (IMG, F.softplus, torch.nn.functional.softplus),
}


def _step(make, op, x):
    a = make(x, requires_grad=True)
    op(a).sum().backward()


def _seconds(make, op, x, n=20):
    t0 = time.perf_counter()
    for _ in range(n):
        _step(make, op, x)
    return (time.perf_counter() - t0) / n


def main(label: str) -> None:
    torch.set_num_threads(1)
    fn.set_num_threads(1)
    for name, (x, ours, theirs) in CASES.items():
        _step(fn.tensor, ours, x)
        _step(torch.tensor, theirs, x)
        ratios = [_seconds(fn.tensor, ours, x) / _seconds(torch.tensor, theirs, x) for _ in range(7)]
        print(f"{label:5s} {name:14s} foveanet/torch {np.median(ratios):.3f}  "
              f"load {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "run")
