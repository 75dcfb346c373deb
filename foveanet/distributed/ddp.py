"""DistributedDataParallel: the gradients of every rank's share of the batch, averaged in buckets
while the backward pass is still running."""
from __future__ import annotations

import contextlib
import hashlib
import json

import numpy as np

from foveanet.autograd.function import queue_callback
from foveanet.distributed import process_group as pg
from foveanet.distributed.process_group import DistributedError
from foveanet.nn.modules.module import Module

__all__ = ["DistributedDataParallel"]

# Buckets are filled in the order gradients become final (the reverse of the parameters'
# order) and each is sent as soon as it is full, so the early buckets travel while backward
# still computes the first layers' gradients. 1 MB, not torch's 25: the wait at the end of
# backward on vgg_small at 2 ranks was 2.66 ms at 1 MB against 8.01 ms at 25 MB (min;
# benchmarks/results-distributed.md), and under 25 MB a model of that size sends nothing
# before backward ends.
DEFAULT_BUCKET_CAP_MB = 1.0


class _Bucket:
    def __init__(self, params: list, dtype):
        self.params = params
        self.offsets = np.cumsum([0] + [p.data.size for p in params])
        self.flat = np.zeros(int(self.offsets[-1]), dtype)
        self.ready = set()
        self.work = None

    def view(self, i: int, shape) -> np.ndarray:
        return self.flat[self.offsets[i]:self.offsets[i + 1]].reshape(shape)


class DistributedDataParallel(Module):
    """Data-parallel training: each rank runs ``module`` on its share of the batch, and the
    gradients are averaged over the ranks during ``backward()``, as torch's DDP.

    With p ranks, rank r's loss L_r the mean over its B/p samples, after ``backward()`` every
    rank holds

        grad = (1/p) · Σ_r ∂L_r/∂θ

    which is the gradient of the mean loss over the global batch of B when the shares are
    equal. The sum runs in MPI's order, the same on every rank, so all ranks keep identical
    parameters step after step.

    How: at construction, rank 0's parameters and buffers are broadcast to every rank after a
    check that every rank built the same structure (names, shapes, dtypes). Parameters are
    grouped into buckets of up to ``bucket_cap_mb``, in the reverse of their order (the order
    backward finishes them). A hook on each parameter copies its gradient into its bucket the
    moment the gradient is final; a full bucket is sent (a non-blocking MPI all-reduce) while
    backward goes on. When backward ends, the remaining buckets are sent (a parameter that got
    no gradient counts as zeros), all are awaited, divided by p and written back to ``.grad``.
    Buckets are always sent in the same order on every rank, as MPI requires.

    Args:
        module: the model; its parameters are overwritten with rank 0's.
        bucket_cap_mb: the largest bucket, in MB (default 1; torch's is 25).
        broadcast_buffers: copy rank 0's buffers (batch norm's running statistics) to every
            rank before each forward in training mode (default True, as torch).

    Attributes:
        module: the wrapped model (``state_dict`` keys gain the prefix ``module.``, as torch).

    Raises:
        DistributedError: no process group, or ranks whose models differ.

    Example::

        >>> import foveanet.distributed as dist
        >>> dist.init_process_group()                   # under mpirun: every rank
        >>> model = dist.DistributedDataParallel(nn.Linear(3, 1))
        >>> loss = model(fn.ones(4, 3)).sum()
        >>> loss.backward()                             # averaged over the ranks
        >>> model.module.weight.grad.numpy()
        array([[4., 4., 4.]], dtype=float32)
        >>> list(model.state_dict())
        ['module.weight', 'module.bias']
        >>> dist.destroy_process_group()
    """

    wraps_module = True   # the Trainer saves and loads ``module``'s weights, not the wrapper's

    def __init__(self, module, bucket_cap_mb: float = DEFAULT_BUCKET_CAP_MB,
                 broadcast_buffers: bool = True):
        super().__init__()
        pg._require("DistributedDataParallel")
        if bucket_cap_mb <= 0:
            raise DistributedError(f"DistributedDataParallel: bucket_cap_mb must be > 0, got {bucket_cap_mb}")
        self.module = module
        self.bucket_cap_mb = float(bucket_cap_mb)
        self.broadcast_buffers = bool(broadcast_buffers)
        self.require_backward_grad_sync = True
        self.world_size = pg.get_world_size()
        _check_same_structure(module)
        for _, tensor in [*module.named_parameters(), *module.named_buffers()]:
            pg.broadcast(tensor, src=0)
        params = [p for p in module.parameters() if p.requires_grad]
        self._buckets = _make_buckets(list(reversed(params)), self.bucket_cap_mb * 2 ** 20)
        self._where = {}
        for b, bucket in enumerate(self._buckets):
            for i, p in enumerate(bucket.params):
                self._where[id(p)] = (b, i)
                p.register_post_accumulate_grad_hook(self._grad_ready)
        self._next_to_send = 0
        self._pending = False

    # ------------------------------------------------------------------ forward
    def forward(self, *args, **kwargs):
        if self._pending:
            self._reset()   # the last backward raised before its end: start clean
        if self.training and self.broadcast_buffers and self.world_size > 1:
            for _, buf in self.module.named_buffers():
                pg.broadcast(buf, src=0)
        return self.module(*args, **kwargs)

    @contextlib.contextmanager
    def no_sync(self):
        """Within this context backward accumulates local gradients without communicating
        (gradient accumulation over several batches); the first backward after it averages
        the accumulated gradients."""
        previous = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = previous

    # ------------------------------------------------------------------ the buckets
    def _grad_ready(self, param) -> None:
        if not self.require_backward_grad_sync:
            return
        if not self._pending:
            # the first final gradient of this backward: finish the buckets when it ends
            self._pending = True
            queue_callback(self._finish)
        b, i = self._where[id(param)]
        bucket = self._buckets[b]
        np.copyto(bucket.view(i, param.data.shape), param.grad.data)
        bucket.ready.add(i)
        if len(bucket.ready) == len(bucket.params):
            self._send_ready_buckets()
        for earlier in self._buckets[:self._next_to_send]:
            earlier.work.is_completed()   # lets MPI progress the buckets in flight

    def _send_ready_buckets(self) -> None:
        # in bucket order only: every rank must start the collectives in the same order
        while (self._next_to_send < len(self._buckets)
               and len(self._buckets[self._next_to_send].ready) == len(self._buckets[self._next_to_send].params)):
            bucket = self._buckets[self._next_to_send]
            bucket.work = pg.all_reduce(bucket.flat, "sum", async_op=True)
            self._next_to_send += 1

    def _finish(self) -> None:
        from foveanet.autograd.tensor import Tensor

        for bucket in self._buckets[self._next_to_send:]:
            for i, p in enumerate(bucket.params):
                if i not in bucket.ready:          # no gradient on this rank: zeros
                    bucket.view(i, p.data.shape)[...] = 0
                    bucket.ready.add(i)
        self._send_ready_buckets()
        scale = 1.0 / self.world_size
        for bucket in self._buckets:
            bucket.work.wait()
            bucket.flat *= bucket.flat.dtype.type(scale)
            for i, p in enumerate(bucket.params):
                avg = bucket.view(i, p.data.shape)
                if p.grad is None:
                    p.grad = Tensor._wrap(avg.copy(), False, None)
                else:
                    np.copyto(p.grad.data, avg)
        self._reset()

    def _reset(self) -> None:
        for bucket in self._buckets:
            bucket.ready.clear()
            bucket.work = None
        self._next_to_send = 0
        self._pending = False


