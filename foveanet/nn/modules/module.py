"""Module: the base class of layers and models, with PyTorch's registration and state_dict rules."""
from __future__ import annotations

from collections import OrderedDict

import numpy as np

from foveanet.autograd.tensor import Tensor, _parse_to
from foveanet.backend import devices as _device
from foveanet.backend.calls import CALL
from foveanet.backend.arrays import array_module
from foveanet.nn.modules._helpers import RemovableHandle, _addindent, _as_array, _IncompatibleKeys
from foveanet.nn.parameter import Parameter


class Module:
    """Base class of layers and models: it tracks the Parameters, Modules and buffers it holds.

    Subclasses call ``super().__init__()`` first and define ``forward``; calling the module
    runs forward pre-hooks, ``forward`` and forward hooks. Tracked members (Parameters and
    child Modules assigned as attributes, Tensors given to ``register_buffer``) show up in
    parameters(), buffers(), children(), state_dict() and the repr, and follow train(),
    eval() and to(device or dtype); other attributes are plain Python attributes.

    Example::

        >>> class Affine(nn.Module):
        ...     def __init__(self, n):
        ...         super().__init__()
        ...         self.scale = nn.Parameter(fn.ones(n))
        ...         self.register_buffer("shift", fn.zeros(n))
        ...     def forward(self, x):
        ...         return x * self.scale + self.shift
        >>> m = Affine(2)
        >>> m(fn.tensor([1., 2.])).numpy()
        array([1., 2.], dtype=float32)
        >>> [name for name, _ in m.named_parameters()], list(m.state_dict())
        (['scale'], ['scale', 'shift'])
        >>> m.training, m.eval().training
        (True, False)
    """

    training: bool

    def __init__(self):
        d = self.__dict__
        d["training"] = True
        d["_parameters"] = OrderedDict()
        d["_buffers"] = OrderedDict()
        d["_non_persistent_buffers_set"] = set()
        d["_modules"] = OrderedDict()
        d["_forward_hooks"] = OrderedDict()
        d["_forward_pre_hooks"] = OrderedDict()

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"Module [{type(self).__name__}] is missing the required \"forward\" function")

    def __call__(self, *args, **kwargs):
        with CALL:  # a forward is one foveanet call (backend/calls.py)
            if self._forward_pre_hooks:
                for hook in list(self._forward_pre_hooks.values()):
                    res = hook(self, args)
                    if res is not None:
                        args = res if isinstance(res, tuple) else (res,)
            out = self.forward(*args, **kwargs)
            if self._forward_hooks:
                for hook in list(self._forward_hooks.values()):
                    res = hook(self, args, out)
                    if res is not None:
                        out = res
            return out

    # ----------------------------------------------------------------- registration
    def _check_init(self, what: str) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot assign {what} before Module.__init__() call")

    def _check_name(self, name, kind: str) -> None:
        if not isinstance(name, str):
            raise TypeError(f"{kind} name should be a string, got {type(name).__name__}")
        if name == "" or "." in name:
            raise KeyError(f"{kind} name can't be empty or contain \".\", got {name!r}")
        if hasattr(self, name) and name not in getattr(self, f"_{kind}s", ()):
            raise KeyError(f"attribute '{name}' already exists")

    def register_parameter(self, name: str, param) -> None:
        self._check_init("parameters")
        self._check_name(name, "parameter")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{type(param).__name__}' object to parameter '{name}' "
                            "(nn.Parameter or None required)")
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor, persistent: bool = True) -> None:
        self._check_init("buffers")
        self._check_name(name, "buffer")
        if isinstance(tensor, np.ndarray):
            tensor = Tensor._wrap(tensor, False, None)
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign '{type(tensor).__name__}' object to buffer '{name}' "
                            "(Tensor or None required)")
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def add_module(self, name: str, module) -> None:
        self._check_init("child modules")
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        self._check_name(name, "module")
        self._modules[name] = module

    register_module = add_module

    def __setattr__(self, name: str, value) -> None:
        d = self.__dict__
        params = d.get("_parameters")
        if isinstance(value, Parameter):
            self._check_init("parameters")
            self._forget(name, keep="_parameters")
            self.register_parameter(name, value)
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as parameter '{name}' "
                                "(nn.Parameter or None expected)")
            params[name] = None
        elif isinstance(value, Module):
            self._check_init("child modules")
            self._forget(name, keep="_modules")
            d["_modules"][name] = value
        elif params is not None and name in d["_modules"]:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as child module '{name}' "
                                "(nn.Module or None expected)")
            d["_modules"][name] = None
        elif params is not None and name in d["_buffers"]:
            if isinstance(value, np.ndarray):
                value = Tensor._wrap(value, False, None)
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign '{type(value).__name__}' as buffer '{name}' "
                                "(Tensor or None expected)")
            d["_buffers"][name] = value
        else:
            object.__setattr__(self, name, value)

    def _forget(self, name: str, keep: str) -> None:
        # the kind being assigned keeps its slot, so replacing a weight keeps state_dict order
        d = self.__dict__
        d.pop(name, None)
        for key in ("_parameters", "_buffers", "_modules"):
            if key != keep:
                d[key].pop(name, None)
        d["_non_persistent_buffers_set"].discard(name)

    def __getattr__(self, name: str):
        # only reached when normal lookup fails: registered members live in the three dicts
        d = self.__dict__
        for key in ("_parameters", "_buffers", "_modules"):
            store = d.get(key)
            if store is not None and name in store:
                return store[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        d = self.__dict__
        for key in ("_parameters", "_buffers", "_modules"):
            if name in d.get(key, ()):
                del d[key][name]
                d["_non_persistent_buffers_set"].discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self):
        keys = list(super().__dir__()) + list(self._parameters) + list(self._buffers) + list(self._modules)
        return sorted(k for k in set(keys) if not k[0].isdigit())

    # ------------------------------------------------------------------------ hooks
    def register_forward_pre_hook(self, hook) -> RemovableHandle:
        """``hook(module, args) -> None or new args``, before forward."""
        handle = RemovableHandle(self._forward_pre_hooks)
        self._forward_pre_hooks[handle.id] = hook
        return handle

    def register_forward_hook(self, hook) -> RemovableHandle:
        """``hook(module, args, output) -> None or new output``, after forward."""
        handle = RemovableHandle(self._forward_hooks)
        self._forward_hooks[handle.id] = hook
        return handle

    # -------------------------------------------------------------------- iteration
    def _named_members(self, get, prefix="", recurse=True, remove_duplicate=True):
        memo = set()
        mods = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse else [(prefix, self)]
        for mod_prefix, mod in mods:
            for name, value in get(mod):
                if value is None:
                    continue
                if remove_duplicate:
                    # by identity: Tensor.__eq__ is elementwise, so no `in`/set of tensors
                    if id(value) in memo:
                        continue
                    memo.add(id(value))
                yield (mod_prefix + ("." if mod_prefix else "") + name), value

    def named_parameters(self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True):
        """(name, Parameter) pairs; a parameter shared by several modules comes once, under its first name."""
        yield from self._named_members(lambda m: m._parameters.items(), prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True):
        yield from self._named_members(lambda m: m._buffers.items(), prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def named_children(self):
        memo = set()
        for name, m in self._modules.items():
            if m is not None and id(m) not in memo:
                memo.add(id(m))
                yield name, m

    def children(self):
        for _, m in self.named_children():
            yield m

    def named_modules(self, memo=None, prefix: str = "", remove_duplicate: bool = True):
        """Pre-order walk: (dotted name, module), the root first under ``prefix``."""
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, m in self._modules.items():
            if m is None:
                continue
            yield from m.named_modules(memo, prefix + ("." if prefix else "") + name, remove_duplicate)

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def get_submodule(self, target: str) -> "Module":
        if target == "":
            return self
        mod = self
        for i, part in enumerate(target.split(".")):
            child = mod._modules.get(part) if isinstance(mod, Module) else None
            if child is None:
                where = ".".join(target.split(".")[:i]) or type(self).__name__
                raise AttributeError(f"{where} has no submodule `{part}` (looking up '{target}')")
            mod = child
        return mod

    def get_parameter(self, target: str) -> Parameter:
        mod_path, _, name = target.rpartition(".")
        mod = self.get_submodule(mod_path)
        if name not in mod._parameters or mod._parameters[name] is None:
            raise AttributeError(f"'{target}' is not a parameter")
        return mod._parameters[name]

    # --------------------------------------------------------------------- modes
    def train(self, mode: bool = True) -> "Module":
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        for m in self.modules():
            m.training = mode
        return self

    def eval(self) -> "Module":
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> "Module":
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                p.grad.data[...] = 0

    def apply(self, fn) -> "Module":
        """``fn`` on every submodule, children before parents (as PyTorch: init helpers rely on it)."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    # ------------------------------------------------------------- dtype, device
    def to(self, *args, **kwargs) -> "Module":
        """Move and/or cast parameters (and their grads) and buffers in place, as
        ``torch.nn.Module.to``: ``to('cuda')``, ``to(fn.float64)``, ``to('cuda', fn.float16)``,
        ``to(tensor)`` (its device and dtype), or ``device=``/``dtype=`` by keyword.

        The Parameter and buffer objects stay the same (only their arrays are replaced),
        so an optimizer built before keeps working. A dtype casts the floating ones only
        (BatchNorm's int64 counter stays int64); a device moves all of them.

        Args:
            *args: a device (``'cpu'``, ``'cuda'``, ``'cuda:N'``, a Device), a floating
                dtype, or a Tensor.
            **kwargs: ``device=``, ``dtype=``, ``non_blocking=`` (accepted, ignored).

        Returns:
            Module: ``self``.

        Raises:
            TypeError: a dtype that is not floating point, or an argument that is neither.
            RuntimeError: ``'cuda'`` where CuPy or a GPU is missing.

        Example::

            >>> m = nn.Linear(2, 1)
            >>> w = m.weight
            >>> m.to(fn.float64) is m, m.weight is w, w.dtype
            (True, True, dtype('float64'))
            >>> m.to("cpu").weight.device
            device(type='cpu')
        """
        try:
            dev, dtype = _parse_to(args, dict(kwargs))
        except TypeError as e:
            raise TypeError(f"Module.to: {e}") from None
        if dtype is not None:
            try:
                dtype = np.dtype(dtype)
            except TypeError:
                raise TypeError(f"Module.to: expected a device, a dtype or a Tensor, got {dtype!r}") from None
            if dtype.kind != "f":
                raise TypeError(f"Module.to: only floating point dtypes are accepted, got {dtype}")

        def convert(a):
            if dtype is not None and a.dtype.kind == "f" and a.dtype != dtype:
                a = a.astype(dtype)
            return a if dev is None else _device.to_device(a, dev)

        for p in self.parameters():
            p.data = convert(p.data)
            if p.grad is not None:
                p.grad.data = convert(p.grad.data)
        for b in self.buffers():
            b.data = convert(b.data)
        return self

    def float(self) -> "Module":
        return self.to(np.float32)

    def double(self) -> "Module":
        return self.to(np.float64)

    def half(self) -> "Module":
        return self.to(np.float16)

    def cuda(self, device=None) -> "Module":
        """Move every parameter and buffer to the GPU (``'cuda'``, or GPU ``device`` when an
        int), in place; see ``to``."""
        return self.to(_device.Device("cuda", device) if isinstance(device, int) or device is None
                       else device)

    def cpu(self) -> "Module":
        """Move every parameter and buffer to the CPU, in place; see ``to``."""
        return self.to("cpu")

    # ---------------------------------------------------------------- state_dict
    def _save_to_state_dict(self, destination, prefix, keep_vars):
        for name, p in self._parameters.items():
            if p is not None:
                destination[prefix + name] = p if keep_vars else p.detach()
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent_buffers_set:
                destination[prefix + name] = b if keep_vars else b.detach()

    def state_dict(self, destination=None, prefix: str = "", keep_vars: bool = False):
        """OrderedDict name -> Tensor (sharing memory with the module), PyTorch's key names:
        parameters then persistent buffers of each module, in registration order, pre-order."""
        if destination is None:
            destination = OrderedDict()
        self._save_to_state_dict(destination, prefix, keep_vars)
        for name, m in self._modules.items():
            if m is not None:
                m.state_dict(destination=destination, prefix=prefix + name + ".", keep_vars=keep_vars)
        return destination

    def _optional_state_keys(self) -> tuple:
        """Local state names that may be absent from a loaded state_dict (BatchNorm's counter,
        which older checkpoints lack; PyTorch fills it in the same way)."""
        return ()

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        """Copy ``state_dict`` (name -> Tensor or ndarray) into this module's arrays in place,
        cast to their dtypes. Returns ``(missing_keys, unexpected_keys)``.

        Checks everything before copying anything: a failed load leaves the module unchanged.
        A shape mismatch is an error even with ``strict=False``; with ``strict=True`` missing
        or unexpected keys are too, and the message names every one of them.
        """
        if not hasattr(state_dict, "items"):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict).__name__}.")
        own, optional = OrderedDict(), set()
        for mod_prefix, m in self.named_modules(remove_duplicate=False):
            pre = mod_prefix + "." if mod_prefix else ""
            m._save_to_state_dict(own, pre, keep_vars=True)
            optional.update(pre + k for k in m._optional_state_keys())
        missing = [k for k in own if k not in state_dict and k not in optional]
        unexpected = [k for k in state_dict if k not in own]
        errors, plan = [], []
        for key, target in own.items():
            if key not in state_dict:
                continue
            src = _as_array(state_dict[key], key)
            if src.shape != target.data.shape:
                errors.append(f"size mismatch for {key}: copying a param with shape {tuple(src.shape)} from "
                              f"checkpoint, the shape in current model is {tuple(target.data.shape)}.")
                continue
            plan.append((target, src))
        if strict:
            if unexpected:
                errors.insert(0, "Unexpected key(s) in state_dict: " + ", ".join(f'"{k}"' for k in unexpected) + ".")
            if missing:
                errors.insert(0, "Missing key(s) in state_dict: " + ", ".join(f'"{k}"' for k in missing) + ".")
        if errors:
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:\n\t" + "\n\t".join(errors))
        for target, src in plan:
            dst = target.data
            # a checkpoint read on the CPU goes to the device the module lives on, as torch's
            # copy_ does, so a CUDA model loads a file read on the host
            src = _device.to_device(src, _device.device_of(dst))
            xp = array_module(dst)
            if assign:
                target.data = xp.array(src, dtype=dst.dtype, copy=True)
            else:
                # unsafe casting: float64 checkpoints into float32 models, like tensor.copy_
                xp.copyto(dst, src, casting="unsafe")
        return _IncompatibleKeys(missing, unexpected)

    # --------------------------------------------------------------------- repr
    def extra_repr(self) -> str:
        return ""

    def _get_name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [f"({name}): " + _addindent(repr(m), 2) for name, m in self._modules.items()]
        lines = extra_lines + child_lines
        body = ""
        if lines:
            if len(extra_lines) == 1 and not child_lines:
                body = extra_lines[0]
            else:
                body = "\n  " + "\n  ".join(lines) + "\n"
        return f"{self._get_name()}({body})"
