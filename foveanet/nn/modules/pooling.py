"""Pooling layers: torch.nn's constructors and stored attributes (which show in repr)."""
from __future__ import annotations

import foveanet.functional as F
from foveanet.nn.modules.module import Module


class _MaxPoolNd(Module):
    _fn = "max_pool2d"

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False):
        super().__init__()
        # stored as given (ints stay ints), like PyTorch, so the repr matches
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None and stride != [] else kernel_size
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")

    def forward(self, input):
        return getattr(F, self._fn)(input, self.kernel_size, self.stride, self.padding, self.dilation,
                                    ceil_mode=self.ceil_mode, return_indices=self.return_indices)


class MaxPool1d(_MaxPoolNd):
    """Max pooling over windows of k elements along L.

    Each output is the max of its window; padding counts as -inf.

    Args:
        kernel_size: window length k, an int (or a 1-tuple).
        stride: step s between windows (default None: kernel_size).
        padding: p elements of -inf on each side, at most kernel_size // 2 (default 0).
        dilation: spacing d between the window's elements (default 1).
        return_indices: also return each window's argmax (its first maximum) as int64
            indices into L (default False).
        ceil_mode: round L_out up instead of down, dropping a last window that would start
            in the right padding (default False).

    Shape:
        - Input: (N, C, L) or (C, L).
        - Output: (N, C, L_out) or (C, L_out), L_out = floor((L + 2p - d(k-1) - 1)/s) + 1
          (ceil instead of floor with ceil_mode).

    Example::

        >>> x = fn.tensor([[[1., 3., 2., 5., 4.]]])
        >>> nn.MaxPool1d(2)(x).numpy()
        array([[[3., 5.]]], dtype=float32)
        >>> nn.MaxPool1d(2, ceil_mode=True)(x).numpy()
        array([[[3., 5., 4.]]], dtype=float32)
    """
    _fn = "max_pool1d"


class MaxPool2d(_MaxPoolNd):
    """Max pooling over kH x kW windows of each feature map.

    Each output is the max of its window; padding counts as -inf.

    Args:
        kernel_size: window size k, an int or a pair (kH, kW).
        stride: step s between windows, int or pair (default None: kernel_size).
        padding: p rows/columns of -inf on each side, int or pair, <= kernel_size // 2 (default 0).
        dilation: spacing d between the window's elements, int or pair (default 1).
        return_indices: also return each window's argmax (its first maximum in row-major
            order) as int64 flat indices into the ``H*W`` plane, as PyTorch (default False).
        ceil_mode: round the output size up instead of down, dropping a last window that
            would start in the right/bottom padding (default False).

    Shape:
        - Input: (N, C, H, W) or (C, H, W).
        - Output: (N, C, H_out, W_out) or (C, H_out, W_out), where per axis
          H_out = floor((H + 2p - d(k-1) - 1)/s) + 1 (ceil instead of floor with ceil_mode).

    Example::

        >>> m = nn.MaxPool2d(2)
        >>> m(fn.arange(16.).reshape(1, 1, 4, 4)).numpy()
        array([[[[ 5.,  7.],
                 [13., 15.]]]], dtype=float32)
        >>> nn.MaxPool2d(2, ceil_mode=True)(fn.ones(1, 1, 5, 5)).shape
        (1, 1, 3, 3)
    """
    _fn = "max_pool2d"


class AvgPool1d(Module):
    """Average pooling over windows of k elements along L.

    Each output is sum(window) / divisor, with zero padding.

    Args:
        kernel_size: window length k, an int (or a 1-tuple); stored as a 1-tuple, as PyTorch.
        stride: step s between windows (default None: kernel_size).
        padding: p zeros on each side, at most kernel_size // 2 (default 0).
        ceil_mode: round L_out up instead of down, dropping a last window that would start
            in the right padding (default False).
        count_include_pad: the divisor counts the window's padding cells (default True);
            False counts only cells inside the input.

    Shape:
        - Input: (N, C, L) or (C, L).
        - Output: (N, C, L_out) or (C, L_out), L_out = floor((L + 2p - k)/s) + 1
          (ceil instead of floor with ceil_mode).

    Example::

        >>> x = fn.tensor([[[3., 6., 9., 12.]]])
        >>> nn.AvgPool1d(2)(x).numpy()
        array([[[ 4.5, 10.5]]], dtype=float32)
        >>> nn.AvgPool1d(3, stride=2, padding=1, count_include_pad=False)(x).numpy()
        array([[[4.5, 9. ]]], dtype=float32)
    """

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
        super().__init__()
        # PyTorch keeps 1-tuples here (and shows them in repr)
        one = lambda v: tuple(v) if isinstance(v, (tuple, list)) else (v,)  # noqa: E731
        self.kernel_size = one(kernel_size)
        self.stride = one(stride if stride is not None and stride != [] else kernel_size)
        self.padding = one(padding)
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"

    def forward(self, input):
        return F.avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad)


