"""Batch-1 inference with each framework alone in its process, as a user runs it: foveanet
as built (eval), foveanet frozen (``foveanet.freeze``: read-only weights, kept Winograd
transforms), torch eval, and torch frozen (``torch.jit.freeze`` + ``optimize_for_inference``,
its prepacked-weight mode). ``benchmarks.run`` times both frameworks in one process, where
torch's spinning OpenMP threads and foveanet's worker hand-overs meet; here nothing else
runs beside each side. Sides alternate process by process; wall ms min / median, and the
ratios torch time / foveanet time (> 1: foveanet is faster).

    python -m benchmarks.bench_alone --arch resnet18 mobilenet_v2 --rounds 2
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

SIDES = ("foveanet", "foveanet frozen", "torch", "torch frozen")


def _side(arch: str, side: str, repeats: int) -> list:
    """Build ``arch`` for ``side`` in this process and time ``repeats`` forwards at batch 1.
    foveanet is imported before NumPy, so that ``FOVEANET_TUNE_PROCESS=1`` (the make
    environment, and what the ``foveanet`` command does) can tune OpenBLAS."""
    if side.startswith("foveanet"):
        import foveanet  # noqa: F401
    import numpy as np

    x = np.random.default_rng(0).standard_normal((1, 3, 224, 224)).astype(np.float32)
    if side.startswith("foveanet"):
        import foveanet
        from foveanet import models

        foveanet.manual_seed(0)
        model = getattr(models, arch)().eval()
        if side.endswith("frozen"):
            foveanet.freeze(model)
        xt = foveanet.tensor(x)

        def step():
            with foveanet.no_grad():
                model(xt)
    else:
        import torch

        from benchmarks import torch_models

        model = getattr(torch_models, arch)().eval()
        xt = torch.from_numpy(x)
        if side.endswith("frozen"):
            with torch.no_grad():
                model = torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.script(model)))

        def step():
            with torch.no_grad():
                model(xt)
    for _ in range(3):
        step()
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        step()
        out.append(time.perf_counter() - t)
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", nargs="+", default=["resnet18", "mobilenet_v2"])
    ap.add_argument("--rounds", type=int, default=2, help="processes per side")
    ap.add_argument("--repeats", type=int, default=15, help="timed forwards per process")
    ap.add_argument("--sides", nargs="+", default=list(SIDES), choices=SIDES)
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(_side(args.child[0], args.child[1], args.repeats)))
        return
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [os.getcwd(), os.environ.get("PYTHONPATH")])))
    sides = [s for s in SIDES if s in args.sides]
    ratios = [(a, b) for a, b in (("foveanet", "torch"), ("foveanet frozen", "torch frozen"))
              if a in sides and b in sides]
    print("| model | " + " | ".join(sides) + "".join(f" | {b} / {a}" for a, b in ratios) + " |")
    print("|---|" + "---:|" * (len(sides) + len(ratios)))
    for arch in args.arch:
        times = {s: [] for s in sides}
        for _ in range(args.rounds):
            for side in sides:
                run = subprocess.run([sys.executable, "-m", "benchmarks.bench_alone", "--repeats",
                                      str(args.repeats), "--child", arch, side],
                                     capture_output=True, text=True, env=env, check=True)
                times[side] += json.loads(run.stdout.strip().splitlines()[-1])
        import numpy as np

        med = {s: float(np.median(v)) * 1e3 for s, v in times.items()}
        cells = " | ".join(f"{min(v) * 1e3:.1f} / {med[s]:.1f}" for s, v in times.items())
        cells += "".join(f" | {med[b] / med[a]:.2f}" for a, b in ratios)
        print(f"| {arch} b1 @224 | {cells} |", flush=True)


if __name__ == "__main__":
    main()
