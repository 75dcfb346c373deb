"""Which CPU engine runs a convolution, and how large its blocks are.

Every number that decides where a convolution goes, or how it is cut for cache and threads,
lives here beside the measurement that set it. The engines (``gemm``, ``patches``,
``winograd``, ``depthwise``, ``rows``) compute; this module only chooses. Times are
min-of-N on a 2-core AMD EPYC (SkylakeX OpenBLAS kernels) unless a line says otherwise;
``benchmarks/bench_conv.py`` and ``benchmarks/bench_winograd.py`` rerun them.

All predicates take the ``foveanet.geometry.ConvGeom`` of the convolution.
"""
from __future__ import annotations

from foveanet.backend.cpu import threads
from foveanet.geometry import ConvGeom

PATHS = ("depthwise", "rows", "single", "winograd", "patches", "gemm")
# with the compiled kernels, an inference conv that ``winograd_one`` accepts runs on its own
# engine before any of these (``conv.forward``)


def path(g: ConvGeom, inference: bool = False) -> str:
    """The engine for a direct convolution: the first of PATHS that applies. ``inference``:
    no gradient will be asked for (nothing is kept for a backward pass)."""
    if g.G > 1 and g.G == g.C == g.Co:
        return "depthwise"
    if rows(g):
        return "rows"
    if inference and single(g):
        return "single"
    if winograd(g, inference):
        return "winograd"
    # small feature maps with enough channels: patch-major cols, unless few output channels
    # make the padded-grid cols cheaper still
    if patches(g) and not grid(g):
        return "patches"
    return "gemm"


# ------------------------------------------------------------------------------ depthwise
# One input channel per output channel: im2col would copy kh*kw times the input to feed
# C GEMMs of a single row each. Summing kh*kw shifted, per-channel scaled views of the
# padded input needs no cols buffer and measured faster (benchmarks/bench_conv.py, case e).
# The taps run on blocks of channels that stay in cache (about this much padded input),
# and the blocks are parallel tasks: 3x3, 128 channels @28 b16 fwd+bwd, min of 7, one
# thread: whole 26.5 ms -> blocks 19.2 ms.
DEPTHWISE_BLOCK_BYTES = 1 << 20
# With Numba, the depthwise engine runs the compiled kernels instead, on every geometry:
# foveanet/kernels/route.py holds the measurements.

# An inference conv's epilogue (conv/epilogue.py: BN scale, shift, ReLU6 in one compiled
# pass) runs on the threads in channel blocks only from this many output elements: below,
# the hand-over costs more than the pass (MobileNetV2 b1 @224, 2 threads, CPU time min of
# 15: every 1x1 conv's epilogue in 4 blocks 39.9 ms per forward, only from 2^18 on 25.3 ms).
EPILOGUE_PARALLEL_MIN = 1 << 18


# ----------------------------------------------------------------------------------- rows
# 1-d convs with this many input channels take the row-GEMM path. At text-CNN sizes it
# times level with im2col (min of 11 runs, C=300 L=500 k=2..8) but keeps only the input
# for backward instead of a k-times larger cols buffer; with few channels its k thin GEMMs
# lose (C=8..32: ~25% slower), so they stay on im2col.
ROWS_MIN_CHANNELS = 64


def rows(g: ConvGeom) -> bool:
    return g.H == 1 and g.kh == 1 and g.sw == 1 and g.G == 1 and g.C >= ROWS_MIN_CHANNELS


