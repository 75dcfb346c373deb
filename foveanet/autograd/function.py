"""Function: one differentiable operation, its forward and its hand-written backward.

A subclass writes ``forward(self, *arrays, **settings) -> array`` on plain arrays and
``backward(self, grad_out) -> grad per positional input``. ``Function.apply`` unwraps
Tensors, runs the forward, and, when a gradient is needed, records the instance (the
"ctx") as the creator of the output so that ``backward`` can walk the graph.

Inside ``forward``, ``self.needs_input_grad`` (one bool per positional input) and
``self.requires_grad`` are already set, so an op can skip saving buffers that no
gradient will read (inference then keeps no im2col matrices alive).

A Function whose forward or backward runs a matrix product says so with ``uses_blas =
True``; ``apply`` and the backward walk then call the backend's ``before_gemm`` hook first
(on the CPU: BLAS gets back the threads a parallel region held at one). ``uses_blas =
"grad"`` asks for it only where a gradient is wanted: an op whose inference runs every
GEMM inside its own tasks. No op has to remember it, and no op file touches the thread pool.
"""
from __future__ import annotations

import contextlib
import functools
import threading

import numpy as np

from foveanet.autograd import tracing as _tracing
from foveanet.backend.arrays import kernels
from foveanet.backend.calls import CALL



class _GradState(threading.local):
    """The grad mode, one per thread as in PyTorch: a thread running ``no_grad`` (an export,
    an evaluation) leaves another thread's training recording its graph."""

    enabled = True


_grad = _GradState()


def is_grad_enabled() -> bool:
    """Whether operations on tensors that require grad are recorded for backward now.

    True unless inside ``no_grad`` or ``set_grad_enabled(False)``; one mode per thread, as in
    PyTorch.

    Returns:
        bool: the current grad mode.

    Example::

        >>> fn.is_grad_enabled()
        True
        >>> with fn.no_grad():
        ...     print(fn.is_grad_enabled())
        False
    """
    return _grad.enabled


class _GradMode:
    """Context manager and decorator that sets whether graphs are recorded."""

    enabled: bool

    def __enter__(self):
        self._prev = _grad.enabled
        _grad.enabled = self.enabled
        return self

    def __exit__(self, *exc):
        _grad.enabled = self._prev
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return fn(*args, **kwargs)

        return wrapper


class no_grad(_GradMode):
    """``with foveanet.no_grad(): ...`` records no graph (inference, optimiser updates).

    Results computed inside have ``requires_grad=False``, and ops skip saving what only
    a backward would read. Also a decorator: ``@fn.no_grad()`` runs the whole function
    this way. The previous mode comes back on exit, so it nests with ``enable_grad``.

    Example::

        >>> x = fn.tensor([1.0, 2.0], requires_grad=True)
        >>> with fn.no_grad():
        ...     y = x * 2
        >>> y.requires_grad
        False
        >>> @fn.no_grad()
        ... def double(t):
        ...     return t * 2
        >>> double(x).requires_grad, (x * 2).requires_grad
        (False, True)
    """

    enabled = False


class enable_grad(_GradMode):
    """Context manager and decorator that turns graph recording back on inside ``no_grad``.

    Example::

        >>> x = fn.tensor([1.0], requires_grad=True)
        >>> with fn.no_grad():
        ...     with fn.enable_grad():
        ...         y = x * 2
        ...     z = x * 2
        >>> y.requires_grad, z.requires_grad
        (True, False)
    """

    enabled = True


class set_grad_enabled(_GradMode):
    """Context manager that records graphs or not according to ``mode``.

    ``with fn.set_grad_enabled(training): ...`` is one block for both a training and an
    evaluation pass. Unlike torch's, it is not a decorator (use ``no_grad``/``enable_grad``).

    Args:
        mode: True records graphs (like ``enable_grad``), False does not (like ``no_grad``).

    Example::

        >>> x = fn.tensor([1.0], requires_grad=True)
        >>> with fn.set_grad_enabled(False):
        ...     y = x * 2
        >>> y.requires_grad
        False
        >>> with fn.set_grad_enabled(True):
        ...     y = x * 2
        >>> y.requires_grad
        True
    """

    def __init__(self, mode: bool):
        self.enabled = bool(mode)

    def __call__(self, fn):  # pragma: no cover - mirrors torch, rarely used as decorator
        raise TypeError("set_grad_enabled is a context manager here; use no_grad/enable_grad as decorators")


