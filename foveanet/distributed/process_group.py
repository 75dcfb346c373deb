"""The process group: who this process is among the ranks that MPI started, and the collectives.

foveanet trains across processes on MPI (``mpirun -n 4 ...``, or ``srun`` under Slurm) through
mpi4py: the engine clusters already run, with its own launcher, network transports and
collective algorithms. This module holds one communicator (MPI's COMM_WORLD) and gives it
torch.distributed's names: ``init_process_group``, ``get_rank``, ``get_world_size``,
``all_reduce``, ``broadcast``, ``barrier``.

No rank may wait for ever on a rank that died or hangs: every collective here is started
non-blocking and waited for with a deadline (``timeout``, default 300 s or
``FOVEANET_DIST_TIMEOUT``); past it the rank raises ``DistributedError`` naming the collective,
and an uncaught exception on any rank aborts the whole job (``MPI_Abort``) instead of leaving
the other ranks inside a collective.
"""
from __future__ import annotations

import os
import sys
import time

import numpy as np

from foveanet.errors import UserError

__all__ = ["DistributedError", "Work", "init_process_group", "destroy_process_group", "abort",
           "is_initialized", "is_mpi_launch", "get_rank", "get_world_size", "get_local_rank",
           "barrier", "all_reduce", "broadcast", "all_gather_object"]

DEFAULT_TIMEOUT = 300.0
SPIN_SECONDS = 0.5   # how long Work.wait polls without a pause before it polls every 1 ms
_OPS = ("sum", "mean", "max", "min")
# the variables a launcher sets in every rank: OpenMPI's mpirun, MPICH/Hydra, Slurm's srun
_LAUNCH_VARS = ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "SLURM_NTASKS")


class DistributedError(UserError):
    """A distributed run that cannot go on: no MPI, ranks that disagree, a rank that died.

    A ``UserError``: the ``foveanet`` command prints its message without a traceback and,
    under mpirun, stops every rank.

    Example::

        >>> import foveanet.distributed as dist
        >>> try:
        ...     dist.DistributedSampler([1, 2], num_replicas=4, rank=0)
        ... except dist.DistributedError as e:
        ...     print(e)
        DistributedSampler: the dataset has 2 samples for 4 ranks; every rank needs at least one: use fewer ranks (mpirun -n) or more data
    """


class _Group:
    def __init__(self, comm, timeout: float):
        self.comm, self.timeout = comm, float(timeout)
        self.rank, self.size = comm.Get_rank(), comm.Get_size()


_group: _Group | None = None


def is_mpi_launch() -> bool:
    """Whether this process was started by an MPI launcher (``mpirun``, ``srun``) with more
    than one rank: what the ``foveanet`` command checks before training data-parallel.

    Example::

        >>> import os
        >>> from foveanet.distributed import is_mpi_launch
        >>> is_mpi_launch() == any(int(os.environ.get(v, "1") or 1) > 1
        ...                        for v in ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_NTASKS"))
        True
    """
    for var in ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_NTASKS"):
        try:
            if int(os.environ.get(var, "1") or 1) > 1:
                return True
        except ValueError:
            continue
    return False


def _mpi():
    try:
        from mpi4py import MPI
    except ImportError as e:
        raise DistributedError(
            "foveanet.distributed needs mpi4py and an MPI library: `pip install mpi4py` and "
            "`apt-get install openmpi-bin libopenmpi-dev` (`make install` does both)") from e
    return MPI


def init_process_group(backend: str = "mpi", timeout: float | None = None,
                       world_size: int | None = None) -> None:
    """Join the ranks that MPI started; call once per process, before any collective.

    Rank, world size and local rank come from MPI itself (``mpirun -n 4 python train.py``),
    so no address, port or rank needs passing. A process started without a launcher is a
    world of one: the same script runs unchanged on one process.

    Args:
        backend: ``"mpi"``, the only one (the name is torch's argument).
        timeout: seconds a collective may wait for the other ranks before this rank gives up
            with ``DistributedError`` (default ``FOVEANET_DIST_TIMEOUT`` or 300).
        world_size: the number of ranks the caller expects; a launch with another number
            (``mpirun -n 3`` for a 2-rank recipe, or a plain ``python``) is an error.

    Raises:
        DistributedError: another backend, no mpi4py, or a world of the wrong size.

    Example::

        >>> import foveanet.distributed as dist
        >>> dist.init_process_group()                 # a plain process: a world of one
        >>> dist.get_rank(), dist.get_world_size()
        (0, 1)
        >>> dist.destroy_process_group()
    """
    global _group
    if backend != "mpi":
        raise DistributedError(f"init_process_group: backend must be 'mpi', got {backend!r}")
    if timeout is None:
        timeout = float(os.environ.get("FOVEANET_DIST_TIMEOUT", DEFAULT_TIMEOUT))
    if timeout <= 0:
        raise DistributedError(f"init_process_group: timeout must be > 0 seconds, got {timeout}")
    if _group is not None:
        return
    MPI = _mpi()
    group = _Group(MPI.COMM_WORLD, timeout)
    if world_size is not None and group.size != int(world_size):
        how = ("this process was not started by mpirun/srun" if group.size == 1
               else f"the launcher started {group.size} ranks")
        raise DistributedError(f"init_process_group: expected a world of {world_size} ranks, but "
                               f"{how}: launch with `mpirun -n {world_size} ...`")
    _group = group
    if group.size > 1:
        _abort_on_uncaught_exception(group)


