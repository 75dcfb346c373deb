"""``summary(model, input_size)``: the layer table of torchinfo/Keras, plus the lecture's arithmetic.

One dry run (batch 1, zeros, eval mode) with forward hooks on every module gives each call's
output shape. Per layer the table shows the parameter count with the formula that produces it,
``(5*5*1+1)*6 = 156``, the multiply-adds, and the receptive field / jump.

Conventions (documented because tools differ):
- Parameters: a Parameter object counts once, however many modules hold it or however often a
  module runs; a second call of a shared layer shows ``(shared)`` and adds nothing to the totals.
  Totals cover every parameter of the model, also those of modules the run never called
  (GoogLeNet's auxiliary heads in eval mode), which the footer lists.
- Mult-adds (batch 1, bias adds not counted): conv = out_h*out_w*out_c * (k*k*in_c/groups);
  transposed conv = in_h*in_w*in_c * (k*k*out_c/groups); linear = in*out per output row.
  Batch norm, pooling and activations count 0 (torchinfo counts BN's parameters; we do not:
  they are not multiply-adds of a dot product). A layer called twice counts twice.
- Receptive field: see ``receptive_field``. Non-sequential models are followed through the
  recorded graph, the largest field winning where branches meet, so for a ResNet the column
  follows the main (conv) path in execution order. A container's row shows the field of its
  output (an Inception block: its widest branch). Recording the graph needs grad mode: the
  run switches every parameter's requires_grad off for its duration (nothing big is saved)
  and restores it; ``receptive_field=False`` runs under no_grad instead.
- Memory: parameter and buffer bytes; activations = the bytes of every leaf layer's output for
  one image (forward only).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from foveanet.concepts._trace import trace
from foveanet.concepts.formulas import conv_params_formula, fc_params_formula
from foveanet.concepts.receptive_field import propagate

__all__ = ["SummaryRow", "ModelSummary", "summary", "COLUMNS"]

# column name -> header
COLUMNS = {
    "kernel_size": "k/s/p", "input_size": "Input shape", "output_size": "Output shape",
    "num_params": "Param #", "formula": "Formula", "mult_adds": "Mult-adds",
    "receptive_field": "RF/jump", "trainable": "Trainable",
}
DEFAULT_COLUMNS = ("kernel_size", "output_size", "num_params", "formula", "mult_adds", "receptive_field")


@dataclass
class SummaryRow:
    """One module call of ``summary``: its shapes, parameters, mult-adds and receptive field.

    Attributes:
        name: the module's name in the model (``''`` for the model itself).
        type: the module's class name.
        depth: nesting level (0: the model, 1: its children...).
        leaf: whether the module has no submodules (a layer that computes).
        kernel: k of a conv or pooling layer (an int when square), else None.
        stride: s, likewise.
        padding: p, likewise.
        groups: the conv layer's groups (1 otherwise).
        input_shape: shape of the call's first input (batch 1).
        output_shape: shape of its output.
        params: parameters not already counted in an earlier row (0 for a shared layer's
            second call, and for containers).
        own_params: this module's parameters (recursively for containers).
        shared: whether the call reuses parameters an earlier row counted.
        mult_adds: multiply-adds of the call (a container: of the layers that ran inside it).
        rf: receptive field of the output.
        jump: jump of the output; None once the map is flattened.
        trainable: whether any of its parameters requires grad (None without parameters).
        formula: the parameter count as the lecture writes it (``'(5*5*1+1)*6 = 156'``).
        rf_note: how the receptive field was inferred, when no module states it.

    Example::

        >>> model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU())
        >>> row = fn.summary(model, (1, 12, 12))["0"]
        >>> row.type, row.output_shape, row.params, row.formula
        ('Conv2d', (1, 4, 10, 10), 40, '(3*3*1+1)*4 = 40')
        >>> row.mult_adds, row.rf, row.jump               # 10*10*4 * 3*3*1
        (3600, 3, 1)
    """

    name: str
    type: str
    depth: int
    leaf: bool
    kernel: object = None
    stride: object = None
    padding: object = None
    groups: int = 1
    input_shape: tuple | None = None
    output_shape: tuple | None = None
    params: int = 0
    own_params: int = 0          # this module's parameters (recursively for containers)
    shared: bool = False
    mult_adds: int = 0
    rf: object = None
    jump: object = None          # None once the map is flattened
    trainable: bool | None = None
    formula: str = ""
    rf_note: str = ""


def _params(m, recurse: bool) -> list:
    try:
        ps = list(m.parameters(recurse=recurse))
    except TypeError:  # a module API without the recurse flag
        ps = list(getattr(m, "_parameters", {}).values()) if not recurse else list(m.parameters())
    out, seen = [], set()
    for p in ps:
        if p is not None and id(p) not in seen:
            seen.add(id(p))
            out.append(p)
    return out


def _numel(p) -> int:
    return int(math.prod(tuple(p.shape)))


def _itemsize(p) -> int:
    item = getattr(getattr(p, "dtype", None), "itemsize", None)
    return int(item) if item is not None else int(p.element_size())


def _is_conv(m) -> bool:
    return all(hasattr(m, a) for a in ("kernel_size", "in_channels", "out_channels", "weight"))


def _is_transposed(m) -> bool:
    return bool(getattr(m, "transposed", False)) or "Transpose" in type(m).__name__


def _square(k):
    k = tuple(k) if isinstance(k, (tuple, list)) else (k,)
    return k[0] if len(k) == 2 and k[0] == k[1] else k


def _count_and_formula(m, in_shape, out_shape, own: int):
    """Mult-adds of one call and the lecture's parameter formula (empty if it would not match)."""
    per_out = math.prod(out_shape[1:]) if out_shape else 0
    if _is_conv(m):
        k = tuple(m.kernel_size) if isinstance(m.kernel_size, (tuple, list)) else (m.kernel_size,) * 2
        g = int(getattr(m, "groups", 1))
        cin, cout = int(m.in_channels), int(m.out_channels)
        bias = getattr(m, "bias", None) is not None
        # a transposed conv has the same count: each output channel, in_c/groups * k*k + 1
        f = conv_params_formula(_square(k), cin, cout, bias, g)
        if _is_transposed(m):
            macs = math.prod(in_shape[1:]) * math.prod(k) * cout // g if in_shape else 0
        else:
            macs = per_out * math.prod(k) * cin // g
        return macs, (f if int(f.rsplit(" ", 1)[1]) == own else "")
    if hasattr(m, "in_features") and hasattr(m, "out_features"):
        rows = math.prod(out_shape[1:-1]) if out_shape and len(out_shape) > 2 else 1
        f = fc_params_formula(int(m.in_features), int(m.out_features), getattr(m, "bias", None) is not None)
        return rows * int(m.in_features) * int(m.out_features), (f if int(f.rsplit(" ", 1)[1]) == own else "")
    if hasattr(m, "num_features") and own == 2 * int(m.num_features):
        return 0, f"2*{int(m.num_features)} = {own}"
    return 0, ""


