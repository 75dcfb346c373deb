"""foveanet against PyTorch CPU, case by case (``make bench`` = ``python -m benchmarks.run``).

    python -m benchmarks.run                # every case, table on stdout and benchmarks/results.md
    python -m benchmarks.run --quick        # fewer cases and repeats
    python -m benchmarks.run -k conv        # cases whose name contains "conv"

Timing: both frameworks in this process with the same thread count (torch.set_num_threads,
OpenBLAS's pool), alternating in blocks so that load from elsewhere hits both alike. A block
is a short pause, untimed runs for at least WARM_S, then BLOCK timed runs back to back: idle
OpenMP workers spin for a while after a call and would steal the other side's cores (the
pause and the untimed runs absorb that), and back-to-back runs are what a training loop does
(a pause before every run made each one start with sleeping threads: LeNet-5 step 12.9 ->
17.0 ms median for foveanet). Warm-up runs excluded; min and median reported.
ratio = foveanet throughput / torch throughput = torch time / foveanet time.
GFLOP/s uses torch's FLOP counter on the reference step (the same math on both sides);
"% peak" relates it to a 4096^3 float32 matmul timed with NumPy in the same run.
Peak memory: each side alone in a child process (ru_maxrss after its imports vs at the end).
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import subprocess
import sys
import time

import foveanet  # noqa: F401
import numpy as np

THREADS = 2
PAUSE_S = 0.03
# After the pause a side runs slowly for several milliseconds, not one run: on this 2-core VM
# (Intel Xeon), depthwise 3x3 128 @28 b16 fwd+bwd, median ms of runs 1-8 after a 30 ms
# pause, foveanet 5.2, 4.0, 3.5, 3.2, 3.1, 3.1, 3.1, 3.0 (torch 5.3, 3.9, 3.4, 3.2, ...).
# Alternating with torch, foveanet paid more of it (its workers block between regions where
# torch's spin, a likely reason): with one untimed run its median read 5.1-5.3 ms against
# torch's 3.8-4.1 (ratio 0.71-0.80), with 20 ms of untimed runs 3.5 against 3.4-3.5 (0.99,
# two rounds each; docs/benchmarks/speed.md). `--warm-ms 0`: one untimed run.
WARM_S = 0.02
RESULTS = os.path.join(os.path.dirname(__file__), "results.md")


BLOCK = 3


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def race(fns: dict, repeats: int, warmup: int = 2, budget_s: float = 20.0,
         warm_s: float = WARM_S) -> dict:
    """{name: (min s, median s)} of each callable over about ``repeats`` timed runs, in
    alternating blocks (pause, untimed runs for at least ``warm_s`` (one at least), BLOCK
    timed runs); slow cases get fewer blocks so that one case stays within about
    ``budget_s``."""
    first = {k: 0.0 for k in fns}
    for w in range(warmup):
        for k, fn in fns.items():
            time.sleep(PAUSE_S)
            first[k] = _timed(fn)
    per_block = sum(max(t, warm_s) + BLOCK * t for t in first.values()) + PAUSE_S * len(fns)
    blocks = max(2, min(-(-repeats // BLOCK), int(budget_s / max(per_block, 1e-9))))
    times = {k: [] for k in fns}
    for _ in range(blocks):
        for k, fn in fns.items():
            time.sleep(PAUSE_S)
            # the switch's warm-up: the other side's idle threads may still spin, and this
            # side's own threads start cold (WARM_S)
            t0 = time.perf_counter()
            fn()
            while time.perf_counter() - t0 < warm_s:
                fn()
            times[k] += [_timed(fn) for _ in range(BLOCK)]
    return {k: (float(np.min(v)), float(np.median(v))) for k, v in times.items()}


def sgemm_peak(repeats: int = 3) -> float:
    a = np.random.default_rng(0).standard_normal((4096, 4096)).astype(np.float32)
    a @ a
    best = min(_timed(lambda: a @ a) for _ in range(repeats))
    return 2 * 4096 ** 3 / best / 1e9


def torch_flops(step) -> float:
    from torch.utils.flop_counter import FlopCounterMode
    with FlopCounterMode(display=False) as fc:
        step()
    return float(fc.get_total_flops())


def machine() -> dict:
    import torch
    cpu = platform.processor() or "?"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    blas = "?"
    try:
        from threadpoolctl import threadpool_info
        blas = ", ".join(f"{i['internal_api']} {i.get('version')} {i.get('architecture')} "
                         f"x{i['num_threads']}" for i in threadpool_info() if i["user_api"] == "blas")
    except ImportError:
        pass
    return {"date": datetime.date.today().isoformat(), "cpu": cpu, "cores": os.cpu_count(),
            "python": platform.python_version(), "numpy": np.__version__, "blas": blas,
            "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE", "(unset)"),
            "torch": f"{torch.__version__} x{torch.get_num_threads()}", "load": os.getloadavg()}


# ----------------------------------------------------------------- peak memory (children)


def child(name: str, side: str, iters: int) -> None:
    """Run one side of one case alone and print {"base": KiB, "peak": KiB} as JSON."""
    if side == "fv":
        import foveanet  # noqa: F401
    else:
        import torch
        torch.set_num_threads(THREADS)
    from benchmarks.cases import CASES
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    step = CASES[name](side, None)
    for _ in range(iters):
        step()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"base": base, "peak": peak}))


def peak_memory(name: str, side: str, iters: int) -> dict | None:
    # Linux hands a child the parent's RSS high-water mark as its starting ru_maxrss (fork
    # copies the address space's counters, exec folds them in), so a child of this grown
    # process would report our peak. A tiny launcher in between starts its child at ~10 MiB.
    launcher = "import subprocess, sys; sys.exit(subprocess.call(sys.argv[1:]))"
    cmd = [sys.executable, "-c", launcher, sys.executable, "-m", "benchmarks.run",
           "--child", name, side, "--iters", str(iters)]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=root)
    if r.returncode:
        print(f"  memory child failed ({name}, {side}): {r.stderr.strip().splitlines()[-1:]}")
        return None
    return json.loads(r.stdout.strip().splitlines()[-1])


# ----------------------------------------------------------------------------- report


def _fmt_ms(t):
    return f"{1e3 * t[0]:.2f} / {1e3 * t[1]:.2f}"


def _mib(kib):
    return kib / 1024


def table(rows: list, skipped: list, info: dict, peak: float, quick: bool) -> str:
    out = [f"# foveanet vs PyTorch CPU ({'quick' if quick else 'full'} run)", "",
           f"- date: {info['date']}; CPU: {info['cpu']}, {info['cores']} cores; "
           f"Python {info['python']}",
           f"- numpy {info['numpy']} ({info['blas']}; OPENBLAS_CORETYPE={info['OPENBLAS_CORETYPE']}); "
           f"torch {info['torch']}",
           f"- sgemm peak (numpy 4096^3 float32, this run): {peak:.0f} GFLOP/s",
           # other jobs on the machine skew both sides (torch's OpenMP pool the most)
           f"- load average (1 min) at start / end: {info['load'][0]:.1f} / {os.getloadavg()[0]:.1f}",
           ""
           f"Times are min / median ms over interleaved runs (each side warmed for "
           f"{info.get('warm_ms', 0):g} ms after each switch). ratio = foveanet throughput / torch "
           "throughput (median; min in brackets), > 1 means foveanet is faster. Memory: peak RSS "
           "of each side alone; +MiB is the growth over the process after its imports.", "",
           "| case | foveanet ms | torch ms | ratio | fv GFLOP/s | % sgemm peak | torch GFLOP/s "
           "| peak RSS fv MiB (+) | peak RSS torch MiB (+) | RSS growth fv/torch |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        fv, tt, flops = r["fv"], r["torch"], r["flops"]
        gf_fv = flops / fv[1] / 1e9 if flops else None
        gf_t = flops / tt[1] / 1e9 if flops else None
        gflops = (f"{gf_fv:.1f} | {100 * gf_fv / peak:.0f}% | {gf_t:.1f}" if flops
                  else "- | - | -")  # pooling: no multiply-adds to count
        mem = ["", "", ""]
        if r.get("mem_fv") and r.get("mem_torch"):
            mf, mt = r["mem_fv"], r["mem_torch"]
            gf, gt = _mib(mf["peak"] - mf["base"]), _mib(mt["peak"] - mt["base"])
            mem = [f"{_mib(mf['peak']):.0f} (+{gf:.0f})", f"{_mib(mt['peak']):.0f} (+{gt:.0f})",
                   f"{gf / gt:.2f}" if gt > 0.5 else "-"]
        out.append(f"| {r['name']} | {_fmt_ms(fv)} | {_fmt_ms(tt)} | "
                   f"{tt[1] / fv[1]:.2f} ({tt[0] / fv[0]:.2f}) | {gflops} | {' | '.join(mem)} |")
    for name, why in skipped:
        out.append(f"| {name} | skipped: {why} | | | | | | | | |")
    return "\n".join(out) + "\n"


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer cases and repeats")
    ap.add_argument("-k", default="", help="only cases whose name contains this")
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--no-memory", action="store_true", help="skip the peak-RSS children")
    ap.add_argument("--out", default=RESULTS, help="markdown file ('' for none)")
    ap.add_argument("--warm-ms", type=float, default=1e3 * WARM_S,
                    help="untimed runs after each switch for at least this long (0: one run)")
    ap.add_argument("--child", nargs=2, metavar=("CASE", "SIDE"), help=argparse.SUPPRESS)
    ap.add_argument("--iters", type=int, default=3, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        return child(*args.child, args.iters)

    import torch
    torch.set_num_threads(THREADS)
    import foveanet  # noqa: F401
    from benchmarks.cases import CASES, QUICK, Skip

    repeats = args.repeats or (5 if args.quick else 15)
    names = [n for n in (QUICK if args.quick else CASES) if args.k in n]
    info = machine()
    info["warm_ms"] = args.warm_ms
    peak = sgemm_peak()
    print(f"{info}\nsgemm peak {peak:.0f} GFLOP/s; {repeats} repeats", flush=True)
    rows, skipped = [], []
    for name in names:
        shared = {}
        try:
            fv_step = CASES[name]("fv", shared)
            torch_step = CASES[name]("torch", shared)
        except (Skip, ImportError, AttributeError) as e:  # a foveanet piece the case needs is missing
            print(f"{name}: skipped ({e})", flush=True)
            skipped.append((name, str(e)))
            continue
        flops = getattr(CASES[name], "flops", None) or torch_flops(torch_step)
        t = race({"fv": fv_step, "torch": torch_step}, repeats,
                 budget_s=8.0 if args.quick else 25.0, warm_s=args.warm_ms / 1e3)
        row = {"name": name, "fv": t["fv"], "torch": t["torch"], "flops": flops}
        del fv_step, torch_step, shared
        if not args.no_memory:
            row["mem_fv"] = peak_memory(name, "fv", args.iters)
            row["mem_torch"] = peak_memory(name, "torch", args.iters)
        rows.append(row)
        print(f"{name}: fv {_fmt_ms(t['fv'])} ms, torch {_fmt_ms(t['torch'])} ms, "
              f"ratio {t['torch'][1] / t['fv'][1]:.2f}", flush=True)
    md = table(rows, skipped, info, peak, args.quick)
    print("\n" + md)
    if args.out:
        with open(args.out, "w") as f:
            f.write(md)


if __name__ == "__main__":
    main()
