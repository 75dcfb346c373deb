"""SyncBatchNorm: batch norm whose statistics span the whole data-parallel batch.

Under data parallelism each rank sees B/p samples; plain BatchNorm would standardise with
the statistics of that share alone (noisy for small per-rank batches, and a model that
differs from one trained on one process). SyncBatchNorm sums each channel's count, Σx and
Σx² over the ranks with one ``all_reduce``, so every rank normalises with the mean and
variance of the global batch, and its backward sums the two per-channel terms of batch
norm's input gradient, Σg and Σg·x̂, the same way. On a world of one it is BatchNorm.
"""
from __future__ import annotations

import numpy as np

from foveanet.autograd.function import Function
from foveanet.backend import kernels
from foveanet.distributed.process_group import DistributedError, all_reduce, is_initialized
from foveanet.functional._utils import as_tensor, check_float
from foveanet.functional.normalization import _scale_shift
from foveanet.nn.modules.normalization import _BatchNorm

__all__ = ["SyncBatchNorm"]


def _chan_sum64(a3: np.ndarray, b3: np.ndarray | None = None) -> np.ndarray:
    """Σ over axes 0 and 2 of an (N, C, L) array (of ``a3 * b3`` when given) -> (C,), added up
    in float64 whatever the input's dtype, without a float64 copy of the input."""
    if b3 is None:
        return np.einsum("ncl->c", a3, dtype=np.float64)
    return np.einsum("ncl,ncl->c", a3, b3, dtype=np.float64)


def _as_ncl(a: np.ndarray) -> np.ndarray:
    """(N, C, *) -> an (N, C, L) view, L = prod(*), also for a rank whose share is empty."""
    return a.reshape(a.shape[0], a.shape[1], int(np.prod(a.shape[2:], dtype=np.int64)))


class _SyncBatchNorm(Function):
    """Batch norm in training mode with every rank's share of the batch in its statistics.

    Rank r holds ``n_r`` values of channel c (``n_r = N_r·prod(*)``); with ``M = Σ_r n_r``:

        rank r: [n_r, Σ x, Σ x²] over its values;  all_reduce(sum)  ->  [M, Σx, Σx²]  (float64)
        μ = Σx / M,   var = Σx² / M - μ²   (biased),   σ = sqrt(var + eps)
        x̂ = (x - μ) / σ,   y = w·x̂ + b

    backward (g = dL/dy·w; ``mean_global`` over the M values of all ranks, one all_reduce of
    [Σ dL/dy, Σ dL/dy·x̂]):

        dx = (1/σ)·(g - mean_global(g) - x̂·mean_global(g·x̂))
        dw = Σ_local dL/dy·x̂,   db = Σ_local dL/dy

    dw and db stay local: the data-parallel wrapper averages them over the ranks like every
    other parameter gradient.
    """

    def forward(self, x, weight, bias, running_mean=None, running_var=None, momentum=0.1, eps=1e-5):
        c = x.shape[1]
        x3 = _as_ncl(x)
        # [count, Σx (C), Σx² (C)]: float64, since var = E[x²] - μ² cancels digits
        stats = np.empty(2 * c + 1, np.float64)
        stats[0] = x3.shape[0] * x3.shape[2]
        sums, squares = stats[1:c + 1], stats[c + 1:]

        def local_sums(sl):
            xs = x3[:, sl]
            sums[sl] = _chan_sum64(xs)
            squares[sl] = _chan_sum64(xs, xs)

        kernels(x).each_channel_block(c, x3.size, local_sums)
        all_reduce(stats, "sum")
        m = float(stats[0])
        if m <= 1:
            raise ValueError(
                "SyncBatchNorm: expected more than 1 value per channel over all ranks when "
                f"training, got {m:.0f} (this rank's input has shape {tuple(x.shape)})")
        mean64 = sums / m
        var64 = np.maximum(squares / m - mean64 * mean64, 0.0)  # round-off can dip below 0
        mean = mean64.astype(x.dtype)
        inv_std = (1 / np.sqrt(var64 + eps)).astype(x.dtype)
        xhat = np.empty_like(x3)
        y = np.empty_like(x3)

        def normalise(sl):
            xc = np.subtract(x3[:, sl], mean[sl, None], out=xhat[:, sl])
            xc *= inv_std[sl, None]
            _scale_shift(xc, weight, bias, sl, y)

        kernels(x).each_channel_block(c, x3.size, normalise)
        if running_mean is not None:
            running_mean *= 1 - momentum
            running_mean += (momentum * mean64).astype(running_mean.dtype)
        if running_var is not None:
            # the running estimate uses the unbiased variance of the global batch, as PyTorch
            running_var *= 1 - momentum
            running_var += (momentum * (m / (m - 1)) * var64).astype(running_var.dtype)
        need_x, need_w = self.needs_input_grad[:2]
        self.m, self.shape, self.inv_std, self.weight = m, x.shape, inv_std, weight
        self.xhat = xhat if (need_x or need_w) else None
        return y.reshape(x.shape)

    def backward(self, g):
        c = self.shape[1]
        g3 = _as_ncl(g)
        need_x, need_w, need_b = self.needs_input_grad
        xhat = self.xhat
        # [Σ dL/dy (C), Σ dL/dy·x̂ (C)] over this rank's values; w factors out of both
        sums = np.zeros(2 * c, np.float64)
        sum_g, sum_gx = sums[:c], sums[c:]

        def local_sums(sl):
            gs = g3[:, sl]
            sum_g[sl] = _chan_sum64(gs)
            if xhat is not None:
                sum_gx[sl] = _chan_sum64(gs, xhat[:, sl])

        kernels(g).each_channel_block(c, g3.size, local_sums)
        dw = sum_gx.astype(g.dtype).reshape(self.weight.shape) if need_w else None
        db = sum_g.astype(g.dtype).reshape(np.shape(self.inputs[2].data)) if need_b else None
        if not need_x:
            return None, dw, db
        all_reduce(sums, "sum")  # now over every rank's values
        mean_g = (sum_g / self.m).astype(g.dtype)
        mean_gx = (sum_gx / self.m).astype(g.dtype)
        w = self.weight
        scale = self.inv_std if w is None else w * self.inv_std
        dx = np.empty(g3.shape, g.dtype)

        def input_grad(sl):
            # (w/σ)·(dL/dy - mean(dL/dy) - x̂·mean(dL/dy·x̂)), the formula's g = dL/dy·w
            d = np.multiply(xhat[:, sl], mean_gx[sl, None], out=dx[:, sl])
            np.subtract(g3[:, sl], d, out=d)
            d -= mean_g[sl, None]
            d *= scale[sl, None]

        kernels(g).each_channel_block(c, g3.size, input_grad)
        return dx.reshape(self.shape), dw, db


