"""ONNX nodes for traced Tensor methods and operators (``+``, ``reshape``, ``[...]``, ``mean``) and
for ``foveanet.cat``/``stack``/``flatten``; same handler convention as ``._export_ops``."""
from __future__ import annotations

import numbers

import numpy as np

from foveanet.autograd import Tensor
from foveanet.interop._export_ops import _clip, _simple


def _reshape_to(tr, x, out):
    shape = list(out.shape)
    if tr.dynamic_batch and x.ndim and shape:
        # keep the batch symbolic: 0 copies the input's first axis, -1 absorbs a folded batch
        shape[0] = 0 if out.shape[0] == x.shape[0] else -1
    tr.emit("Reshape", [tr.name(x), tr.ints(shape)], out)


def _sizes(args) -> tuple:
    """A ``*size`` argument as one tuple: ``view(2, 3)`` and ``view((2, 3))`` alike."""
    return tuple(args[0]) if len(args) == 1 and isinstance(args[0], (tuple, list)) else tuple(args)


def _reshape(tr, a, out):
    shape = _sizes(a["shape"])
    if any(tr.is_dim(d) for d in shape):  # sizes read from the input: computed at run time
        tr.emit("Reshape", [tr.name(a["self"]), tr.shape_value(shape)], out)
    else:
        _reshape_to(tr, a["self"], out)


def _expand(tr, a, out):
    # Expand broadcasts like numpy: 1 keeps the input's size where torch writes -1
    shape = [1 if not tr.is_dim(d) and d == -1 else d for d in _sizes(a["shape"])]
    tr.emit("Expand", [tr.name(a["self"]), tr.shape_value(shape)], out)


def _filled(fill_key=None, fill=0.0):
    """zeros/ones/full/empty with a size read from the input: ConstantOfShape of that size.
    With constant sizes nothing is emitted: the tensor becomes an initializer where it is used."""
    def handler(tr, a, out):
        size = _sizes(a["size"])
        if any(tr.is_dim(d) for d in size):
            value = fill if fill_key is None else a[fill_key]
            tr.emit("ConstantOfShape", [tr.shape_value(size)], out, value=_scalar(np.asarray([value], out.dtype)))
    return handler


def _filled_like(fill):
    def handler(tr, a, out):
        t = a["t"]
        if id(t) in tr.names:
            (shape,) = tr.node("Shape", [tr.name(t)])
            tr.emit("ConstantOfShape", [shape], out, value=_scalar(np.asarray([fill], out.dtype)))
    return handler


def _setitem(tr, a, out):
    if id(a["self"]) in tr.names:  # the graph value would keep the values it had before
        raise ValueError("assigning into a tensor computed from the input (x[...] = v) has no "
                         "export; build it with cat or where")


def _scalar(arr):
    from onnx import numpy_helper

    return numpy_helper.from_array(arr)


def _flatten(tr, a, out):
    x = a.get("t", a.get("self"))
    start, end = a["start_dim"] % max(x.ndim, 1), a["end_dim"] % max(x.ndim, 1)
    if x.ndim >= 2 and start == 1 and end == x.ndim - 1:
        tr.emit("Flatten", [tr.name(x)], out, axis=1)
    else:
        _reshape_to(tr, x, out)


def _permute(tr, a, out):
    x, dims = a["self"], a["dims"]
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = dims[0]
    tr.emit("Transpose", [tr.name(x)], out, perm=[int(d) % x.ndim for d in dims])


def _transpose(tr, a, out):
    x = a["self"]
    perm = list(range(x.ndim))
    i, j = a["dim0"] % x.ndim, a["dim1"] % x.ndim
    perm[i], perm[j] = perm[j], perm[i]
    tr.emit("Transpose", [tr.name(x)], out, perm=perm)


def _unsqueeze(tr, a, out):
    tr.emit("Unsqueeze", [tr.name(a["self"]), tr.ints([a["dim"] % out.ndim])], out)


def _squeeze(tr, a, out):
    x, dim = a["self"], a["dim"]
    axes = [i for i, n in enumerate(x.shape) if n == 1] if dim is None else [dim % x.ndim]
    axes = [i for i in axes if x.shape[i] == 1]
    if not axes:
        tr.emit("Identity", [tr.name(x)], out)
    else:
        tr.emit("Squeeze", [tr.name(x), tr.ints(axes)], out)


def _cat(tr, a, out):
    tr.emit("Concat", [tr.name(t) for t in a["tensors"]], out, axis=int(a["dim"]) % out.ndim)


def _stack(tr, a, out):
    dim = int(a["dim"]) % out.ndim
    parts = [tr.node("Unsqueeze", [tr.name(t), tr.ints([dim])])[0] for t in a["tensors"]]
    tr.emit("Concat", parts, out, axis=dim)


