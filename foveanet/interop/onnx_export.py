"""``foveanet.onnx.export``: trace a model on an example input and write it as ONNX.

Tracing: the model runs once (eval mode, no grad) with a tracer made active for the calling
thread only (``foveanet.autograd.tracing``, a context variable). The public ops — the functions
of ``foveanet.functional``, ``foveanet.cat``/``stack``/``flatten`` and the Tensor operators
(``+``, ``*``, ``@``, ``reshape``...) — hand their calls to it: it runs the op, then emits ONNX
nodes for it, mapping every produced Tensor (by identity) to an ONNX value name. Ops called
from inside a recorded op are not recorded (``log_softmax`` using ``exp`` internally emits one
node). Any other differentiable op reached at the top level would be missing from the graph, so
``Function.apply`` asks the tracer too: it raises a ``ValueError`` naming the op and the module
it was called from.

Module forward hooks are not needed: every layer of ``foveanet.nn`` is a wrapper over these
functions, so Conv2d, BatchNorm2d, residual ``+`` and ``cat`` in a DenseNet all show up the
same way. Parameters and buffers become initializers under their ``state_dict`` names.
Nothing is patched, so threads can export different models at the same time.
"""
from __future__ import annotations

import inspect

import numpy as np

from foveanet.autograd import Tensor, no_grad
from foveanet.autograd.tracing import Dim, tracing
from foveanet.serialization import atomic_write

__all__ = ["export"]


class _Tracer:
    def __init__(self, model, opset: int, dynamic_batch: bool):
        from onnx import helper

        self.helper, self.opset, self.dynamic_batch = helper, opset, dynamic_batch
        self.nodes, self.inits, self.names, self.keep = [], {}, {}, []
        self.depth, self.count = 0, 0
        self.handlers = _handlers()
        self.param_names, self.module_names = {}, {}
        if hasattr(model, "named_modules"):
            for name, mod in model.named_modules():
                self.module_names[id(mod)] = name or type(mod).__name__
        for getter in ("named_parameters", "named_buffers"):
            if hasattr(model, getter):
                for name, t in getattr(model, getter)():
                    self.param_names.setdefault(id(t), name)
                    if isinstance(t, Tensor):
                        self.param_names.setdefault(id(t.data), name)

    # --------------------------------------------------------------- value names
    def fresh(self, stem: str) -> str:
        self.count += 1
        return f"{stem}_{self.count}"

    def bind(self, tensor, name: str) -> None:
        self.names[id(tensor)] = name
        self.keep.append(tensor)  # alive until the end, so that no id is reused

    def const(self, arr, stem: str = "const") -> str:
        name = self.fresh(stem)
        self.inits[name] = np.array(arr, copy=True)
        return name

    def ints(self, values) -> str:
        return self.const(np.asarray(values, dtype=np.int64).reshape(-1), "shape")

    # ---------------------------------------------------------------- sizes as ops
    def shape_of(self, tensor, shape: tuple) -> tuple:
        """``Tensor.shape`` while tracing: at the top level, the sizes of a graph value are
        ``Dim`` ints that remember where they came from (see ``shape_value``)."""
        if self.depth or id(tensor) not in self.names:
            return shape
        return tuple(Dim(n, tensor, i) for i, n in enumerate(shape))

    def is_dim(self, d) -> bool:
        return isinstance(d, Dim) and all(id(leaf.source) in self.names for leaf in d.leaves())

    def dim_value(self, d) -> str:
        """A 1-element int64 ONNX value computing the ``Dim`` ``d`` at run time: ``Shape`` of
        the value it was read from, then the ``Add``/``Sub``/``Mul``/``Div`` it went through."""
        if not isinstance(d, Dim):
            return self.ints([int(d)])
        if d.expr is not None:
            op, a, b = d.expr
            return self.node(op, [self.dim_value(a), self.dim_value(b)])[0]
        src, axis = self.names[id(d.source)], d.axis
        if self.opset >= 15:
            return self.node("Shape", [src], start=axis, end=axis + 1)[0]
        (whole,) = self.node("Shape", [src])
        return self.node("Slice", [whole, self.ints([axis]), self.ints([axis + 1])])[0]

    def shape_value(self, dims) -> str:
        """A 1-d int64 ONNX value holding ``dims``: each ``Dim`` computed at run time from the
        values it was read from (``dim_value``, so a batch size follows the input), the other
        sizes as constants, joined by ``Concat``."""
        parts, run = [], []
        for d in dims:
            if not self.is_dim(d):
                run.append(int(d))
                continue
            if run:
                parts.append(self.ints(run))
                run = []
            parts.append(self.dim_value(d))
        if run:
            parts.append(self.ints(run))
        if len(parts) == 1:
            return parts[0]
        return self.node("Concat", parts, axis=0)[0]

    def name(self, x, like=None) -> str:
        """The ONNX value for an op's operand: a traced tensor, a parameter or a constant."""
        key = id(x)
        if key in self.names:
            return self.names[key]
        if isinstance(x, Tensor):
            arr = x.data
            pname = self.param_names.get(key) or self.param_names.get(id(arr))
        else:
            pname = self.param_names.get(key)
            dtype = like.dtype if like is not None and not isinstance(x, np.ndarray) else None
            arr = np.asarray(x, dtype=dtype)
        if pname is not None:
            if pname not in self.inits:
                self.inits[pname] = np.array(arr, copy=True)
            return pname
        name = self.const(arr)
        if isinstance(x, Tensor):
            self.bind(x, name)
        return name

    # ---------------------------------------------------------------------- nodes
    def node(self, op: str, inputs, n_out: int = 1, **attrs) -> list:
        outs = [self.fresh(op.lower()) for _ in range(n_out)]
        attrs = {k: v for k, v in attrs.items() if v is not None}
        self.nodes.append(self.helper.make_node(op, list(inputs), outs, name=self.fresh(op), **attrs))
        return outs

    def emit(self, op: str, inputs, out, **attrs) -> None:
        """One node whose single output is the Tensor ``out``."""
        (name,) = self.node(op, inputs, **attrs)
        self.bind(out, name)

    # ------------------------------------------------------------- tracing hooks
    def record(self, key: str, fn, args, kwargs):
        """A traceable op called in this thread: run it, then emit its nodes (top level only)."""
        handler = self.handlers.get(key)
        if self.depth or handler is None:
            # an op without a mapping runs as it is: a Function it applies is refused below
            return fn(*args, **kwargs)
        self.depth += 1
        try:
            out = fn(*args, **kwargs)
        finally:
            self.depth -= 1
        bound = inspect.signature(fn).bind(*args, **kwargs)
        bound.apply_defaults()
        try:
            handler(self, bound.arguments, out)
        except (ValueError, TypeError, NotImplementedError) as e:
            raise type(e)(f"onnx.export: {fn.__name__}{self.module_context()}: {e}") from None
        return out

    def applying(self, cls) -> None:
        """``Function.apply`` of ``cls``: outside a recorded op, its output would be missing."""
        if self.depth == 0:
            frame = inspect.currentframe().f_back.f_back  # the caller of Function.apply
            raise ValueError(f"onnx.export: no ONNX mapping for {_public_name(frame)} "
                             f"({cls.__name__}){self.module_context()}")

    def module_context(self) -> str:
        frame = inspect.currentframe()
        while frame is not None:
            obj = frame.f_locals.get("self")
            if id(obj) in self.module_names and frame.f_code.co_name == "forward":
                return f" in module {self.module_names[id(obj)]!r} ({type(obj).__name__})"
            frame = frame.f_back
        return ""


