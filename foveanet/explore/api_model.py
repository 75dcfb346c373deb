"""``GET /api/model``: the architecture as a graph, with ``foveanet summary``'s numbers.

Nodes are the layers that compute (the summary's leaf rows), in execution order; edges come
from the autograd graph of one dry run (``concepts._trace``): an edge a -> b means b's input
was computed from a's output. A layer fed by several layers is where branches meet: an
``add`` (residual: each branch has the merged channel count) or a ``concat`` (Inception,
DenseNet: the channel counts add up).
"""
from __future__ import annotations

__all__ = ["model_graph"]


def _merge_kind(in_shape, parent_shapes) -> str:
    chans = [s[1] for s in parent_shapes if s and len(s) > 1]
    if in_shape and len(in_shape) > 1 and len(chans) > 1 and sum(chans) == in_shape[1] \
            and any(c != in_shape[1] for c in chans):
        return "concat"
    return "add"


def _cell(v):
    return list(v) if isinstance(v, tuple) else v


def model_graph(run) -> dict:
    """Nodes (every layer with shape, params and formula, mult-adds, receptive field/jump),
    edges, merge points and the totals."""
    from foveanet.concepts._trace import trace

    s = run.summary()

    def make():
        with run.lock:
            return trace(run.net, run.input_shape)
    tr = run.once("trace", make)
    leaf_calls = [c for c in tr.calls if c.leaf]
    rows = s.layers
    ids = {c.index: i for i, c in enumerate(leaf_calls)}
    nodes, edges, merges = [], [], {}
    for i, (c, r) in enumerate(zip(leaf_calls, rows)):
        nodes.append({
            "id": i, "name": r.name, "type": r.type,
            "input_shape": _cell(r.input_shape), "output_shape": _cell(r.output_shape),
            "kernel": _cell(r.kernel), "stride": _cell(r.stride), "padding": _cell(r.padding),
            "groups": r.groups, "params": r.params, "shared": r.shared, "formula": r.formula,
            "mult_adds": r.mult_adds, "rf": _cell(r.rf), "jump": _cell(r.jump), "rf_note": r.rf_note,
        })
        parents = []
        for src in tr.sources.get(c.index, []):
            if isinstance(src, tuple):
                parents.append("input")
            elif src in ids:
                parents.append(ids[src])
        parents = list(dict.fromkeys(parents))
        for p in parents:
            edges.append({"from": p, "to": i})
        if len(parents) > 1:
            shapes = [nodes[p]["output_shape"] if p != "input" else [1, *run.input_shape] for p in parents]
            merges[i] = _merge_kind(r.input_shape, shapes)
    for n in nodes:
        n["merge"] = merges.get(n["id"])
    return {"model": s.model_name, "input_shape": list(run.input_shape), "nodes": nodes, "edges": edges,
            "total_params": s.total_params, "trainable_params": s.trainable_params,
            "total_mult_adds": s.total_mult_adds, "table": str(s)}