def _getitem(tr, a, out):
    x, key = a["self"], a["key"]
    key = key if isinstance(key, tuple) else (key,)
    if any(k is Ellipsis for k in key):
        at = key.index(Ellipsis)
        key = key[:at] + (slice(None),) * (x.ndim - len(key) + 1) + key[at + 1:]
    starts, ends, axes, steps, drop = [], [], [], [], []
    for axis, k in enumerate(key):
        n = x.shape[axis]
        if isinstance(k, (numbers.Integral, np.integer)) and not isinstance(k, bool):
            k, _ = slice(int(k) % n, int(k) % n + 1), drop.append(axis)
        if not isinstance(k, slice):
            raise ValueError(f"indexing with {type(k).__name__} has no export (ints and slices do)")
        if k == slice(None):
            continue
        s, e, st = k.indices(n)
        if st < 0:
            raise ValueError("negative slice steps have no export")
        starts.append(s), ends.append(e), axes.append(axis), steps.append(st)
    name = tr.name(x)
    if axes:
        (name,) = tr.node("Slice", [name, tr.ints(starts), tr.ints(ends), tr.ints(axes), tr.ints(steps)])
    if drop:
        (name,) = tr.node("Squeeze", [name, tr.ints(drop)])
    tr.emit("Identity", [name], out)


# ----------------------------------------------------------------------- arithmetic


def _binary(op, reflected=False):
    def handler(tr, a, out):
        x, other = a["self"], a["other"]
        names = [tr.name(x), tr.name(other, like=x)]
        tr.emit(op, names[::-1] if reflected else names, out)
    return handler


def _reduce(op, attr_before):
    def handler(tr, a, out):
        x, dim = a["self"], a.get("dim")
        dims = None if dim is None else [int(d) % x.ndim for d in (dim if isinstance(dim, (tuple, list)) else [dim])]
        keep = int(bool(a.get("keepdim", False)))
        if dims is None or tr.opset < attr_before:
            tr.emit(op, [tr.name(x)], out, axes=dims, keepdims=keep)
        else:
            tr.emit(op, [tr.name(x), tr.ints(dims)], out, keepdims=keep)
    return handler


def _max(tr, a, out):
    if a["dim"] is not None:
        raise ValueError("max(dim=...) returns indices, which have no export; use amax")
    _reduce("ReduceMax", 18)(tr, a, out)


def _cast(tr, a, out):
    from onnx import helper

    if out is a["self"]:  # .to() of the dtype it already has
        return
    tr.emit("Cast", [tr.name(a["self"])], out, to=helper.np_dtype_to_tensor_dtype(out.dtype))


AUTOGRAD = {"cat": _cat, "stack": _stack, "flatten": _flatten,
            "zeros": _filled(fill=0.0), "ones": _filled(fill=1.0), "empty": _filled(fill=0.0),
            "full": _filled("fill_value"), "zeros_like": _filled_like(0.0), "ones_like": _filled_like(1.0)}
def _detach(tr, a, out):
    """The same value without its graph: the same ONNX value."""
    tr.bind(out, tr.name(a["self"]))


def _unmapped(what):
    """An op with no ONNX mapping here: on a value computed from the input its result would be
    saved as a constant of the example input, so the export is refused; on parameters and
    constants the result is a constant, which it is."""
    def handler(tr, a, out):
        if any(isinstance(v, Tensor) and id(v) in tr.names for v in a.values()):
            raise NotImplementedError(f"{what} of a value computed from the input has no ONNX mapping")
    return handler


TENSOR = {
    "__add__": _binary("Add"), "__radd__": _binary("Add", True), "__sub__": _binary("Sub"),
    "__rsub__": _binary("Sub", True), "__mul__": _binary("Mul"), "__rmul__": _binary("Mul", True),
    "__truediv__": _binary("Div"), "__rtruediv__": _binary("Div", True), "__pow__": _binary("Pow"),
    "__matmul__": _binary("MatMul"), "__rmatmul__": _binary("MatMul", True),
    "__neg__": _simple("Neg"), "exp": _simple("Exp"), "log": _simple("Log"), "sqrt": _simple("Sqrt"),
    "abs": _simple("Abs"), "tanh": _simple("Tanh"), "sigmoid": _simple("Sigmoid"),
    "clamp": _clip("min", "max"), "clip": _clip("min", "max"),
    "reshape": _reshape, "view": _reshape, "expand": _expand, "flatten": _flatten, "permute": _permute,
    "transpose": _transpose, "unsqueeze": _unsqueeze, "squeeze": _squeeze, "__getitem__": _getitem, "__setitem__": _setitem,
    "sum": _reduce("ReduceSum", 13), "mean": _reduce("ReduceMean", 18), "amax": _reduce("ReduceMax", 18),
    "max": _max, "to": _cast, "detach": _detach,
    "__eq__": _binary("Equal"), "__lt__": _binary("Less"), "__le__": _binary("LessOrEqual"),
    "__gt__": _binary("Greater"), "__ge__": _binary("GreaterOrEqual"), "__ne__": _unmapped("!="),
    "argmax": _unmapped("argmax"), "argmin": _unmapped("argmin"),
}
