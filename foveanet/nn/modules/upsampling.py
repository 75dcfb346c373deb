"""Upsample: a module around F.interpolate."""
from __future__ import annotations

import foveanet.functional as F
from foveanet.nn.modules.module import Module


class Upsample(Module):
    """Resize the spatial dims of a batch: ``F.interpolate`` with the stored settings.

    Give exactly one of ``size`` and ``scale_factor``; with a scale factor the output size is
    ``floor(n * scale_factor)``. Along each axis, output position dst reads the input at

        'nearest'         src = floor(dst * n_in/n_out)
        'nearest-exact'   src = floor((dst + 0.5) * n_in/n_out)

    where a scale factor (without ``recompute_scale_factor``) puts 1/scale_factor in place of
    n_in/n_out, as PyTorch; the linear modes are in ``F.interpolate``.

    Args:
        size: the output spatial size, an int or one per spatial dim (default None).
        scale_factor: a float, or one per spatial dim; stored as floats (default None).
        mode: ``'nearest'`` (the default), ``'nearest-exact'``, ``'linear'`` (3-d) or
            ``'bilinear'`` (4-d); PyTorch's 'bicubic', 'trilinear' and 'area' are not
            implemented (ValueError).
        align_corners: linear modes only: corner pixel centres map onto each other (default None: False).
        recompute_scale_factor: take the source coordinates from the output size, not from
            scale_factor (default None: no).

    Shape:
        - Input: (N, C, L) or (N, C, H, W) (no unbatched or 5-d input).
        - Output: (N, C, L_out) or (N, C, H_out, W_out), with H_out = size or
          ``floor(H * scale_factor)``.

    Example::

        >>> m = nn.Upsample(scale_factor=2)
        >>> m(fn.tensor([[[[1., 2.], [3., 4.]]]])).numpy()
        array([[[[1., 1., 2., 2.],
                 [1., 1., 2., 2.],
                 [3., 3., 4., 4.],
                 [3., 3., 4., 4.]]]], dtype=float32)
    """

    def __init__(self, size=None, scale_factor=None, mode: str = "nearest", align_corners=None,
                 recompute_scale_factor=None):
        super().__init__()
        self.size = size
        # stored as floats like PyTorch (shows as 2.0 in repr)
        if isinstance(scale_factor, (tuple, list)):
            self.scale_factor = tuple(float(s) for s in scale_factor)
        else:
            self.scale_factor = float(scale_factor) if scale_factor is not None else None
        self.mode, self.align_corners = mode, align_corners
        self.recompute_scale_factor = recompute_scale_factor

    def forward(self, input):
        return F.interpolate(input, self.size, self.scale_factor, self.mode, self.align_corners,
                             recompute_scale_factor=self.recompute_scale_factor)

    def extra_repr(self) -> str:
        info = f"scale_factor={self.scale_factor!r}" if self.scale_factor is not None else f"size={self.size!r}"
        return info + f", mode={self.mode!r}"
