"""BatchNorm1d/2d, LayerNorm, GroupNorm with torch.nn's parameters, buffers and update rules."""
from __future__ import annotations

import numbers

import numpy as np

import foveanet.functional as F
from foveanet import backend
from foveanet.functional.normalization import batch_norm_relu
from foveanet.autograd.tensor import Tensor
from foveanet.nn import init
from foveanet.nn.modules.module import Module
from foveanet.nn.parameter import Parameter


def _affine_params(module: Module, shape: tuple, affine: bool, bias: bool, dtype) -> None:
    """weight = 1 and bias = 0 of ``shape`` (``None`` where switched off), as torch.nn."""
    if affine:
        module.weight = Parameter(np.ones(shape, dtype=dtype))
        if bias:
            module.bias = Parameter(np.zeros(shape, dtype=dtype))
        else:
            module.register_parameter("bias", None)
    else:
        module.register_parameter("weight", None)
        module.register_parameter("bias", None)


def _reset_affine(module: Module) -> None:
    if module.weight is not None:
        init.ones_(module.weight)
    if module.bias is not None:
        init.zeros_(module.bias)


class _BatchNorm(Module):
    _ndims: tuple = ()

    def __init__(self, num_features: int, eps: float = 1e-5, momentum=0.1, affine: bool = True,
                 track_running_stats: bool = True, device=None, dtype=None, *, bias: bool = True):
        super().__init__()
        self.num_features, self.eps, self.momentum = int(num_features), eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        dt = np.dtype(dtype or backend.get_default_dtype())
        _affine_params(self, (self.num_features,), affine, bias, dt)
        if track_running_stats:
            self.register_buffer("running_mean", Tensor._wrap(np.zeros(self.num_features, dtype=dt), False, None))
            self.register_buffer("running_var", Tensor._wrap(np.ones(self.num_features, dtype=dt), False, None))
            self.register_buffer("num_batches_tracked", Tensor._wrap(np.array(0, dtype=np.int64), False, None))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()
        if device is not None:
            self.to(device)

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            self.running_mean.data[...] = 0
            self.running_var.data[...] = 1
            self.num_batches_tracked.data[...] = 0

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        _reset_affine(self)

    def _optional_state_keys(self) -> tuple:
        # checkpoints from before the counter existed lack it; PyTorch tolerates that too
        return ("num_batches_tracked",) if self.track_running_stats else ()

    def _check_input_dim(self, input) -> None:
        nd = input.ndim if hasattr(input, "ndim") else np.ndim(input)  # a Tensor, any array, or a list
        if nd not in self._ndims:
            want = " or ".join(f"{n}D" for n in self._ndims)
            raise ValueError(f"{type(self).__name__}: expected {want} input (got {nd}D input)")

    def forward(self, input):
        return self._normalise(input, F.batch_norm)

    def _forward_relu(self, input):
        """``relu(self(input))`` as one op (``functional.normalization.batch_norm_relu``), for
        a container that runs this layer and a ReLU after it; the caller has checked that no
        hook watches either."""
        return self._normalise(input, batch_norm_relu)

    def _normalise(self, input, batch_norm):
        self._check_input_dim(input)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            self.num_batches_tracked.data[...] += 1
            if self.momentum is None:
                # cumulative moving average: the n-th batch weighs 1/n
                factor = 1.0 / float(self.num_batches_tracked.data)
        use_batch_stats = self.training or (self.running_mean is None and self.running_var is None)
        keep = not self.training or self.track_running_stats
        return batch_norm(input, self.running_mean if keep else None,
                          self.running_var if keep else None, self.weight, self.bias,
                          use_batch_stats, factor, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalisation per channel of (N, C) or (N, C, L) batches:

        y = (x - E[x]) / sqrt(Var[x] + eps) * weight + bias

    In training mode E[x] and the biased Var[x] are the statistics of the batch, per
    channel over N (and L), and the running statistics move towards them:

        running = (1 - momentum) * running + momentum * batch_stat

    with the unbiased variance for running_var. In eval mode the running statistics take
    their place, so one sample gives the same result alone or in any batch. Without
    track_running_stats the batch statistics are used in both modes.

    Args:
        num_features: C, the number of channels of the input.
        eps: added to the variance, for stability (default 1e-5).
        momentum: the weight of each new batch in the running statistics (default 0.1);
            None gives the cumulative average instead (the n-th batch weighs 1/n).
        affine: learn a per-channel weight and bias (default True).
        track_running_stats: keep running_mean and running_var and normalise with them in
            eval mode (default True).
        device: where the parameters live (default None: the CPU); ``'cuda'`` builds them on
            the host (one seed, one model on every device) and moves them, as ``.to(device)``.
        dtype: the parameters' and buffers' dtype (default None:
            ``foveanet.get_default_dtype()``).
        bias: keyword only; with affine, also learn the bias (default True).

    Shape:
        - Input: (N, C) or (N, C, L); in training mode more than one value per channel.
        - Output: the input's shape.

    Attributes:
        weight: Parameter of shape (C,), initialised to 1 (None without affine).
        bias: Parameter of shape (C,), initialised to 0 (None without affine or bias).
        running_mean: buffer of shape (C,), starting at 0 (None without track_running_stats).
        running_var: buffer of shape (C,), starting at 1 (None without track_running_stats).
        num_batches_tracked: int64 scalar buffer, the number of training batches seen
            (None without track_running_stats).

    Example::

        >>> m = nn.BatchNorm1d(2)
        >>> x = fn.tensor([[1., 10.], [3., 30.]])
        >>> m(x).numpy().round(4)                         # each column: mean 0, variance 1
        array([[-1., -1.],
               [ 1.,  1.]], dtype=float32)
        >>> m.running_mean.numpy(), m.running_var.numpy()   # 0.1 * mean, 0.9 + 0.1 * var
        (array([0.2, 2. ], dtype=float32), array([ 1.1, 20.9], dtype=float32))
        >>> m.eval()(fn.tensor([[0.2, 2.]])).numpy()
        array([[0., 0.]], dtype=float32)
    """
    _ndims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalisation per channel of (N, C, H, W) batches:

        y = (x - E[x]) / sqrt(Var[x] + eps) * weight + bias

    In training mode E[x] and the biased Var[x] are the statistics of the batch, per
    channel over N, H and W, and the running statistics move towards them:

        running = (1 - momentum) * running + momentum * batch_stat

    with the unbiased variance for running_var. In eval mode the running statistics take
    their place, so one sample gives the same result alone or in any batch. Without
    track_running_stats the batch statistics are used in both modes.

    Args:
        num_features: C, the number of channels of the input.
        eps: added to the variance, for stability (default 1e-5).
        momentum: the weight of each new batch in the running statistics (default 0.1);
            None gives the cumulative average instead (the n-th batch weighs 1/n).
        affine: learn a per-channel weight and bias (default True).
        track_running_stats: keep running_mean and running_var and normalise with them in
            eval mode (default True).
        device: where the parameters live (default None: the CPU); ``'cuda'`` builds them on
            the host (one seed, one model on every device) and moves them, as ``.to(device)``.
        dtype: the parameters' and buffers' dtype (default None:
            ``foveanet.get_default_dtype()``).
        bias: keyword only; with affine, also learn the bias (default True).

    Shape:
        - Input: (N, C, H, W); in training mode more than one value per channel.
        - Output: the input's shape.

    Attributes:
        weight: Parameter of shape (C,), initialised to 1 (None without affine).
        bias: Parameter of shape (C,), initialised to 0 (None without affine or bias).
        running_mean: buffer of shape (C,), starting at 0 (None without track_running_stats).
        running_var: buffer of shape (C,), starting at 1 (None without track_running_stats).
        num_batches_tracked: int64 scalar buffer, the number of training batches seen
            (None without track_running_stats).

    Example::

        >>> m = nn.BatchNorm2d(3)
        >>> x = fn.arange(24.).reshape(2, 3, 2, 2)
        >>> y = m(x).numpy()
        >>> y.shape, y.mean(axis=(0, 2, 3)).round(4), y.std(axis=(0, 2, 3)).round(4)
        ((2, 3, 2, 2), array([0., 0., 0.], dtype=float32), array([1., 1., 1.], dtype=float32))
        >>> m.running_mean.numpy().round(4)               # 0.1 * the channel means
        array([0.75, 1.15, 1.55], dtype=float32)
    """
    _ndims = (4,)


class LayerNorm(Module):
    """Layer normalisation: y = (x - E[x]) / sqrt(Var[x] + eps) * weight + bias.

    E and the biased Var are over the last len(normalized_shape) dims, separately for every
    index of the leading dims; training and eval mode compute the same thing.

    Args:
        normalized_shape: the trailing shape D to normalise over, an int or a tuple.
        eps: added to the variance (default 1e-5).
        elementwise_affine: learn a per-element weight (and bias) of shape D (default True).
        bias: with elementwise_affine, also learn the bias (default True).
        device: where the parameters live (default None: the CPU); ``'cuda'`` builds them on
            the host (one seed, one model on every device) and moves them, as ``.to(device)``.
        dtype: the parameters' dtype (default None: ``foveanet.get_default_dtype()``).

    Shape:
        - Input: ``(*, *normalized_shape)``.  Output: the input's shape.

    Attributes:
        weight: Parameter of shape D, initialised to 1 (None without elementwise_affine).
        bias: Parameter of shape D, initialised to 0 (None without elementwise_affine or bias).

    Example::

        >>> m = nn.LayerNorm(2)
        >>> m(fn.tensor([[1., 3.], [0., 10.]])).numpy().round(4)
        array([[-1.,  1.],
               [-1.,  1.]], dtype=float32)
        >>> m.weight.shape, nn.LayerNorm((2, 3)).bias.shape
        ((2,), (2, 3))
    """

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True, bias: bool = True,
                 device=None, dtype=None):
        super().__init__()
        if isinstance(normalized_shape, numbers.Integral):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(int(s) for s in normalized_shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        dt = np.dtype(dtype or backend.get_default_dtype())
        _affine_params(self, self.normalized_shape, elementwise_affine, bias, dt)
        if device is not None:
            self.to(device)

    def reset_parameters(self) -> None:
        _reset_affine(self)

    def forward(self, input):
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
                + f", bias={self.bias is not None}")


