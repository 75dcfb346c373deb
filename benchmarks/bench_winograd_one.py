"""One image at inference, ResNet-18's 3x3 stride-1 layers with a ReLU epilogue: the
route without it (``conv/single.py``'s im2col bands on two threads, the NumPy Winograd
engine or im2col on one)
against compiled Winograd F(2x2, 3x3) in bands (``conv/winograd_one.py``), the same with a
read-only weight whose transform is kept (``conv/packed.py``, ``foveanet.freeze``), and
torch's conv2d + relu, interleaved, wall ms min / median.

    python -m benchmarks.bench_winograd_one --threads 2 --rounds 41

``route.winograd_one`` holds the numbers this printed.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

import foveanet
from foveanet import kernels
from foveanet.backend.cpu import conv, threads
from foveanet.backend.cpu.conv import route, winograd_one
from foveanet.geometry import ConvGeom

SHAPES = [(64, 56), (128, 28), (256, 14), (512, 7)]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=41)
    args = ap.parse_args(argv)
    foveanet.set_num_threads(args.threads)
    torch.set_num_threads(args.threads)
    ks = kernels.load()
    for C, H in SHAPES:
        g = ConvGeom(1, C, H, H, C, 1, 3, 3, (1, 1), (1, 1), (1, 1, 1, 1))
        r = np.random.default_rng(0)
        x = r.standard_normal((1, C, H, H)).astype(np.float32)
        w = (r.standard_normal((C, C, 3, 3)) * 0.05).astype(np.float32)
        b = r.standard_normal(C).astype(np.float32)
        res = r.standard_normal((1, C, H, H)).astype(np.float32)
        clamp = (0.0, np.inf)
        wk = w.copy()
        wk.flags.writeable = False
        tx, tw_, tb, tr = (torch.from_numpy(a) for a in (x, w, b, res))
        def routed_before():  # the route without this engine
            saved, route.winograd_one = route.winograd_one, (lambda g, frozen=False: False)
            try:
                return conv.forward(x, w, b, g, False, False, clamp, None, ks, res)[0]
            finally:
                route.winograd_one = saved

        sides = {
            "im2col": routed_before,
            "winograd": lambda: winograd_one.forward(x, w, g, ks, b, None, clamp, res),
            "kept": lambda: winograd_one.forward(x, wk, g, ks, b, None, clamp, res),
            "torch": lambda: torch.relu_(torch.nn.functional.conv2d(tx, tw_, tb, 1, 1) + tr).numpy(),
        }
        outs = {k: f() for k, f in sides.items()}
        err = {k: float(np.abs(v - outs["torch"]).max() / np.abs(outs["torch"]).max())
               for k, v in outs.items() if k != "torch"}
        times = {k: [] for k in sides}
        for _ in range(args.rounds):
            for k, f in sides.items():
                t = time.perf_counter()
                f()
                times[k].append(time.perf_counter() - t)
        row = "  ".join(f"{k} {min(v) * 1e3:6.3f} / {np.median(v) * 1e3:6.3f}"
                        for k, v in times.items())
        print(f"{C}->{C} @{H} threads {threads.workers()}: {row}  err {err}")


if __name__ == "__main__":
    main()
