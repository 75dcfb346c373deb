"""Run an ONNX model as a foveanet Module: ``foveanet.onnx.load(path)``.

The graph's float initializers become Parameters (BatchNormalization statistics become
buffers) registered under their ONNX names, split on dots into submodules, so a graph exported
from ``torch.nn`` keeps its ``state_dict`` keys (``layer1.0.conv1.weight``). ``forward`` walks
the nodes in order with foveanet ops, so the result can be fine-tuned with ``backward()``;
``train()``/``eval()`` switch BatchNormalization and Dropout as in PyTorch.
"""
from __future__ import annotations

import math
import os
import re

import numpy as np

from foveanet.autograd import Tensor
from foveanet.errors import UserError
from foveanet.interop import _onnx_fuse
from foveanet.interop._onnx_ops import OPS as _CORE_OPS
from foveanet.interop._onnx_resize import RESIZE_OPS as _RESIZE_OPS
from foveanet.interop._onnx_shape import SHAPE_OPS as _SHAPE_OPS
from foveanet.interop._onnx_window import WINDOW_OPS as _WINDOW_OPS

__all__ = ["load", "OnnxModule", "SUPPORTED_OPS", "OnnxLoadError"]

OPS = {**_CORE_OPS, **_WINDOW_OPS, **_SHAPE_OPS, **_RESIZE_OPS}
SUPPORTED_OPS = frozenset(OPS) | {"Constant"}
_MAX_DIMS = 64  # NumPy's limit
# UINT4, INT4, FLOAT4E2M1, UINT2, INT2, FLOAT6E2M3, FLOAT6E3M2: several elements a byte
_PACKED = frozenset({21, 22, 23, 25, 26, 27, 28})


class OnnxLoadError(UserError, ValueError):
    """An ONNX file ``foveanet.onnx.load`` cannot run: not a readable ModelProto, a tensor
    whose data does not match its declared type and shape, or operators foveanet has no
    equivalent for; the message names the file and what is wrong.

    A ``ValueError`` too, so that code catching that keeps working.

    Example::

        >>> import os, tempfile
        >>> from foveanet.interop.onnx_import import OnnxLoadError
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     path = os.path.join(tmp, "model.onnx")
        ...     with open(path, "wb") as f:
        ...         _ = f.write(b"\\x0a\\xff\\xff\\xff\\x0f")   # a field of 4 GB in a 5-byte file
        ...     try:
        ...         fn.onnx.load(path)
        ...     except OnnxLoadError as e:
        ...         print(str(e).split(": ", 1)[1][:32])
        not a readable ONNX model (Decod
    """


def _to_array(tensor, where: str) -> np.ndarray:
    """``numpy_helper.to_array``, after checking that the data the tensor holds matches the
    element count its dims declare (a 10^12-element tensor in a small file is refused before
    anything is allocated); raises ``OnnxLoadError``."""
    from onnx import TensorProto, helper, numpy_helper

    name = f"{where} {tensor.name!r:.80}"
    dims = list(tensor.dims)
    if len(dims) > _MAX_DIMS or any(d < 0 for d in dims):
        raise OnnxLoadError(f"tensor {name} has dims {dims[:_MAX_DIMS + 1]}; expected at most "
                            f"{_MAX_DIMS} sizes >= 0")
    if tensor.HasField("segment"):
        raise OnnxLoadError(f"tensor {name} is a segment of a larger tensor, which foveanet does not read")
    try:
        dtype = helper.tensor_dtype_to_np_dtype(tensor.data_type)
        field = helper.tensor_dtype_to_field(tensor.data_type)
    except KeyError:
        raise OnnxLoadError(f"tensor {name} has unknown data type {tensor.data_type}") from None
    if tensor.data_type == TensorProto.STRING:
        raise OnnxLoadError(f"tensor {name} holds strings; foveanet runs numeric tensors only")
    count = math.prod(dims)
    if tensor.data_location == TensorProto.EXTERNAL or tensor.data_type in _PACKED:
        held = None  # external: onnx.load has read it already; packed: to_array checks the size
    elif tensor.HasField("raw_data"):
        held, need, unit = len(tensor.raw_data), count * dtype.itemsize, "bytes"
    else:
        per = 2 if tensor.data_type in (TensorProto.COMPLEX64, TensorProto.COMPLEX128) else 1
        held, need, unit = len(getattr(tensor, field)), count * per, f"values in {field}"
    if held is not None and held != need:
        raise OnnxLoadError(f"tensor {name} declares dims {dims} ({count} elements of "
                            f"{TensorProto.DataType.Name(tensor.data_type)}) but holds {held} "
                            f"{unit}, expected {need}")
    try:
        return numpy_helper.to_array(tensor)
    except (ValueError, TypeError, KeyError, OSError) as e:
        raise OnnxLoadError(f"tensor {name} cannot be read ({type(e).__name__}: {e})") from None


class _Node:
    __slots__ = ("op_type", "name", "inputs", "outputs", "attrs")

    def __init__(self, proto):
        from onnx import helper

        self.op_type, self.name = proto.op_type, proto.name
        self.inputs, self.outputs = list(proto.input), list(proto.output)
        self.attrs = {}
        for a in proto.attribute:
            where = f"attribute {a.name!r:.80} of node {self.name!r:.80}"
            try:
                value = helper.get_attribute_value(a)
                if isinstance(value, bytes):
                    value = value.decode("utf-8")
                elif isinstance(value, list):
                    value = [v.decode("utf-8") if isinstance(v, bytes) else v for v in value]
            except ValueError as e:  # an attribute type onnx does not know, text that is not UTF-8
                raise OnnxLoadError(f"{where} cannot be read ({type(e).__name__}: {e})") from None
            if a.type == a.TENSOR:
                value = _to_array(a.t, where)
            self.attrs[a.name] = value


