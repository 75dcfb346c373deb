"""Data-parallel training on MPI, with torch.distributed's names.

    mpirun -n 4 python train.py              # or: srun -n 4 python train.py under Slurm

    import foveanet.distributed as dist
    dist.init_process_group()                # rank and world size come from MPI
    model = dist.DistributedDataParallel(model)
    sampler = dist.DistributedSampler(train_set)
    loader = fn.data.DataLoader(train_set, batch_size=64, sampler=sampler)

Each rank computes the gradients of its share of the batch; ``DistributedDataParallel``
averages them over the ranks in buckets while the backward pass is still running, so after
``backward()`` every rank holds the gradient of the whole batch and takes the same step.
Names load on first use: ``import foveanet.distributed`` does not load MPI.
"""
from foveanet._lazy import lazy_exports

_GROUP = ("DistributedError", "Work", "init_process_group", "destroy_process_group", "abort",
          "is_initialized", "is_mpi_launch", "get_rank", "get_world_size", "get_local_rank",
          "barrier", "all_reduce", "broadcast", "all_gather_object")

__getattr__, __dir__ = lazy_exports(__name__, {
    **dict.fromkeys(_GROUP, "foveanet.distributed.process_group"),
    "DistributedSampler": "foveanet.distributed.sampler",
    "DistributedDataParallel": "foveanet.distributed.ddp",
    "SyncBatchNorm": "foveanet.distributed.sync_batchnorm",
})

__all__ = [*_GROUP, "DistributedSampler", "DistributedDataParallel", "SyncBatchNorm"]
