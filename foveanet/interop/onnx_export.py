"""``foveanet.onnx.export``: trace a model on an example input and write it as ONNX.

Tracing: while the model runs once (eval mode, no grad), the public ops it can reach — the
functions of ``foveanet.functional`` (wherever they were imported: ``F.conv2d``,
``foveanet.flatten``...) and the Tensor operators (``+``, ``*``, ``@``, ``reshape``...) — are
temporarily replaced by wrappers that run the op and then emit ONNX nodes for it, mapping every
produced Tensor (by identity) to an ONNX value name. Ops called from inside a wrapped op are
not recorded (``log_softmax`` using ``exp`` internally emits one node). Any other differentiable
op reached at the top level would be missing from the graph, so ``Function.apply`` is guarded
too: it raises a ``ValueError`` naming the op and the module it was called from.

Module forward hooks are not needed: every layer of ``foveanet.nn`` is a wrapper over these
functions, so Conv2d, BatchNorm2d, residual ``+`` and ``cat`` in a DenseNet all show up the
same way. Parameters and buffers become initializers under their ``state_dict`` names.
Not thread-safe: the patching is process-wide for the duration of the export.
"""
from __future__ import annotations

import functools
import inspect
import sys

import numpy as np

from foveanet.autograd import Function, Tensor, no_grad
from foveanet.serialization import atomic_write

__all__ = ["export"]

_ACTIVE = []


class _Tracer:
    def __init__(self, model, opset: int, dynamic_batch: bool):
        from onnx import helper

        self.helper, self.opset, self.dynamic_batch = helper, opset, dynamic_batch
        self.nodes, self.inits, self.names, self.keep = [], {}, {}, []
        self.depth, self.count = 0, 0
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
        if mod.startswith(("foveanet.functional", "foveanet.autograd")):
            found = frame
        elif found is not None:
            break
        frame = frame.f_back
    if found is None:
        return "?"
    owner = "Tensor." if found.f_globals.get("__name__") == "foveanet.autograd.tensor" else ""
    return owner + found.f_code.co_name


class _Patches:
    """Install the wrappers, the Function.apply guard, and put everything back afterwards."""

    def __init__(self, tracer: _Tracer):
        from foveanet.interop import _export_ops as ops
        from foveanet.interop import _export_tensor_ops as tensor_ops

        self.tracer, self.undo = tracer, []
        self.wrappers = {}   # id(wrapper) -> (wrapper, original): see restore()
        originals = {}
        import foveanet.functional as F
        from foveanet.autograd import ops as autograd_ops

        for name, handler in ops.FUNCTIONAL.items():
            fn = getattr(F, name, None)
            if fn is not None:
                originals[id(fn)] = (fn, self._wrap(fn, handler))
        for name, handler in tensor_ops.AUTOGRAD.items():
            fn = getattr(autograd_ops, name)
            originals[id(fn)] = (fn, self._wrap(fn, handler))
        for mod_name, mod in list(sys.modules.items()):
            if mod is None or not mod_name.startswith("foveanet") or mod_name.startswith("foveanet.interop"):
                continue
            for attr, value in list(vars(mod).items()):
                hit = originals.get(id(value))
                if hit is not None and hit[0] is value:
                    self.undo.append((mod, attr, value))
                    setattr(mod, attr, hit[1])
        for name, handler in tensor_ops.TENSOR.items():
            fn = Tensor.__dict__[name]
            self.undo.append((Tensor, name, fn))
            setattr(Tensor, name, self._wrap(fn, handler))
        apply = Function.__dict__["apply"]
        self.undo.append((Function, "apply", apply))

        def guarded(cls, *inputs, **settings):
            if tracer.depth == 0:
                raise ValueError(
                    f"onnx.export: no ONNX mapping for {_public_name(inspect.currentframe().f_back)} "
                    f"({cls.__name__}){tracer.module_context()}")
            return apply.__func__(cls, *inputs, **settings)

        Function.apply = classmethod(guarded)

    def _wrap(self, fn, handler):
        sig, tracer = inspect.signature(fn), self.tracer

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            if tracer.depth:
                return fn(*args, **kwargs)
            tracer.depth += 1
            try:
                out = fn(*args, **kwargs)
            finally:
                tracer.depth -= 1
            bound = sig.bind(*args, **kwargs)
            bound.apply_defaults()
            try:
                handler(tracer, bound.arguments, out)
            except (ValueError, TypeError, NotImplementedError) as e:
                raise type(e)(f"onnx.export: {fn.__name__}{tracer.module_context()}: {e}") from None
            return out
        self.wrappers[id(wrapper)] = (wrapper, fn)
        return wrapper

    def restore(self):
        for owner, attr, value in reversed(self.undo):
            setattr(owner, attr, value)
        # a lazily exported name (``foveanet.cat``) first touched during the export was
        # cached on its package as the wrapper it resolved to: put the original there too
        for mod_name, mod in list(sys.modules.items()):
            if mod is None or not mod_name.startswith("foveanet"):
                continue
            for attr, value in list(vars(mod).items()):
                hit = self.wrappers.get(id(value))
                if hit is not None and hit[0] is value:
                    setattr(mod, attr, hit[1])


