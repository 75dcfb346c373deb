"""Worker for test_sync_batchnorm: SyncBatchNorm on the ranks' shares of one global batch
against BatchNorm on the whole batch, computed by every rank itself.

    mpirun -n P python sync_bn_worker.py SPLITS      e.g. 4,4;3,5 (one share per rank)

For each split (the global batch size is its sum), dtype and input rank, every rank draws the
same seeded global batch, weight, bias and loss weights r (L = Σ y·r, so dL/dy = r), runs
SyncBatchNorm on its share for two training steps and one eval step, and checks against the
reference on the whole batch: its share of y and dx, the rank-sum of dweight and dbias (an
all_reduce), the running statistics and num_batches_tracked. Mismatches are gathered from
every rank; rank 0 prints them and every rank exits 1.
"""
import sys

import numpy as np

import foveanet as fn
import foveanet.distributed as dist
import foveanet.nn as nn

TOL = {np.float64: dict(rtol=1e-12, atol=1e-12), np.float32: dict(rtol=1e-5, atol=1e-5)}
# (N, C, *) per number of dims; N is the split's sum
SPATIAL = {2: (), 3: (7,), 4: (3, 5), 5: (2, 3, 4)}


def check(failures, what, ours, ref, dtype):
    a = ours.numpy() if isinstance(ours, fn.Tensor) else np.asarray(ours)
    b = ref.numpy() if isinstance(ref, fn.Tensor) else np.asarray(ref)
    if a.shape != b.shape or a.dtype != b.dtype:
        failures.append(f"rank {dist.get_rank()}: {what}: {a.shape} {a.dtype} vs reference {b.shape} {b.dtype}")
    elif not np.allclose(a, b, **TOL[dtype]):
        err = np.max(np.abs(a.astype(np.float64) - b))
        failures.append(f"rank {dist.get_rank()}: {what}: max |difference| {err:.3g} ({dtype.__name__})")


def run_case(split, dtype, ndim, failures):
    rank = dist.get_rank()
    lo, hi = sum(split[:rank]), sum(split[:rank + 1])
    c = 3
    rng = np.random.default_rng([len(split), *split, ndim, np.dtype(dtype).itemsize])
    shape = (sum(split), c, *SPATIAL[ndim])
    name = f"split {split}, {np.dtype(dtype).name}, {ndim}-d"

    sync, bn = dist.SyncBatchNorm(c, dtype=dtype), nn.BatchNorm2d(c, dtype=dtype)
    # the reference: BatchNorm2d on the whole batch, seen as (N, C, prod(*), 1) (the same
    # values per channel, so the same statistics for every input rank)
    ref = lambda t: bn(t.reshape(shape[0], c, -1, 1)).reshape(shape)  # noqa: E731
    w, b = rng.uniform(0.5, 2, c).astype(dtype), rng.normal(size=c).astype(dtype)
    for m in (sync, bn):
        m.weight.data[...] = w
        m.bias.data[...] = b
    for step in range(2):
        # channel means far from 0 and unequal scales: the variance's round-off shows
        per_channel = (1, c) + (1,) * (ndim - 2)
        x = (rng.normal(size=shape) * rng.uniform(0.5, 3, per_channel)
             + rng.uniform(-5, 5, per_channel)).astype(dtype)
        r = rng.normal(size=shape).astype(dtype)
        xs = fn.tensor(x[lo:hi].copy(), requires_grad=True)
        xr = fn.tensor(x, requires_grad=True)
        sync.zero_grad(), bn.zero_grad()
        ys, yr = sync(xs), ref(xr)
        (ys * fn.tensor(r[lo:hi].copy())).sum().backward()
        (yr * fn.tensor(r)).sum().backward()
        at = f"{name}, step {step}"
        check(failures, f"{at}: y", ys, yr.numpy()[lo:hi], dtype)
        check(failures, f"{at}: dx", xs.grad, xr.grad.numpy()[lo:hi], dtype)
        for p in ("weight", "bias"):
            grad = getattr(sync, p).grad.numpy().copy()
            dist.all_reduce(grad, "sum")   # what DDP's average is, times the world size
            check(failures, f"{at}: d{p} summed over ranks", grad, getattr(bn, p).grad, dtype)
        for buf in ("running_mean", "running_var", "num_batches_tracked"):
            check(failures, f"{at}: {buf}", getattr(sync, buf), getattr(bn, buf), dtype)
    sync.eval(), bn.eval()
    x = rng.normal(size=shape).astype(dtype)
    if hi == lo:
        return  # F.batch_norm's eval path does not take an empty batch
    check(failures, f"{name}: eval y", sync(x[lo:hi].copy()), ref(x).numpy()[lo:hi], dtype)


def main():
    dist.init_process_group(timeout=60)
    splits = [[int(n) for n in s.split(",")] for s in sys.argv[1].split(";")]
    failures = []
    cases = 0
    for split in splits:
        if len(split) != dist.get_world_size():
            raise SystemExit(f"split {split} does not have one share per rank "
                             f"(world of {dist.get_world_size()})")
        for dtype in (np.float64, np.float32):
            for ndim in (2, 3, 4, 5):
                run_case(split, dtype, ndim, failures)
                cases += 1
    rank = dist.get_rank()
    every = [f for fs in dist.all_gather_object(failures) for f in fs]
    dist.destroy_process_group()
    if every:
        if rank == 0:
            print("\n".join(every), file=sys.stderr)
        sys.exit(1)
    print(f"rank {rank}: {cases} cases match")


if __name__ == "__main__":
    main()