def _ksp(m):
    if not hasattr(m, "kernel_size"):
        return None, None, None
    s = getattr(m, "stride", None)
    return _square(m.kernel_size), _square(s if s is not None else m.kernel_size), \
        (m.padding if isinstance(getattr(m, "padding", 0), str) else _square(getattr(m, "padding", 0)))


def _order(calls) -> list:
    """Display order: each container right before the first layer it ran (hooks fire at the
    end of a call, so the completion order lists children before their parent)."""
    by_name = {}
    for c in calls:
        by_name.setdefault(c.name, []).append(c.index)
    order, done = [], set()
    for c in calls:
        parts = c.name.split(".") if c.name else []
        ancestors = [""] + [".".join(parts[:i]) for i in range(1, len(parts))] if c.name else []
        for a in ancestors:
            enclosing = next((i for i in by_name.get(a, []) if i > c.index), None)
            if enclosing is not None and enclosing not in done:
                order.append(enclosing)
                done.add(enclosing)
        if c.index not in done:
            order.append(c.index)
            done.add(c.index)
    return order


def _mb(n: int) -> str:
    return f"{n / 1e6:,.2f}"


def _scaled(n: int) -> str:
    return f"{n / 1e9:.2f} G" if n >= 1e9 else f"{n / 1e6:.2f} M"