def _value_info(helper, name, arr, dynamic):
    dims = list(arr.shape)
    if dynamic and dims:
        dims[0] = "batch"
    return helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(arr.dtype), dims)


def export(model, example_input, path, opset: int = 17, input_names=("input",),
           output_names=("output",), dynamic_batch: bool = True):
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
        dynamic_batch: make the first axis of inputs and outputs symbolic (``batch``); the
            graph must then not bake the batch size into a constant shape
            (``x.view(x.size(0), -1)`` is recognised and written as Reshape with 0)
            (default True).

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
    if _ACTIVE:
        raise RuntimeError("onnx.export: another export is running in this process")
    inputs = example_input if isinstance(example_input, (tuple, list)) else (example_input,)
    inputs = [x if isinstance(x, Tensor) else Tensor(np.asarray(x)) for x in inputs]
    in_names = list(input_names) + [f"input_{i}" for i in range(len(input_names), len(inputs))]
    tracer = _Tracer(model, opset, dynamic_batch)
    for x, name in zip(inputs, in_names):
        tracer.bind(x, name)
    modes = [(m, m.training) for _, m in model.named_modules()] if hasattr(model, "named_modules") else []
    if hasattr(model, "eval"):
        model.eval()
    _ACTIVE.append(tracer)
    patches = _Patches(tracer)
    try:
        with no_grad():
            result = model(*inputs)
    finally:
        patches.restore()
        _ACTIVE.clear()
        for m, was_training in modes:
            m.training = was_training
    outs = list(result) if isinstance(result, (tuple, list)) else [result]
    out_names = list(output_names) + [f"output_{i}" for i in range(len(output_names), len(outs))]
    for t, name in zip(outs, out_names):
        if not isinstance(t, Tensor):
            raise TypeError(f"onnx.export: the model returned {type(t).__name__}, expected Tensors")
        tracer.nodes.append(helper.make_node("Identity", [tracer.name(t)], [name], name=f"out_{name}"))
    graph = helper.make_graph(
        tracer.nodes, type(model).__name__,
        [_value_info(helper, n, x.data, dynamic_batch) for x, n in zip(inputs, in_names)],
        [_value_info(helper, n, t.data, dynamic_batch) for t, n in zip(outs, out_names)],
        initializer=[numpy_helper.from_array(a, n) for n, a in tracer.inits.items()])
    opsets = [helper.make_opsetid("", opset)]
    proto = helper.make_model(graph, opset_imports=opsets, producer_name="foveanet",
                              ir_version=helper.find_min_ir_version_for(opsets))
    onnx.checker.check_model(proto)
    atomic_write(path, proto.SerializeToString())
    return proto
