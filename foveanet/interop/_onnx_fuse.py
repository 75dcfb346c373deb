"""Inference fusions of an imported ONNX graph: ``Conv [-> BatchNormalization] [-> Add]
[-> Relu | Clip]`` as one convolution with its epilogue (``functional.conv.conv2d_clamp``: the residual add and the
clamp on each thread's piece of the output while it is in cache, instead of one pass over
memory per node and per Python call).

The graph is planned once at load; the fused steps run only where nothing but round-off can
tell the difference: no autograd (``foveanet.no_grad``) and no exporter tracing the run,
and batch norm in eval mode (its running statistics folded in as ``models/fold.py`` does).
Otherwise ``OnnxModule`` walks the nodes one by one. torch's exporter has already
folded eval batch norm into the convs' weights and biases, so a ResNet's graph is
Conv/Relu/Add: ResNet-18 runs its 17 Relu and 8 Add nodes inside 17 of its 20 convs
(``benchmarks/bench_onnx.py``; the measurement is in ``benchmarks/results-onnx.md``).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from foveanet.autograd import is_grad_enabled
from foveanet.autograd import tracing as _tracing
from foveanet.geometry import conv_output
from foveanet.interop._onnx_common import _input, _np, _t, _torch_pads
from foveanet.interop._onnx_window import _window


class Fused(NamedTuple):
    bn: object | None      # the BatchNormalization node folded in, or None
    residual: str | None   # the Add's other operand (computed before the conv), or None
    clamp: tuple | None    # (lo, hi) of the Relu or Clip, or None
    output: str            # the value the last fused node wrote
    absorbed: tuple        # the indices of the nodes the conv runs (BN, Add, Relu/Clip)


def _clip_bounds(node, consts, opset):
    """(lo, hi) of a Clip whose bounds are known at load, else None."""
    if opset < 11:
        lo, hi = node.attrs.get("min", -np.inf), node.attrs.get("max", np.inf)
    else:
        names = [node.inputs[i] if i < len(node.inputs) else "" for i in (1, 2)]
        if any(n and n not in consts for n in names):
            return None
        lo, hi = (float(np.asarray(consts[n]).reshape(())) if n else d
                  for n, d in zip(names, (-np.inf, np.inf)))
    return float(lo), float(hi)


def plan(nodes, consts, graph_outputs, opset):
    """{conv node index: Fused} for the nodes (``onnx_import._Node``) in order; ``consts``
    the values known at load."""
    producer, uses, consts = {}, {}, dict(consts)
    for n in nodes:  # a bound torch exports as Cast(Constant): a constant too
        if n.op_type in ("Cast", "Identity") and n.inputs and n.inputs[0] in consts:
            consts[n.outputs[0]] = consts[n.inputs[0]]
    for i, n in enumerate(nodes):
        for name in n.outputs:
            producer[name] = i
        for name in n.inputs:
            uses.setdefault(name, []).append(i)
    for name in graph_outputs:
        uses.setdefault(name, []).append(None)

    def only_user(name):
        """The index of the one node reading ``name`` (not a graph output), else None."""
        u = uses.get(name, [])
        return u[0] if len(u) == 1 else None

    fused = {}
    for i, n in enumerate(nodes):
        if n.op_type != "Conv" or len(n.outputs) != 1 or n.attrs.get("auto_pad", "NOTSET") != "NOTSET":
            continue
        out, bn, residual, clamp, eaten = n.outputs[0], None, None, None, []
        j = only_user(out)
        if (j is not None and nodes[j].op_type == "BatchNormalization" and len(nodes[j].outputs) == 1
                and len(nodes[j].inputs) == 5 and not nodes[j].attrs.get("training_mode", 0)):
            bn, out, eaten = nodes[j], nodes[j].outputs[0], [j]
            j = only_user(out)
        if j is not None and nodes[j].op_type == "Add" and len(nodes[j].inputs) == 2:
            other = next((a for a in nodes[j].inputs if a != out), None)
            # the shortcut must exist when the conv runs: made before it, or known at load
            if other is not None and producer.get(other, -1) < i and other not in consts:
                residual, out, eaten = other, nodes[j].outputs[0], eaten + [j]
                j = only_user(out)
        if j is not None and nodes[j].op_type in ("Relu", "Clip"):
            clamp = (0.0, np.inf) if nodes[j].op_type == "Relu" else _clip_bounds(
                nodes[j], consts, opset)
            if clamp is not None:
                out, eaten = nodes[j].outputs[0], eaten + [j]
        if eaten:
            fused[i] = Fused(bn, residual, clamp, out, tuple(eaten))
    return fused


def active() -> bool:
    """Whether the fused steps may run now: no gradient recorded, no exporter tracing."""
    return not is_grad_enabled() and _tracing.current() is None


def _bn_affine(bn, b, env, dtype):
    """(s, b') with bn(conv + b) = conv * s + b' (``models/fold.py``'s formula)."""
    gamma, beta, mean, var = (_np(env[name]).astype(dtype, copy=False) for name in bn.inputs[1:5])
    s = gamma / np.sqrt(var + dtype.type(bn.attrs.get("epsilon", 1e-5)))
    shift = -mean if b is None else _np(b) - mean
    return s, (shift * s + beta).astype(dtype, copy=False)


def conv(node, ins, fused: Fused, env, training: bool):
    """The fused step: ONNX Conv (2-d, explicit pads) with its BatchNormalization, Add and
    Relu/Clip, or None where this conv cannot run fused (then the caller runs the nodes one
    by one): a BN in training mode, a shortcut that broadcasts."""
    from foveanet import functional as F
    from foveanet.functional.conv import conv2d_clamp

    x, w, b = ins[0], ins[1], _input(ins, 2)
    if w.ndim != 4 or (fused.bn is not None and training):
        return None
    scale = None
    if fused.bn is not None:
        scale, b = _bn_affine(fused.bn, b, env, _np(w).dtype)
        if node.attrs.get("group", 1) > 1:  # s in the weights, as models/fold.py does
            w, scale = _np(w) * scale.reshape(-1, 1, 1, 1), None
    strides, dilations, begins, ends = _window(node, x, list(node.attrs.get("kernel_shape",
                                                                           w.shape[2:])))
    if begins != ends:
        x, begins = F.pad(_t(x), _torch_pads(begins, ends)), [0, 0]
    residual = None if fused.residual is None else _np(env[fused.residual])
    if residual is not None:  # an Add that broadcasts stays a node of its own
        shape = [conv_output(n, k, 2 * p, s, d) for n, k, p, s, d in
                 zip(x.shape[2:], w.shape[2:], begins, strides, dilations)]
        if residual.shape != (x.shape[0], w.shape[0], *shape):
            return None
    return conv2d_clamp(_t(x), w, b, strides, begins, dilations, node.attrs.get("group", 1),
                        fused.clamp, scale, residual)
