"""XML-CNN's training step op by op, foveanet against PyTorch in one process: the embedding
(fwd + the scatter-add into a 20000 x 300 gradient), conv1d C300 -> 128 at widths 2/4/8 on
the embedding's (N, L, C) output seen transposed, ReLU, the chunked max pooling, the fc
head with BCE-with-logits, and the SGD update of the table (benchmarks/cases.py
``xmlcnn_case`` has the whole step).

    python -m benchmarks.bench_xmlcnn_ops --threads 1   # process CPU time, BLAS at 1 thread
    python -m benchmarks.bench_xmlcnn_ops --threads 2   # wall clock

Each op: min over 3 interleaved rounds of the min of 7 runs.
"""
from __future__ import annotations

import argparse
import os
import sys
import time


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    if args.threads == 1:  # before NumPy loads: a second BLAS thread spinning counts as CPU
        os.environ["OPENBLAS_NUM_THREADS"] = os.environ["OMP_NUM_THREADS"] = "1"
    import numpy as np
    import torch
    import torch.nn.functional as TF

    import foveanet
    import foveanet.functional as F

    torch.set_num_threads(args.threads)
    foveanet.set_num_threads(args.threads)
    clock = time.process_time if args.threads == 1 else time.perf_counter
    rng = np.random.default_rng(0)
    N, L, E, V, Co = 32, 500, 300, 20000, 128

    def best(f, n=7):
        f()
        ts = []
        for _ in range(n):
            t0 = clock()
            f()
            ts.append(clock() - t0)
        return min(ts) * 1e3

    def pair(name, ff, tf):
        a, b = [], []
        for _ in range(3):
            a.append(best(ff))
            b.append(best(tf))
        a, b = min(a), min(b)
        print(f"| {name} | {a:.2f} | {b:.2f} | {b / a:.2f} |", flush=True)

    def fv(*arrays):
        return [foveanet.tensor(a, requires_grad=True) for a in arrays]

    def th(*arrays):
        return [torch.tensor(a, requires_grad=True) for a in arrays]

    def step(forward, params, grad=None):
        def run():
            out = forward()
            out.backward(grad) if grad is not None else out.backward()
            for p in params:
                p.grad = None
        return run

    print(f"| op ({args.threads} thread{'s' * (args.threads > 1)}) | foveanet ms | torch ms | ratio |")
    print("|---|---:|---:|---:|")
    tokens = rng.integers(0, V, (N, L))
    table = (rng.standard_normal((V, E)) * 0.05).astype(np.float32)
    g = rng.standard_normal((N, L, E)).astype(np.float32)
    (w,), (tw,) = fv(table), th(table)
    tt, ttok = torch.from_numpy(g), torch.from_numpy(tokens)
    pair("embedding fwd+bwd", step(lambda: F.embedding(tokens, w), [w], foveanet.tensor(g)),
         step(lambda: TF.embedding(ttok, tw), [tw], tt))
    x = rng.standard_normal((N, L, E)).astype(np.float32)
    for k in (2, 4, 8):
        wk = (rng.standard_normal((Co, E, k)) * 0.05).astype(np.float32)
        bk = np.zeros(Co, np.float32)
        gy = rng.standard_normal((N, Co, L - k + 1)).astype(np.float32)
        (fx, fw, fb), (tx, tw2, tb) = fv(x, wk, bk), th(x, wk, bk)
        fg, tg = foveanet.tensor(gy), torch.from_numpy(gy)
        with foveanet.no_grad(), torch.no_grad():
            pair(f"conv1d k{k} fwd", lambda: F.conv1d(fx.transpose(1, 2), fw, fb),
                 lambda: TF.conv1d(tx.transpose(1, 2), tw2, tb))
        pair(f"conv1d k{k} fwd+bwd",
             step(lambda: F.conv1d(fx.transpose(1, 2), fw, fb), [fx, fw, fb], fg),
             step(lambda: TF.conv1d(tx.transpose(1, 2), tw2, tb), [tx, tw2, tb], tg))
    h = rng.standard_normal((N, Co, L - 1)).astype(np.float32)
    (fh,), (thh,) = fv(h), th(h)
    pair("relu fwd+bwd", step(lambda: F.relu(fh).sum(), [fh]), step(lambda: TF.relu(thh).sum(), [thh]))
    pair("adaptive_max_pool1d 8 fwd+bwd", step(lambda: F.adaptive_max_pool1d(fh, 8).sum(), [fh]),
         step(lambda: TF.adaptive_max_pool1d(thh, 8).sum(), [thh]))
    z = rng.standard_normal((N, 3 * Co * 8)).astype(np.float32)
    w1 = (rng.standard_normal((512, 3 * Co * 8)) * 0.02).astype(np.float32)
    w2 = (rng.standard_normal((1000, 512)) * 0.02).astype(np.float32)
    target = (rng.random((N, 1000)) < 0.01).astype(np.float32)
    (fz, f1, f2), (tz, t1, t2) = fv(z, w1, w2), th(z, w1, w2)
    ft, ttg = foveanet.tensor(target), torch.from_numpy(target)
    pair("fc-relu-fc-BCE fwd+bwd",
         step(lambda: F.binary_cross_entropy_with_logits(F.linear(F.relu(F.linear(fz, f1)), f2), ft),
              [fz, f1, f2]),
         step(lambda: TF.binary_cross_entropy_with_logits(TF.linear(TF.relu(TF.linear(tz, t1)), t2), ttg),
              [tz, t1, t2]))

    def fv_update():
        w.data -= 0.01 * w.data

    def th_update():
        with torch.no_grad():
            tw.data -= 0.01 * tw.data
    pair("SGD update of the table", fv_update, th_update)


if __name__ == "__main__":
    sys.exit(main())
