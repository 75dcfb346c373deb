"""Data-parallel training on MPI: images/s against the number of ranks, the all-reduce's share
of a step, the all-reduce against mpi4py's own, bucket sizes, and a model of larger clusters.

    .venv/bin/python benchmarks/bench_distributed.py                     # everything, ~4 min on 2 cores
    .venv/bin/python benchmarks/bench_distributed.py --parts steps --ranks 1,2
    .venv/bin/python benchmarks/bench_distributed.py --json /tmp/dist.json     # keep the measurements
    .venv/bin/python benchmarks/bench_distributed.py --load /tmp/dist.json     # tables and model only

The script launches itself under ``mpirun -n P`` (``--oversubscribe`` past the cores,
``--allow-run-as-root`` as root) in a worker mode, one launch per part and P, and reads rank 0's
measurements back. Every rank runs one BLAS thread (``OPENBLAS_NUM_THREADS=1`` and
``foveanet.set_num_threads(1)``), in a process tuned as the ``foveanet`` command tunes its own.

- **steps** (P = 1, 2, 4): one training step (forward, cross-entropy, backward with the
  DistributedDataParallel all-reduce, SGD with momentum) of lenet5 and vgg_small on random
  1x28x28 images, the global batch fixed at 128 (B/P per rank). After a warm-up, each repeat
  times a fixed number of steps from a barrier; the slowest rank's time counts. Measured from
  outside the wrapper: the time inside ``ddp._finish`` (the wait for the buckets, the 1/p
  scaling, the copy back to ``.grad``), the time in ``broadcast`` (batch norm's buffers before
  each forward), and the same step under ``ddp.no_sync()`` (no communication at all). At P = 1
  the plain model (no wrapper) is the baseline of the speed-ups, timed also at the per-rank
  batches of 2 .. 64 that the scaling model needs.
- **sweep** (2 ranks): one in-place float32 sum all-reduce of 4 KB .. 64 MB, with
  ``foveanet.distributed.all_reduce`` against mpi4py's ``comm.Allreduce``,
  ``comm.Iallreduce(...).Wait()`` and ``Iallreduce`` polled with ``Test()`` in a tight loop
  (foveanet's wait polls ``Test()`` with sleeps in between) on the same buffer.
- **buckets** (2 ranks): the step of each model wrapped with bucket_cap_mb 0.05, 0.25, 1, 25.
- **model**: the ring all-reduce model of 8 and 64 machines (``scaling_model``), from the
  measured compute times and the alpha/beta fitted to the sweep.

Times are min / median over the repeats; on a shared machine the min is the figure to trust.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

GLOBAL_BATCH = 128
MODELS = ("lenet5", "vgg_small")
CURVE_BATCHES = (64, 32, 16, 2)          # B/p for p = 2, 4, 8, 64 at the global batch of 128
SWEEP_BYTES = tuple(4096 * 2 ** k for k in range(15))   # 4 KB .. 64 MB
BUCKET_CAPS_MB = (0.05, 0.25, 1.0, 25.0)
MARK = "@@result "

# the networks of the model: (name, alpha s, beta bytes/s); "this machine" is fitted to the sweep
NETWORKS = (("10 Gb/s Ethernet", 20e-6, 1.25e9), ("100 Gb/s InfiniBand", 2e-6, 12e9))


# ---------------------------------------------------------------- the launcher (no MPI here)


def launch(part: str, ranks: int, args) -> dict:
    """Run this file's worker ``part`` on ``ranks`` MPI ranks; rank 0's result dict."""
    cmd = ["mpirun", "-n", str(ranks)]
    if ranks > (os.cpu_count() or 1):
        cmd.append("--oversubscribe")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-run-as-root")
    cmd += [sys.executable, str(Path(__file__).resolve()), "--worker", part,
            "--repeats", str(args.repeats), "--models", ",".join(args.models)]
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1",
               OMPI_MCA_btl_vader_single_copy_mechanism="none")
    print(f"$ {' '.join(cmd)}", file=sys.stderr, flush=True)
    load = os.getloadavg()[0]
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env)
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith(MARK)]
    if r.returncode or not lines:
        sys.stderr.write(r.stdout[-3000:] + r.stderr[-3000:])
        raise SystemExit(f"bench_distributed: the {part} worker on {ranks} ranks failed (rc {r.returncode})")
    # the 1-minute load average before and after: other work on the cores shows in it
    return {**json.loads(lines[-1][len(MARK):]), "load": [load, os.getloadavg()[0]]}


# ---------------------------------------------------------------- the workers (under mpirun)


def _stats(times) -> list:
    import numpy as np
    return [float(np.min(times)), float(np.median(times))]


class _Probe:
    """Seconds spent in ``ddp._finish`` and in ``process_group.broadcast``, from outside:
    the instance attribute shadows the method that the backward's callback looks up."""

    def __init__(self, ddp):
        import foveanet.distributed.process_group as pg
        self.finish = self.broadcast = 0.0
        inner_finish, self._pg = ddp._finish, pg
        self._inner_broadcast = pg.broadcast

        def finish():
            t = time.perf_counter()
            inner_finish()
            self.finish += time.perf_counter() - t
        ddp._finish = finish

    def __enter__(self):
        inner = self._inner_broadcast

        def broadcast(*a, **k):
            t = time.perf_counter()
            out = inner(*a, **k)
            self.broadcast += time.perf_counter() - t
            return out
        self._pg.broadcast = broadcast
        self.finish = self.broadcast = 0.0
        return self

    def __exit__(self, *exc):
        self._pg.broadcast = self._inner_broadcast