def _public_name(frame) -> str:
    """Outermost frame of the foveanet op layers above ``Function.apply``: the op the model
    called (``softplus``, ``Tensor.__getitem__``...)."""
    found = None
    while frame is not None:
        mod = frame.f_globals.get("__name__", "")
        if mod == "foveanet.autograd.tracing":
            pass
        elif mod.startswith(("foveanet.functional", "foveanet.autograd")):
            found = frame
        elif found is not None:
            break
        frame = frame.f_back
    if found is None:
        return "?"
    owner = "Tensor." if found.f_globals.get("__name__") == "foveanet.autograd.tensor" else ""
    return owner + found.f_code.co_name


def _handlers() -> dict:
    """trace name (``relu``, ``cat``, ``Tensor.__add__``) -> the handler emitting its nodes."""
    from foveanet.interop import _export_ops as ops
    from foveanet.interop import _export_tensor_ops as tensor_ops

    return {**ops.FUNCTIONAL, **tensor_ops.AUTOGRAD,
            **{f"Tensor.{name}": h for name, h in tensor_ops.TENSOR.items()}}


def _value_info(helper, name, arr, axes: dict):
    dims = list(arr.shape)
    for axis, symbol in axes.get(name, {}).items():
        if not -len(dims) <= axis < len(dims):
            raise ValueError(f"onnx.export: dynamic_axes names axis {axis} of {name!r}, which has "
                             f"{len(dims)} axes")
        dims[axis] = symbol
    return helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(arr.dtype), dims)


def _dynamic_axes(dynamic_axes, dynamic_batch, names) -> dict:
    """torch.onnx.export's ``dynamic_axes`` ({name: {axis: symbol}} or {name: [axes]}) as
    {name: {axis: symbol}}; None: axis 0 of every input and output is ``batch`` when
    ``dynamic_batch``."""
    if dynamic_axes is None:
        return {n: {0: "batch"} for n in names} if dynamic_batch else {}
    out = {}
    for name, axes in dict(dynamic_axes).items():
        if name not in names:
            raise ValueError(f"onnx.export: dynamic_axes names {name!r}, which is not an input or "
                             f"output (those are {', '.join(map(repr, names))})")
        if not isinstance(axes, dict):
            axes = {int(a): f"{name}_dynamic_axes_{int(a)}" for a in axes}
        out[name] = {int(a): str(s) for a, s in axes.items()}
    return out


