"""Where a compiled kernel runs instead of the NumPy engine, with the measurement behind
each choice (imports no Numba). Times: thread CPU time, min of 9-15, one thread, 2-core
AMD EPYC under foreign load (``python -m benchmarks.run -k ...`` reruns them against
PyTorch; benchmarks/results-kernels.md).

Depthwise convolution: always (``backend/cpu/conv`` routes a layer to its depthwise engine
by route.path, and that engine runs these kernels when they are there). fwd+bwd, NumPy
taps -> compiled: 3x3 128 @28 b16 30 -> 10-18 ms; 3x3 s2 96 @56 b8 20 -> 14; 3x3 32 @112
b8 46 -> 22-26; 5x5 240 @14 b4 12.6 -> 3.5-4.3; 3x3 s2 144 @56 b1 3.8-4.3 -> 3.1-3.3.

Embedding backward and adaptive max pooling (float32/64): always, no shape lost. XML-CNN's
ops, one thread, process CPU time, NumPy -> compiled (torch), ``python -m
benchmarks.bench_xmlcnn_ops --threads 1`` under load 3.6-3.8: embedding 16000 x 300 into
20000 rows fwd+bwd 39.3 -> 8.0 ms (6.3-7.3); adaptive_max_pool1d 8 chunks of (32, 128,
499) fwd+bwd 8.1 -> 4.6 (3.4).

An LSTM's or GRU's backward through time (float32/64): always, on blocks of batch rows. The
LSTM's loop alone, (T, N, H) = (140, 16, 96), one thread, NumPy -> compiled 7.5 -> 4.1 ms;
bidirectional layers (256 -> 96) fwd+bwd, 2 threads, LSTM 52-58 -> 43-47 ms, GRU 42.0 ->
34.7 (``python -m benchmarks.bench_sequence``). The forwards stay NumPy's
(``kernels/recurrent.py`` says why).

The CTC loss's forward-backward (float32/64): always, on blocks of samples. 140 frames of 16
lines over 99 classes, 20-label targets, fwd+bwd, NumPy -> compiled 8.8 -> 3.4 ms (2
threads); the OCR recognizer's training step with these and the recurrent kernels 141 -> 127
ms (``benchmarks.bench_sequence``).

Max pooling (float32/64): always; windows that tile the input exactly take
``kernels/pool_tiled.py`` when the argmax is kept, values only (inference: no backward, no
indices) take ``max_pool_values``. Overlapping or padded windows: 3x3 s2 p1 on (8, 64, 112,
112), fwd+bwd, NumPy views 45-66 ms -> compiled 23-25 ms (PyTorch 55). Exact 2x2/2
tilings, forward / fwd+bwd, NumPy running maximum -> pool_tiled.py: (128, 6, 28, 28)
(LeNet-5) 0.85 / 2.43 -> 0.48 / 1.06 ms (its 2x2 pass since: 0.35 / 0.58); (128, 32, 28,
28) (vgg_small) 6.1 / 17.0 -> 2.3 / 6.1; (128, 64, 14, 14) 2.9 / 8.2 -> 1.3 / 3.0. Values
only, ``max_pool_values`` against NumPy's running maximum over strided views, min of 41,
Intel Xeon: 3x3 s2 p1 (1, 64, 112, 112) (ResNet's stem) 0.66 / 0.92 ms; (1, 192, 56, 56)
0.47 / 0.72; (8, 64, 112, 112) 5.6 / 10.8; (1, 480, 28, 28) 0.35 / 0.53; 2x2 (1, 64, 56,
56) 0.11 / 0.15 (the argmax kernel run without its argmax had lost to NumPy: 1.82 / 0.51
ms on the stem's pool).
"""
from __future__ import annotations


