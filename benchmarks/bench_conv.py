"""Convolution speed: foveanet against torch.nn.functional in the same process.

    .venv/bin/python -m benchmarks.bench_conv            # the op table
    .venv/bin/python -m benchmarks.bench_conv --layouts  # the internal-layout experiment

Both sides get the same number of threads (2). Runs alternate between the frameworks and
each timed run is preceded by a short pause: OpenMP (torch) and OpenBLAS (NumPy) workers
spin for a while after a call, and without the pause each side is timed while the other's
idle threads still hold the two cores. Warm-up runs are excluded; medians are reported.
ratio = foveanet throughput / torch throughput = torch ms / foveanet ms (1.0 = parity).
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from numpy.lib.stride_tricks import as_strided

import foveanet
from foveanet.functional.conv import conv1d, conv2d

THREADS = 2
PAUSE_S = 0.03

# name, N, C_in, H, W, C_out, k, padding, groups   (W = 0: conv1d of length H)
CASES = [
    ("a 3x3 64->64 @56 b8", 8, 64, 56, 56, 64, 3, 1, 1),
    ("b 3x3 64->128 @32 b32", 32, 64, 32, 32, 128, 3, 1, 1),
    ("c LeNet C1 1->6 5x5 p2 @28 b128", 128, 1, 28, 28, 6, 5, 2, 1),
    ("c LeNet C3 6->16 5x5 @14 b128", 128, 6, 14, 14, 16, 5, 0, 1),
    ("d 1x1 256->64 @28 b16", 16, 256, 28, 28, 64, 1, 0, 1),
    ("e depthwise 3x3 128 @28 b16", 16, 128, 28, 28, 128, 3, 1, 128),
    ("f conv1d text 300->100 k5 L500 b32", 32, 300, 500, 0, 100, 5, 0, 1),
]


def _timed(fn):
    time.sleep(PAUSE_S)
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def race(fns: dict, repeats: int, warmup: int = 2, stat=np.median) -> dict:
    """Median (or ``stat``) ms of each callable, runs interleaved so drifts hit all alike."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times = {k: [] for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            times[k].append(_timed(fn))
    return {k: 1e3 * float(stat(v)) for k, v in times.items()}


