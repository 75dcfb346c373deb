"""The compiled kernels against the NumPy engines and PyTorch, on one thread, in CPU time.

    python -m benchmarks.bench_kernels [--repeats 9] [-k CASE]

Each case runs foveanet on FOVEANET_KERNELS=numpy, on the compiled kernels, and PyTorch,
interleaved in this process, every side on one thread, and reports the minimum of the
calling thread's CPU time (``time.thread_time``) per step: on a shared machine that other
jobs oversubscribe, wall-clock ratios against a 2-thread PyTorch swing by several times
(its OpenMP threads wait for descheduled partners), while a single thread's CPU time
moves by tens of percent. `python -m benchmarks.run` remains the wall-clock, 2-thread
comparison for a quiet machine.
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch

import foveanet
from benchmarks.cases import CASES
from foveanet.backend import use_kernels

SELECTED = ["depthwise 3x3 128 @28 b16 fwd+bwd", "depthwise 3x3 s2 96 @56 b8 fwd+bwd",
            "max_pool2d 3/2 p1 (8,64,112,112) fwd+bwd", "max_pool2d 2/2 (128,6,28,28) fwd+bwd",
            "lenet5 train SGD b128", "vgg_small train AdamW b128", "bilstm 256->96 T140 b16 fwd+bwd"]


def _cpu_ms(step, repeats: int, state: dict) -> None:
    step()
    for _ in range(repeats):
        t0 = time.thread_time()
        step()
        state.setdefault("t", []).append(1e3 * (time.thread_time() - t0))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=9)
    ap.add_argument("-k", default="")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    foveanet.set_num_threads(1)
    print(f"load average {os.getloadavg()}")
    print("| case | NumPy engines ms | compiled ms | torch ms | NumPy/compiled | "
          "ratio vs torch, NumPy -> compiled |")
    print("|---|---:|---:|---:|---:|---:|")
    for name in (n for n in SELECTED if args.k in n):
        steps, shared = {}, {}
        for choice in ("numba", "numpy"):  # the model cases copy the last one into torch's
            with use_kernels(choice):
                steps[choice] = CASES[name]("fv", shared)
        steps["torch"] = CASES[name]("torch", shared)
        times = {k: {} for k in steps}
        for _ in range(3):  # interleaved rounds: drift in load hits every side
            for k, step in steps.items():
                if k == "torch":
                    _cpu_ms(step, args.repeats, times[k])
                else:
                    with use_kernels(k):
                        _cpu_ms(step, args.repeats, times[k])
        best = {k: min(v["t"]) for k, v in times.items()}
        print(f"| {name} | {best['numpy']:.2f} | {best['numba']:.2f} | {best['torch']:.2f} | "
              f"{best['numpy'] / best['numba']:.2f} | {best['torch'] / best['numpy']:.2f} -> "
              f"{best['torch'] / best['numba']:.2f} |", flush=True)
    print(f"load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