def _abort_on_uncaught_exception(group: _Group) -> None:
    # a rank that dies of an exception would otherwise leave the others waiting inside a
    # collective until their timeout; MPI_Abort makes mpirun stop every rank at once
    previous = sys.excepthook

    def hook(kind, value, tb):
        previous(kind, value, tb)
        sys.stderr.write(f"foveanet.distributed: rank {group.rank} failed; stopping all "
                         f"{group.size} ranks\n")
        sys.stderr.flush()
        exit_code = getattr(value, "exit_code", 1)
        group.comm.Abort(exit_code if isinstance(exit_code, int) else 1)

    sys.excepthook = hook


def abort(exit_code: int = 1) -> None:
    """Stop every rank of the job now with ``exit_code`` (``MPI_Abort``); without a process
    group of several ranks, nothing happens and the caller exits as usual.

    The ``foveanet`` command calls it after printing an error, so that a mistake seen by one
    rank (a missing file on one machine) does not leave the others waiting in a collective.

    Example::

        >>> import foveanet.distributed as dist
        >>> dist.abort(2)          # no process group: returns
    """
    if _group is not None and _group.size > 1:
        sys.stdout.flush()
        sys.stderr.flush()
        _group.comm.Abort(int(exit_code))


def destroy_process_group() -> None:
    """Leave the process group (MPI itself stays up until the process exits, as MPI wants).

    Example::

        >>> import foveanet.distributed as dist
        >>> dist.init_process_group(); dist.destroy_process_group(); dist.is_initialized()
        False
    """
    global _group
    _group = None


def is_initialized() -> bool:
    """Whether ``init_process_group`` has run in this process.

    Example::

        >>> import foveanet.distributed as dist
        >>> dist.is_initialized()
        False
    """
    return _group is not None


def _require(what: str) -> _Group:
    if _group is None:
        raise DistributedError(f"{what}: the process group is not initialised: call "
                               "foveanet.distributed.init_process_group() first (and launch "
                               "with `mpirun -n N ...`)")
    return _group


def get_rank() -> int:
    """This process's rank, 0 .. world size - 1 (0 without a process group).

    Example::

        >>> import foveanet.distributed as dist
        >>> dist.get_rank()
        0
    """
    return _group.rank if _group is not None else 0


def get_world_size() -> int:
    """The number of ranks (1 without a process group).

    Example::

        >>> import foveanet.distributed as dist
        >>> dist.get_world_size()
        1
    """
    return _group.size if _group is not None else 1