# --------------------------------------------------------------------------------- single
# One image at inference on several threads (conv/single.py): the batch-chunk engines leave
# its im2col and epilogue on one thread and cut its GEMM into weight-row blocks that each pack
# all the cols again (or, on patches, hand it to OpenBLAS's two threads, which spin when the
# other core is busy). ResNet-18's 3x3 convs at batch 1 with a ReLU epilogue, 2 threads, wall
# ms, min / median of 41 interleaved, on a loaded machine (load 12-13, nice -15), batch-chunk
# engines -> this engine as routed, with 512 KB bands (bands; blocks): 7x7 s2 3->64 @224 3.30
# / 10.6 -> 3.12 / 4.37 (2.99; 3.93); 64->64 @56 3.07 / 4.01 -> 2.37 / 3.15 (2.40; 3.03);
# 128->128 @28 6.86 / 26.7 -> 2.71 / 16.7 (2.40; 2.82); 256->256 @14 2.25 / 3.89 -> 2.23 /
# 2.99 (2.39; 2.13); 512->512 @7 2.65 / 8.14 -> 2.39 / 3.44 (5.46; 2.54); s2 256->512 @14 1.53
# / 1.94 -> 1.32 / 1.82 (2.57; 1.41). Bands win where Ho*Wo >= Co, blocks below.
# On one thread the batch-chunk engines (and Winograd) stay: bands there measured slower
# (imported ResNet-18 b1, CPU time min of 15: 29.5 ms without, 32.6 with).
# Two pieces per thread: fewer, larger GEMMs beat cache-sized bands (2 threads, wall min
# of 31 at real-time priority, i.e. on otherwise idle cores; 2 / 4 / 8 / 16 bands:
# 64->64 @56 0.92 / 0.95 / 1.07 / 1.15 ms; 7x7 s2 3->64 @224 1.22 / 1.22 / 1.38 / 1.53;
# 128->128 @28 0.83 / 0.91 / 1.06 / 1.42), and two per thread let the caller take a late
# worker's share (threads.each hands them out as threads free up).
SINGLE_PIECES_PER_THREAD = 2


def single(g: ConvGeom) -> bool:
    """One image, one group, a kernel larger than 1x1 (1x1 convs keep gemm's row blocks,
    whose cols are the input itself), on more than one thread."""
    return g.N == 1 and g.G == 1 and g.kh * g.kw > 1 and threads.workers() > 1


def single_bands(g: ConvGeom) -> bool:
    """Cut the output rows (the cols are the larger operand) rather than the channels."""
    return g.Ho * g.Wo >= g.Co


def single_band_count(g: ConvGeom, workers: int) -> int:
    """How many bands of output rows (SINGLE_PIECES_PER_THREAD per thread)."""
    return min(g.Ho, SINGLE_PIECES_PER_THREAD * workers)


