"""The compiled sequence kernels (``kernels/recurrent.py``: the LSTM's and GRU's backward
through time; ``kernels/ctc.py``: the CTC loss's forward-backward) against the NumPy loops
they replace, alone and in the OCR line recognizer's whole training step, one process, the
two sides interleaved step by step (a drift in the machine's speed hits both).

    python -m benchmarks.bench_sequence [--threads 2] [--rounds 40]

Only those loops change between the sides (the NumPy side sees a kernel set without the
compiled kernels in ``functional/recurrent.py`` and ``functional/ctc.py`` alone;
convolutions, batch norm and pooling keep theirs). Cases: a bidirectional
``nn.LSTM(256, 96)`` over 140 frames of 16 lines, fwd+bwd (``benchmarks/cases.py``), the
same as a GRU, the CTC loss of 140 frames of 16 lines over 99 classes with 20-label
targets, fwd+bwd, and one AdamW step of the Odia recipe's CRNN on 16 lines 560 pixels wide
(140 frames) with its CTC loss. Wall ms, min / median, and the median of the per-round
ratios compiled / NumPy.
"""
from __future__ import annotations

import argparse
import dataclasses
import time

import numpy as np

import foveanet
import foveanet.functional as F
import foveanet.functional.ctc as ctc
import foveanet.functional.recurrent as recurrent
from benchmarks.cases import CASES, lstm_case


def _ctc_step():
    rng = np.random.default_rng(0)
    z = rng.standard_normal((140, 16, 99)).astype(np.float32)
    x = foveanet.tensor(z - np.log(np.exp(z).sum(-1, keepdims=True)), requires_grad=True)
    targets = rng.integers(1, 99, (16, 20))

    def step():
        x.grad = None
        F.ctc_loss(x, targets, np.full(16, 140), np.full(16, 20)).backward()
    return step


def _crnn_step():
    from foveanet.ocr import pipeline

    cfg = pipeline.recipe(script="odia")
    foveanet.manual_seed(0)
    model = pipeline.build_model(cfg)
    classes = len(pipeline._alphabet(cfg))
    rng = np.random.default_rng(0)
    x = rng.random((16, 1, 32, 560)).astype(np.float32)
    frames, lengths = np.full(16, 140), np.full(16, 20)
    targets = rng.integers(1, classes, (16, 20))
    opt = foveanet.optim.AdamW(model.parameters(), lr=1e-3)

    def step():
        model.train()
        loss = F.ctc_loss(model(foveanet.tensor(x)), targets, frames, lengths, zero_infinity=True)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return step


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=40)
    args = ap.parse_args(argv)
    foveanet.set_num_threads(args.threads)
    compiled = recurrent.kernels   # the same function in both modules

    def numpy_loop(a=None):
        return dataclasses.replace(compiled(a), compiled=None)

    cases = {"bilstm 256->96 T140 b16 fwd+bwd": CASES["bilstm 256->96 T140 b16 fwd+bwd"]("fv", {}),
             "bigru 256->96 T140 b16 fwd+bwd": lstm_case(140, 16, 256, 96, kind="GRU")("fv", {}),
             "ctc_loss T140 b16 C99 S20 fwd+bwd": _ctc_step(),
             "CRNN (Odia recipe) AdamW step b16 W560": _crnn_step()}
    print(f"{args.threads} thread(s), {args.rounds} rounds; wall ms min / median")
    print("| case | NumPy loop | compiled | compiled / NumPy (median of rounds) |")
    print("|---|---:|---:|---:|")
    for name, step in cases.items():
        times = {"numpy": [], "compiled": []}
        for _ in range(3):
            step()
        for _ in range(args.rounds):
            for side in times:
                recurrent.kernels = ctc.kernels = numpy_loop if side == "numpy" else compiled
                t0 = time.perf_counter()
                step()
                times[side].append(1e3 * (time.perf_counter() - t0))
        recurrent.kernels = ctc.kernels = compiled
        ratio = np.median(np.array(times["compiled"]) / np.array(times["numpy"]))
        print(f"| {name} | {min(times['numpy']):.1f} / {np.median(times['numpy']):.1f} | "
              f"{min(times['compiled']):.1f} / {np.median(times['compiled']):.1f} | {ratio:.3f} |",
              flush=True)


if __name__ == "__main__":
    main()