def _case_fns(N, C, H, W, Co, k, p, G):
    rng = np.random.default_rng(0)
    xshape = (N, C, H) if W == 0 else (N, C, H, W)
    wshape = (Co, C // G, k) if W == 0 else (Co, C // G, k, k)
    x = rng.standard_normal(xshape).astype(np.float32)
    w = (rng.standard_normal(wshape) * 0.1).astype(np.float32)
    b = rng.standard_normal(Co).astype(np.float32)
    ours_op, torch_op = (conv1d, torch.nn.functional.conv1d) if W == 0 else (
        conv2d, torch.nn.functional.conv2d)
    fx, fw, fb = (foveanet.tensor(a, requires_grad=True) for a in (x, w, b))
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    gy = None

    def ours_f():
        with foveanet.no_grad():
            return ours_op(fx, fw, fb, padding=p, groups=G)

    def torch_f():
        with torch.no_grad():
            return torch_op(tx, tw, tb, padding=p, groups=G)

    gy = np.ones(ours_f().shape, np.float32)
    tgy = torch.from_numpy(gy)

    def ours_fb():
        fx.grad = fw.grad = fb.grad = None
        ours_op(fx, fw, fb, padding=p, groups=G).backward(gy)

    def torch_fb():
        tx.grad = tw.grad = tb.grad = None
        torch_op(tx, tw, tb, padding=p, groups=G).backward(tgy)

    return ours_f, torch_f, ours_fb, torch_fb


def op_table(repeats: int, stat) -> None:
    print(f"{'case':36s} {'fwd ms (fn / torch)':>22s} {'ratio':>6s}   "
          f"{'fwd+bwd ms (fn / torch)':>24s} {'ratio':>6s}")
    for name, *shape in CASES:
        of, tf, ofb, tfb = _case_fns(*shape)
        f = race({"fn": of, "torch": tf}, repeats, stat=stat)
        fb = race({"fn": ofb, "torch": tfb}, repeats, stat=stat)
        print(f"{name:36s} {f['fn']:10.2f} / {f['torch']:8.2f} {f['torch'] / f['fn']:6.2f}   "
              f"{fb['fn']:11.2f} / {fb['torch']:9.2f} {fb['torch'] / fb['fn']:6.2f}", flush=True)


# ------------------------------------------------------- the internal-layout experiment
# Plain-NumPy conv forward+backward (stride 1, square padding) in three layouts; the
# engine in foveanet/backend/cpu/conv/gemm.py uses the one that wins here.


def _col2im_add(dxp, taps, k, Ho, Wo, axes):
    for i in range(k):
        for j in range(k):
            idx = [slice(None)] * dxp.ndim
            idx[axes[0]], idx[axes[1]] = slice(i, i + Ho), slice(j, j + Wo)
            dxp[tuple(idx)] += taps(i, j)


def layout_nchw(x, w, p, g):
    """Per-sample GEMMs: cols (N, C*k*k, P), y_n = W @ cols_n, batched by np.matmul."""
    N, C, H, W = x.shape
    Co, k = w.shape[0], w.shape[2]
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    Ho, Wo = H + 2 * p - k + 1, W + 2 * p - k + 1
    sN, sC, sH, sW = xp.strides
    cols = np.ascontiguousarray(as_strided(xp, (N, C, k, k, Ho, Wo), (sN, sC, sH, sW, sH, sW)))
    cols = cols.reshape(N, C * k * k, Ho * Wo)
    wm = w.reshape(Co, -1)
    y = np.matmul(wm, cols).reshape(N, Co, Ho, Wo)
    gm = g.reshape(N, Co, -1)
    np.matmul(gm, cols.transpose(0, 2, 1)).sum(0)
    dc = np.matmul(wm.T, gm).reshape(N, C, k, k, Ho, Wo)
    _col2im_add(np.zeros_like(xp), lambda i, j: dc[:, :, i, j], k, Ho, Wo, (2, 3))
    return y


def layout_nhwc(x, w, p, g):
    """NHWC: cols (N*P, k*k*C) @ W (k*k*C, Co), one GEMM; NCHW <-> NHWC copies at the edges."""
    N, C, H, W = x.shape
    Co, k = w.shape[0], w.shape[2]
    xp = np.zeros((N, H + 2 * p, W + 2 * p, C), x.dtype)
    xp[:, p:p + H, p:p + W] = x.transpose(0, 2, 3, 1)
    Ho, Wo = H + 2 * p - k + 1, W + 2 * p - k + 1
    sN, sH, sW, sC = xp.strides
    cols = np.ascontiguousarray(as_strided(xp, (N, Ho, Wo, k, k, C), (sN, sH, sW, sH, sW, sC)))
    cols = cols.reshape(N * Ho * Wo, -1)
    wm = w.transpose(2, 3, 1, 0).reshape(-1, Co)
    y = np.ascontiguousarray((cols @ wm).reshape(N, Ho, Wo, Co).transpose(0, 3, 1, 2))
    gm = np.ascontiguousarray(g.transpose(0, 2, 3, 1)).reshape(-1, Co)
    gm.T @ cols
    dc = (gm @ wm.T).reshape(N, Ho, Wo, k, k, C)
    _col2im_add(np.zeros_like(xp), lambda i, j: dc[:, :, :, i, j], k, Ho, Wo, (1, 2))
    return y


def layout_cnhw(x, w, p, g):
    """Channel-major: cols (C*k*k, N*P), ONE GEMM W (Co, K) @ cols for the whole batch."""
    N, C, H, W = x.shape
    Co, k = w.shape[0], w.shape[2]
    xp = np.zeros((C, N, H + 2 * p, W + 2 * p), x.dtype)
    xp[:, :, p:p + H, p:p + W] = x.transpose(1, 0, 2, 3)
    Ho, Wo = H + 2 * p - k + 1, W + 2 * p - k + 1
    sC, sN, sH, sW = xp.strides
    cols = np.ascontiguousarray(as_strided(xp, (C, k, k, N, Ho, Wo), (sC, sH, sW, sN, sH, sW)))
    cols = cols.reshape(C * k * k, -1)
    wm = w.reshape(Co, -1)
    y = np.ascontiguousarray((wm @ cols).reshape(Co, N, Ho, Wo).transpose(1, 0, 2, 3))
    gm = np.ascontiguousarray(g.transpose(1, 0, 2, 3)).reshape(Co, -1)
    gm @ cols.T
    dc = (wm.T @ gm).reshape(C, k, k, N, Ho, Wo)
    _col2im_add(np.zeros_like(xp), lambda i, j: dc[:, i, j], k, Ho, Wo, (2, 3))
    return y


def layout_table(repeats: int, stat) -> None:
    print(f"{'case (fwd+bwd ms)':36s} {'torch':>8s} {'NCHW':>8s} {'NHWC':>8s} {'CNHW':>8s}")
    for name, N, C, H, W, Co, k, p, G in CASES:
        if G != 1 or W == 0:
            continue
        rng = np.random.default_rng(0)
        x = rng.standard_normal((N, C, H, W)).astype(np.float32)
        w = rng.standard_normal((Co, C, k, k)).astype(np.float32)
        g = np.ones((N, Co, H + 2 * p - k + 1, W + 2 * p - k + 1), np.float32)
        tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
        tg = torch.from_numpy(g)
        ref = torch.nn.functional.conv2d(tx, tw, padding=p).detach().numpy()
        for fn in (layout_nchw, layout_nhwc, layout_cnhw):
            np.testing.assert_allclose(fn(x, w, p, g), ref, rtol=1e-3, atol=1e-3)
        t = race({"torch": lambda: torch.nn.functional.conv2d(tx, tw, padding=p).backward(tg),
                  "nchw": lambda: layout_nchw(x, w, p, g), "nhwc": lambda: layout_nhwc(x, w, p, g),
                  "cnhw": lambda: layout_cnhw(x, w, p, g)}, repeats, stat=stat)
        print(f"{name:36s} {t['torch']:8.2f} {t['nchw']:8.2f} {t['nhwc']:8.2f} {t['cnhw']:8.2f}",
              flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--layouts", action="store_true", help="run the internal-layout experiment")
    ap.add_argument("--min", action="store_true",
                    help="report the fastest run instead of the median (for a busy machine)")
    args = ap.parse_args()
    torch.set_num_threads(THREADS)
    try:
        from threadpoolctl import threadpool_info
        blas = ", ".join(f"{i['internal_api']} {i['architecture']} x{i['num_threads']}"
                         for i in threadpool_info() if i["user_api"] == "blas")
    except ImportError:
        blas = "?"
    print(f"numpy {np.__version__} ({blas}), torch {torch.__version__} x{torch.get_num_threads()}")
    print("statistic:", "min" if args.min else "median", f"of {args.repeats} runs")
    (layout_table if args.layouts else op_table)(args.repeats, np.min if args.min else np.median)


if __name__ == "__main__":
    main()
