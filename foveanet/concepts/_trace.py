"""One dry run of a model with forward hooks on every module: who ran, in what order, on what.

Shared by ``summary`` and ``receptive_field``. Written against the PyTorch module API
(named_modules, register_forward_hook, parameters, training), so it reads foveanet models
and, as a cross-check in tests, torch.nn models too.

To follow non-sequential models (a ResNet add, an Inception concat) the run records the
autograd graph: only the input requires a gradient (parameters are switched off for the run,
so convolutions keep no im2col buffers), and each layer's input is walked back through the
graph to the layers whose outputs it was computed from.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

__all__ = ["Call", "Trace", "trace"]


@dataclass
class Call:
    """One forward call of one module."""

    name: str
    module: object
    index: int                 # order of completion
    leaf: bool
    in_shapes: list
    out_shape: tuple | None
    out_bytes: int = 0
    in_keys: list = field(default_factory=list)
    out_key: int | None = None
    in_nodes: list = field(default_factory=list, repr=False)
    out_node: object = field(default=None, repr=False)


@dataclass
class Trace:
    calls: list
    input_keys: list
    sources: dict              # call index -> (call indices and input numbers its input came from)
    backend: str
    input_bytes: int = 0


def _is_torch(model) -> bool:
    for p in model.parameters():
        return type(p).__module__.startswith("torch")
    return type(model).__module__.startswith("torch")


def _first_tensor(obj):
    """The first tensor in a layer's output (tuples, lists, dicts, named tuples)."""
    if hasattr(obj, "shape") and hasattr(obj, "dtype"):
        return obj
    if isinstance(obj, dict):
        obj = list(obj.values())
    if isinstance(obj, (tuple, list)):
        for o in obj:
            t = _first_tensor(o)
            if t is not None:
                return t
    return None


def _tensors(obj) -> list:
    t = _first_tensor(obj)
    if isinstance(obj, (tuple, list)):
        return [x for o in obj for x in _tensors(o)]
    return [] if t is None else [t]


class _Graph:
    """Node identity and parents for foveanet's and torch's recorded graphs."""

    def __init__(self, torch: bool):
        self.torch = torch
        self.keep = []   # keeps nodes alive so that their ids stay unique during the run

    def node(self, t):
        n = getattr(t, "grad_fn" if self.torch else "_ctx", None)
        n = t if n is None else n
        self.keep.append(n)
        return n

    def key(self, n) -> int:
        if self.torch and type(n).__name__ == "AccumulateGrad":
            return id(n.variable)
        return id(n)

    def parents(self, n) -> list:
        if self.torch:
            return [f for f, _ in getattr(n, "next_functions", ()) if f is not None]
        out = []
        for x in getattr(n, "inputs", ()):
            if hasattr(x, "_ctx"):
                out.append(x._ctx if x._ctx is not None else x)
        self.keep.extend(out)
        return out


def _zeros(torch: bool, shape, dtype, grad: bool):
    if torch:
        import torch as T
        return T.zeros(shape, dtype=dtype or T.get_default_dtype(), requires_grad=grad)
    import foveanet
    return foveanet.zeros(*shape, dtype=dtype, requires_grad=grad)


def _grad_mode(torch: bool, enabled: bool):
    if torch:
        import torch as T
        return T.enable_grad() if enabled else T.no_grad()
    import foveanet
    return foveanet.enable_grad() if enabled else foveanet.no_grad()


def _nbytes(t) -> int:
    item = getattr(t, "itemsize", None) or getattr(getattr(t, "dtype", None), "itemsize", None)
    if item is None:
        item = t.element_size() if hasattr(t, "element_size") else 4
    return int(math.prod(tuple(t.shape))) * int(item)


def _input_sizes(input_size) -> list:
    sizes = list(input_size)
    if sizes and all(isinstance(s, int) for s in sizes):
        return [tuple(sizes)]
    return [tuple(s) for s in sizes]


def trace(model, input_size, dtypes=None, graph: bool = True) -> Trace:
    """Runs ``model`` once in eval mode on zeros of shape (1, *input_size) and records every
    module call. ``input_size`` is one shape without the batch axis, or a list of them for
    models with several inputs. ``graph`` records the autograd graph (see the module doc)."""
    torch = _is_torch(model)
    sizes = _input_sizes(input_size)
    dtypes = list(dtypes) if dtypes is not None else [None] * len(sizes)
    g = _Graph(torch)
    calls, handles = [], []
    names = list(model.named_modules())
    children = {}
    for name, _ in names:
        if name:
            parent = name.rsplit(".", 1)[0] if "." in name else ""
            children[parent] = True

    def hook_for(name):
        def hook(module, inputs, output):
            ins = _tensors(inputs)
            out = _first_tensor(output)
            c = Call(name, module, len(calls), name not in children,
                     [tuple(t.shape) for t in ins], None if out is None else tuple(out.shape))
            if out is not None:
                c.out_bytes = _nbytes(out)
                if graph:
                    c.out_node = g.node(out)
                    c.out_key = g.key(c.out_node)
            if graph:
                c.in_keys = [g.key(g.node(t)) for t in ins]
            c.in_nodes = [g.node(t) for t in ins] if graph else []
            calls.append(c)
        return hook

    params = list(model.parameters())
    flags = [p.requires_grad for p in params]
    modes = [(m, getattr(m, "training", False)) for _, m in names]
    try:
        for name, m in names:
            handles.append(m.register_forward_hook(hook_for(name)))
        for p in params:
            p.requires_grad = False
        for m, _ in modes:
            m.training = False
        xs = [_zeros(torch, (1,) + s, d, graph) for s, d in zip(sizes, dtypes)]
        with _grad_mode(torch, graph):
            model(*xs)
    finally:
        for h in handles:
            h.remove()
        for p, f in zip(params, flags):
            p.requires_grad = f
        for m, mode in modes:
            m.training = mode
    input_keys = [g.key(g.node(x)) for x in xs] if graph else []
    sources = _sources(calls, input_keys, g) if graph else {}
    for c in calls:
        c.in_nodes, c.out_node = [], None
    return Trace(calls, input_keys, sources, "torch" if torch else "foveanet",
                 sum(_nbytes(x) for x in xs))


def _sources(calls, input_keys, g: _Graph) -> dict:
    """For each leaf call, the earlier leaf calls (or model inputs, as ('input', i)) whose
    outputs its first input was computed from, found by walking the graph back; for a
    container call, those its output was computed from."""
    produced = {}
    result = {}
    inputs = {k: i for i, k in enumerate(input_keys)}
    for c in calls:
        if not c.leaf:
            if c.out_node is not None:
                result[c.index] = _walk(c.out_node, produced, inputs, g)
            continue
        if c.in_nodes:
            result[c.index] = _walk(c.in_nodes[0], produced, inputs, g)
        if c.out_key is not None:
            produced[c.out_key] = c.index
    return result


def _walk(start, produced, inputs, g: _Graph) -> list:
    found, seen, stack = [], set(), [start]
    while stack:
        n = stack.pop()
        k = g.key(n)
        if k in seen:
            continue
        seen.add(k)
        if k in produced:
            found.append(produced[k])
        elif k in inputs:
            found.append(("input", inputs[k]))
        else:
            stack.extend(g.parents(n))
    return found