class AvgPool2d(Module):
    """Average pooling over kH x kW windows of each feature map.

    Each output is sum(window) / divisor, with zero padding.

    Args:
        kernel_size: window size k, an int or a pair (kH, kW).
        stride: step s between windows, int or pair (default None: kernel_size).
        padding: p rows/columns of zeros on each side, int or pair, <= kernel_size // 2 (default 0).
        ceil_mode: round the output size up instead of down, dropping a last window that
            would start in the right/bottom padding (default False).
        count_include_pad: the divisor counts the window's padding cells (default True);
            False counts only cells inside the input.
        divisor_override: a non-zero int used as the divisor of every window (default None).

    Shape:
        - Input: (N, C, H, W) or (C, H, W).
        - Output: (N, C, H_out, W_out) or (C, H_out, W_out), where per axis
          H_out = floor((H + 2p - k)/s) + 1 (ceil instead of floor with ceil_mode).

    Example::

        >>> x = fn.arange(16.).reshape(1, 1, 4, 4)
        >>> nn.AvgPool2d(2)(x).numpy()
        array([[[[ 2.5,  4.5],
                 [10.5, 12.5]]]], dtype=float32)
        >>> nn.AvgPool2d(2, divisor_override=1)(x).numpy()
        array([[[[10., 18.],
                 [42., 50.]]]], dtype=float32)
    """

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                 divisor_override=None):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None and stride != [] else kernel_size
        self.padding, self.ceil_mode = padding, ceil_mode
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"

    def forward(self, input):
        return F.avg_pool2d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)


class _AdaptiveAvgPool(Module):
    _fn = "adaptive_avg_pool2d"

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"

    def forward(self, input):
        return getattr(F, self._fn)(input, self.output_size)


class AdaptiveAvgPool1d(_AdaptiveAvgPool):
    """Average pooling of a sequence to a given length L_out, the windows chosen to fit.

    Output i averages input elements ``[floor(i*L/L_out), ceil((i+1)*L/L_out))``, so windows
    overlap by one element when L_out does not divide L.

    Args:
        output_size: L_out, an int (or a 1-tuple; None keeps L).

    Shape:
        - Input: (N, C, L) or (C, L).
        - Output: (N, C, L_out) or (C, L_out).

    Example::

        >>> m = nn.AdaptiveAvgPool1d(2)
        >>> m(fn.tensor([[[1., 3., 2., 6., 4.]]])).numpy()
        array([[[2., 4.]]], dtype=float32)
    """
    _fn = "adaptive_avg_pool1d"


class AdaptiveAvgPool2d(_AdaptiveAvgPool):
    """Average pooling of feature maps to a given (H_out, W_out); output_size=1 is global pooling.

    Output (i, j) averages rows ``[floor(i*H/H_out), ceil((i+1)*H/H_out))`` and the columns
    found the same way, so windows overlap when H_out does not divide H.

    Args:
        output_size: (H_out, W_out), an int for both or a pair; a None entry keeps that
            input size.

    Shape:
        - Input: (N, C, H, W) or (C, H, W).
        - Output: (N, C, H_out, W_out) or (C, H_out, W_out).

    Example::

        >>> x = fn.arange(16.).reshape(1, 1, 4, 4)
        >>> nn.AdaptiveAvgPool2d(1)(x).numpy()
        array([[[[7.5]]]], dtype=float32)
        >>> nn.AdaptiveAvgPool2d((2, None))(x).shape
        (1, 1, 2, 4)
    """
    _fn = "adaptive_avg_pool2d"


class _AdaptiveMaxPool(Module):
    _fn = "adaptive_max_pool2d"

    def __init__(self, output_size, return_indices=False):
        super().__init__()
        self.output_size, self.return_indices = output_size, return_indices

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"

    def forward(self, input):
        return getattr(F, self._fn)(input, self.output_size, self.return_indices)


class AdaptiveMaxPool1d(_AdaptiveMaxPool):
    """Max pooling of a sequence to a given length L_out, the windows chosen to fit.

    Output i is the max of input elements ``[floor(i*L/L_out), ceil((i+1)*L/L_out))``.

    Args:
        output_size: L_out, an int (or a 1-tuple; None keeps L).
        return_indices: also return each window's argmax (first maximum) as int64 indices
            into L (default False).

    Shape:
        - Input: (N, C, L) or (C, L).
        - Output: (N, C, L_out) or (C, L_out); the indices have the same shape.

    Example::

        >>> m = nn.AdaptiveMaxPool1d(2, return_indices=True)
        >>> out, idx = m(fn.tensor([[[1., 3., 2., 6., 4.]]]))
        >>> out.numpy(), idx.numpy()
        (array([[[3., 6.]]], dtype=float32), array([[[1, 3]]]))
    """
    _fn = "adaptive_max_pool1d"


class AdaptiveMaxPool2d(_AdaptiveMaxPool):
    """Max pooling of feature maps to a given (H_out, W_out); output_size=1 is global max pooling.

    Output (i, j) is the max over rows ``[floor(i*H/H_out), ceil((i+1)*H/H_out))`` and the
    columns found the same way.

    Args:
        output_size: (H_out, W_out), an int for both or a pair; a None entry keeps that
            input size.
        return_indices: also return each window's argmax (first maximum in row-major order)
            as int64 flat indices into the ``H*W`` plane (default False).

    Shape:
        - Input: (N, C, H, W) or (C, H, W).
        - Output: (N, C, H_out, W_out) or (C, H_out, W_out); the indices have the same shape.

    Example::

        >>> m = nn.AdaptiveMaxPool2d(2)
        >>> m(fn.arange(25.).reshape(1, 1, 5, 5)).numpy()
        array([[[[12., 14.],
                 [22., 24.]]]], dtype=float32)
    """
    _fn = "adaptive_max_pool2d"
