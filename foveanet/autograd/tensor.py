"""Tensor: an array plus what is needed to differentiate through it.

``data`` is a plain array (``backend.xp``), ``grad`` a Tensor filled by ``backward()``,
``_ctx`` the Function that created it (None for leaves and constants).
"""
from __future__ import annotations

import numbers
import operator

import numpy as np

from foveanet import backend
from foveanet.backend import devices as _device


def _to_array(data, dtype=None, device=None):
    """Convert ``data`` the way ``torch.tensor`` does: Python floats become the default
    float dtype, arrays keep theirs, Python ints become int64; the result lives on
    ``device`` (default: where ``data`` lives, the CPU for host data)."""
    if isinstance(data, Tensor):
        data = data.data
    if device is None:
        device = _device.device_of(data)
    elif not isinstance(device, _device.Device):
        device = _device.Device(device)
    if device.type != "cpu" or _device.device_array_module(data) is not None:
        xp = _device.module_for(device)
        if _device.device_array_module(data) is None:  # host data: convert here, copy over once
            return _device.to_device(_to_array(data, dtype), device)
        moved = _device.to_device(data, device)
        arr = xp.array(moved, dtype=None if dtype is None else np.dtype(dtype), copy=moved is data)
        return arr
    if dtype is not None:
        return np.array(data, dtype=np.dtype(dtype), copy=True)
    if isinstance(data, np.ndarray):
        return data.copy()
    if isinstance(data, np.generic):
        return np.array(data)
    arr = np.array(data)
    if arr.dtype == np.float64:
        arr = arr.astype(backend.get_default_dtype())
    elif arr.dtype.kind in "iu":
        arr = arr.astype(np.int64)
    elif arr.dtype == object:
        raise TypeError(f"tensor: could not convert {type(data).__name__} to a numeric array")
    return arr


