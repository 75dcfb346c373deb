"""What one parallel region (``threads.each``) costs beyond its work: a region with nothing
to do, and two GEMMs of about 75 us run as one region, against the same two back to back,
inside one foveanet call (BLAS held, as a layer's forward runs them). Wall us, median / 90th
percentile of 300.

    python -m benchmarks.bench_region --threads 2

A batch-1 forward runs one region per layer or so (ResNet-18 23, MobileNetV2 53), so at
these sizes the overhead is a few percent of the forward.
"""
from __future__ import annotations

import argparse
import time

import numpy as np


def _timed(fn, n: int = 300) -> tuple:
    ts = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    ts.sort()
    return ts[n // 2] * 1e6, ts[int(n * 0.9)] * 1e6


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    import foveanet
    from foveanet.backend.calls import CALL
    from foveanet.backend.cpu import threads

    foveanet.set_num_threads(args.threads)
    r = np.random.default_rng(0)
    a = r.standard_normal((128, 256)).astype(np.float32)
    b = r.standard_normal((256, 196)).astype(np.float32)

    def gemm(_):
        np.matmul(a, b)

    cases = {
        "empty region (2 items, nothing to do)": lambda: threads.each([0, 1], lambda i: None),
        "one GEMM 128x256 @ 256x196": lambda: gemm(0),
        "two GEMMs back to back": lambda: (gemm(0), gemm(1)),
        "two GEMMs as one region": lambda: threads.each([0, 1], gemm),
        "four GEMMs as one region": lambda: threads.each([0, 1, 2, 3], gemm),
    }
    print(f"{args.threads} threads, wall us median / p90 of 300")
    print("| case | us |\n|---|---:|")
    with foveanet.no_grad(), CALL:
        for name, fn in cases.items():
            _timed(fn, 30)
            med, p90 = _timed(fn)
            print(f"| {name} | {med:.0f} / {p90:.0f} |", flush=True)


if __name__ == "__main__":
    main()