def _cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, tuple):
        return "x".join(map(str, v))
    return str(v)


class ModelSummary:
    """The result of ``summary``: every module call as a row, the totals, and the table.

    ``str()`` (and ``repr()``) is the table; ``s["name"]`` is the first row of the module of
    that name.

    Attributes:
        rows: one ``SummaryRow`` per module call, containers before the layers they ran.
        layers: the leaf rows only, the layers that compute (a property).
        total_params: every parameter of the model, each counted once.
        trainable_params: those with ``requires_grad``.
        non_trainable_params: the others.
        total_mult_adds: multiply-adds of one forward pass at batch 1.
        param_bytes: bytes of the parameters.
        buffer_bytes: bytes of the buffers (batch-norm statistics...).
        activation_bytes: bytes of every leaf layer's output for one input.
        input_bytes: bytes of the input.
        uncalled: names of the modules with parameters that the run never called.

    Example::

        >>> model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(400, 10))
        >>> s = fn.summary(model, (1, 12, 12))
        >>> s.total_params, s.total_mult_adds                  # 40 + 4010; 3600 + 4000
        (4050, 7600)
        >>> [(row.name, row.type) for row in s.layers]
        [('0', 'Conv2d'), ('1', 'ReLU'), ('2', 'Flatten'), ('3', 'Linear')]
        >>> s["3"].formula
        '(400+1)*10 = 4010'
    """

    def __init__(self, model_name, rows, totals, input_size, depth, col_names, uncalled):
        self.model_name, self.rows, self.input_size = model_name, rows, input_size
        self.depth, self.col_names, self.uncalled = depth, tuple(col_names), uncalled
        for k, v in totals.items():
            setattr(self, k, v)

    @property
    def layers(self) -> list:
        """Leaf rows only: the layers that compute."""
        return [r for r in self.rows if r.leaf]

    def __getitem__(self, name: str) -> SummaryRow:
        for r in self.rows:
            if r.name == name:
                return r
        raise KeyError(f"no module named {name!r} ran")

    def _cells(self, r: SummaryRow) -> list:
        collapsed = not r.leaf and r.depth == self.depth
        out = [("  " * max(r.depth - 1, 0)) + (r.name or self.model_name), r.type]
        for c in self.col_names:
            if c == "kernel_size":
                out.append("" if r.kernel is None else f"{_cell(r.kernel)}/{_cell(r.stride)}/{_cell(r.padding)}"
                           + (f" g{r.groups}" if r.groups != 1 else ""))
            elif c == "input_size":
                out.append(str(list(r.input_shape)) if r.input_shape else "")
            elif c == "output_size":
                out.append(str(list(r.output_shape)) if r.output_shape else "")
            elif c == "num_params":
                if r.leaf or collapsed:
                    n = r.params if r.leaf else r.own_params
                    out.append((f"{n:,}" if n or not r.shared else "0") + (" (shared)" if r.shared else ""))
                else:
                    out.append("--")
            elif c == "formula":
                out.append(r.formula)
            elif c == "mult_adds":
                out.append(f"{r.mult_adds:,}" if (r.leaf or collapsed) else "--")
            elif c == "receptive_field":
                out.append("" if r.rf is None else f"{_cell(r.rf)}/{'-' if r.jump is None else _cell(r.jump)}")
            elif c == "trainable":
                out.append("" if r.trainable is None else str(r.trainable))
        return out

    def __str__(self) -> str:
        heads = ["Layer", "Type"] + [COLUMNS[c] for c in self.col_names]
        body = [self._cells(r) for r in self.rows if r.depth <= self.depth]
        widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(heads)]
        num = {COLUMNS[c] for c in ("num_params", "mult_adds", "receptive_field")}

        def line(cells):
            return "  ".join(c.rjust(w) if h in num else c.ljust(w)
                             for c, w, h in zip(cells, widths, heads)).rstrip()

        rule = "=" * max(len(line(heads)), 40)
        out = [rule, line(heads), rule] + [line(b) for b in body] + [rule]
        out += [f"Total params: {self.total_params:,}", f"Trainable params: {self.trainable_params:,}",
                f"Non-trainable params: {self.non_trainable_params:,}",
                f"Total mult-adds: {self.total_mult_adds:,} ({_scaled(self.total_mult_adds)})"]
        if self.uncalled:
            out.append(f"Not called in this run (counted in the totals): {', '.join(self.uncalled)}")
        out += [rule, f"Input size (MB): {_mb(self.input_bytes)}",
                f"Forward activations (MB): {_mb(self.activation_bytes)}",
                f"Params size (MB): {_mb(self.param_bytes)}", f"Buffers size (MB): {_mb(self.buffer_bytes)}",
                f"Estimated total size (MB): {_mb(self.input_bytes + self.activation_bytes + self.param_bytes + self.buffer_bytes)}",
                rule]
        return "\n".join(out)

    def __repr__(self) -> str:
        return str(self)


