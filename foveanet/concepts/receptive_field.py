"""Receptive field r, jump j and start of every layer, with the lecture's recurrences.

For a layer with kernel k, stride s, padding p (left/top) and dilation d, per spatial axis:

    r_out     = r_in + (k - 1) * d * j_in          how many input pixels one output sees
    j_out     = j_in * s                           input pixels between neighbouring outputs
    start_out = start_in + ((k - 1)/2 * d - p) * j_in    centre of output 0's field

starting from the image: r = 1, j = 1, start = 0 (start is an input pixel index; a negative
or fractional start means output 0 is centred in the padding or between pixels).

Layers that mix every position (Flatten, a Linear after a spatial map, global pooling) act as a
kernel covering the whole n x n map: r_out = r_in + (n - 1) * j_in. r may then exceed the
image: padding pixels count, as in the recurrence.

Non-sequential models (ResNet, Inception, DenseNet) are traced once (see ``_trace``): each
layer's input is followed back through the recorded graph to the layers it was computed from.
Where branches meet (an add, a concat) the convention is the branch with the LARGEST receptive
field (its jump and start come along): a ResNet block's output sees what its conv path sees,
not just the identity's 1 pixel. Geometry that no module states (adaptive pooling, functional
pooling or padding inside ``forward``, custom layers) is inferred from the shapes and the row
says so in ``note``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["RFRow", "ReceptiveField", "receptive_field", "propagate"]


def _num(x):
    return int(x) if float(x).is_integer() else float(x)


def _one(t):
    """(a, a) -> a, for printing and for the common square case."""
    if t is None:
        return None
    return _num(t[0]) if len(set(t)) == 1 else tuple(_num(v) for v in t)


@dataclass
class RFRow:
    """The receptive field of one layer's output, a row of ``receptive_field``.

    Attributes:
        name: the layer's name (its index for a list of layers).
        type: the module's class name (``'layer'`` for a tuple or dict).
        kernel: k per axis, or None for a layer without a window.
        stride: s per axis, or None.
        padding: p per axis, or None.
        dilation: d per axis, or None.
        size: spatial size of the output, or None once flattened.
        r: receptive field per axis: input pixels one output value sees.
        j: jump per axis: input pixels between neighbouring outputs.
        start: centre of output 0's field per axis, in input pixels.
        note: how the row was inferred, when no module states its geometry.
        rf: ``r`` as one number when the axes agree (a property).
        jump: ``j`` likewise (a property).

    Example::

        >>> row = fn.concepts.receptive_field([(3, 1, 0), (3, 2, 0)], 9)[1]
        >>> row.r, row.rf, row.jump, row.size                  # 3 + (3 - 1) * 1
        ((5, 5), 5, 2, (3, 3))
    """

    name: str
    type: str
    kernel: tuple | None
    stride: tuple | None
    padding: tuple | None
    dilation: tuple | None
    size: tuple | None      # spatial size of the output; None once flattened
    r: tuple
    j: tuple
    start: tuple
    note: str = ""

    @property
    def rf(self):
        return _one(self.r)

    @property
    def jump(self):
        return _one(self.j)


class ReceptiveField(list):
    """The rows of ``receptive_field``, a list that also looks a row up by layer name.

    ``rf["features.28"]`` is the row of that layer, ``rf.final`` the last row, and ``str()``
    the table (layer, type, k/s/p, output size, r, j, start).

    Example::

        >>> rf = fn.concepts.receptive_field([(3, 1, 1), (3, 1, 1), (2, 2, 0)], 224)
        >>> len(rf), rf["1"].rf, rf.final.rf
        (3, 5, 6)
        >>> print(rf)
        layer                    type               k/s/p          output      r     j   start
        --------------------------------------------------------------------------------------
        0                        layer              3/1/1         224x224      3     1       0
        1                        layer              3/1/1         224x224      5     1       0
        2                        layer              2/2/0         112x112      6     2     0.5
    """

    def __getitem__(self, key):
        if isinstance(key, str):
            for row in self:
                if row.name == key:
                    return row
            raise KeyError(f"no layer named {key!r}; layers: {[r.name for r in self]}")
        return list.__getitem__(self, key)

    @property
    def final(self) -> RFRow:
        return self[-1]

    def __str__(self):
        head = f"{'layer':24s} {'type':18s} {'k/s/p':10s} {'output':>10s} {'r':>6s} {'j':>5s} {'start':>7s}"
        lines = [head, "-" * len(head)]
        for row in self:
            ksp = "" if row.kernel is None else f"{_one(row.kernel)}/{_one(row.stride)}/{_one(row.padding)}"
            size = "flat" if row.size is None else "x".join(str(_num(v)) for v in row.size)
            lines.append(f"{row.name[:24]:24s} {row.type[:18]:18s} {ksp:10s} {size:>10s} "
                         f"{_fmt(row.rf):>6s} {_fmt(row.jump):>5s} {_fmt(_one(row.start)):>7s}"
                         + (f"  {row.note}" if row.note else ""))
        return "\n".join(lines)


def _fmt(v) -> str:
    if isinstance(v, tuple):
        return "x".join(_fmt(x) for x in v)
    return f"{v:g}" if isinstance(v, float) else str(v)


@dataclass(frozen=True)
class _State:
    r: tuple
    j: tuple
    start: tuple
    size: tuple | None

    def step(self, k, s, p, d, size):
        r = tuple(ri + (ki - 1) * di * ji for ri, ki, di, ji in zip(self.r, k, d, self.j))
        st = tuple(si + ((ki - 1) / 2 * di - pi) * ji
                   for si, ki, di, pi, ji in zip(self.start, k, d, p, self.j))
        return _State(r, tuple(ji * si for ji, si in zip(self.j, s)), st, size)

    def flatten(self):
        """Everything the map saw: a kernel as large as the map."""
        if self.size is None:
            return self
        n = self.size
        return self.step(n, n, (0,) * len(n), (1,) * len(n), None)


def _tup(v, n: int) -> tuple:
    return tuple(v) if isinstance(v, (tuple, list)) else (v,) * n


def _resample(n_in, n_out):
    """Kernel/stride of a window pooling that maps n_in to n_out (adaptive or unknown layers)."""
    k, s, exact = [], [], True
    for a, b in zip(n_in, n_out):
        if a % b == 0:
            k.append(a // b)
            s.append(a // b)
        else:  # adaptive windows differ in size: take the largest, the mean stride
            exact = False
            k.append(max(math.ceil((i + 1) * a / b) - (i * a) // b for i in range(b)))
            s.append(a / b)
    return tuple(k), tuple(s), exact


def _window(m, nd):
    """(k, s, p, d, ceil) that a conv/pool module states, or None."""
    if not hasattr(m, "kernel_size"):
        return None
    k = _tup(m.kernel_size, nd)
    s = getattr(m, "stride", 1)
    s = k if s is None else _tup(s, nd)
    d = _tup(getattr(m, "dilation", 1), nd)
    p = getattr(m, "padding", 0)
    if isinstance(p, str):
        p = tuple(0 if p == "valid" else (di * (ki - 1)) // 2 for ki, di in zip(k, d))
    return k, s, _tup(p, nd), d, bool(getattr(m, "ceil_mode", False))


def _predicted(n, k, s, p, d, ceil):
    out = []
    for ni, ki, si, pi, di in zip(n, k, s, p, d):
        span = ni + 2 * pi - di * (ki - 1) - 1
        out.append((-(-span // si) if ceil else span // si) + 1)
    return tuple(out)


def _apply(state: _State, m, name: str, n_in, n_out, nd: int):
    """The row for module ``m`` whose input (size ``n_in``) has receptive field ``state``."""
    kind = type(m).__name__
    geo = _window(m, nd)
    if n_in is None or (n_out is None and state.size is None):
        return _row(name, kind, None, state), state
    if n_out is None:
        out = state.flatten()
        return _row(name, kind, None, out, "global: sees the whole map"), out
    if geo is not None and (getattr(m, "transposed", False) or "Transpose" in kind):
        k, s, p, d, _ = geo
        j = tuple(ji / si for ji, si in zip(state.j, s))
        r = tuple(ri + (math.ceil(ki * di / si) - 1) * ji for ri, ki, di, si, ji in zip(state.r, k, d, s, state.j))
        st = tuple(sti + (pi - (ki - 1) * di / 2) / si * ji
                   for sti, pi, ki, di, si, ji in zip(state.start, p, k, d, s, state.j))
        out = _State(r, j, st, n_out)
        return _row(name, kind, geo, out, "transposed: r, start approximate"), out
    if geo is not None and _predicted(n_in, *geo) == tuple(n_out):
        k, s, p, d, _ = geo
        out = state.step(k, s, p, d, n_out)
        return _row(name, kind, geo, out), out
    if tuple(n_out) == tuple(n_in):
        out = _State(state.r, state.j, state.start, n_out)
        return _row(name, kind, None, out), out
    if all(b <= a for a, b in zip(n_in, n_out)):
        k, s, exact = _resample(n_in, n_out)
        out = state.step(k, s, (0,) * nd, (1,) * nd, n_out)
        note = f"inferred k=s={_fmt(_one(k))} from {_fmt(_one(n_in))}->{_fmt(_one(n_out))}"
        if not exact:
            note = "inferred (uneven adaptive windows: largest k, mean s)"
        return _row(name, kind, (k, s, (0,) * nd, (1,) * nd, False), out, note), out
    j = tuple(ji * a / b for ji, a, b in zip(state.j, n_in, n_out))
    out = _State(state.r, j, state.start, n_out)
    return _row(name, kind, None, out, "upsampling: jump scaled, r unchanged"), out


def _row(name, kind, geo, st: _State, note: str = "") -> RFRow:
    k, s, p, d = geo[:4] if geo is not None else (None,) * 4
    return RFRow(name, kind, k, s, p, d, st.size, tuple(_num(v) for v in st.r),
                 tuple(_num(v) for v in st.j), tuple(_num(v) for v in st.start), note)


def _meet(state: _State, n_in):
    """Adjusts a producer's state to the size its consumer actually received (functional ops
    in ``forward`` between two modules: flatten, pooling, padding)."""
    if state.size is None or n_in is None:
        return (state.flatten(), "flattened before this layer") if n_in is None and state.size else (state, "")
    if tuple(n_in) == tuple(state.size):
        return state, ""
    nd = len(n_in)
    if all(b <= a for a, b in zip(state.size, n_in)):
        k, s, _ = _resample(state.size, n_in)
        return state.step(k, s, (0,) * nd, (1,) * nd, tuple(n_in)), "after an inferred functional pooling"
    pad = tuple((b - a) / 2 for a, b in zip(state.size, n_in))
    st = tuple(si - pi * ji for si, pi, ji in zip(state.start, pad, state.j))
    return _State(state.r, state.j, st, tuple(n_in)), "after an inferred functional padding"


def _spatial(shape, nd):
    if shape is None:
        return None
    if len(shape) == 2 + nd:
        return tuple(shape[2:])
    return None if len(shape) == 2 else tuple(shape[-nd:])


def _drop_gates(cands: list, n) -> tuple:
    """Leaves out a branch whose 1x1 output is broadcast over a larger map (a squeeze-excitation
    gate): it scales each channel by a function of the whole map, so following it would make
    every later field the whole image. The table follows the spatial path, as for residuals."""
    if n is None or all(v == 1 for v in n):
        return cands, ""
    kept = [s for s in cands if s.size is None or not all(v == 1 for v in s.size)]
    if kept and len(kept) < len(cands):
        return kept, "global gate branch left out"
    return cands, ""


def propagate(tr, nd: int, containers: bool = False) -> dict:
    """Receptive field after every leaf call of a trace: {call index: RFRow}.

    Sources come from the graph walk (largest receptive field wins where branches meet);
    a call with none found falls back to the previous leaf in execution order.
    ``containers`` adds a row per container call: the field of its output."""
    init = {}
    states, rows, last = {}, {}, None

    def candidates(c, n_in):
        cands = []
        for src in tr.sources.get(c.index, []):
            if isinstance(src, tuple):
                if src[1] not in init:
                    init[src[1]] = _State((1,) * nd, (1,) * nd, (0,) * nd, n_in)
                cands.append(init[src[1]])
            elif src in states:
                cands.append(states[src])
        return cands

    for c in tr.calls:
        if not c.leaf:
            n_out = _spatial(c.out_shape, nd)
            cands = candidates(c, n_out) if containers else []
            cands, gate = _drop_gates(cands, n_out)
            if cands:
                state, _ = _meet(max(cands, key=lambda s: (sum(s.r), sum(s.j))), n_out)
                rows[c.index] = _row(c.name, type(c.module).__name__, None, state,
                                     gate or (f"max of {len(cands)} branches" if len(cands) > 1 else ""))
            continue
        if not c.in_shapes:
            continue
        n_in = _spatial(c.in_shapes[0], nd)
        cands = candidates(c, n_in)
        if not cands:
            cands = [last] if last is not None else [_State((1,) * nd, (1,) * nd, (0,) * nd, n_in)]
        cands, gate = _drop_gates(cands, n_in)
        state = max(cands, key=lambda s: (sum(s.r), sum(s.j)))
        state, pre = _meet(state, n_in)
        row, out = _apply(state, c.module, c.name, n_in, _spatial(c.out_shape, nd), nd)
        if pre:
            row.note = pre + ("; " + row.note if row.note else "")
        if len(cands) > 1 or gate:
            row.note = (row.note + "; " if row.note else "") + (gate or f"max of {len(cands)} branches")
        states[c.index], rows[c.index], last = out, row, out
    return rows


def _spec(layer):
    """A layer given by hand: (k, s, p[, d]), a dict of those names, or a module."""
    if isinstance(layer, (tuple, list)):
        k, s, p, *d = layer
        return type("Spec", (), {"kernel_size": k, "stride": s, "padding": p,
                                 "dilation": d[0] if d else 1})()
    if isinstance(layer, dict):
        return type("Spec", (), {"kernel_size": layer["kernel_size"], "stride": layer.get("stride", 1),
                                 "padding": layer.get("padding", 0), "dilation": layer.get("dilation", 1),
                                 "ceil_mode": layer.get("ceil_mode", False)})()
    return layer


def receptive_field(model_or_layers, input_size=None) -> ReceptiveField:
    """The receptive field, jump and start of every layer's output, per spatial axis.

        r_out     = r_in + (k - 1) * d * j_in
        j_out     = j_in * s
        start_out = start_in + ((k - 1)/2 * d - p) * j_in

    from r = 1, j = 1, start = 0 at the image (the module docstring has the conventions for
    global layers and branching models).

    Args:
        model_or_layers: a model (traced once on zeros of shape ``(1, *input_size)``), or a list
            of layers: modules, (k, s, p[, d]) tuples or dicts with ``kernel_size``,
            ``stride``, ``padding``, ``dilation``.
        input_size: for a model, (C, H, W) or (C, L); for a list, the spatial size (an int,
            (H, W) or (C, H, W)), needed only to size global layers (default None).

    Returns:
        ReceptiveField: one ``RFRow`` per layer.

    Example::

        >>> rf = fn.concepts.receptive_field([(3, 1, 1), (3, 1, 1), (2, 2, 0)], 224)
        >>> [row.rf for row in rf], rf.final.jump               # 3, 3 + 2, 5 + 1
        ([3, 5, 6], 2)
        >>> model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.MaxPool2d(2), nn.Conv2d(4, 8, 3))
        >>> rf = fn.concepts.receptive_field(model, (1, 14, 14))
        >>> [(row.type, row.rf, row.jump) for row in rf]        # 3, 3 + 1, 4 + 2 * 2
        [('Conv2d', 3, 1), ('MaxPool2d', 4, 2), ('Conv2d', 8, 2)]
    """
    if hasattr(model_or_layers, "named_modules") and callable(model_or_layers):
        if input_size is None:
            raise ValueError("receptive_field: a model needs input_size, e.g. (3, 224, 224)")
        from foveanet.concepts._trace import trace

        sizes = list(input_size)
        first = tuple(sizes[0]) if sizes and isinstance(sizes[0], (tuple, list)) else tuple(sizes)
        tr = trace(model_or_layers, input_size)
        rows = propagate(tr, len(first) - 1)
        return ReceptiveField(rows[i] for i in sorted(rows))
    layers = list(model_or_layers)
    if isinstance(input_size, int) or input_size is None:
        nd, size = 2, None if input_size is None else (input_size, input_size)
    else:
        size = tuple(input_size[1:] if len(input_size) == 3 else input_size)
        nd = len(size)
    state = _State((1,) * nd, (1,) * nd, (0,) * nd, size)
    out, flat = ReceptiveField(), False
    for i, layer in enumerate(layers):
        m = _spec(layer)
        geo = _window(m, nd)
        name = getattr(m, "__name__", None) or f"{i}"
        kind = "layer" if type(m).__name__ == "Spec" else type(m).__name__
        if geo is None:
            mixes = hasattr(m, "in_features") or kind == "Flatten" or kind.startswith("Adaptive")
            if mixes and not flat:
                if state.size is None:
                    raise ValueError(f"receptive_field: layer {i} ({kind}) covers the whole map; "
                                     "give input_size so that the map's size is known")
                state, flat = state.flatten(), True
            out.append(_row(name, kind, None, state, "global: sees the whole map" if mixes else ""))
            continue
        k, s, p, d, ceil = geo
        n_out = None if state.size is None else _predicted(state.size, k, s, p, d, ceil)
        state = state.step(k, s, p, d, n_out)
        out.append(_row(name, kind, geo, state))
    return out