class Function:
    """Base class of every differentiable operation (see the module docstring).

    A subclass writes ``forward(self, *arrays, **settings)`` on plain arrays, saving on
    ``self`` what its backward reads, and ``backward(self, grad_out)`` returning one
    gradient (or None) per positional input. ``Cls.apply(*inputs, **settings)`` runs it on
    Tensors and records it in the graph when an input requires grad. Check a new backward
    with ``foveanet.gradcheck``.

    Example::

        >>> class Square(fn.Function):
        ...     def forward(self, x):
        ...         self.x = x
        ...         return x * x
        ...     def backward(self, grad_out):
        ...         return 2 * self.x * grad_out
        >>> x = fn.tensor([1.0, 3.0], requires_grad=True)
        >>> y = Square.apply(x)
        >>> y
        tensor([1., 9.], grad_fn=<SquareBackward>)
        >>> y.sum().backward()
        >>> x.grad
        tensor([2., 6.])
    """

    inputs: tuple
    needs_input_grad: tuple
    requires_grad: bool
    uses_blas = False  # True / "grad": forward/backward run a GEMM (see the module docstring)

    @classmethod
    def apply(cls, *inputs, **settings):
        tracer = _tracing.current()
        if tracer is not None:  # an exporter refuses the ops it has no mapping for
            tracer.applying(cls)
        ctx = cls.__new__(cls)
        arrays = []
        needs = []
        on_host = on_device = False
        for x in inputs:
            if isinstance(x, Tensor):
                arrays.append(x.data)
                needs.append(x.requires_grad)
                if x.data.__class__ is np.ndarray:
                    on_host = True
                else:
                    on_device = True
            else:
                arrays.append(x)
                needs.append(False)
        if on_host and on_device:
            _refuse_mixed_devices(cls, inputs)
        requires_grad = _grad.enabled and any(needs)
        ctx.requires_grad = requires_grad
        ctx.needs_input_grad = tuple(needs) if requires_grad else (False,) * len(needs)
        with CALL:
            if cls.uses_blas is True or (cls.uses_blas and requires_grad):
                kernels(arrays[0]).before_gemm()
            out = ctx.forward(*arrays, **settings)
        if requires_grad:
            ctx.inputs = inputs
            return Tensor._wrap(out, True, ctx)
        return Tensor._wrap(out, False, None)

    def forward(self, *arrays, **settings):  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, grad_out):  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self):
        return f"<{type(self).__name__}Backward>"


def _refuse_mixed_devices(cls, inputs) -> None:
    """Tensors on two devices met in one op: say which, as PyTorch does, instead of failing
    inside the op (NumPy would try to read GPU memory)."""
    devices = sorted({str(x.device) for x in inputs if isinstance(x, Tensor)})
    if len(devices) > 1:
        raise RuntimeError(f"{cls.__name__}: expected all tensors to be on the same device, but "
                           f"found {' and '.join(devices)}; move them with .to(device) first")


def shape_of(a) -> tuple:
    """The shape of an op's operand: an array's ``.shape``, ``()`` for a Python number (where
    ``np.shape`` would refuse a device array)."""
    try:
        return a.shape
    except AttributeError:
        return np.shape(a)


def quiet(xp, **errors):
    """``np.errstate(**errors)`` around host code; nothing for a device module (CuPy has no
    floating-point error flags to silence)."""
    return np.errstate(**errors) if xp is np else contextlib.nullcontext()


