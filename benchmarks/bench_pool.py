"""max_pool2d forward+backward, foveanet vs PyTorch in the same process.

    .venv/bin/python -m benchmarks.bench_pool [--repeats 15]
    .venv/bin/python -m benchmarks.bench_pool --tiled [--repeats 50]

Runs alternate between the two libraries (so drift in machine load hits both alike) and
the medians are reported. ``--tiled``: the compiled tiling kernels alone on one thread, the
scan of any window against the 2x2 pass (``foveanet/kernels/pool_tiled.py``), median ms.
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as TF

import foveanet
import foveanet.functional as F

CASES = [
    # (input shape, kernel, stride, padding)
    ((128, 6, 28, 28), 2, 2, 0),      # LeNet's first pooling
    ((128, 16, 10, 10), 2, 2, 0),     # LeNet's second
    ((8, 64, 112, 112), 3, 2, 1),     # ResNet's stem pooling
]
TILED = [(128, 6, 28, 28), (128, 16, 10, 10), (128, 32, 28, 28)]   # LeNet-5's, vgg_small's first


def tiled(repeats: int) -> None:
    from benchmarks.bench_direct import _median_ms
    from foveanet.kernels import pool_tiled as pt

    rng = np.random.default_rng(0)
    print("| input | forward any / 2x2 ms | backward any / 2x2 ms |")
    print("|---|---:|---:|")
    for shape in TILED:
        x = rng.standard_normal(shape).astype(np.float32)
        N, C, H, W = shape
        y = np.empty((N, C, H // 2, W // 2), np.float32)
        idx = np.empty(y.shape, np.int32)
        g = rng.standard_normal(y.shape).astype(np.float32)
        dx = np.empty_like(x)
        fwd = (_median_ms(lambda: pt._forward_any(x, y, idx, 0, C, 2, 2), repeats),
               _median_ms(lambda: pt.max_pool_tiled_forward(x, y, idx, 0, C, 2, 2), repeats))
        bwd = (_median_ms(lambda: pt._backward_any(g, idx, dx, 0, C, 2, 2), repeats),
               _median_ms(lambda: pt.max_pool_tiled_backward(g, idx, dx, 0, C, 2, 2), repeats))
        print(f"| {shape} | {fwd[0]:.2f} / {fwd[1]:.2f} | {bwd[0]:.2f} / {bwd[1]:.2f} |", flush=True)


def _ours(x, g, k, s, p):
    xt = foveanet.tensor(x, requires_grad=True)
    t0 = time.perf_counter()
    y = F.max_pool2d(xt, k, s, p)
    t1 = time.perf_counter()
    y.backward(g)
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1


def _torch(x, g, k, s, p):
    xt = torch.from_numpy(x).requires_grad_(True)
    gt = torch.from_numpy(g)
    t0 = time.perf_counter()
    y = TF.max_pool2d(xt, k, s, p)
    t1 = time.perf_counter()
    y.backward(gt)
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=None, help="default 15 (50 with --tiled)")
    ap.add_argument("--tiled", action="store_true", help="the tiling kernels: any window vs 2x2")
    args = ap.parse_args(argv)
    if args.tiled:
        tiled(args.repeats or 50)
        return
    args.repeats = args.repeats or 15
    torch.set_num_threads(2)
    rng = np.random.default_rng(0)
    print(f"{'case':<34}{'':>6}{'foveanet ms':>13}{'torch ms':>10}{'ratio':>8}")
    for shape, k, s, p in CASES:
        x = rng.standard_normal(shape).astype(np.float32)
        with torch.no_grad():
            oshape = tuple(TF.max_pool2d(torch.from_numpy(x), k, s, p).shape)
        g = rng.standard_normal(oshape).astype(np.float32)
        _ours(x, g, k, s, p), _torch(x, g, k, s, p)  # warm-up: allocator, lazy imports
        ours, theirs = [], []
        for _ in range(args.repeats):
            ours.append(_ours(x, g, k, s, p))
            theirs.append(_torch(x, g, k, s, p))
        name = f"{shape} k{k} s{s} p{p}"
        for i, part in enumerate(("fwd", "bwd")):
            a = statistics.median(t[i] for t in ours) * 1e3
            b = statistics.median(t[i] for t in theirs) * 1e3
            print(f"{name:<34}{part:>6}{a:>13.2f}{b:>10.2f}{a / b:>8.1f}")
            name = ""


if __name__ == "__main__":
    main()
