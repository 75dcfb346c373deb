"""MobileNetV2 (or another zoo model: ``--arch resnet18``) eval forward at batch 1 @224
against PyTorch, interleaved in one process, in process CPU time (all threads) and wall time;
and where foveanet's time goes.

    python -m benchmarks.profile_mobilenet [--arch mobilenet_v2] [--threads 1] [--rounds 15]
                                           [--layers] [--profile]

Both sides run under no_grad in eval mode with the same weights (benchmarks/torch_models.py)
and ``set_num_threads(threads)``. ``--layers`` adds foveanet's CPU time per conv kind
(depthwise, 1x1, dense kxk) and its slowest layers; ``--profile`` a cProfile of three
forwards. On a shared 2-core machine CPU-time minimums are the steadier figure: wall-clock
ratios move with whatever else runs.
"""
from __future__ import annotations

import argparse
import cProfile
import collections
import pstats
import time

import numpy as np
import torch

import foveanet
from benchmarks import torch_models
from foveanet import models


def _layers(net, x, rounds: int) -> None:
    """CPU time of every fused conv call (models/fold.py's conv2d_clamp), by kind."""
    from foveanet.models import fold
    spent = collections.defaultdict(list)
    inner = fold.conv2d_clamp

    def timed(xi, w, b, stride, padding, dilation, groups, *rest):
        t0 = time.process_time()
        y = inner(xi, w, b, stride, padding, dilation, groups, *rest)
        kind = "depthwise" if groups > 1 else ("1x1" if w.shape[-1] == 1 else "kxk")
        spent[(kind, tuple(xi.shape[1:]), tuple(w.shape[:2]), tuple(stride))].append(
            time.process_time() - t0)
        return y

    fold.conv2d_clamp = timed
    try:
        for _ in range(rounds):
            with foveanet.no_grad():
                net(x)
    finally:
        fold.conv2d_clamp = inner
    per_run = {k: float(np.median(v)) * len(v) / rounds for k, v in spent.items()}
    kinds = collections.Counter()
    for k, t in per_run.items():
        kinds[k[0]] += t
    print("conv CPU ms per forward by kind:", {k: round(t * 1e3, 2) for k, t in kinds.items()})
    for k, t in sorted(per_run.items(), key=lambda kv: -kv[1])[:10]:
        print(f"  {t * 1e3:6.3f} ms  {k}")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", default="mobilenet_v2", help="a model of benchmarks/torch_models.py")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--layers", action="store_true")
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args(argv)
    foveanet.set_num_threads(args.threads)
    torch.set_num_threads(args.threads)
    foveanet.manual_seed(0)
    net = getattr(models, args.arch)().eval()
    tm = getattr(torch_models, args.arch)()
    torch_models.copy_weights(net, tm)
    tm.eval()
    x = np.random.default_rng(0).standard_normal((1, 3, 224, 224)).astype(np.float32)
    fx, tx = foveanet.tensor(x), torch.from_numpy(x)

    def fv():
        with foveanet.no_grad():
            return net(fx).numpy()

    def tt():
        with torch.no_grad():
            return tm(tx).numpy()

    a, b = fv(), tt()
    print(f"max |foveanet - torch| / max |torch| = {np.abs(a - b).max() / np.abs(b).max():.2e}")
    times = {"foveanet": ([], []), "torch": ([], [])}
    for _ in range(args.rounds):
        for name, step in (("foveanet", fv), ("torch", tt)):
            step()  # the switch's warm-up: the other side's threads may still spin
            c0, w0 = time.process_time(), time.perf_counter()
            step()
            times[name][0].append(time.process_time() - c0)
            times[name][1].append(time.perf_counter() - w0)
    for name, (cpu, wall) in times.items():
        print(f"{args.threads} thread(s) {name:8s} CPU ms min / median {min(cpu) * 1e3:6.1f} / "
              f"{np.median(cpu) * 1e3:6.1f}   wall {min(wall) * 1e3:6.1f} / "
              f"{np.median(wall) * 1e3:6.1f}")
    (fc, _), (tc, _) = times["foveanet"], times["torch"]
    print(f"CPU-time ratio torch/foveanet: min {min(tc) / min(fc):.2f}, "
          f"median {np.median(tc) / np.median(fc):.2f}")
    if args.layers:
        _layers(net, fx, args.rounds)
    if args.profile:
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(3):
            fv()
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(12)


if __name__ == "__main__":
    main()