def single_block_rows(g: ConvGeom, workers: int) -> int:
    """Output channels per block: SINGLE_PIECES_PER_THREAD blocks per thread, a multiple of
    16 (the sgemm panel)."""
    per = SINGLE_PIECES_PER_THREAD * workers * 16
    return max(16, -(-g.Co // per) * 16)


# ------------------------------------------------------------------------------- winograd
# From benchmarks/bench_winograd.py (fwd and fwd+bwd against the im2col paths, 1 and 2
# threads): large maps with 64+ channels gain 1.1-1.5x; with 32 channels the (C, Co) GEMMs
# are too thin (0.8-1.0x); on 7x7 maps the 2x2 tiles waste 63% of their outputs; and where
# one position's GEMM (tiles x C x Co multiply-adds) is small, the transforms and the
# weight's own transform outweigh what it saves (batch 1 64->64 @56, 3.2 M: 0.97x at 2
# threads; batch 1 512->512 @14, 49 tiles: 0.33x).
WINOGRAD_MIN_CHANNELS = 32
WINOGRAD_MIN_WIDE_CHANNELS = 64
WINOGRAD_MIN_SIDE = 14
WINOGRAD_MIN_TILES = 768
WINOGRAD_MIN_GEMM_MACS = 8_000_000
# One image's V (float32) at most this big: larger buffers are above glibc's mmap ceiling
# (backend/cpu/memory.py), so every call page-faults them in fresh, and a single-image
# chunk leaves the transforms on one thread (VGG-16 b1 64->64 @224, 51 MB: 0.82x at 2
# threads; 128->128 @112, 26 MB: 1.2x).
WINOGRAD_MAX_IMAGE_BYTES = 32 << 20
# about this much V per batch chunk (the chunks are also the parallel tasks)
WINOGRAD_CHUNK_BYTES = 4 << 20


def winograd_tiles(g: ConvGeom) -> tuple[int, int]:
    """The 2x2 output tiles F(2x2, 3x3) covers the output with, down and across."""
    return -(-g.Ho // 2), -(-g.Wo // 2)


def winograd_image_bytes(g: ConvGeom, itemsize: int) -> int:
    """One image's V (or M, the larger of the two): 16 positions x channels x tiles, the
    junk tile column included."""
    th, tw = winograd_tiles(g)
    return 16 * max(g.C, g.Co) * th * (tw + 1) * itemsize


# Inference on one thread: no second core for the GEMMs to use while the transforms run on
# one, nothing kept for backward, so it wins down to small batches. Forward only, batch 1 but
# the last, one thread, process CPU time, min of 11, the route above / winograd (ms):
# 32->32 @56 0.84 / 0.64, 64->64 @56 3.39 / 2.12, 64->64 @28 0.73 / 0.54, 128->128 @28
# 3.02 / 1.95, 256->256 @28 11.59 / 7.65, 96->96 @28 1.53 / 1.09, batch 2 256->256 @14 (98
# tiles) 6.22 / 4.85; at 49 tiles even or worse: 256->256 @14 2.77 / 2.94, 128->128 @14
# 0.74 / 0.68 (ResNet-18 imported from ONNX, batch 1: 59 -> 53 ms; benchmarks/bench_onnx.py).
WINOGRAD_INFERENCE_MIN_TILES = 96


# Training (a backward to come) on 14x14 maps stays on the im2col engines: wall time at two
# threads, median of 8 interleaved fwd+bwd at batch 128 (chrt -f 1, load 14), winograd /
# patches: 64->64 @14 66.0 / 55.4 ms, 32->64 @14 24.2 / 23.3 (process CPU time, min of 4:
# 127 / 109 and 42.3 / 42.5). Inference keeps WINOGRAD_MIN_SIDE.
WINOGRAD_TRAIN_MIN_SIDE = 15


def winograd(g: ConvGeom, inference: bool = False) -> bool:
    """3x3, stride 1, no dilation, one group, and a layer shape where it measured faster."""
    th, tw = winograd_tiles(g)
    tiles = g.N * th * tw
    shape = (g.kh == g.kw == 3 and g.sh == g.sw == 1 and g.dh == g.dw == 1 and g.G == 1
             and min(g.C, g.Co) >= WINOGRAD_MIN_CHANNELS and min(g.Ho, g.Wo) >= WINOGRAD_MIN_SIDE
             and winograd_image_bytes(g, 4) <= WINOGRAD_MAX_IMAGE_BYTES)
    if inference and threads.workers() == 1:
        return shape and tiles >= WINOGRAD_INFERENCE_MIN_TILES
    return (shape and max(g.C, g.Co) >= WINOGRAD_MIN_WIDE_CHANNELS
            and (inference or min(g.Ho, g.Wo) >= WINOGRAD_TRAIN_MIN_SIDE)
            and tiles >= WINOGRAD_MIN_TILES and tiles * g.C * g.Co >= WINOGRAD_MIN_GEMM_MACS)


# ---------------------------------------------------------------------------- winograd_one
# One image at inference with the compiled transforms (conv/winograd_one.py): bands of tile
# rows or blocks of output channels, each one task with its transforms, 16 GEMMs and the
# epilogue. Before any engine above: ResNet-18's 3x3 stride-1 convs with a residual and ReLU
# epilogue, wall ms min of 21 under `chrt -f 1` (load ~12 of nice'd jobs), the route without
# it -> this engine (torch conv2d + add + relu), ``python -m benchmarks.bench_winograd_one``:
#   2 threads: 64->64 @56 2.72 -> 1.31 (0.99); 128->128 @28 2.35 -> 1.33-1.45 (0.85-1.03);
#              256->256 @14 (49 tiles, blocks) 2.13-2.30 -> 1.50 (0.96-1.02); but 512->512 @7
#              (16 tiles) 2.60-3.03 -> 3.76: the weight's transform (16/9 of the weight,
#              written per call; 512x512: 2.6 ms on one thread) outweighs the GEMMs it saves;
#   1 thread:  64->64 @56 2.25-2.42 (NumPy Winograd + epilogue) -> 1.79-1.81 (1.62-1.73);
#              128->128 @28 1.69-1.83 -> 1.61-1.64 (1.47-1.58); 256->256 @14 1.88-2.06
#              (im2col) -> 2.39 (blocks are the only tasks; one thread gains nothing from
#              cutting the weight transform).
# ResNet-18 b1 @224 eval, 2 threads, wall min of 15 (torch in the same process):
# 35.6-35.7 -> 30.0-31.8 ms (20.2-21.6), ``benchmarks/profile_mobilenet.py --arch resnet18``.
# Below 32 channels the batch engine's (C, Co) GEMMs measured too thin (WINOGRAD_MIN_CHANNELS
# above); the same bound here, not remeasured for one image.
WINOGRAD_ONE_MIN_CHANNELS = 32
WINOGRAD_ONE_MIN_TILES = 196
WINOGRAD_ONE_MIN_TILES_THREADED = 49
# A read-only weight's U is made once (conv/packed.py, foveanet.freeze), which takes the
# transform's cost out of every call: `chrt -f 1 python -m benchmarks.bench_winograd_one`,
# Intel Xeon, wall ms min of 21, route without it / U per call / U kept (torch):
#   2 threads: 64->64 @56 2.66 / 1.20 / 0.86 (0.94); 128->128 @28 2.41 / 1.37 / 0.93 (0.91);
#              256->256 @14 2.25 / 1.74 / 1.01 (0.95); 512->512 @7 2.66 / 3.33 / 1.96 (1.62);
#   1 thread:  256->256 @14 2.01 / 2.26 / 1.54 (1.73); but 512->512 @7 2.52 / 6.12 / 3.40
#              (3.20): on one thread its 16 GEMMs of 16 tiles lose to im2col's one GEMM.
WINOGRAD_ONE_MIN_TILES_KEPT = 16
WINOGRAD_ONE_MIN_TILES_KEPT_ONE = 49
# bands per thread (the caller takes a late worker's share, as in single's bands), and more
# where a band's V would outgrow about this much (L2): one thread, min of 21, 2 / 4 / 8
# bands: 64->64 @56 (V 3.2 MB) 1.68 / 1.51-1.52 / 1.67-1.69 ms; 128->128 @28 (1.6 MB)
# 1.47-1.53 / 1.60-1.64 / 1.77-1.83
WINOGRAD_ONE_BANDS_PER_THREAD = 2
WINOGRAD_ONE_BAND_BYTES = 1 << 20


def winograd_one(g: ConvGeom, frozen: bool = False) -> bool:
    """One image, 3x3, stride 1, no dilation, one group, enough channels and tiles;
    ``frozen``: the weight is read-only, so its transform is made once (``packed.py``)."""
    th, tw = winograd_tiles(g)
    if threads.workers() > 1:
        least = WINOGRAD_ONE_MIN_TILES_KEPT if frozen else WINOGRAD_ONE_MIN_TILES_THREADED
    else:
        least = WINOGRAD_ONE_MIN_TILES_KEPT_ONE if frozen else WINOGRAD_ONE_MIN_TILES
    return (g.N == 1 and g.G == 1 and g.kh == g.kw == 3 and g.sh == g.sw == 1
            and g.dh == g.dw == 1 and min(g.C, g.Co) >= WINOGRAD_ONE_MIN_CHANNELS
            and th * tw >= least)


def winograd_one_bands(g: ConvGeom) -> bool:
    """Cut the tile rows (the tiles outnumber the output channels) rather than the channels."""
    th, tw = winograd_tiles(g)
    return th * tw >= g.Co


def winograd_one_band_count(g: ConvGeom, workers: int, itemsize: int = 4) -> int:
    """How many bands of tile rows: WINOGRAD_ONE_BANDS_PER_THREAD per thread, and enough
    that each band's V fits WINOGRAD_ONE_BAND_BYTES."""
    th, tw = winograd_tiles(g)
    fit = -(-16 * g.C * th * tw * itemsize // WINOGRAD_ONE_BAND_BYTES)
    return min(th, max(WINOGRAD_ONE_BANDS_PER_THREAD * workers, fit))


def winograd_one_block_rows(g: ConvGeom, workers: int) -> int:
    """Output channels per block: WINOGRAD_ONE_BANDS_PER_THREAD blocks per thread, a
    multiple of 16 (the sgemm panel)."""
    per = WINOGRAD_ONE_BANDS_PER_THREAD * workers * 16
    return max(16, -(-g.Co // per) * 16)


# -------------------------------------------------------------------------------- patches
# Patch-major cols (one row per output pixel) win on small maps, where channel-major cols
# copy runs of only Wo numbers. Min of 20, 1 thread, forward (dW) against gemm: 32->32 @28
# b8 1.07 -> 0.86 ms (1.03 -> 0.91), 64->64 @14 b16 1.70 -> 1.24 (1.70 -> 1.32), 128->128
# @7 b32 3.38 -> 2.25 (3.26 -> 2.28); but 64->64 @56 b1 1.32 -> 1.37 and 12->12 @64 b2
# 0.26 -> 0.44, where rows are long and channels few.
PATCHES_MAX_WIDTH = 28
PATCHES_MIN_CHANNELS = 16


def patches(g: ConvGeom) -> bool:
    """Small maps with enough channels, and at least as many cols rows as output channels:
    below that the weight's rearrangement costs more than the copy it saves (batch 1,
    1 thread, patch-major / channel-major: 512->512 @7 2.49 / 1.68 ms, 256->256 @14
    1.38 / 1.22; 128->128 @28 1.27 / 1.27; batch 16, 256->256 @14 18.9 / 19.7)."""
    return (g.G == 1 and g.Wo <= PATCHES_MAX_WIDTH and g.C >= PATCHES_MIN_CHANNELS
            and g.kh * g.kw > 1 and g.N * g.Ho * g.Wo >= g.Co)


# ------------------------------------------------------------- gemm: the padded-grid cols
# For a stride-1 conv the output can be computed on the padded grid (Ho rows of Wp pixels,
# the last Wp - Wo of each junk): each cols row is then one contiguous run of the input,
# copied at memcpy speed, for a GEMM (Wp - Wo)/Wo wider. That pays where the copy is a
# large part of the work, i.e. with few output channels. 3x3 'same', 1 thread, ms, plain /
# grid (im2col + GEMM): 32 channels @32 b3 0.476 / 0.409, 16 @64 b1 0.187 / 0.161, but 64
# @56 b1 1.379 / 1.402. Against patch-major cols (fwd+bwd, 1 thread) it wins at 28x28 with
# 32 channels b128 (52.3 vs 54.2 ms) and 16 channels (16.8 vs 19.8), loses at 14x14 (3.27
# vs 2.82: a 14% wider GEMM). With one input channel it lost too (1->6 @28 b128: 2.43 vs 2.23).
GRID_MAX_CHANNELS = 32
GRID_MIN_CHANNELS = 8
GRID_MAX_JUNK = 0.125


def grid(g: ConvGeom) -> bool:
    return (g.sh == 1 and g.sw == 1 and g.Co // g.G <= GRID_MAX_CHANNELS
            and g.C // g.G >= GRID_MIN_CHANNELS and g.Wp - g.Wo <= GRID_MAX_JUNK * g.Wo)


# ------------------------------------------------- gemm: dX as the flipped-kernel conv
# dX of a stride-1 conv is the full correlation of dY with the flipped kernel. Against
# W^T @ dY + col2im it writes C*H*W numbers per image from the GEMM instead of
# C*kh*kw*Ho*Wo and replaces kh*kw read-modify-write passes by one im2col copy; it loses
# with a thin GEMM or a padding well short of 'same' (the full correlation then multiplies
# the zero border too). fwd+bwd, min of 7, 1 thread, adjoint vs col2im: 32->32 @28 b128
# 72 vs 83 ms, 64->64 @14 b128 62 vs 71, 12->12 @64 b32 17 vs 20; but LeNet's 6->16 5x5
# valid @14 10.2 vs 4.8, 1->12 @64 13.8 vs 3.0.
ADJOINT_MIN_CHANNELS = 8
ADJOINT_MAX_AREA_RATIO = 1.25


def adjoint(g: ConvGeom) -> bool:
    """Whether dX should run as the flipped-kernel conv (where its padding allows it)."""
    return (g.sh == 1 and g.sw == 1 and g.C >= ADJOINT_MIN_CHANNELS
            and g.H * g.W <= ADJOINT_MAX_AREA_RATIO * g.Ho * g.Wo)


# ------------------------------------------------------------ gemm: batch chunks (tasks)
# A whole batch's cols buffer is large (32 channels, 3x3, 28x28, batch 128: 115 MB), so
# im2col writes it to DRAM and the GEMM reads it back. Cut into sub-batches whose cols
# fill about CHUNK_BYTES, the buffer stays in cache between the copy and the GEMM, and
# backward recomputes each chunk's cols from the saved input instead of keeping them.
# The chunks are independent, so they are also the parallel tasks (backend/cpu/threads.py).
# 3x3 convs fwd+bwd, min of 5 (whole batch on 1 thread -> chunked on 1 thread -> chunked
# on 2 tasks): 32->32 @28 b128 90 -> 67 -> 35 ms; 64->64 @14 b128 67 -> 58 -> 30;
# 12->12 @64 b32 30 -> 17 -> 9; 24->24 @32 b32 20 -> 13 -> 7.
CHUNK_BYTES = 4 << 20
# below this much cols in all, a layer is not worth splitting across threads
PARALLEL_MIN_BYTES = 1 << 20