def _trainer(name: str, batch: int, seed: int = 0, ddp_cap: float | None = None):
    """(step function, the DDP wrapper or None) for ``name`` on a fixed random batch."""
    import numpy as np

    import foveanet as fn
    import foveanet.distributed as dist
    import foveanet.functional as F
    fn.manual_seed(seed)
    net = fn.models.get_model(name, num_classes=10, in_channels=1)
    ddp = dist.DistributedDataParallel(net, bucket_cap_mb=ddp_cap) if ddp_cap else None
    model = net if ddp is None else ddp
    model.train()
    opt = fn.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    # each rank its own images, as a DistributedSampler would give it
    rng = np.random.default_rng([seed, dist.get_rank()])
    x = fn.tensor(rng.standard_normal((batch, 1, 28, 28)).astype(np.float32))
    y = fn.tensor(rng.integers(0, 10, batch))

    def step():
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
    return step, ddp


def _timer(comm):
    """time_steps(step, n) -> the slowest rank's seconds for n steps started from a barrier."""
    from mpi4py import MPI

    def time_steps(step, n: int, context=None) -> float:
        comm.Barrier()
        t = time.perf_counter()
        if context is None:
            for _ in range(n):
                step()
        else:
            with context():
                for _ in range(n):
                    step()
        return comm.allreduce(time.perf_counter() - t, op=MPI.MAX)
    return time_steps


def _steps_for(comm, step, target_s: float = 1.0) -> int:
    """Steps per repeat (~target_s), decided on rank 0: every rank must run the same count."""
    step()                                  # warm-up: allocator, caches, BLAS buffers
    t = time.perf_counter()
    step()
    t = time.perf_counter() - t
    return comm.bcast(max(2, min(50, round(target_s / max(t, 1e-6)))), root=0)