def _make_buckets(params: list, cap_bytes: float) -> list:
    buckets, current, size = [], [], 0
    for p in params:
        if current and (size + p.data.nbytes > cap_bytes or p.data.dtype != current[0].data.dtype):
            buckets.append(_Bucket(current, current[0].data.dtype))
            current, size = [], 0
        current.append(p)
        size += p.data.nbytes
    if current:
        buckets.append(_Bucket(current, current[0].data.dtype))
    return buckets


def _check_same_structure(module) -> None:
    """Every rank must wrap the same model: compare a checksum of the parameters' and buffers'
    names, shapes and dtypes, and name the first difference."""
    layout = [[name, list(t.data.shape), str(t.data.dtype)]
              for name, t in [*module.named_parameters(), *module.named_buffers()]]
    digest = hashlib.sha256(json.dumps(layout).encode()).hexdigest()
    digests = pg.all_gather_object(digest)
    if len(set(digests)) == 1:
        return
    layouts = pg.all_gather_object(layout)
    other = next(r for r, d in enumerate(digests) if d != digests[0])
    mine, theirs = layouts[0], layouts[other]
    diff = next((f"rank 0 has {a}, rank {other} has {b}" for a, b in zip(mine, theirs) if a != b),
                f"rank 0 has {len(mine)} parameters and buffers, rank {other} has {len(theirs)}")
    raise DistributedError(f"DistributedDataParallel: the ranks built different models: {diff}")
