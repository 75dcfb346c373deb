"""One rank of the DistributedDataParallel tests (launched by test_ddp.py through mpirun).

    python ddp_worker.py step BUCKET_MB     one SGD step on half a global batch each ==
                                            one process on the whole batch
    python ddp_worker.py mismatch           rank 1 builds another model: a clear error
    python ddp_worker.py die                rank 1 exits inside the step: the job ends
    python ddp_worker.py hang               rank 1 stops answering: rank 0 times out

Exit 0 when the rank saw what the test expects; a message and exit 1 otherwise.
"""
import hashlib
import sys
import time

import numpy as np

import foveanet as fn
import foveanet.distributed as dist
import foveanet.nn as nn
import foveanet.nn.functional as F


def net(width: int = 6) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(width, 8, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 2 * 2, 10))


def fail(message: str):
    print(f"rank {dist.get_rank()}: {message}", flush=True)
    sys.exit(1)


def step(bucket_mb: float) -> None:
    rank, world = dist.get_rank(), dist.get_world_size()
    rng = np.random.default_rng(7)
    x = rng.standard_normal((8, 1, 8, 8)).astype(np.float32)
    y = rng.integers(0, 10, 8)

    fn.manual_seed(rank)              # different weights per rank: DDP must broadcast rank 0's
    model = net()
    ddp = dist.DistributedDataParallel(model, bucket_cap_mb=bucket_mb)
    reference = net()                 # one process, starting from the same (rank 0's) weights
    reference.load_state_dict(model.state_dict())
    if len(ddp._buckets) < (3 if bucket_mb < 0.001 else 1):
        fail(f"expected several buckets with bucket_cap_mb={bucket_mb}, got {len(ddp._buckets)}")

    share = slice(rank * 8 // world, (rank + 1) * 8 // world)
    opt = fn.optim.SGD(ddp.parameters(), lr=0.1, momentum=0.9)
    for _ in range(2):                # two steps: the second uses momentum and synced weights
        opt.zero_grad()
        F.cross_entropy(ddp(fn.tensor(x[share])), fn.tensor(y[share])).backward()
        opt.step()

    # one process, the whole batch of 8
    ref_opt = fn.optim.SGD(reference.parameters(), lr=0.1, momentum=0.9)
    for _ in range(2):
        ref_opt.zero_grad()
        F.cross_entropy(reference(fn.tensor(x)), fn.tensor(y)).backward()
        ref_opt.step()

    for (name, p), (_, q) in zip(model.named_parameters(), reference.named_parameters()):
        if not np.allclose(p.numpy(), q.numpy(), rtol=1e-5, atol=1e-6):
            fail(f"{name} differs from one process by {np.abs(p.numpy() - q.numpy()).max():.3g}")
    digest = hashlib.sha256(b"".join(p.numpy().tobytes() for p in model.parameters())).hexdigest()
    if len(set(dist.all_gather_object(digest))) != 1:
        fail("the ranks' parameters are not bitwise identical")
    print(f"rank {rank}: ok, {len(ddp._buckets)} buckets", flush=True)


def mismatch() -> None:
    model = net(6 if dist.get_rank() == 0 else 5)
    try:
        dist.DistributedDataParallel(model)
    except dist.DistributedError as e:
        text = str(e)
        if "different models" not in text or "rank 1" not in text:
            fail(f"unclear message: {text}")
        print(f"rank {dist.get_rank()}: {text}", flush=True)
        return
    fail("no error for different models")


def die_or_hang(how: str) -> None:
    ddp = dist.DistributedDataParallel(net())
    x = fn.randn(4, 1, 8, 8)
    if dist.get_rank() == 1:
        if how == "die":
            import os
            os._exit(7)
        time.sleep(120)
    ddp(x).sum().backward()          # rank 0 waits for rank 1's gradients
    fail("backward returned without the other rank")


if __name__ == "__main__":
    mode = sys.argv[1]
    dist.init_process_group(world_size=2)
    if mode == "step":
        step(float(sys.argv[2]))
    elif mode == "mismatch":
        mismatch()
    else:
        die_or_hang(mode)
