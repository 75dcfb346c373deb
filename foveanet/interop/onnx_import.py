"""Run an ONNX model as a foveanet Module: ``foveanet.onnx.load(path)``.

The graph's float initializers become Parameters (BatchNormalization statistics become
buffers) registered under their ONNX names, split on dots into submodules, so a graph exported
from ``torch.nn`` keeps its ``state_dict`` keys (``layer1.0.conv1.weight``). ``forward`` walks
the nodes in order with foveanet ops, so the result can be fine-tuned with ``backward()``;
``train()``/``eval()`` switch BatchNormalization and Dropout as in PyTorch.
"""
from __future__ import annotations

import os
import re

import numpy as np

from foveanet.autograd import Tensor
from foveanet.interop._onnx_ops import OPS as _CORE_OPS
from foveanet.interop._onnx_shape import SHAPE_OPS as _SHAPE_OPS

__all__ = ["load", "OnnxModule", "SUPPORTED_OPS"]

OPS = {**_CORE_OPS, **_SHAPE_OPS}
SUPPORTED_OPS = frozenset(OPS) | {"Constant"}


class _Node:
    __slots__ = ("op_type", "name", "inputs", "outputs", "attrs")

    def __init__(self, proto):
        from onnx import helper

        self.op_type, self.name = proto.op_type, proto.name
        self.inputs, self.outputs = list(proto.input), list(proto.output)
        self.attrs = {}
        for a in proto.attribute:
            value = helper.get_attribute_value(a)
            if isinstance(value, bytes):
                value = value.decode("utf-8")
            elif a.type == a.TENSOR:
                from onnx import numpy_helper

                value = numpy_helper.to_array(a.t)
            elif isinstance(value, list):
                value = [v.decode("utf-8") if isinstance(v, bytes) else v for v in value]
            self.attrs[a.name] = value


def _constant_value(node: _Node) -> np.ndarray:
    for key, cast in (("value", None), ("value_float", np.float32), ("value_floats", np.float32),
                      ("value_int", np.int64), ("value_ints", np.int64)):
        if key in node.attrs:
            return np.asarray(node.attrs[key], dtype=cast)
    raise ValueError(f"Constant node {node.name!r}: only value/value_float(s)/value_int(s) are supported")


def _check_supported(graph) -> None:
    bad = set()
    for n in graph.node:
        domain = n.domain if n.domain not in ("", "ai.onnx") else ""
        if domain or n.op_type not in SUPPORTED_OPS:
            bad.add(f"{domain}::{n.op_type}" if domain else n.op_type)
    if bad:
        raise ValueError(f"ONNX graph uses operators foveanet cannot run: {', '.join(sorted(bad))} "
                         f"(supported: {', '.join(sorted(SUPPORTED_OPS))})")


def _attr_path(name: str, taken: set) -> tuple:
    """ONNX initializer name -> (submodule path, attribute); non-identifier characters become _."""
    from foveanet.nn import Module

    # a part that names a Module method (eval, to, ...) or is not an identifier gets renamed
    parts = [re.sub(r"\W", "_", p) or "_" for p in name.split(".")]
    parts = [p + "_" if hasattr(Module, p) else p for p in parts]
    path = tuple(parts)
    # a name that is both a leaf and a prefix of another cannot nest; keep it flat instead
    if any(path[:i] in taken for i in range(1, len(path))) or path in taken:
        path = ("_".join(parts),)
        while path in taken:
            path = (path[0] + "_",)
    taken.add(path)
    return path


class _Ctx:
    __slots__ = ("training", "opset")

    def __init__(self, training, opset):
        self.training, self.opset = training, opset


