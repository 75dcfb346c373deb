"""The direct conv's two layouts, layer by layer: ``kernels/direct.py`` (each image on its
padded grid) against ``kernels/direct_batch.py`` (the batch as the vector dimension), forward,
dX and dW, one block of images on one thread, median wall ms; and which one
``kernels/route.py`` picks.

    python -m benchmarks.bench_direct [--images 64] [--repeats 40]
    python -m benchmarks.bench_direct --inference [--repeats 40]

The numbers behind DIRECT_BATCH_MIN_JUNK and DIRECT_BATCH_MIN_TAPS. ``--inference``: the
forward without gradients through the engines' entry points on all of foveanet's threads,
the NumPy engines' route (single, winograd, gemm, ...) against the direct conv, at several
batch sizes: the numbers behind ``route.direct``'s inference rule.
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np

from foveanet.geometry import ConvGeom
from foveanet.kernels import route
from foveanet.kernels.direct import direct_backward, direct_forward
from foveanet.kernels.direct_batch import direct_batch_backward, direct_batch_forward

# (C, Co, side, k, padding, what)
LAYERS = [
    (1, 6, 28, 5, 2, "LeNet-5 C1"),
    (6, 16, 14, 5, 0, "LeNet-5 C3"),
    (3, 16, 14, 5, 0, ""),
    (16, 32, 12, 5, 0, ""),
    (2, 8, 20, 5, 0, ""),
    (1, 32, 28, 3, 1, "vgg_small conv1"),
    (32, 32, 28, 3, 1, "vgg_small conv2"),
    (3, 32, 28, 3, 1, ""),
    (16, 32, 14, 3, 1, ""),
    (6, 16, 10, 3, 0, ""),
    (4, 8, 10, 3, 1, ""),
]


def _median_ms(fn, repeats: int) -> float:
    for _ in range(3):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * float(np.median(times))


def inference(repeats: int, batches=(1, 8, 64, 512)) -> None:
    from foveanet.backend.cpu import conv, threads
    from foveanet.backend.cpu.conv import direct, route as engine_route
    from foveanet import kernels

    compiled = kernels.load()
    rng = np.random.default_rng(0)
    print(f"forward without gradients, {threads.workers()} threads, median of {repeats}; "
          f"load average {os.getloadavg()}")
    print("| layer | " + " | ".join(f"b{n} engine / direct ms" for n in batches) + " |")
    print("|---|" + "---:|" * len(batches))
    for C, Co, side, k, p, what in LAYERS:
        w = rng.standard_normal((Co, C, k, k)).astype(np.float32)
        b = rng.standard_normal(Co).astype(np.float32)
        cells = []
        for n in batches:
            x = rng.standard_normal((n, C, side, side)).astype(np.float32)
            g = ConvGeom(n, C, side, side, Co, 1, k, k, (1, 1), (1, 1), (p, p, p, p))
            a = _median_ms(lambda: conv.forward(x, w, b, g, False, False, compiled=compiled), repeats)
            d = _median_ms(lambda: direct.forward(x, w, g, b, compiled), repeats)
            cells.append(f"{a:.3f} / {d:.3f} ({engine_route.path(g, inference=True)})")
        name = f"{C}->{Co} {k}x{k}" + (f" p{p}" if p else "") + f" @{side}"
        print(f"| {name}{' (' + what + ')' if what else ''} | " + " | ".join(cells) + " |", flush=True)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--images", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=40)
    ap.add_argument("--inference", action="store_true",
                    help="the no-gradient forward: the NumPy engines' route against the direct conv")
    args = ap.parse_args(argv)
    if args.inference:
        inference(args.repeats)
        return
    n = args.images
    rng = np.random.default_rng(0)
    print(f"{n} images, one thread, median of {args.repeats}; load average {os.getloadavg()}")
    print("| layer | junk / taps | forward grid / batch-last ms | dX grid / batch-last ms "
          "| dW grid / batch-last ms | route |")
    print("|---|---|---:|---:|---:|---|")
    none4 = np.empty((0, 0, 0, 0), np.float32)
    for C, Co, side, k, p, what in LAYERS:
        x = rng.standard_normal((n, C, side, side)).astype(np.float32)
        w = rng.standard_normal((Co, C, k, k)).astype(np.float32)
        out = side + 2 * p - k + 1
        gy = rng.standard_normal((n, Co, out, out)).astype(np.float32)
        y, b, dwt = np.empty_like(gy), np.zeros(Co, np.float32), np.zeros_like(w)
        lo, hi = np.float32(-np.inf), np.float32(np.inf)
        fwd = [_median_ms(lambda f=f: f(x, w, b, y, 0, n, 1, 1, p, p, lo, hi), args.repeats)
               for f in (direct_forward, direct_batch_forward)]
        dx = np.empty_like(x)
        dxs = [_median_ms(lambda: direct_backward(gy, none4, w, dx, none4, 0, n, 1, 1, p, p),
                          args.repeats),
               _median_ms(lambda: direct_batch_backward(gy, none4, w, dx, none4, 0, n, 1, 1, p, p),
                          args.repeats)]
        dw = [_median_ms(lambda: direct_backward(gy, x, w, none4, dwt, 0, n, 1, 1, p, p),
                         args.repeats),
              _median_ms(lambda: direct_batch_backward(gy, x, w, none4, dwt, 0, n, 1, 1, p, p),
                         args.repeats)]
        g = ConvGeom(n, C, side, side, Co, 1, k, k, (1, 1), (1, 1), (p, p, p, p))
        pick = "batch-last" if route.direct_batch(g) else "grid"
        name = f"{C}->{Co} {k}x{k}" + (f" p{p}" if p else "") + f" @{side}"
        print(f"| {name}{' (' + what + ')' if what else ''} | {k - 1}/{out + k - 1} / "
              f"{C * k * k} | {fwd[0]:.2f} / {fwd[1]:.2f} | {dxs[0]:.2f} / {dxs[1]:.2f} | "
              f"{dw[0]:.2f} / {dw[1]:.2f} | {pick} |",
              flush=True)


if __name__ == "__main__":
    main()