def _constant_value(node: _Node) -> np.ndarray:
    for key, cast in (("value", None), ("value_float", np.float32), ("value_floats", np.float32),
                      ("value_int", np.int64), ("value_ints", np.int64)):
        if key in node.attrs:
            return np.asarray(node.attrs[key], dtype=cast)
    raise OnnxLoadError(f"Constant node {node.name!r:.80}: only value/value_float(s)/value_int(s) "
                        "are supported")


def _check_supported(graph, opsets) -> None:
    bad = {}  # op -> the first node using it
    for n in graph.node:
        domain = n.domain if n.domain not in ("", "ai.onnx") else ""
        if domain or n.op_type not in SUPPORTED_OPS:
            bad.setdefault(f"{domain}::{n.op_type}" if domain else n.op_type, (n.name, domain))
    if bad:
        nodes = ", ".join(f"{name!r:.80} ({op}, opset {opsets.get(dom, '?')})"
                          for op, (name, dom) in sorted(bad.items()))
        raise OnnxLoadError(f"node {nodes}: ONNX graph uses operators foveanet cannot run: "
                            f"{', '.join(sorted(bad))} (supported: {', '.join(sorted(SUPPORTED_OPS))})")


# what OnnxModule holds before the initializers are registered (besides a Module's own)
_ONNX_ATTRS = frozenset({"opset", "_nodes", "input_names", "output_names", "_consts", "_paths",
                         "_fused"})


def _attr_path(name: str, taken: set) -> tuple:
    """ONNX initializer name -> (submodule path, attribute); non-identifier characters become _."""
    from foveanet.nn import Module

    # a part that names a Module method (eval, to, ...) or attribute (training, opset, ...)
    # or is not an identifier gets renamed
    instance = _ONNX_ATTRS.union(vars(Module()))   # training, _parameters, ...

    def free(p):
        return p + "_" if hasattr(Module, p) or p in instance else p

    parts = [free(re.sub(r"\W", "_", p) or "_") for p in name.split(".")]
    path = tuple(parts)
    # a name that is both a leaf and a prefix of another cannot nest; keep it flat instead
    # (taken holds the leaves, and (None, *prefix) for the submodules made so far)
    def clash(path):
        return path in taken or (None, *path) in taken

    if any(path[:i] in taken for i in range(1, len(path))) or clash(path):
        path = (free("_".join(parts)),)
        while clash(path):
            path = (path[0] + "_",)
    taken.add(path)
    taken.update((None, *path[:i]) for i in range(1, len(path)))
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
            _check_supported(graph, {("" if o.domain == "ai.onnx" else o.domain): o.version
                                     for o in model.opset_import})
            self.opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 13)
            self._nodes = [_Node(n) for n in graph.node]
            init = {t.name: _to_array(t, "initializer") for t in graph.initializer}
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
                    if len(n.outputs) != 1:
                        raise OnnxLoadError(f"Constant node {n.name!r:.80} has {len(n.outputs)} "
                                            "outputs, expected 1")
                    self._consts[n.outputs[0]] = _constant_value(n)
            self._fused = _onnx_fuse.plan(self._nodes, self._consts, self.output_names, self.opset)

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
            fused = self._fused if _onnx_fuse.active() else {}
            skip = set()
            for k, node in enumerate(self._nodes):
                if node.op_type == "Constant" or k in skip:
                    continue
                args = [env[i] if i else None for i in node.inputs]
                try:
                    step = fused.get(k)
                    y = (None if step is None
                         else _onnx_fuse.conv(node, args, step, env, self.training))
                    if y is not None:  # the conv ran with its Add and Relu/Clip
                        env[step.output] = y
                        skip.update(step.absorbed)
                        continue
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
        OnnxLoadError: (a ``ValueError``) naming the file: not a readable ModelProto, a
            tensor whose data does not match its declared type and dims (checked before
            anything of that size is allocated), or every operator of the graph that has no
            foveanet equivalent (the supported ones: ``foveanet.onnx.SUPPORTED_OPS``).

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
    from google.protobuf.message import DecodeError

    model, where = path_or_model, "the ONNX model"
    if not isinstance(model, onnx.ModelProto):
        where = os.fspath(path_or_model)
        with open(where, "rb"):  # a missing file stays a FileNotFoundError
            pass
        try:
            model = onnx.load(where)
        except (DecodeError, ValueError, OSError, RecursionError, onnx.checker.ValidationError) as e:
            # a damaged protobuf, external data that is missing or outside the model's folder
            raise OnnxLoadError(f"{where}: not a readable ONNX model ({type(e).__name__}: {e})") from None
    try:
        _check_text(model)
        return __getattr__("OnnxModule")(model)
    except OnnxLoadError as e:
        raise OnnxLoadError(f"{where}: {e}") from None


def _check_text(model) -> None:
    """protobuf hands a string field that is not UTF-8 over as bytes: refuse it here rather
    than meet bytes among the names."""
    g = model.graph
    texts = [o.domain for o in model.opset_import]
    texts += [v.name for v in (*g.input, *g.output, *g.initializer)]
    for n in g.node:
        texts += [n.op_type, n.domain, n.name, *n.input, *n.output, *(a.name for a in n.attribute)]
    bad = next((t for t in texts if not isinstance(t, str)), None)
    if bad is not None:
        raise OnnxLoadError(f"the graph holds a name that is not UTF-8 text: {bad!r:.80}")