class Tensor:
    """An n-dimensional array that can record the operations applied to it.

    With ``requires_grad=True``, every operation on the tensor is recorded (its Function
    becomes the result's ``grad_fn``), and ``backward()`` on a scalar result fills ``.grad``
    of the leaves with d(result)/d(leaf). ``fn.tensor`` is the usual way to make one.

    Args:
        data: the values: a nested list, a scalar, an ndarray or a Tensor (copied).
            Python floats become the default float dtype (float32), Python ints int64.
        requires_grad: record operations on this tensor for autograd (default False).
        dtype: NumPy dtype (default None: inferred from ``data`` as above).

    Attributes:
        data: the NumPy array holding the values.
        grad: a Tensor of the same shape, filled by ``backward()`` (None until then).
        requires_grad: whether operations on it are recorded.

    Example::

        >>> x = fn.Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
        >>> x.shape, x.dtype, x.is_leaf
        ((2, 2), dtype('float32'), True)
        >>> y = (x * x).sum()
        >>> y
        tensor(30., grad_fn=<SumBackward>)
        >>> y.backward()
        >>> x.grad
        tensor([[2., 4.],
                [6., 8.]])
    """

    __slots__ = ("data", "grad", "requires_grad", "_ctx", "_retain_grad", "_post_hooks", "__weakref__")
    # NumPy ufuncs refuse Tensors: ``ndarray + Tensor`` then calls Tensor.__radd__ (recorded
    # in the graph), and ``p.data -= lr * p.grad`` raises instead of silently rebinding
    # ``p.data`` to a Tensor. Use ``.numpy()``/``.data`` to do raw array math.
    __array_ufunc__ = None

    def __init__(self, data, requires_grad: bool = False, dtype=None, device=None):
        self.data = _to_array(data, dtype, device)
        self.grad = None
        self._ctx = None
        self._retain_grad = False
        self._post_hooks = None
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _wrap(cls, array, requires_grad: bool, ctx) -> "Tensor":
        t = Tensor.__new__(Tensor)
        if not isinstance(array, np.ndarray) and _device.device_array_module(array) is None:
            array = np.asarray(array)
        t.data = array
        t.grad = None
        t.requires_grad = requires_grad
        t._ctx = ctx
        t._retain_grad = False
        t._post_hooks = None
        return t

    # ----------------------------------------------------------------- properties
    @property
    def shape(self) -> tuple:
        shape = self.data.shape
        tracer = _tracing.current()  # an exporter may hand out sizes that remember their axis
        return shape if tracer is None else tracer.shape_of(self, shape)

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def device(self) -> "_device.Device":
        """Where the values live: ``device(type='cpu')`` or ``device(type='cuda', index=0)``."""
        return _device.device_of(self.data)

    @property
    def is_cuda(self) -> bool:
        return self.device.type == "cuda"

    @property
    def is_leaf(self) -> bool:
        return self._ctx is None

    @property
    def grad_fn(self):
        return self._ctx

    @property
    def T(self) -> "Tensor":
        return self.permute(*reversed(range(self.ndim)))

    def size(self, dim: int | None = None):
        return self.shape if dim is None else self.shape[dim]

    def dim(self) -> int:
        return self.data.ndim

    def numel(self) -> int:
        return int(self.data.size)

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    # ----------------------------------------------------------------- conversion
    def numpy(self) -> np.ndarray:
        """The underlying array (shared, not copied), also for tensors that require grad.

        Raises TypeError for a tensor on a GPU, as PyTorch does: ``.cpu().numpy()`` copies it."""
        if not isinstance(self.data, np.ndarray):
            raise TypeError(f"numpy(): the tensor is on {self.device}; use .cpu().numpy() to "
                            f"copy it to the host first")
        return self.data

    def item(self):
        if self.data.size != 1:
            raise ValueError(f"item(): expected a tensor with one element, got shape {self.shape}")
        return self.data.item()

    def tolist(self):
        return self.data.tolist()

    def detach(self) -> "Tensor":
        return Tensor._wrap(self.data, False, None)

    def clone(self) -> "Tensor":
        return _ops.Clone.apply(self)

    def to(self, *args, **kwargs) -> "Tensor":
        """This tensor on another device and/or in another dtype, as ``torch.Tensor.to``.

        ``t.to('cuda')``, ``t.to(fn.float64)``, ``t.to('cuda', fn.float16)``, ``t.to(other)``
        (other's device and dtype), or ``device=``/``dtype=`` by keyword. Returns ``self``
        when nothing changes; otherwise a new tensor recorded in the graph (the gradient
        goes back to the source device and dtype).
        """
        dev, dtype = _parse_to(args, kwargs)
        out = self
        if dev is not None and dev != self.device:
            out = _ops.ToDevice.apply(out, device=dev)
        if dtype is not None and np.dtype(dtype) != out.dtype:
            out = _ops.Cast.apply(out, dtype=np.dtype(dtype))
        return out

    def cuda(self, device=None) -> "Tensor":
        """This tensor on the GPU (``'cuda'``, or ``'cuda:N'`` for ``device=N``)."""
        return self.to(_device.Device("cuda", device) if device is None or isinstance(device, int)
                       else device)

    def cpu(self) -> "Tensor":
        """This tensor on the CPU (itself when it is there already)."""
        return self.to("cpu")

    def type_as(self, other) -> "Tensor":
        return self.to(dtype=other.dtype)

    def astype(self, dtype) -> "Tensor":
        return self.to(dtype=dtype)

    def float(self) -> "Tensor":
        return self.to(np.float32)

    def double(self) -> "Tensor":
        return self.to(np.float64)

    def long(self) -> "Tensor":
        return self.to(np.int64)

    def contiguous(self) -> "Tensor":
        return self

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        if requires_grad and self.data.dtype.kind not in "fc":
            raise TypeError(f"only floating-point tensors can require gradients, got {self.dtype}")
        self.requires_grad = bool(requires_grad)
        return self

    def retain_grad(self) -> None:
        """Keep ``.grad`` on this non-leaf tensor after backward (e.g. feature-map gradients)."""
        self._retain_grad = True

    def register_post_accumulate_grad_hook(self, hook):
        """Call ``hook(tensor)`` once this leaf's gradient of a backward pass is in ``.grad``.

        As torch's method of the same name: the hook runs the moment the gradient is final
        for this pass (the data-parallel wrapper sends it to the other ranks then).

        Returns:
            RemovableHandle: ``handle.remove()`` unregisters the hook.

        Example::

            >>> w = fn.tensor([1., 2.], requires_grad=True)
            >>> seen = []
            >>> handle = w.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.numpy()))
            >>> (w * w).sum().backward()
            >>> seen
            [array([2., 4.], dtype=float32)]
            >>> handle.remove(); (w * w).sum().backward(); len(seen)
            1
        """
        if self._ctx is not None:
            raise RuntimeError("register_post_accumulate_grad_hook: only a leaf tensor (a "
                               "parameter, not the result of an operation) accumulates a gradient")
        from foveanet.nn.modules._helpers import RemovableHandle

        if self._post_hooks is None:
            self._post_hooks = {}
        handle = RemovableHandle(self._post_hooks)
        self._post_hooks[handle.id] = hook
        return handle

    # ------------------------------------------------------------------ in place
    def zero_(self) -> "Tensor":
        self.data[...] = 0
        return self

    def fill_(self, value) -> "Tensor":
        self.data[...] = value
        return self

    def copy_(self, src) -> "Tensor":
        src = src.data if isinstance(src, Tensor) else src
        src = _device.to_device(src, self.device)  # torch's copy_ crosses devices too
        if not hasattr(src, "shape"):
            src = backend.array_module(self.data).asarray(src)
        if src.shape != self.data.shape:
            raise ValueError(f"copy_: shape {src.shape} does not match {self.data.shape}")
        self.data[...] = src
        return self

    # ------------------------------------------------------------------ autograd
    def backward(self, gradient=None) -> None:
        """Compute d(self)/d(leaf) for every leaf that requires grad, into ``leaf.grad``."""
        if not self.requires_grad:
            raise RuntimeError("backward(): this tensor does not require grad and has no graph")
        if gradient is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward(): grad can be implicitly created only for scalar outputs, got shape {self.shape}"
                )
            g = backend.array_module(self.data).ones_like(self.data)
        else:
            g = gradient.data if isinstance(gradient, Tensor) else gradient
            if _device.device_of(g) != self.device or not hasattr(g, "shape"):
                g = backend.array_module(self.data).asarray(_device.to_host(g), dtype=self.dtype)
            if g.shape != self.shape:
                raise ValueError(f"backward(): gradient has shape {g.shape}, tensor has {self.shape}")
        _function.backward(self, g)

    def _accumulate_grad(self, g: np.ndarray) -> None:
        if self.grad is None:
            # copy: the array may be shared with other gradients or a saved buffer
            xp = backend.array_module(self.data)
            self.grad = Tensor._wrap(xp.array(g, dtype=self.data.dtype, copy=True), False, None)
        else:
            self.grad.data += g

    # ------------------------------------------------------------------ printing
    def __repr__(self) -> str:
        body = np.array2string(_device.to_host(self.data), separator=", ", precision=4, prefix="tensor(")
        extra = ""
        if self.dtype != backend.get_default_dtype() and self.dtype != np.int64:
            extra += f", dtype={self.dtype}"
        if self.data.__class__ is not np.ndarray and _device.device_array_module(self.data):
            extra += f", device='{self.device}'"
        if self._ctx is not None:
            extra += f", grad_fn={self._ctx!r}"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        return f"tensor({body}{extra})"

    __hash__ = object.__hash__

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise RuntimeError(f"truth value of a tensor with {self.data.size} elements is ambiguous")
        return bool(self.data)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self.data.dtype.kind not in "iu":
            raise TypeError("only integer tensors can be used as an index")
        return int(self.item())

    def __array__(self, dtype=None, copy=None):
        data = self.numpy()  # a GPU tensor refuses, as torch's: .cpu() first
        return data if dtype is None else data.astype(dtype)

    # ------------------------------------------------------------ arithmetic ops
    def _operand(self, other):
        """Python and NumPy scalars take this tensor's dtype (no silent float64 upcast)."""
        if isinstance(other, Tensor):
            return other
        if isinstance(other, numbers.Number) or (isinstance(other, np.ndarray) and other.ndim == 0):
            xp = backend.array_module(self.data)
            if self.data.dtype.kind == "f" or not isinstance(other, float):
                return xp.asarray(other, dtype=self.data.dtype)
            return xp.asarray(other, dtype=backend.get_default_dtype())
        if _device.device_array_module(other) is not None:
            return other
        return backend.array_module(self.data).asarray(other)

    def __add__(self, other):
        return _ops.Add.apply(self, self._operand(other))

    def __radd__(self, other):
        return _ops.Add.apply(self._operand(other), self)

    def __sub__(self, other):
        return _ops.Sub.apply(self, self._operand(other))

    def __rsub__(self, other):
        return _ops.Sub.apply(self._operand(other), self)

    def __mul__(self, other):
        return _ops.Mul.apply(self, self._operand(other))

    def __rmul__(self, other):
        return _ops.Mul.apply(self._operand(other), self)

    def __truediv__(self, other):
        return _ops.Div.apply(self, self._operand(other))

    def __rtruediv__(self, other):
        return _ops.Div.apply(self._operand(other), self)

    def __pow__(self, other):
        return _ops.Pow.apply(self, self._operand(other))

    def __rpow__(self, other):
        return _ops.Pow.apply(self._operand(other), self)

    def __matmul__(self, other):
        return _ops.MatMul.apply(self, self._operand(other))

    def __rmatmul__(self, other):
        return _ops.MatMul.apply(self._operand(other), self)

    def __neg__(self):
        return _ops.Neg.apply(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return self.abs()

    def _compare(self, other, op):
        other = other.data if isinstance(other, Tensor) else other
        return Tensor._wrap(op(self.data, other), False, None)

    # the array's own operators: NumPy's ufuncs on the CPU, CuPy's on a GPU
    def __eq__(self, other):  # type: ignore[override]
        return self._compare(other, operator.eq)

    def __ne__(self, other):  # type: ignore[override]
        return self._compare(other, operator.ne)

    def __lt__(self, other):
        return self._compare(other, operator.lt)

    def __le__(self, other):
        return self._compare(other, operator.le)

    def __gt__(self, other):
        return self._compare(other, operator.gt)

    def __ge__(self, other):
        return self._compare(other, operator.ge)

    def __getitem__(self, key):
        return _ops.Index.apply(self, key=_ops.normalize_index(key, self.data))

    def __setitem__(self, key, value):
        if self.requires_grad and _function.is_grad_enabled():
            raise RuntimeError("in-place assignment into a tensor that requires grad; use torch-style out-of-place ops")
        self.data[_ops.normalize_index(key, self.data)] = value.data if isinstance(value, Tensor) else value

    # ------------------------------------------------------------ elementwise math
    def exp(self):
        return _ops.Exp.apply(self)

    def log(self):
        return _ops.Log.apply(self)

    def sqrt(self):
        return _ops.Sqrt.apply(self)

    def abs(self):
        return _ops.Abs.apply(self)

    def tanh(self):
        return _ops.Tanh.apply(self)

    def sigmoid(self):
        return _ops.Sigmoid.apply(self)

    def clamp(self, min=None, max=None):
        return _ops.Clamp.apply(self, lo=min, hi=max)

    clip = clamp

    def maximum(self, other):
        return _ops.Maximum.apply(self, self._operand(other))

    def minimum(self, other):
        return _ops.Minimum.apply(self, self._operand(other))

    # ----------------------------------------------------------------- reductions
    def sum(self, dim=None, keepdim: bool = False):
        return _ops.Sum.apply(self, dim=_ops.normalize_dims(dim, self.ndim), keepdim=keepdim)

    def mean(self, dim=None, keepdim: bool = False):
        return _ops.Mean.apply(self, dim=_ops.normalize_dims(dim, self.ndim), keepdim=keepdim)

    def var(self, dim=None, keepdim: bool = False, unbiased: bool = True):
        return _ops.Var.apply(self, dim=_ops.normalize_dims(dim, self.ndim), keepdim=keepdim, unbiased=unbiased)

    def std(self, dim=None, keepdim: bool = False, unbiased: bool = True):
        return self.var(dim, keepdim, unbiased).sqrt()

    def max(self, dim=None, keepdim: bool = False):
        """Without ``dim``: the largest value (ties share the gradient, like torch.amax).
        With ``dim``: ``(values, indices)`` like torch.max; the gradient goes to the index."""
        return _ops.reduce_extreme(self, dim, keepdim, largest=True)

    def min(self, dim=None, keepdim: bool = False):
        return _ops.reduce_extreme(self, dim, keepdim, largest=False)

    def amax(self, dim=None, keepdim: bool = False):
        return _ops.AMax.apply(self, dim=_ops.normalize_dims(dim, self.ndim), keepdim=keepdim, largest=True)

    def amin(self, dim=None, keepdim: bool = False):
        return _ops.AMax.apply(self, dim=_ops.normalize_dims(dim, self.ndim), keepdim=keepdim, largest=False)

    def argmax(self, dim=None, keepdim: bool = False):
        return _ops.argextreme(self, dim, keepdim, largest=True)

    def argmin(self, dim=None, keepdim: bool = False):
        return _ops.argextreme(self, dim, keepdim, largest=False)

    # -------------------------------------------------------------------- shape
    def reshape(self, *shape):
        return _ops.Reshape.apply(self, shape=_ops.normalize_shape(shape, self.data.size))

    view = reshape

    def flatten(self, start_dim: int = 0, end_dim: int = -1):
        return _ops.flatten(self, start_dim, end_dim)

    def permute(self, *dims):
        if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
            dims = tuple(dims[0])
        return _ops.Permute.apply(self, dims=_ops.normalize_perm(dims, self.ndim))

    def transpose(self, dim0: int, dim1: int):
        perm = list(range(self.ndim))
        perm[dim0], perm[dim1] = perm[dim1], perm[dim0]
        return _ops.Permute.apply(self, dims=tuple(perm))

    def t(self):
        if self.ndim > 2:
            raise ValueError(f"t(): expects a tensor with <= 2 dims, got {self.ndim}")
        return self.T

    def unsqueeze(self, dim: int):
        dim = dim + self.ndim + 1 if dim < 0 else dim
        shape = self.shape[:dim] + (1,) + self.shape[dim:]
        return _ops.Reshape.apply(self, shape=shape)

    def squeeze(self, dim=None):
        if dim is None:
            shape = tuple(n for n in self.shape if n != 1)
        else:
            dim = dim % self.ndim
            shape = self.shape if self.shape[dim] != 1 else self.shape[:dim] + self.shape[dim + 1:]
        return _ops.Reshape.apply(self, shape=shape)

    def expand(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        lead = len(shape) - self.ndim
        full = tuple(self.shape[i - lead] if (n == -1 and i >= lead) else n for i, n in enumerate(shape))
        return _ops.Expand.apply(self, shape=full)

    def chunk(self, chunks: int, dim: int = 0):
        return _ops.split(self, -(-self.shape[dim] // chunks), dim)

    def split(self, split_size, dim: int = 0):
        return _ops.split(self, split_size, dim)


def _parse_to(args, kwargs):
    """(device, dtype) from the arguments of ``Tensor.to``/``Module.to``; None where not given."""
    dev, dtype = kwargs.pop("device", None), kwargs.pop("dtype", None)
    kwargs.pop("non_blocking", None)
    if kwargs:
        raise TypeError(f"to(): unexpected keyword arguments {sorted(kwargs)}")
    for a in args:
        if isinstance(a, Tensor):
            dev, dtype = a.device, a.dtype
        elif isinstance(a, _device.Device) or (isinstance(a, str) and a.partition(":")[0] in ("cpu", "cuda")):
            dev = a
        elif a is not None:
            dtype = a
    if dev is not None:
        dev = _device.Device(dev)
        if dev.type == "cuda":
            _device.module_for(dev)  # the clear error when CuPy or the GPU is missing
    return dev, dtype


from foveanet.autograd import function as _function  # noqa: E402
from foveanet.autograd import ops as _ops  # noqa: E402
from foveanet.autograd import tracing as _tracing  # noqa: E402

# the operators and methods an exporter maps (foveanet.interop._export_tensor_ops.TENSOR),
# made visible to a tracer (foveanet.autograd.tracing)
for _name in ("__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__", "__truediv__",
              "__rtruediv__", "__pow__", "__matmul__", "__rmatmul__", "__neg__", "exp", "log", "sqrt",
              "abs", "tanh", "sigmoid", "clamp", "clip", "reshape", "view", "expand", "flatten",
              "permute", "transpose", "unsqueeze", "squeeze", "__getitem__", "__setitem__", "sum",
              "mean", "amax", "max", "to",
              # no Function records these: unseen by the tracer, a result computed from the
              # input would be saved as a constant of the example input
              "detach", "__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "argmax", "argmin"):
    setattr(Tensor, _name, _tracing.traceable(Tensor.__dict__[_name], f"Tensor.{_name}"))
del _name