class SyncBatchNorm(_BatchNorm):
    """Batch normalisation over the global batch of a data-parallel run, as torch.nn.SyncBatchNorm.

    Per channel c, over the ``M = Σ_r N_r·prod(*)`` values of every rank's share:

        y = (x - E[x]) / sqrt(Var[x] + eps) * weight + bias
        E[x] = Σx / M,   Var[x] = Σx² / M - E[x]²     (Σ over all ranks: one all_reduce)

    In training mode each rank sums its share's count, Σx and Σx² (float64), one
    ``all_reduce`` adds them over the ranks, and every rank normalises its share with the
    global mean and biased variance; the running statistics move towards them, with the
    unbiased variance Var[x]·M/(M - 1) for running_var. Backward (x̂ the normalised input,
    g = dL/dy·weight, means over the M values of all ranks, one more ``all_reduce``):

        dx = (1/σ)·(g - mean_global(g) - x̂·mean_global(g·x̂)),   σ = sqrt(Var[x] + eps)
        dweight = Σ_local dL/dy·x̂,   dbias = Σ_local dL/dy

    dweight and dbias are this rank's share: ``DistributedDataParallel`` averages them like
    any other parameter gradient. In eval mode it is plain BatchNorm with the running
    statistics (without track_running_stats: this rank's batch statistics), with no
    communication. Training needs ``init_process_group()``; in a plain process that is a
    world of one, where SyncBatchNorm equals BatchNorm. Every rank must run the layer, in
    the same order, since each training forward and backward is a collective.

    Args:
        num_features: C, the number of channels of the input.
        eps: added to the variance, for stability (default 1e-5).
        momentum: the weight of each new batch in the running statistics (default 0.1);
            None gives the cumulative average instead (the n-th batch weighs 1/n).
        affine: learn a per-channel weight and bias (default True).
        track_running_stats: keep running_mean and running_var and normalise with them in
            eval mode (default True).
        process_group: must be None, the whole world (foveanet.distributed has one process
            group, MPI's COMM_WORLD); accepted for PyTorch compatibility.
        device: accepted for PyTorch compatibility and ignored (arrays live on the CPU).
        dtype: the parameters' and buffers' dtype (default None:
            ``foveanet.get_default_dtype()``).
        bias: keyword only; with affine, also learn the bias (default True).

    Shape:
        - Input: ``(N, C, *)``, any number of spatial dims: (N, C), (N, C, L), (N, C, H, W),
          (N, C, D, H, W); in training more than one value per channel over all ranks.
        - Output: the input's shape.

    Attributes:
        weight: Parameter of shape (C,), initialised to 1 (None without affine).
        bias: Parameter of shape (C,), initialised to 0 (None without affine or bias).
        running_mean: buffer of shape (C,), starting at 0 (None without track_running_stats).
        running_var: buffer of shape (C,), starting at 1 (None without track_running_stats).
        num_batches_tracked: int64 scalar buffer, the number of training batches seen
            (None without track_running_stats).

    Raises:
        DistributedError: a training forward before ``init_process_group()``, or a
            process_group other than None.

    Example::

        >>> import foveanet.distributed as dist
        >>> dist.init_process_group()                     # a plain process: a world of one
        >>> m = dist.SyncBatchNorm(2)
        >>> x = fn.tensor([[1., 10.], [3., 30.]], requires_grad=True)
        >>> y = m(x)
        >>> y.numpy().round(4)                            # each column: mean 0, variance 1
        array([[-1., -1.],
               [ 1.,  1.]], dtype=float32)
        >>> m.running_mean.numpy(), m.running_var.numpy()   # 0.1 * mean, 0.9 + 0.1 * var
        (array([0.2, 2. ], dtype=float32), array([ 1.1, 20.9], dtype=float32))
        >>> y.sum().backward()
        >>> x.grad.numpy(), m.bias.grad.numpy()        # a uniform shift of x changes nothing
        (array([[0., 0.],
               [0., 0.]], dtype=float32), array([2., 2.], dtype=float32))
        >>> bn = nn.BatchNorm2d(3)                        # on one rank: BatchNorm's numbers
        >>> sync = dist.SyncBatchNorm.convert_sync_batchnorm(nn.Sequential(bn))
        >>> type(sync[0]).__name__, sync[0].weight is bn.weight
        ('SyncBatchNorm', True)
        >>> x = fn.randn(4, 3, 5, 5)
        >>> bool(np.allclose(sync(x).numpy(), nn.BatchNorm2d(3)(x).numpy(), atol=1e-5))
        True
        >>> dist.destroy_process_group()
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum=0.1, affine: bool = True,
                 track_running_stats: bool = True, process_group=None, device=None, dtype=None,
                 *, bias: bool = True):
        _check_group(process_group, "SyncBatchNorm")
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype,
                         bias=bias)
        self.process_group = None

    def _check_input_dim(self, input) -> None:
        nd = np.ndim(input.data if hasattr(input, "data") else input)
        if nd < 2:
            raise ValueError(f"SyncBatchNorm: expected at least 2D input (N, C, *) (got {nd}D input)")

    def forward(self, input):
        self._check_input_dim(input)
        if not self.training:
            return super().forward(input)  # plain batch norm, no communication
        if not is_initialized():
            raise DistributedError(
                "SyncBatchNorm: training needs the process group: call "
                "foveanet.distributed.init_process_group() first (a process started without "
                "mpirun is a world of one)")
        op = "SyncBatchNorm"
        x = as_tensor(input, "input", op)
        check_float(x, op)
        if x.shape[1] != self.num_features:
            raise ValueError(f"{op}: input has {x.shape[1]} channels, expected num_features="
                             f"{self.num_features} (input shape {tuple(x.shape)})")
        factor = 0.0 if self.momentum is None else float(self.momentum)
        track = self.track_running_stats and self.running_mean is not None
        if track and self.num_batches_tracked is not None:
            self.num_batches_tracked.data[...] += 1
            if self.momentum is None:
                # cumulative moving average: the n-th batch weighs 1/n
                factor = 1.0 / float(self.num_batches_tracked.data)
        return _SyncBatchNorm.apply(
            x, self.weight, self.bias,
            running_mean=self.running_mean.data if track else None,
            running_var=self.running_var.data if track else None,
            momentum=factor, eps=float(self.eps))

    @classmethod
    def convert_sync_batchnorm(cls, module, process_group=None):
        """Replace every BatchNorm layer in ``module`` by a SyncBatchNorm, as torch's classmethod.

        Each BatchNorm1d/BatchNorm2d (any ``_BatchNorm``) becomes a SyncBatchNorm with its
        settings and its training mode that shares its weight and bias Parameters and its
        running statistics (an optimiser built before the conversion still updates them);
        other modules are changed in place, child by child. Hooks on a replaced layer are
        not carried over (nor are they by torch).

        Args:
            module: a Module (a BatchNorm layer itself is replaced and returned).
            process_group: must be None, the whole world.

        Returns:
            the module with its BatchNorm layers replaced.

        Example::

            >>> from foveanet.distributed import SyncBatchNorm
            >>> net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU())
            >>> net = SyncBatchNorm.convert_sync_batchnorm(net)
            >>> type(net[1]).__name__, list(net[1].state_dict())
            ('SyncBatchNorm', ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked'])
        """
        _check_group(process_group, "SyncBatchNorm.convert_sync_batchnorm")
        out = module
        if isinstance(module, _BatchNorm) and not isinstance(module, SyncBatchNorm):
            ref = module.running_mean if module.running_mean is not None else module.weight
            out = cls(module.num_features, module.eps, module.momentum, module.affine,
                      module.track_running_stats, dtype=None if ref is None else ref.data.dtype,
                      bias=module.bias is not None)
            for name in ("weight", "bias"):
                if getattr(module, name) is not None:
                    setattr(out, name, getattr(module, name))
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                if getattr(module, name) is not None:
                    setattr(out, name, getattr(module, name))
            out.train(module.training)
        for name, child in module.named_children():
            out.add_module(name, cls.convert_sync_batchnorm(child))
        return out


def _check_group(process_group, where: str) -> None:
    if process_group is not None:
        raise DistributedError(
            f"{where}: process_group must be None, the whole world (foveanet.distributed has "
            f"one process group, MPI's COMM_WORLD), got {type(process_group).__name__}")