class GroupNorm(Module):
    """Group normalisation: y = (x - E[x]) / sqrt(Var[x] + eps) * weight_c + bias_c.

    The C channels split into num_groups groups; E and the biased Var are over the
    ``(C / num_groups) * prod(*)`` values of one group of one sample, the affine is per
    channel.

    Args:
        num_groups: the number of groups G; num_channels must be divisible by it.
        num_channels: the number of channels C expected in the input.
        eps: added to the variance (default 1e-5).
        affine: learn a per-channel weight (and bias) (default True).
        device: where the parameters live (default None: the CPU); ``'cuda'`` builds them on
            the host (one seed, one model on every device) and moves them, as ``.to(device)``.
        dtype: the parameters' dtype (default None: ``foveanet.get_default_dtype()``).
        bias: keyword only; with affine, also learn the bias (default True).

    Shape:
        - Input: ``(N, C, *)``.  Output: the input's shape.

    Attributes:
        weight: Parameter of shape (C,), initialised to 1 (None without affine).
        bias: Parameter of shape (C,), initialised to 0 (None without affine or bias).

    Example::

        >>> m = nn.GroupNorm(2, 4)
        >>> m(fn.tensor([[1., 3., 0., 10.]])).numpy().round(4), m.weight.shape
        (array([[-1.,  1., -1.,  1.]], dtype=float32), (4,))
    """

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True,
                 device=None, dtype=None, *, bias: bool = True):
        super().__init__()
        if num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_channels ({num_channels}) must be divisible by num_groups ({num_groups})")
        self.num_groups, self.num_channels, self.eps, self.affine = num_groups, num_channels, eps, affine
        dt = np.dtype(dtype or backend.get_default_dtype())
        _affine_params(self, (num_channels,), affine, bias, dt)
        if device is not None:
            self.to(device)

    def reset_parameters(self) -> None:
        _reset_affine(self)

    def forward(self, input):
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={self.bias is not None}")