def summary(model, input_size, dtypes=None, depth: int = 3, col_names=DEFAULT_COLUMNS,
            receptive_field: bool = True) -> ModelSummary:
    """The layer table of a model: shapes, parameters and formulas, mult-adds, receptive fields.

    One dry run (batch 1, zeros, eval mode) records every module call. Per layer

        conv parameters = (k*k*in_c/groups + 1) * out_c,   linear = (in + 1) * out
        conv mult-adds  = out_h*out_w*out_c * (k*k*in_c/groups),   linear = in * out

    (the module docstring has the conventions for shared layers, branches and memory).

    Args:
        model: a foveanet (or torch) module.
        input_size: shape of one input without the batch axis, e.g. (3, 224, 224); a list
            of shapes for a model with several inputs.
        dtypes: one dtype per input (default None: the default dtype).
        depth: deepest nesting level printed; deeper rows are hidden but counted (default 3).
        col_names: the columns, from ``kernel_size``, ``input_size``, ``output_size``,
            ``num_params``, ``formula``, ``mult_adds``, ``receptive_field``, ``trainable``
            (default: all but ``input_size`` and ``trainable``).
        receptive_field: compute the RF/jump column (default True; False runs under no_grad).

    Returns:
        ModelSummary: the rows and totals; ``print()`` shows the table.

    Example::

        >>> model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2),
        ...                       nn.Flatten(), nn.Linear(16, 10))
        >>> s = fn.summary(model, (1, 6, 6))
        >>> s.total_params, s["0"].formula                   # 40 + 170
        (210, '(3*3*1+1)*4 = 40')
        >>> print(s)
        ==========================================================================================
        Layer       Type        k/s/p  Output shape  Param #  Formula           Mult-adds  RF/jump
        ==========================================================================================
        Sequential  Sequential         [1, 10]            --                           --      6/-
        0           Conv2d      3/1/0  [1, 4, 4, 4]       40  (3*3*1+1)*4 = 40        576      3/1
        1           ReLU               [1, 4, 4, 4]        0                            0      3/1
        2           MaxPool2d   2/2/0  [1, 4, 2, 2]        0                            0      4/2
        3           Flatten            [1, 16]             0                            0      6/-
        4           Linear             [1, 10]           170  (16+1)*10 = 170         160      6/-
        ==========================================================================================
        Total params: 210
        Trainable params: 210
        Non-trainable params: 0
        Total mult-adds: 736 (0.00 M)
        ==========================================================================================
        Input size (MB): 0.00
        Forward activations (MB): 0.00
        Params size (MB): 0.00
        Buffers size (MB): 0.00
        Estimated total size (MB): 0.00
        ==========================================================================================
    """
    bad = [c for c in col_names if c not in COLUMNS]
    if bad:
        raise ValueError(f"summary: unknown columns {bad}; choose from {list(COLUMNS)}")
    tr = trace(model, input_size, dtypes, graph=receptive_field)
    first = list(input_size)
    first = tuple(first[0]) if first and isinstance(first[0], (tuple, list)) else tuple(first)
    nd = len(first) - 1
    rf = propagate(tr, nd, containers=True) if receptive_field and nd > 0 else {}

    seen, macs_by_call = set(), {}
    rows = {}
    for c in tr.calls:
        m = c.module
        own = _params(m, recurse=not c.leaf)
        new = [p for p in own if id(p) not in seen] if c.leaf else []
        seen.update(id(p) for p in new)
        own_n = sum(_numel(p) for p in own)
        in_shape = c.in_shapes[0] if c.in_shapes else None
        k, s, p = _ksp(m) if c.leaf else (None, None, None)
        row = SummaryRow(c.name, type(m).__name__, c.name.count(".") + 1 if c.name else 0, c.leaf,
                         k, s, p, int(getattr(m, "groups", 1) or 1) if c.leaf else 1, in_shape, c.out_shape,
                         params=sum(_numel(q) for q in new), own_params=own_n,
                         shared=c.leaf and len(new) < len(own),
                         trainable=(any(q.requires_grad for q in own) if own else None))
        if c.leaf:
            row.mult_adds, row.formula = _count_and_formula(m, in_shape, c.out_shape, own_n)
        if c.index in rf:
            # once flattened there are no neighbouring outputs: no jump to show
            row.rf, row.rf_note = rf[c.index].rf, rf[c.index].note
            row.jump = rf[c.index].jump if rf[c.index].size is not None else None
        macs_by_call[c.index] = row.mult_adds
        rows[c.index] = row
    # a container's mult-adds: the leaf calls that ran inside this call of it
    prev = {}
    for c in tr.calls:
        if not c.leaf:
            lo = prev.get(c.name, -1)
            prefix = c.name + "." if c.name else ""
            rows[c.index].mult_adds = sum(macs_by_call[d.index] for d in tr.calls[lo + 1:c.index]
                                          if d.leaf and d.name.startswith(prefix))
        prev[c.name] = c.index

    params = _params(model, recurse=True)
    buffers = list(model.buffers()) if hasattr(model, "buffers") else []
    called = {c.name for c in tr.calls}
    uncalled = [n for n, m in model.named_modules() if n and n not in called and _params(m, recurse=True)]
    # report the outermost uncalled modules only
    uncalled = [n for n in uncalled if not any(n.startswith(u + ".") for u in uncalled)]
    totals = dict(
        total_params=sum(_numel(p) for p in params),
        trainable_params=sum(_numel(p) for p in params if p.requires_grad),
        total_mult_adds=sum(r.mult_adds for r in rows.values() if r.leaf),
        param_bytes=sum(_numel(p) * _itemsize(p) for p in params),
        buffer_bytes=sum(_numel(b) * _itemsize(b) for b in buffers if b is not None),
        activation_bytes=sum(c.out_bytes for c in tr.calls if c.leaf),
        input_bytes=tr.input_bytes,
    )
    totals["non_trainable_params"] = totals["total_params"] - totals["trainable_params"]
    ordered = [rows[i] for i in _order(tr.calls)]
    return ModelSummary(type(model).__name__, ordered, totals, tuple(input_size), depth, col_names, uncalled)