# The compiled direct conv (kernels/direct.py) against the GEMM engine, training layers at
# batch 128, one thread, thread CPU time, min of 15 (2 cores under load 10), forward /
# fwd+bwd ms, GEMM engine -> direct (torch): 1->6 5x5 p2 @28 (LeNet-5 C1, dW only) 0.48
# / 3.0 -> 0.53 / 1.12 (0.65 / 1.40); 6->16 5x5 @14 (C3) 1.7 / 6.0-6.8 -> 1.1-1.3 / 4.4-5.3
# (0.38 / 2.7); 1->32 3x3 @28 -> 1.0 / 4.2 (1.8 / 4.3); 32->32 3x3 @28 (vgg_small) 25 / 88
# -> 13 / 50 (11 / 36). Wider layers on smaller maps lose to the GEMM: 32->64 3x3 @14 30
# -> 42, 64->128 @7 37 -> 88.
# Inference (no gradient) takes the same layers: forward through the engines' entry
# points, 2 threads, median of 30, Intel Xeon, NumPy engines' route -> direct ms at batch 1
# / 8 / 64 / 512 (``python -m benchmarks.bench_direct --inference``, docs/benchmarks/
# speed.md 2026-12-07 22:33): LeNet-5 C1 0.176 / 0.099 / 0.872 / 5.43 -> 0.008 / 0.036 /
# 0.262 / 1.32; C3 0.141 / 0.131 / 0.739 / 4.67 -> 0.045 / 0.078 / 0.315 / 1.99;
# vgg_small's 32->32 3x3 p1 @28 0.277 / 1.22 / 8.79 / 70.2 -> 0.193 / 0.861 / 6.17 / 53.0;
# level only at 16->32 5x5 @12 b8 (patches 0.243, direct 0.253). A whole LeNet-5 forward
# at batch 1 / 8 / 128 / 512: 0.66-0.71 / 0.63-0.64 / 4.3-4.4 / 14.8-15.5 -> 0.28 / 0.39-0.41
# / 2.9-3.0 / 7.6-8.8 ms. One-image 3x3 layers wide enough for the kept Winograd transform
# keep it.
# A 1x1 conv is a GEMM as it stands (no patches to copy) and stays on it: MobileNetV2's
# 1x1 layers at batch 32, fwd+bwd, 2 threads, median of 10, GEMM engine / direct ms: 96->24
# @56 20.9 / 37.7, 144->32 @28 7.7 / 16.1, 240->24 @56 53.0 / 132.8, 288->32 @14 3.9 /
# 11.0 (32->16 @112 33.0 / 32.8); forward at batch 1: 96->24 @56 0.42 / 0.54, 288->32 @14
# 0.08 / 0.23.
DIRECT_MAX_OUT_CHANNELS = 32
DIRECT_MAX_TAPS = 288        # C * kh * kw: 32 channels of 3x3
DIRECT_MIN_WIDTH = 10
# A call is cut into one block of images per thread only from this many multiply-adds
# (N * Co * Ho * Wo * C * kh * kw): handing a block to the worker costs 50-100 us. Forward,
# 2 threads, median of 30, Intel Xeon, one block / one per thread, ms: 1->6 5x5 p2 @28 b8
# (0.94M) 0.036 / 0.078, b64 (7.5M) 0.276 / 0.248; 6->16 5x5 @14 b16 (3.8M) 0.132 /
# 0.182, b64 (15M) 0.436 / 0.342; 16->32 5x5 @12 b8 (6.6M) 0.249 / 0.278, b16 (13M) 0.402 /
# 0.347; 32->32 3x3 p1 @28 b2 (14M) 0.388 / 0.302; 6->16 3x3 @10 b2 (0.11M) 0.017 / 0.100.
DIRECT_SPLIT_MIN_MACS = 1 << 23


def direct(g) -> bool:
    """Whether a conv runs on the compiled direct kernel: one group, stride 1, a kernel
    larger than 1x1, at most DIRECT_MAX_OUT_CHANNELS outputs and DIRECT_MAX_TAPS input
    taps (C * kh * kw) per output, on maps at least DIRECT_MIN_WIDTH wide."""
    return (g.G == 1 and g.sh == 1 and g.sw == 1 and g.kh * g.kw > 1
            and g.Co <= DIRECT_MAX_OUT_CHANNELS and g.C * g.kh * g.kw <= DIRECT_MAX_TAPS
            and g.Wo >= DIRECT_MIN_WIDTH)


