"""Autograd ops and an optimizer step on small arrays, foveanet vs PyTorch in one process.

    .venv/bin/python -m benchmarks.bench_autograd_overhead [--repeats 7]

Small arrays make the per-op Python cost (``array_module``, the Function machinery) the
whole time, so this is where a change to the seam shows first. One thread on each side;
runs alternate between the two libraries (drift in machine load hits both alike) and the
medians are reported with the load average.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np
import torch

import foveanet as fn


def _chain(lib, a, b, w):
    y = ((a * b + 1.0).tanh() @ w).clamp(min=0.0)
    z = lib.cat([y, y[:, :4]], dim=1).reshape(-1).amax() + y.mean(dim=0).sum() + y.var()
    z.backward()
    a.grad = b.grad = w.grad = None


def ops_case(lib):
    """Elementwise, matmul, clamp, index, cat, reductions, forward and backward."""
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in [(32, 64), (64,), (64, 16)]]
    make = fn.tensor if lib is fn else torch.tensor
    a, b, w = (make(x, requires_grad=True) for x in arrays)
    return lambda: _chain(lib, a, b, w)


def adam_case(lib):
    """One Adam step (L2 weight decay) over eight 256x256 parameters."""
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal((256, 256)).astype(np.float32) for _ in range(8)]
    if lib is fn:
        params = [fn.nn.Parameter(fn.tensor(x)) for x in arrays]
        for p in params:
            p.grad = fn.tensor(p.data * 0.1)
        return fn.optim.Adam(params, lr=1e-3, weight_decay=1e-2).step
    params = [torch.nn.Parameter(torch.tensor(x)) for x in arrays]
    for p in params:
        p.grad = p.detach() * 0.1
    return torch.optim.Adam(params, lr=1e-3, weight_decay=1e-2, foreach=False).step


CASES = [("ops fwd+bwd (32x64)", ops_case, 200), ("Adam step 8x256x256", adam_case, 50)]


def _seconds(f, n):
    f()
    t0 = time.perf_counter()
    for _ in range(n):
        f()
    return (time.perf_counter() - t0) / n


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    fn.set_num_threads(1)
    print(f"load average {os.getloadavg()[0]:.1f}")
    print("| case | foveanet us | torch us | torch/foveanet |\n|---|---:|---:|---:|")
    for name, case, n in CASES:
        ours, theirs = case(fn), case(torch)
        times, ratios = [], []
        for _ in range(args.repeats):
            a, b = _seconds(ours, n), _seconds(theirs, n)
            times.append((a, b))
            ratios.append(b / a)
        print(f"| {name} | {statistics.median(t[0] for t in times) * 1e6:.0f} | "
              f"{statistics.median(t[1] for t in times) * 1e6:.0f} | {statistics.median(ratios):.2f} |")
    print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