def export(model, example_input, path, opset: int = 17, input_names=("input",),
           output_names=("output",), dynamic_batch: bool = True, dynamic_axes=None):
    """Trace a model on an example input and write it as an ONNX file.

    The model runs once (eval mode, no grad) while foveanet's ops emit ONNX nodes; parameters
    and buffers are stored as initializers named as in ``model.state_dict()``. Needs the
    ``onnx`` package; the file is replaced atomically.

    Args:
        model: the module (or callable) to export.
        example_input: a Tensor or array, or a tuple of them for several inputs.
        path: the ``.onnx`` file to write.
        opset: the ONNX opset, 13 to 20 (default 17).
        input_names: names of the graph inputs (default ``("input",)``; extra inputs get
            ``input_1``...).
        output_names: names of the graph outputs (default ``("output",)``).
        dynamic_batch: make the first axis of inputs and outputs symbolic (``batch``)
            (default True). Sizes the model reads from tensors and passes on unchanged
            (``x.view(x.size(0), -1)``, ``fn.zeros(x.shape[0], 4)``, ``x.expand(n, -1)``,
            ``zeros_like``) are exported as ``Shape`` ops, so the file runs at any batch size;
            a size computed from them (``x.size(0) * 2``) is a constant.
        dynamic_axes: as in ``torch.onnx.export``: ``{name: {axis: symbol}}`` or
            ``{name: [axes]}`` for inputs and outputs; replaces ``dynamic_batch``'s choice
            (default None).

    Returns:
        onnx.ModelProto: the graph, checked with ``onnx.checker``.

    Raises:
        ValueError: an op with no ONNX mapping, naming it and the module that called it.

    Example::

        >>> import os, tempfile
        >>> model = nn.Sequential(nn.Linear(3, 2), nn.ReLU())
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     proto = fn.onnx.export(model, fn.ones(1, 3), os.path.join(tmp, "model.onnx"))
        >>> [node.op_type for node in proto.graph.node]
        ['Gemm', 'Relu', 'Identity']
        >>> [init.name for init in proto.graph.initializer]
        ['0.weight', '0.bias']
    """
    import onnx
    from onnx import helper, numpy_helper

    if not 13 <= opset <= 20:
        raise ValueError(f"onnx.export: opset {opset} is not supported (13 to 20 are)")
    inputs = example_input if isinstance(example_input, (tuple, list)) else (example_input,)
    inputs = [x if isinstance(x, Tensor) else Tensor(np.asarray(x)) for x in inputs]
    in_names = list(input_names) + [f"input_{i}" for i in range(len(input_names), len(inputs))]
    tracer = _Tracer(model, opset, dynamic_batch if dynamic_axes is None
                     else 0 in dict(dynamic_axes).get(in_names[0], ()))
    for x, name in zip(inputs, in_names):
        tracer.bind(x, name)
    modes = [(m, m.training) for _, m in model.named_modules()] if hasattr(model, "named_modules") else []
    if hasattr(model, "eval"):
        model.eval()
    try:
        with no_grad(), tracing(tracer):
            result = model(*inputs)
    finally:
        for m, was_training in modes:
            m.training = was_training
    outs = list(result) if isinstance(result, (tuple, list)) else [result]
    out_names = list(output_names) + [f"output_{i}" for i in range(len(output_names), len(outs))]
    for t, name in zip(outs, out_names):
        if not isinstance(t, Tensor):
            raise TypeError(f"onnx.export: the model returned {type(t).__name__}, expected Tensors")
        tracer.nodes.append(helper.make_node("Identity", [tracer.name(t)], [name], name=f"out_{name}"))
    axes = _dynamic_axes(dynamic_axes, dynamic_batch, in_names + out_names[:len(outs)])
    graph = helper.make_graph(
        tracer.nodes, type(model).__name__,
        [_value_info(helper, n, x.data, axes) for x, n in zip(inputs, in_names)],
        [_value_info(helper, n, t.data, axes) for t, n in zip(outs, out_names)],
        initializer=[numpy_helper.from_array(a, n) for n, a in tracer.inits.items()])
    opsets = [helper.make_opsetid("", opset)]
    proto = helper.make_model(graph, opset_imports=opsets, producer_name="foveanet",
                              ir_version=helper.find_min_ir_version_for(opsets))
    onnx.checker.check_model(proto)
    atomic_write(path, proto.SerializeToString())
    return proto