def get_local_rank() -> int:
    """This process's rank among the ranks on its own machine (to pick a core or a GPU).

    Example::

        >>> import foveanet.distributed as dist
        >>> dist.get_local_rank()
        0
    """
    for var in ("OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "SLURM_LOCALID"):
        if os.environ.get(var, "").isdigit():
            return int(os.environ[var])
    return 0


class Work:
    """A collective in flight (``async_op=True``): ``wait()`` blocks until it is done, or
    raises ``DistributedError`` when the other ranks do not answer within the timeout.

    Example::

        >>> import foveanet.distributed as dist
        >>> dist.init_process_group()
        >>> x = np.array([1., 2.], np.float32)
        >>> work = dist.all_reduce(x, async_op=True)
        >>> work.wait(); x
        array([1., 2.], dtype=float32)
        >>> dist.destroy_process_group()
    """

    def __init__(self, request, what: str, timeout: float, finish=None):
        self._request, self._what, self._timeout, self._finish = request, what, timeout, finish
        self._done = request is None

    def is_completed(self) -> bool:
        if not self._done and self._request.Test():
            self._complete()
        return self._done

    def wait(self) -> None:
        if self._done:
            return
        start = time.monotonic()
        deadline = start + self._timeout
        # MPI advances a non-blocking collective only inside MPI calls, so it is polled. For
        # the first SPIN_SECONDS without a pause: sleeping between polls made a 4 KB
        # all-reduce take 341 us instead of 8 us, and 64 MB 1.5 s instead of 79 ms
        # (benchmarks/results-distributed.md). A longer wait (another rank still computing)
        # polls every millisecond so that it does not hold a core.
        spin_until = start + SPIN_SECONDS
        while not self._request.Test():
            now = time.monotonic()
            if now > deadline:
                raise DistributedError(
                    f"{self._what}: rank {get_rank()} waited {self._timeout:.0f} s for the other "
                    f"{get_world_size() - 1} rank(s): one has died or is stuck (the timeout is "
                    "init_process_group's timeout, or FOVEANET_DIST_TIMEOUT)")
            if now > spin_until:
                time.sleep(1e-3)
        self._complete()

    def _complete(self):
        self._done = True
        if self._finish is not None:
            self._finish()


def _buffer(tensor, what: str) -> np.ndarray:
    data = tensor if isinstance(tensor, np.ndarray) else getattr(tensor, "data", None)
    if not isinstance(data, np.ndarray):
        raise DistributedError(f"{what}: expected a Tensor or NumPy array, got {type(tensor).__name__}")
    if not data.flags.c_contiguous:
        raise DistributedError(f"{what}: the array must be C-contiguous (shape {data.shape})")
    return data


def all_reduce(tensor, op: str = "sum", async_op: bool = False):
    """Combine ``tensor`` over all ranks, in place: afterwards every rank holds the result.

    With ``op="sum"`` rank r ends with ``x_0 + x_1 + ... + x_(p-1)``, added in MPI's order
    (the same bits on every rank); ``"mean"`` divides that sum by the world size.

    Args:
        tensor: a Tensor or C-contiguous NumPy array, overwritten with the result.
        op: ``"sum"``, ``"mean"``, ``"max"`` or ``"min"``.
        async_op: return a ``Work`` to ``wait()`` on instead of waiting here.

    Returns:
        Work if ``async_op`` else None.

    Example::

        >>> import foveanet.distributed as dist
        >>> dist.init_process_group()
        >>> x = fn.tensor([1., 4.])
        >>> dist.all_reduce(x, op="mean"); x.numpy()      # one rank: its own values
        array([1., 4.], dtype=float32)
        >>> dist.destroy_process_group()
    """
    if op not in _OPS:
        raise DistributedError(f"all_reduce: op must be one of {_OPS}, got {op!r}")
    group = _require("all_reduce")
    data = _buffer(tensor, "all_reduce")
    finish = None
    if op == "mean":
        size = group.size
        finish = lambda: np.divide(data, size, out=data, casting="unsafe")  # noqa: E731
    if group.size == 1:
        work = Work(None, "all_reduce", group.timeout)
        if finish is not None:
            finish()
    else:
        MPI = _mpi()
        mpi_op = {"sum": MPI.SUM, "mean": MPI.SUM, "max": MPI.MAX, "min": MPI.MIN}[op]
        work = Work(group.comm.Iallreduce(MPI.IN_PLACE, data, op=mpi_op), "all_reduce",
                    group.timeout, finish)
    if async_op:
        return work
    work.wait()
    return None


def broadcast(tensor, src: int = 0, async_op: bool = False):
    """Copy rank ``src``'s ``tensor`` into every rank's ``tensor``, in place.

    Args:
        tensor: a Tensor or C-contiguous NumPy array of the same shape and dtype on every rank.
        src: the rank whose values everyone gets.
        async_op: return a ``Work`` instead of waiting.

    Example::

        >>> import foveanet.distributed as dist
        >>> dist.init_process_group()
        >>> x = np.arange(3.)
        >>> dist.broadcast(x, src=0); x
        array([0., 1., 2.])
        >>> dist.destroy_process_group()
    """
    group = _require("broadcast")
    if not 0 <= src < group.size:
        raise DistributedError(f"broadcast: src must be a rank in 0..{group.size - 1}, got {src}")
    data = _buffer(tensor, "broadcast")
    work = (Work(None, "broadcast", group.timeout) if group.size == 1 else
            Work(group.comm.Ibcast(data, root=src), "broadcast", group.timeout))
    if async_op:
        return work
    work.wait()
    return None


def barrier() -> None:
    """Wait until every rank has reached this call.

    Example::

        >>> import foveanet.distributed as dist
        >>> dist.init_process_group(); dist.barrier(); dist.destroy_process_group()
    """
    group = _require("barrier")
    if group.size > 1:
        Work(group.comm.Ibarrier(), "barrier", group.timeout).wait()


def all_gather_object(obj) -> list:
    """Every rank's ``obj`` (any picklable-free JSON value: numbers, strings, lists, dicts), in
    rank order, on every rank.

    The values travel as JSON, never as pickles, so a rank cannot make another run code.

    Example::

        >>> import foveanet.distributed as dist
        >>> dist.init_process_group()
        >>> dist.all_gather_object({"rank": dist.get_rank()})
        [{'rank': 0}]
        >>> dist.destroy_process_group()
    """
    import json

    group = _require("all_gather_object")
    payload = np.frombuffer(json.dumps(obj).encode(), np.uint8)
    if group.size == 1:
        return [json.loads(payload.tobytes())]
    sizes = np.zeros(group.size, np.int64)
    sizes[group.rank] = payload.size
    all_reduce(sizes, "sum")
    out = np.zeros(int(sizes.sum()), np.uint8)
    start = int(sizes[:group.rank].sum())
    out[start:start + payload.size] = payload
    all_reduce(out, "sum")   # each rank fills its own slice; the rest are zeros
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    return [json.loads(out[bounds[i]:bounds[i + 1]].tobytes()) for i in range(group.size)]