def _make_module_class():
    from foveanet import nn

    class _Scope(nn.Module):
        """Holds the parameters under one dotted prefix of the ONNX names."""

    class OnnxModule(nn.Module):
        """An ONNX graph executed with foveanet ops (see the module docstring)."""

        def __init__(self, model):
            super().__init__()
            from onnx import numpy_helper

            graph = model.graph
            _check_supported(graph)
            self.opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 13)
            self._nodes = [_Node(n) for n in graph.node]
            init = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
            self.input_names = [i.name for i in graph.input if i.name not in init]
            self.output_names = [o.name for o in graph.output]
            buffers = {n.inputs[i] for n in self._nodes if n.op_type == "BatchNormalization"
                       for i in (3, 4) if i < len(n.inputs)}
            self._consts, self._paths, taken = {}, {}, set()
            for name, arr in init.items():
                if arr.dtype.kind != "f":
                    self._consts[name] = arr
                    continue
                path = _attr_path(name, taken)
                owner = self
                for part in path[:-1]:
                    if part not in owner._modules:
                        owner.add_module(part, _Scope())
                    owner = owner._modules[part]
                arr = np.array(arr, copy=True)
                if name in buffers:
                    owner.register_buffer(path[-1], Tensor(arr))
                else:
                    owner.register_parameter(path[-1], nn.Parameter(Tensor(arr)))
                self._paths[name] = path
            for n in self._nodes:
                if n.op_type == "Constant":
                    self._consts[n.outputs[0]] = _constant_value(n)

        def _lookup(self, path):
            owner = self
            for part in path[:-1]:
                owner = getattr(owner, part)
            return getattr(owner, path[-1])

        def forward(self, *inputs):
            if len(inputs) != len(self.input_names):
                raise ValueError(f"OnnxModule: the graph takes {len(self.input_names)} inputs "
                                 f"({', '.join(self.input_names)}), got {len(inputs)}")
            env = dict(self._consts)
            env.update((name, self._lookup(path)) for name, path in self._paths.items())
            for name, x in zip(self.input_names, inputs):
                env[name] = x if isinstance(x, Tensor) else Tensor._wrap(np.asarray(x), False, None)
            ctx = _Ctx(self.training, self.opset)
            for node in self._nodes:
                if node.op_type == "Constant":
                    continue
                args = [env[i] if i else None for i in node.inputs]
                try:
                    outs = OPS[node.op_type](ctx, node, args)
                except (ValueError, TypeError) as e:
                    raise type(e)(f"ONNX node {node.name or node.op_type!r} ({node.op_type}): {e}") from e
                env.update(zip(node.outputs, outs))
            outs = tuple(env[n] for n in self.output_names)
            return outs[0] if len(outs) == 1 else outs

    return OnnxModule


_CLASS = None


def __getattr__(name):
    # the class is built on first use: foveanet.nn is imported lazily
    if name == "OnnxModule":
        global _CLASS
        if _CLASS is None:
            _CLASS = _make_module_class()
        return _CLASS
    raise AttributeError(name)


def load(path_or_model):
    """Load an ONNX model as a trainable foveanet Module.

    Float initializers become Parameters (BatchNormalization statistics buffers) under their
    ONNX names, split on dots into submodules, so a graph exported from ``torch.nn`` keeps
    its ``state_dict`` keys. ``forward`` runs the nodes in order with foveanet ops, so the
    module can be fine-tuned with ``backward()``. Needs the ``onnx`` package.

    Args:
        path_or_model: an ``.onnx`` file or an ``onnx.ModelProto``.

    Returns:
        OnnxModule: a ``foveanet.nn.Module``.

    Raises:
        ValueError: naming every operator of the graph that has no foveanet equivalent
            (the supported ones: ``foveanet.onnx.SUPPORTED_OPS``).

    Example::

        >>> import os, tempfile
        >>> model = nn.Sequential(nn.Linear(3, 2), nn.ReLU())
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     path = os.path.join(tmp, "model.onnx")
        ...     _ = fn.onnx.export(model, fn.ones(1, 3), path)
        ...     loaded = fn.onnx.load(path)
        >>> list(loaded.state_dict())
        ['0.weight', '0.bias']
        >>> x = fn.randn(4, 3)
        >>> np.allclose(loaded(x).numpy(), model(x).numpy())
        True
    """
    import onnx

    model = path_or_model
    if not isinstance(model, onnx.ModelProto):
        model = onnx.load(os.fspath(path_or_model))
    return __getattr__("OnnxModule")(model)