def unbroadcast(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum ``grad`` down to ``shape``: the backward of NumPy broadcasting.

    An input of shape ``shape`` broadcast to ``grad.shape`` was used once per copy, so its
    gradient is the sum over the copied axes (leading axes added, and axes of size 1).
    """
    if grad.shape == tuple(shape):
        return grad
    extra = grad.ndim - len(shape)
    if extra:
        grad = grad.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad


_final_callbacks: list = []


def queue_callback(callback) -> None:
    """Run ``callback()`` once the backward pass now running has finished, as torch's
    ``Variable._execution_engine.queue_callback``.

    A hook that starts work during backward (the data-parallel wrapper sending a bucket of
    gradients) queues the call that completes it. Outside a backward pass the callback waits
    for the end of the next one.

    Example::

        >>> from foveanet.autograd.function import queue_callback
        >>> w = fn.tensor([3.], requires_grad=True)
        >>> order = []
        >>> _ = w.register_post_accumulate_grad_hook(
        ...     lambda t: (order.append("grad"), queue_callback(lambda: order.append("end"))))
        >>> (2 * w).sum().backward(); order
        ['grad', 'end']
    """
    _final_callbacks.append(callback)


def backward(root: "Tensor", grad_root: np.ndarray) -> None:
    """Reverse-mode sweep from ``root`` through the recorded graph (a DAG).

    Nodes are visited in reverse topological order, so a tensor used by several ops
    receives the sum of all its uses' gradients before its own creator runs backward.
    Leaves (tensors with ``requires_grad`` and no creator) accumulate into ``.grad``.
    The walk is iterative, so very deep graphs (DenseNet-169) do not hit Python's
    recursion limit.
    """
    with CALL:  # one foveanet call: BLAS's threads come back when the sweep ends
        _sweep(root, grad_root)


def _sweep(root: "Tensor", grad_root: np.ndarray) -> None:
    order = []
    visited = set()
    stack = [(root, False)]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        ctx = node._ctx
        if ctx is not None:
            # the first input (the activations) is explored first, so each layer's own
            # parameters finish last in the walk and come first in the sweep: their
            # gradients are final right after the layer's backward, which is when the
            # data-parallel wrapper can send them (tests/autograd/test_hooks.py)
            for parent in reversed(ctx.inputs):
                if isinstance(parent, Tensor) and parent.requires_grad and id(parent) not in visited:
                    stack.append((parent, False))

    grads = {id(root): grad_root}
    _final_callbacks.clear()   # left by a backward that raised: never run them
    for node in reversed(order):
        g = grads.pop(id(node), None)
        if g is None:
            continue
        ctx = node._ctx
        if ctx is None or node._retain_grad:
            node._accumulate_grad(g)
        if ctx is None:
            if node._post_hooks:
                # every use of this leaf is behind us (reverse topological order): final
                for hook in list(node._post_hooks.values()):
                    hook(node)
            continue
        if ctx.uses_blas:
            kernels(g).before_gemm()
        in_grads = ctx.backward(g)
        if not isinstance(in_grads, tuple):
            in_grads = (in_grads,)
        if len(in_grads) != len(ctx.inputs):
            raise RuntimeError(
                f"{type(ctx).__name__}.backward returned {len(in_grads)} gradients "
                f"for {len(ctx.inputs)} inputs"
            )
        for parent, pg in zip(ctx.inputs, in_grads):
            if pg is None or not isinstance(parent, Tensor) or not parent.requires_grad:
                continue
            if pg.shape != parent.data.shape:
                raise RuntimeError(
                    f"{type(ctx).__name__}.backward: gradient of shape {pg.shape} "
                    f"for an input of shape {parent.data.shape}"
                )
            key = id(parent)
            prev = grads.get(key)
            # out-of-place: a backward may hand the same array to several inputs
            grads[key] = pg if prev is None else prev + pg
    while _final_callbacks:
        _final_callbacks.pop(0)()


from foveanet.autograd.tensor import Tensor  # noqa: E402  (Tensor imports this module)