def worker_steps(args, comm) -> dict:
    import foveanet.distributed as dist
    p = comm.Get_size()
    time_steps = _timer(comm)
    out = {"ranks": p, "models": {}}
    for name in args.models:
        per_rank = GLOBAL_BATCH // p
        step, ddp = _trainer(name, per_rank, ddp_cap=_default_cap())
        n = _steps_for(comm, step)
        probe = _Probe(ddp)
        rec = {"per_rank_batch": per_rank, "steps": n, "buckets": len(ddp._buckets),
               "grad_bytes": int(sum(b.flat.nbytes for b in ddp._buckets)),
               "ddp": [], "finish": [], "broadcast": [], "no_sync": [], "plain": []}
        plain = _trainer(name, per_rank)[0] if p == 1 else None
        if plain:
            plain()
        for _ in range(args.repeats):
            with probe:
                t = time_steps(step, n)
            rec["ddp"].append(t / n)
            rec["finish"].append(comm.allreduce(probe.finish, op=_max()) / n)
            rec["broadcast"].append(comm.allreduce(probe.broadcast, op=_max()) / n)
            rec["no_sync"].append(time_steps(step, n, ddp.no_sync) / n)
            if plain:
                rec["plain"].append(time_steps(plain, n) / n)
        if p == 1:
            # the compute time of a step at the per-rank batches of p = 2 .. 64
            rec["curve"] = {}
            for b in CURVE_BATCHES:
                f = _trainer(name, b)[0]
                m = _steps_for(comm, f, 0.5)
                rec["curve"][str(b)] = _stats([time_steps(f, m) / m for _ in range(args.repeats)])
            rec["curve"][str(GLOBAL_BATCH)] = _stats(rec["plain"])
        for k in ("ddp", "finish", "broadcast", "no_sync", "plain"):
            rec[k] = _stats(rec[k]) if rec[k] else None
        out["models"][name] = rec
        del step, ddp, plain
    dist.barrier()
    return out