def direct_split(g) -> bool:
    """Whether a direct conv's images are worth cutting into one block per thread."""
    return g.N * g.Co * g.Ho * g.Wo * g.C * g.kh * g.kw >= DIRECT_SPLIT_MIN_MACS


# Within those layers, the batch-last kernels (kernels/direct_batch.py) take the forward and
# the backward (dX and dW) where each output meets at least DIRECT_BATCH_MIN_TAPS input taps
# (C * kh * kw; below, copying into the batch-last layout outweighs what it saves) and the
# padded grid's junk columns, (kw-1)*dw of every Wp = Wo + (kw-1)*dw, are at least
# DIRECT_BATCH_MIN_JUNK of it (on wide maps the grid wastes little). 64 images, one thread,
# median of 40, Intel Xeon (AVX-512), quiet, forward / dX / dW ms, grid -> batch-last,
# ``python -m benchmarks.bench_direct`` (docs/benchmarks/speed.md, 2026-12-07 20:04): 6->16 5x5 @14
# (LeNet-5 C3, 150 taps, junk 4/14) 0.74 / 0.97 / 0.97 -> 0.39 / 0.56 / 0.51; 3->16 5x5 @14
# (75, 4/14) 0.38 / 0.61 / 0.51 -> 0.24 / 0.37 / 0.30; 16->32 5x5 @12 (400, 4/12) 2.67 / 3.36 /
# 3.38 -> 1.21 / 1.88 / 1.67; 16->32 3x3 p1 @14 (144, 2/16) 2.19 / 2.33 / 2.52 -> 1.66 / 1.80 /
# 2.19; 6->16 3x3 @10 (54, 2/12) 0.25 / 0.36 / 0.34 -> 0.14 / 0.23 / 0.21; 32->32 3x3 p1 @28
# (vgg_small, 288, 2/30) dX 14.0 -> 14.8, dW 15.0 -> 13.8 (even), but forward 11.3 -> 13.6; on
# an AMD EPYC (Zen 4) forward 10.4 -> 19.6, dX 11.9 -> 19.4, dW 16.1 -> 17.1, so its backward
# stays on the grid too: `make bench`'s conv 3x3 32->32 @28 b128 fwd+bwd, 2 threads,
# 47.5-48.5 -> 40.3 ms there (docs/benchmarks/speed.md, 2026-12-08 02:20). Where they lose: 1->6 5x5 p2
# @28 (C1, 25) 0.26 / 0.56 / 0.36 -> 0.54 / 0.69 / 0.56; 1->32 3x3 p1 @28 (9) 0.72 / 1.53 /
# 0.85 -> 2.00 / 2.83 / 2.39; 3->32 3x3 p1 @28 (27) 1.37 / 2.14 / 1.77 -> 2.72 / 3.20 / 3.12;
# 2->8 5x5 @20 (50) 0.22 / 0.32 / 0.27 -> 0.27 / 0.36 / 0.31. Left on the grid though faster:
# 4->8 3x3 p1 @10 (36) 0.13 / 0.14 / 0.15 -> 0.09 / 0.09 / 0.11.
DIRECT_BATCH_MIN_TAPS = 54
DIRECT_BATCH_MIN_JUNK = 0.125
# Images per call: 64 is the fastest per image on C3 (forward / dW ms per 64 images, calls
# of 32: 0.44 / 0.68, of 64: 0.42 / 0.50, of 128: 0.44 / 0.54; ``bench_direct --images``);
# the caller cuts at least one block per thread.
DIRECT_BATCH_MAX_IMAGES = 64


def direct_batch(g) -> bool:
    """Whether a layer on the direct conv runs batch-last (forward, dX and dW)."""
    ew = (g.kw - 1) * g.dw
    return g.C * g.kh * g.kw >= DIRECT_BATCH_MIN_TAPS and ew >= DIRECT_BATCH_MIN_JUNK * (g.Wo + ew)
