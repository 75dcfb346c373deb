"""Does a second thread add compute, memory bandwidth, or both, on this machine?

    python -m benchmarks.bench_two_threads [--rounds 20]

Two Python threads released together by a barrier each run the same job (ten 384x384
float32 products on one BLAS thread, compute-bound; ten copies of 8 MB, memory-bound);
printed: the job's median wall ms alone, and the slower thread's when both run at once.
Near equal: the second core adds that resource; twice as long: it adds none (then
memory-bound passes of a layer gain nothing from foveanet's second thread;
benchmarks/results-onnx.md).
"""
from __future__ import annotations

import argparse
import threading
import time

import numpy as np
from threadpoolctl import threadpool_limits

from benchmarks.bench_direct import _median_ms


def together(job, rounds: int) -> float:
    """The median over ``rounds`` of the slower thread's wall ms, both started together."""
    times = []
    for _ in range(rounds):
        start, took = threading.Barrier(2), [0.0, 0.0]

        def side(i):
            start.wait()
            t = time.perf_counter()
            job(i)
            took[i] = time.perf_counter() - t
        other = threading.Thread(target=side, args=(1,))
        other.start()
        side(0)
        other.join()
        times.append(max(took))
    return 1e3 * float(np.median(times))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=20)
    args = ap.parse_args(argv)
    a = np.random.default_rng(0).random((384, 384), dtype=np.float32)
    x = np.random.default_rng(1).random(2_000_000, dtype=np.float32)
    outs = [np.empty_like(x), np.empty_like(x)]

    def products(i):
        for _ in range(10):
            a @ a

    def copies(i):   # each thread into its own output
        for _ in range(10):
            np.copyto(outs[i], x)

    with threadpool_limits(1):
        for name, job in (("products (compute)", products), ("copies of 8 MB (memory)", copies)):
            print(f"{name}: alone {_median_ms(lambda: job(0), args.rounds):.2f} ms, "
                  f"two at once {together(job, args.rounds):.2f} ms each", flush=True)


if __name__ == "__main__":
    main()
