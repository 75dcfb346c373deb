"""Winograd F(2x2, 3x3) against the im2col paths, layer shape by layer shape: the
measurement behind ``backend/cpu/conv/route.py``'s ``winograd``.

    .venv/bin/python -m benchmarks.bench_winograd             # one thread
    .venv/bin/python -m benchmarks.bench_winograd --threads 2

Every 3x3 stride-1 conv of the shapes below (the `make bench` cases, ResNet-18 and VGG-16
at batch 1 and 16, small-map and few-channel layers) runs forward (no grad) and forward +
backward, once with the Winograd path forced and once with it switched off (the path
``route.path`` would pick then is printed), alternating, min of several runs each.
speedup = im2col time / Winograd time; "routed" is what ``route.winograd`` decides.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import foveanet
from foveanet.backend.cpu.conv import route
from foveanet.functional.conv import conv2d
from foveanet.geometry import ConvGeom

SHAPES = [  # N, C, Co, H (square maps)
    (8, 64, 64, 56), (32, 64, 128, 32), (128, 32, 32, 28),
    (1, 64, 64, 56), (1, 128, 128, 28), (1, 256, 256, 14), (1, 512, 512, 7),
    (16, 64, 64, 56), (16, 128, 128, 28), (16, 256, 256, 14), (16, 512, 512, 7),
    (1, 64, 64, 224), (1, 128, 128, 112), (1, 256, 256, 56), (1, 512, 512, 28), (1, 512, 512, 14),
    (128, 32, 32, 14), (128, 64, 64, 7), (16, 32, 32, 32), (16, 64, 64, 16), (16, 128, 128, 8),
    (16, 32, 64, 32), (16, 64, 128, 16),
]


def _best(fn, reps):
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def measure(N, C, Co, H, rng):
    x = rng.standard_normal((N, C, H, H)).astype(np.float32)
    w = (rng.standard_normal((Co, C, 3, 3)) * 0.05).astype(np.float32)
    gy = foveanet.tensor(rng.standard_normal((N, Co, H, H)).astype(np.float32))
    reps = max(5, min(30, int(6e9 / (2 * N * Co * C * 9 * H * H))))

    def fwd():
        with foveanet.no_grad():
            conv2d(foveanet.tensor(x), foveanet.tensor(w), padding=1)

    def both():
        xt, wt = foveanet.tensor(x, requires_grad=True), foveanet.tensor(w, requires_grad=True)
        conv2d(xt, wt, padding=1).backward(gy)

    applies = route.winograd
    geom = ConvGeom(N, C, H, H, Co, 1, 3, 3, (1, 1), (1, 1), (1, 1, 1, 1))
    best = {}
    try:
        for _ in range(2):
            for mode, rule in (("wino", lambda g: True), ("base", lambda g: False)):
                route.winograd = rule
                for kind, fn in (("fwd", fwd), ("both", both)):
                    t = _best(fn, reps)
                    best[mode, kind] = min(best.get((mode, kind), t), t)
        route.winograd = lambda g: False
        base_path = route.path(geom)
    finally:
        route.winograd = applies
    routed = applies(geom)
    return best, base_path, routed


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    foveanet.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    print(f"{args.threads} thread(s); ms are the min of several runs")
    print(f"{'layer':>24} {'im2col path':>11} | {'fwd wino':>8} {'im2col':>7} {'speedup':>7} | "
          f"{'f+b wino':>8} {'im2col':>7} {'speedup':>7} | routed")
    for N, C, Co, H in SHAPES:
        best, base_path, routed = measure(N, C, Co, H, rng)
        ms = {k: v * 1e3 for k, v in best.items()}
        print(f"{f'b{N} {C}->{Co} @{H}':>24} {base_path:>11} | {ms['wino', 'fwd']:8.2f} "
              f"{ms['base', 'fwd']:7.2f} {ms['base', 'fwd'] / ms['wino', 'fwd']:6.2f}x | "
              f"{ms['wino', 'both']:8.2f} {ms['base', 'both']:7.2f} "
              f"{ms['base', 'both'] / ms['wino', 'both']:6.2f}x | {'winograd' if routed else '-'}",
              flush=True)


if __name__ == "__main__":
    main()