def worker_sweep(args, comm) -> dict:
    import numpy as np
    from mpi4py import MPI

    import foveanet.distributed as dist

    def fv(buf):
        dist.all_reduce(buf, "sum")

    def blocking(buf):
        comm.Allreduce(MPI.IN_PLACE, buf, op=MPI.SUM)

    def nonblocking(buf):
        comm.Iallreduce(MPI.IN_PLACE, buf, op=MPI.SUM).Wait()

    def spin(buf):
        # foveanet's Work.wait polls Test() with sleeps between; this polls without them
        req = comm.Iallreduce(MPI.IN_PLACE, buf, op=MPI.SUM)
        while not req.Test():
            pass

    methods = {"foveanet all_reduce": fv, "mpi4py Allreduce": blocking,
               "mpi4py Iallreduce+Wait": nonblocking, "mpi4py Iallreduce+Test spin": spin}
    rows = []
    for nbytes in SWEEP_BYTES:
        buf = np.zeros(nbytes // 4, np.float32)     # zeros: the sums stay finite and normal
        counts = {}
        for k, f in methods.items():
            f(buf)
            comm.Barrier()
            t = time.perf_counter()
            f(buf)
            counts[k] = comm.bcast(max(1, min(2000, round(0.1 / max(time.perf_counter() - t, 1e-7)))), root=0)
        times = {k: [] for k in methods}
        for _ in range(args.repeats):
            for k, f in methods.items():
                comm.Barrier()
                t = time.perf_counter()
                for _ in range(counts[k]):
                    f(buf)
                times[k].append(comm.allreduce(time.perf_counter() - t, op=MPI.MAX) / counts[k])
        rows.append({"bytes": nbytes, **{k: _stats(v) for k, v in times.items()}})
    return {"ranks": comm.Get_size(), "rows": rows}


def worker_buckets(args, comm) -> dict:
    time_steps = _timer(comm)
    p = comm.Get_size()
    out = {"ranks": p, "models": {}}
    for name in args.models:
        runs = {}
        for cap in BUCKET_CAPS_MB:
            step, ddp = _trainer(name, GLOBAL_BATCH // p, ddp_cap=cap)
            runs[cap] = (step, ddp, _Probe(ddp))
        n = _steps_for(comm, runs[BUCKET_CAPS_MB[-1]][0])
        times = {cap: {"step": [], "finish": []} for cap in runs}
        for cap, (step, _, _) in runs.items():
            step()
        for _ in range(args.repeats):
            for cap, (step, _, probe) in runs.items():
                with probe:
                    times[cap]["step"].append(time_steps(step, n) / n)
                times[cap]["finish"].append(comm.allreduce(probe.finish, op=_max()) / n)
        out["models"][name] = {str(cap): {"buckets": len(runs[cap][1]._buckets),
                                          "step": _stats(times[cap]["step"]),
                                          "finish": _stats(times[cap]["finish"])} for cap in runs}
        del runs
    return out


def _max():
    from mpi4py import MPI
    return MPI.MAX


def _default_cap() -> float:
    from foveanet.distributed.ddp import DEFAULT_BUCKET_CAP_MB
    return DEFAULT_BUCKET_CAP_MB


def worker(args) -> None:
    import benchmarks  # noqa: F401  (tunes the process as the foveanet command does, before NumPy)
    import foveanet as fn
    import foveanet.distributed as dist
    from mpi4py import MPI
    fn.set_num_threads(1)
    dist.init_process_group()
    comm = MPI.COMM_WORLD
    part = {"steps": worker_steps, "sweep": worker_sweep, "buckets": worker_buckets}[args.worker]
    result = part(args, comm)
    if comm.Get_rank() == 0:
        print(MARK + json.dumps(result), flush=True)
    dist.destroy_process_group()


# ---------------------------------------------------------------- the model of larger clusters


def fit_alpha_beta(rows: list, method: str, ranks: int = 2) -> tuple:
    """(alpha s, beta bytes/s) of the ring all-reduce model fitted to the sweep's min times:

        T(S) = 2(p-1)/p · S/β + 2(p-1)·α

    by least squares on the relative error (every size weighs the same, 4 KB as 64 MB), with
    alpha >= 0. On one machine the reduction's additions run at memory speed too, so β is the
    effective bandwidth of the whole all-reduce, arithmetic included."""
    import numpy as np
    s = np.array([r["bytes"] for r in rows], float)
    t = np.array([r[method][0] for r in rows], float)
    a = np.stack([np.full_like(s, 2 * (ranks - 1)), 2 * (ranks - 1) / ranks * s], 1) / t[:, None]
    (alpha, inv_beta), *_ = np.linalg.lstsq(a, np.ones_like(t), rcond=None)
    if alpha < 0:   # noise at the small sizes: bandwidth alone
        alpha, inv_beta = 0.0, float(a[:, 1] @ np.ones_like(t) / (a[:, 1] @ a[:, 1]))
    return float(alpha), float(1 / inv_beta)


def ring_seconds(nbytes: float, p: int, alpha: float, beta: float) -> float:
    """One ring all-reduce of ``nbytes`` over p ranks: reduce-scatter then all-gather, each
    p-1 rounds of a 1/p chunk."""
    return 2 * (p - 1) / p * nbytes / beta + 2 * (p - 1) * alpha


def scaling_model(measured: dict, alpha_beta: dict, ps=(1, 2, 8, 64)) -> list:
    """Predicted images/s and efficiency of data-parallel SGD on p machines, one rank each:

        T_step(p) = T_compute(b) + 2(p-1)/p · S/β + 2(p-1)·α

    with T_compute(b) the measured time of a plain one-thread step at the per-rank batch b,
    S the gradient bytes sent as one message (one bucket), and no overlap of the all-reduce
    with backward (the bound a step cannot be worse than, barring stragglers).

    - strong scaling, global batch 128: b = 128/p, images/s = 128 / T_step,
      efficiency = images/s / (p · images/s at p = 1)
    - weak scaling, per-rank batch 128: b = 128, images/s = 128·p / T_step,
      efficiency = T_compute(128) / T_step

    Returns rows (network, model, p, strong img/s, strong eff, weak img/s, weak eff, comm ms).
    """
    rows = []
    for net, (alpha, beta) in alpha_beta.items():
        for name, rec in measured.items():
            curve = {int(b): v[0] for b, v in rec["curve"].items()}
            s = rec["grad_bytes"]
            base = GLOBAL_BATCH / curve[GLOBAL_BATCH]
            for p in ps:
                comm = ring_seconds(s, p, alpha, beta)
                strong = GLOBAL_BATCH / (curve[GLOBAL_BATCH // p] + comm)
                weak_t = curve[GLOBAL_BATCH] + comm
                rows.append((net, name, p, strong, strong / (p * base), GLOBAL_BATCH * p / weak_t,
                             curve[GLOBAL_BATCH] / weak_t, 1e3 * comm))
    return rows


# ---------------------------------------------------------------- tables


def _ms(v) -> str:
    return f"{1e3 * v[0]:.2f} / {1e3 * v[1]:.2f}" if v else "-"


def _table(head: list, rows: list) -> None:
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join("---" if i == 0 else "---:" for i in range(len(head))) + "|")
    for r in rows:
        print("| " + " | ".join(str(c) for c in r) + " |")
    print()


def report(res: dict) -> None:
    steps = res.get("steps", {})
    launches = [(f"steps, {p} ranks", r) for p, r in steps.items()] + \
        [(f"{k}, {res[k]['ranks']} ranks", res[k]) for k in ("sweep", "buckets") if k in res]
    if any("load" in r for _, r in launches):
        loads = [f"{name} {r['load'][0]:.1f} / {r['load'][1]:.1f}" for name, r in launches if "load" in r]
        print(f"1-minute load average before / after each launch ({os.cpu_count()} cores): "
              + "; ".join(loads) + "\n")
    if steps:
        print("### Training step, global batch 128 (B/P per rank), 1 BLAS thread per rank\n")
        print("images/s from the min / median step time; speed-up = images/s over the plain "
              "model's (no wrapper) on one process.\n")
        rows = []
        for name in MODELS:
            base = steps.get("1", {}).get("models", {}).get(name, {}).get("plain")
            if base:
                rows.append((name, "1, no DDP", GLOBAL_BATCH, _ms(base),
                             f"{GLOBAL_BATCH / base[0]:.0f} / {GLOBAL_BATCH / base[1]:.0f}", "1.00 / 1.00"))
            for p in sorted(steps, key=int):
                rec = steps[p]["models"].get(name)
                if not rec:
                    continue
                t = rec["ddp"]
                speed = (f"{base[0] / t[0]:.2f} / {base[1] / t[1]:.2f}" if base else "-")
                rows.append((name, p, rec["per_rank_batch"], _ms(t),
                             f"{GLOBAL_BATCH / t[0]:.0f} / {GLOBAL_BATCH / t[1]:.0f}", speed))
        _table(["model", "ranks", "per-rank batch", "step ms", "images/s", "speed-up"], rows)

        print("### Where the step's time goes (default bucket cap, min / median ms per step)\n")
        print("finish = inside `ddp._finish` (send the last buckets, wait for all, scale by 1/p, "
              "copy to .grad); broadcast = batch norm's buffers before each forward; "
              "no_sync = the same step without any communication.\n")
        rows = []
        for name in MODELS:
            for p in sorted(steps, key=int):
                rec = steps[p]["models"].get(name)
                if not rec:
                    continue
                t, f, b, ns = rec["ddp"], rec["finish"], rec["broadcast"], rec["no_sync"]
                rows.append((name, p, rec["buckets"], f"{rec['grad_bytes'] / 1e6:.2f}", _ms(t), _ms(f),
                             _ms(b), _ms(ns), f"{100 * f[1] / t[1]:.1f}%",
                             f"{100 * (t[1] - ns[1]) / t[1]:.1f}%"))
        _table(["model", "ranks", "buckets", "grad MB", "step", "finish", "broadcast", "no_sync step",
                "finish / step (median)", "(step - no_sync) / step (median)"], rows)

    sweep = res.get("sweep")
    if sweep:
        print(f"### All-reduce of a float32 buffer (sum, in place), {sweep['ranks']} ranks, "
              "min / median µs\n")
        methods = [k for k in sweep["rows"][0] if k != "bytes"]
        rows = []
        for r in sweep["rows"]:
            fv, mpi = r[methods[0]], r[methods[1]]
            gbs = r["bytes"] / r[methods[1]][0] / 1e9
            rows.append((_size(r["bytes"]), *(f"{1e6 * r[k][0]:.1f} / {1e6 * r[k][1]:.1f}" for k in methods),
                         f"{fv[0] / mpi[0]:.2f}", f"{gbs:.2f}"))
        _table(["size", *methods, "foveanet / Allreduce (min)", "Allreduce GB/s"], rows)
        for k in methods:
            a, b = fit_alpha_beta(sweep["rows"], k, sweep["ranks"])
            print(f"- fit of {k}: alpha = {1e6 * a:.1f} µs, beta = {b / 1e9:.2f} GB/s")
        print()

    buckets = res.get("buckets")
    if buckets:
        print(f"### Bucket size, {buckets['ranks']} ranks, global batch 128 (min / median ms per step)\n")
        rows = []
        for name, caps in buckets["models"].items():
            for cap, r in caps.items():
                rows.append((name, cap, r["buckets"], _ms(r["step"]),
                             f"{GLOBAL_BATCH / r['step'][0]:.0f} / {GLOBAL_BATCH / r['step'][1]:.0f}",
                             _ms(r["finish"])))
        _table(["model", "bucket_cap_mb", "buckets", "step", "images/s", "finish"], rows)

    measured = steps.get("1", {}).get("models", {})
    if sweep and measured and all("curve" in r for r in measured.values()):
        a, b = fit_alpha_beta(sweep["rows"], "foveanet all_reduce", sweep["ranks"])
        am, bm = fit_alpha_beta(sweep["rows"], "mpi4py Allreduce", sweep["ranks"])
        nets = {f"this machine, foveanet all_reduce fit ({1e6 * a:.0f} µs, {b / 1e9:.2f} GB/s)": (a, b),
                f"this machine, mpi4py Allreduce fit ({1e6 * am:.0f} µs, {bm / 1e9:.2f} GB/s)": (am, bm),
                **{f"{n} ({1e6 * al:.0f} µs, {be / 1e9:.2f} GB/s)": (al, be) for n, al, be in NETWORKS}}
        print("### Scaling model: one rank per machine, ring all-reduce, no overlap\n")
        print("T_step(p) = T_compute(B/p) + 2(p-1)/p · S/β + 2(p-1)·α, T_compute measured "
              "(plain step, 1 thread, min):\n")
        batches = (GLOBAL_BATCH, *CURVE_BATCHES)
        _table(["model", "S (bytes)", *(f"T_compute({b}) ms" for b in batches)],
               [(n, r["grad_bytes"], *(f"{1e3 * r['curve'][str(b)][0]:.2f}" for b in batches))
                for n, r in measured.items()])
        _table(["network", "model", "p", "all-reduce ms", "global 128: images/s", "efficiency",
                "per-rank 128: images/s", "efficiency"],
               [(net, name, p, f"{c:.3f}", f"{s:,.0f}", f"{100 * se:.0f}%", f"{w:,.0f}", f"{100 * we:.0f}%")
                for net, name, p, s, se, w, we, c in scaling_model(measured, nets)])
        if "2" in steps:
            rows = []
            for name, rec in measured.items():
                pred = GLOBAL_BATCH / (rec["curve"]["64"][0] + ring_seconds(rec["grad_bytes"], 2, a, b))
                got = GLOBAL_BATCH / steps["2"]["models"][name]["ddp"][0]
                rows.append((name, f"{pred:.0f}", f"{got:.0f}"))
            print("The model against the measured 2 ranks on this machine (images/s from min times):\n")
            _table(["model", "predicted", "measured"], rows)


def _size(n: int) -> str:
    return f"{n >> 20} MB" if n >= 2 ** 20 else f"{n >> 10} KB"


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--parts", default="steps,sweep,buckets", help="comma-separated: steps, sweep, buckets")
    ap.add_argument("--ranks", default="1,2,4", help="the world sizes of the steps part")
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--json", help="write the measurements here")
    ap.add_argument("--load", help="print the tables of measurements saved with --json")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    args.models = [m for m in args.models.split(",") if m]
    if args.worker:
        return worker(args)
    if args.load:
        return report(json.loads(Path(args.load).read_text()))
    res = {}
    parts = args.parts.split(",")
    t0 = time.perf_counter()
    if "steps" in parts:
        res["steps"] = {r: launch("steps", int(r), args) for r in args.ranks.split(",")}
    if "sweep" in parts:
        res["sweep"] = launch("sweep", 2, args)
    if "buckets" in parts:
        res["buckets"] = launch("buckets", 2, args)
    print(f"measured in {time.perf_counter() - t0:.0f} s\n", file=sys.stderr)
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1))
    report(res)


if __name__ == "__main__":
    main()
