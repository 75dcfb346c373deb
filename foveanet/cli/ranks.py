"""The training commands under an MPI launcher: one command line runs on one process or many."""
from __future__ import annotations


def join_ranks() -> int:
    """Under mpirun/srun, join the process group and return this rank; else 0."""
    import foveanet.distributed as dist

    if not dist.is_mpi_launch():
        return 0
    dist.init_process_group()
    return dist.get_rank()
