"""Whole-network inference at 224x224: foveanet models against torch reference modules with the
same weights, in the same process, 2 threads each.

    .venv/bin/python -m benchmarks.bench_models            # every case
    .venv/bin/python -m benchmarks.bench_models -k resnet  # cases whose name contains "resnet"
    .venv/bin/python -m benchmarks.bench_models --no-memory
    .venv/bin/python -m benchmarks.bench_models --threads 1   # steadier on a shared machine

The torch side is the reference implementation from tests/models (torchvision's structure;
torchvision itself is not installable here), so both sides compute exactly the same network.
Runs alternate between the frameworks, each after a short pause (idle OpenMP/OpenBLAS workers
spin after a call and would steal the other side's cores); warm-up excluded; medians reported.
Peak memory: each side alone in a fresh process, ru_maxrss after building the model and
after one forward; "+fwd" is the growth, i.e. what the forward itself needed at its peak.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np

THREADS = 2
PAUSE_S = 0.05
CASES = [("vgg16", 1), ("resnet18", 1), ("resnet18", 16), ("resnet50", 1), ("googlenet", 1),
         ("densenet121", 1)]


def torch_reference(name):
    if name == "vgg16":
        from tests.models.test_alexnet_vgg import CFG, TorchVGG
        return TorchVGG(CFG["vgg16"])
    if name.startswith("resnet") or name.startswith("resnext"):
        from tests.models.test_resnet import torch_ref
        return torch_ref(name)
    if name == "googlenet":
        from tests.models.test_googlenet import TGoogLeNet
        return TGoogLeNet()
    if name.startswith("densenet"):
        from tests.models.test_densenet import SPECS, TDenseNet
        return TDenseNet(*SPECS[name][0])
    raise ValueError(f"bench_models: no torch reference for {name!r}")


def build_pair(name):
    import torch

    from foveanet import models
    from tests.models import load_from_torch, randomize_
    tm = randomize_(torch_reference(name)).eval()
    fm = load_from_torch(models.get_model(name), tm).eval()
    return fm, tm


def forwards(fm, tm, x):
    import torch

    import foveanet
    fx, tx = foveanet.tensor(x), torch.from_numpy(x)

    def ours():
        with foveanet.no_grad():
            return fm(fx).numpy()

    def theirs():
        with torch.no_grad():
            return tm(tx).numpy()
    return ours, theirs


def _timed(fn):
    time.sleep(PAUSE_S)
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def race(fns: dict, repeats: int, budget_s: float) -> dict:
    """{name: (min s, median s)}, runs interleaved; the min is the figure to trust on a
    machine shared with other work (BLAS/OpenMP pools lose whole time slices under load)."""
    first = {k: _timed(fn) for k, fn in fns.items()}          # warm-up (allocator, caches)
    repeats = max(3, min(repeats, int(budget_s / max(sum(first.values()), 1e-9))))
    times = {k: [] for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            times[k].append(_timed(fn))
    return {k: (float(np.min(v)), float(np.median(v))) for k, v in times.items()}


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise OSError(f"/proc/self/status has no {field}")


def set_threads(n: int) -> None:
    import torch
    from threadpoolctl import threadpool_limits
    torch.set_num_threads(n)
    threadpool_limits(limits=n, user_api="blas")     # NumPy's OpenBLAS


def child(name: str, batch: int, side: str, threads: int) -> None:
    """One side of one case alone: print {"model": KiB, "forward": KiB}.

    "forward" is the RSS high-water mark during one forward minus the RSS just before it.
    The mark is reset first (clear_refs 5): building a model draws its initial weights in
    temporaries that can exceed what the forward needs, and would otherwise hide it."""
    import gc

    import torch
    import foveanet
    from foveanet import models
    from tests.models import image
    set_threads(threads)
    x = image(batch, 3, 224)
    before = _status_kib("VmRSS")
    if side == "fv":
        m = models.get_model(name).eval()
        run = lambda: m(foveanet.tensor(x))
        ctx = foveanet.no_grad
    else:
        m = torch_reference(name).eval()
        run = lambda: m(torch.from_numpy(x))
        ctx = torch.no_grad
    gc.collect()
    built = _status_kib("VmRSS")
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    with ctx():
        run()
    peak = _status_kib("VmHWM")
    print(json.dumps({"model": built - before, "forward": peak - built}))


def peak_memory(name: str, batch: int, side: str, threads: int):
    # a child of this (large) process would inherit its RSS high-water mark; a tiny launcher
    # in between starts the measured process from a small one
    launcher = "import subprocess, sys; sys.exit(subprocess.call(sys.argv[1:]))"
    cmd = [sys.executable, "-c", launcher, sys.executable, "-m", "benchmarks.bench_models",
           "--child", name, str(batch), side, "--threads", str(threads)]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    # a fixed mmap threshold: glibc otherwise raises it after the first large free, and the
    # init temporaries freed back into the heap would stay resident and hide the forward's needs
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="131072")
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=root, env=env)
    if r.returncode:
        print(f"  memory child failed ({name}, {side}): {r.stderr.strip().splitlines()[-1:]}")
        return None
    return json.loads(r.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-k", default="", help="only cases whose name contains this")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--budget", type=float, default=30.0, help="seconds per case, roughly")
    ap.add_argument("--no-memory", action="store_true")
    ap.add_argument("--threads", type=int, default=THREADS, help="for both frameworks")
    ap.add_argument("--child", nargs=3, metavar=("NAME", "BATCH", "SIDE"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        return child(args.child[0], int(args.child[1]), args.child[2], args.threads)

    set_threads(args.threads)
    from tests.models import image
    print(f"224x224 inference, {args.threads} thread(s), min / median ms; ratio of the mins = torch / "
          "foveanet (> 1: foveanet faster); +fwd = peak RSS growth of one forward (MiB)")
    print(f"{'case':<16} {'foveanet ms':>15} {'torch ms':>13} {'ratio':>6} {'max rel err':>11} "
          f"{'fv +fwd':>8} {'torch +fwd':>10}")
    for name, batch in CASES:
        label = f"{name} b{batch}"
        if args.k not in label:
            continue
        fm, tm = build_pair(name)
        ours, theirs = forwards(fm, tm, image(batch, 3, 224))
        a, b = ours(), theirs()
        err = float(np.abs(a - b).max() / np.abs(b).max())
        t = race({"fv": ours, "torch": theirs}, args.repeats, args.budget)
        del fm, tm
        mem = {"fv": None, "torch": None}
        if not args.no_memory:
            mem = {s: peak_memory(name, batch, s, args.threads) for s in ("fv", "torch")}
        mib = lambda m: f"{m['forward'] / 1024:.0f}" if m else "-"
        ms = lambda k: f"{1e3 * t[k][0]:.0f} / {1e3 * t[k][1]:.0f}"
        print(f"{label:<16} {ms('fv'):>15} {ms('torch'):>13} {t['torch'][0] / t['fv'][0]:>6.2f} "
              f"{err:>11.1e} {mib(mem['fv']):>8} {mib(mem['torch']):>10}", flush=True)


if __name__ == "__main__":
    main()
