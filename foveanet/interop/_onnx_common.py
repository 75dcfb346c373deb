"""What the ONNX operator modules share (``._onnx_ops``, ``._onnx_window``, ``._onnx_shape``,
``._onnx_resize``, used by ``foveanet.interop.onnx_import``).

Each operator takes ``(ctx, node, inputs)`` and returns the list of its outputs. Values are
foveanet Tensors (differentiable) or numpy arrays: shape arithmetic (Shape, Gather, Concat of
ints...) stays in numpy, so a ``x.view(x.size(0), -1)`` exported by torch costs no graph nodes.
``ctx`` carries ``training`` and the opset.
"""
from __future__ import annotations

import numpy as np

from foveanet.autograd import Tensor


def _np(v):
    return v.data if isinstance(v, Tensor) else np.asarray(v)


def _ints(v) -> list:
    return [int(i) for i in np.asarray(_np(v)).reshape(-1)]


def _t(v):
    return v if isinstance(v, Tensor) else Tensor._wrap(np.asarray(v), False, None)


def _input(inputs, i):
    return inputs[i] if i < len(inputs) else None


def _torch_pads(begins, ends) -> list:
    """ONNX pads (begin per axis, then end per axis) -> F.pad's order (last axis first)."""
    out = []
    for b, e in zip(reversed(begins), reversed(ends)):
        out += [int(b), int(e)]
    while len(out) > 2 and out[-1] == 0 and out[-2] == 0:
        out = out[:-2]
    return out
