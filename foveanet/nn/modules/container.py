"""Containers: Sequential, ModuleList, ModuleDict, ParameterList."""
from __future__ import annotations

import operator
from collections import OrderedDict

from foveanet.autograd import tracing
from foveanet.nn.modules._helpers import _addindent
from foveanet.nn.modules.activation import ReLU
from foveanet.nn.modules.conv import Conv1d, Conv2d
from foveanet.nn.modules.module import Module
from foveanet.nn.modules.normalization import BatchNorm1d, BatchNorm2d
from foveanet.nn.parameter import Parameter


def _index(idx, n: int, what: str) -> int:
    idx = operator.index(idx)
    if not -n <= idx < n:
        raise IndexError(f"index {idx} is out of range for {what} of length {n}")
    return idx % n


def _then_relu(first, second) -> bool:
    """Whether ``first`` then ``second`` may run as one fused op: a plain Conv1d/Conv2d
    (zero padding) or BatchNorm1d/2d followed by a ReLU, no hook on either, no tracer."""
    kind = type(first)
    return (type(second) is ReLU
            and (kind in (BatchNorm1d, BatchNorm2d)
                 or (kind in (Conv1d, Conv2d) and first.padding_mode == "zeros"))
            and not (first._forward_hooks or first._forward_pre_hooks
                     or second._forward_hooks or second._forward_pre_hooks)
            and tracing.current() is None)


class Sequential(Module):
    """A chain of modules, each called on the previous one's output: y = m_n(...m_2(m_1(x))).

    The modules are registered as children, so their parameters, buffers and state_dict
    entries belong to the Sequential. Indexing, len, iteration, append, extend, insert and
    ``+`` work as on a list; a slice is a new Sequential, and deleting renumbers.

    A Conv1d, Conv2d, BatchNorm1d or BatchNorm2d followed by a ReLU runs as one op, the
    ReLU applied as the layer writes its output rather than as a second pass over it
    (LeNet-5's SGD step at batch 128, 2 threads, ``make bench``: 7.1-7.3 -> 6.4-6.5 ms): the
    same numbers, forward and backward. A hook on either layer, or an ONNX export's tracer,
    runs them one by one as written.

    Args:
        *args: the modules, in calling order, named "0", "1", ...; or a single
            OrderedDict of name -> module, whose names are kept (so that state_dict keys
            read ``features.conv.weight``).

    Shape:
        - Input: whatever the first module accepts.
        - Output: the last module's output (the input itself when the Sequential is empty).

    Example::

        >>> model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(),
        ...                       nn.Linear(4 * 8 * 8, 10))
        >>> model(fn.ones(2, 1, 8, 8)).shape
        (2, 10)
        >>> len(model), model[1], model[-1]
        (4, ReLU(), Linear(in_features=256, out_features=10, bias=True))
        >>> from collections import OrderedDict
        >>> named = nn.Sequential(OrderedDict(conv=nn.Conv2d(1, 4, 3), relu=nn.ReLU()))
        >>> list(named.state_dict())
        ['conv.weight', 'conv.bias']
    """

    def __init__(self, *args):
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            for key, module in args[0].items():
                self.add_module(key, module)
        else:
            for idx, module in enumerate(args):
                self.add_module(str(idx), module)

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return type(self)(OrderedDict(list(self._modules.items())[idx]))
        return list(self._modules.values())[_index(idx, len(self), type(self).__name__)]

    def __setitem__(self, idx, module) -> None:
        key = list(self._modules.keys())[_index(idx, len(self), type(self).__name__)]
        setattr(self, key, module)

    def __delitem__(self, idx) -> None:
        keys = list(self._modules.keys())
        for key in (keys[idx] if isinstance(idx, slice) else [keys[_index(idx, len(self), "Sequential")]]):
            del self._modules[key]
        # renumber so that indices and names agree again, as PyTorch does
        items = list(self._modules.items())
        self._modules.clear()
        for i, (key, m) in enumerate(items):
            self._modules[str(i) if key.isdigit() else key] = m

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __add__(self, other: "Sequential") -> "Sequential":
        if not isinstance(other, Sequential):
            raise ValueError(f"add operator supports only objects of Sequential class, got {type(other).__name__}")
        return Sequential(*self, *other)

    def append(self, module: Module) -> "Sequential":
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules) -> "Sequential":
        for m in modules:
            self.append(m)
        return self

    def insert(self, index: int, module: Module) -> "Sequential":
        n = len(self)
        if not -n <= index <= n:
            raise IndexError(f"index {index} is out of range for Sequential of length {n}")
        mods = list(self._modules.values())
        mods.insert(index % (n + 1) if index < 0 else index, module)
        self._modules.clear()
        for i, m in enumerate(mods):
            self.add_module(str(i), m)
        return self

    def forward(self, input):
        modules = list(self._modules.values())
        i = 0
        while i < len(modules):
            if i + 1 < len(modules) and _then_relu(modules[i], modules[i + 1]):
                input = modules[i]._forward_relu(input)   # the pair as one op, same numbers
                i += 2
            else:
                input = modules[i](input)
                i += 1
        return input


class ModuleList(Module):
    """A list of modules, registered as children under "0", "1", ...

    A plain Python list attribute would hide its modules from parameters(), state_dict(),
    train()/eval() and to(); a ModuleList registers them. Indexing, len, iteration, append,
    extend, insert and ``+=`` work as on a list; a slice is a new ModuleList, and deleting
    renumbers. It has no forward: the owning module decides how to call the entries.

    Args:
        modules: an iterable of modules to append (default None: empty).

    Example::

        >>> class Stack(nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.layers = nn.ModuleList([nn.Linear(4, 4) for _ in range(3)])
        ...     def forward(self, x):
        ...         for layer in self.layers:
        ...             x = layer(x)
        ...         return x
        >>> m = Stack()
        >>> m(fn.ones(2, 4)).shape, len(m.layers), len(list(m.parameters()))
        ((2, 4), 3, 6)
        >>> print(nn.ModuleList([nn.ReLU(), nn.ReLU(), nn.Tanh()]))
        ModuleList(
          (0-1): 2 x ReLU()
          (2): Tanh()
        )
    """

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return type(self)(list(self._modules.values())[idx])
        return self._modules[str(_index(idx, len(self), type(self).__name__))]

    def __setitem__(self, idx, module) -> None:
        setattr(self, str(_index(idx, len(self), type(self).__name__)), module)

    def __delitem__(self, idx) -> None:
        keys = list(self._modules.keys())
        for key in (keys[idx] if isinstance(idx, slice) else [keys[_index(idx, len(self), "ModuleList")]]):
            del self._modules[key]
        mods = list(self._modules.values())
        self._modules.clear()
        for i, m in enumerate(mods):
            self._modules[str(i)] = m

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __iadd__(self, modules):
        return self.extend(modules)

    def append(self, module: Module) -> "ModuleList":
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules) -> "ModuleList":
        for m in modules:
            self.append(m)
        return self

    def insert(self, index: int, module: Module) -> None:
        mods = list(self._modules.values())
        mods.insert(index, module)
        self._modules.clear()
        for i, m in enumerate(mods):
            self.add_module(str(i), m)

    def __repr__(self) -> str:
        # PyTorch folds runs of identical reprs: "(0-2): 3 x ReLU()"
        reprs = [repr(m) for m in self]
        if not reprs:
            return "ModuleList()"
        lines, start = [], 0
        for i in range(1, len(reprs) + 1):
            if i < len(reprs) and reprs[i] == reprs[start]:
                continue
            body = _addindent(reprs[start], 2)
            if i - start == 1:
                lines.append(f"({start}): {body}")
            else:
                lines.append(f"({start}-{i - 1}): {i - start} x {body}")
            start = i
        return "ModuleList(\n  " + "\n  ".join(lines) + "\n)"


class ModuleDict(Module):
    """A dict of modules, registered as children under their keys, in insertion order.

    Like ModuleList, it makes the modules part of the owner's parameters(), state_dict(),
    train()/eval() and to(), which a plain dict attribute would not. ``d[key]``, ``in``,
    len, iteration over the keys, keys(), values(), items(), pop(), clear() and update()
    work as on a dict. Keys must be non-empty strings without "." that are not already
    attribute names (such as "keys" or "training"). It has no forward.

    Args:
        modules: a mapping, or an iterable of (key, module) pairs, to add (default None:
            empty).

    Example::

        >>> d = nn.ModuleDict({"act": nn.ReLU(), "proj": nn.Linear(2, 3)})
        >>> list(d.keys()), "act" in d, len(d)
        (['act', 'proj'], True, 2)
        >>> d["proj"](fn.ones(1, 2)).shape
        (1, 3)
        >>> list(d.state_dict())
        ['proj.weight', 'proj.bias']
    """

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, module)

    def __delitem__(self, key: str) -> None:
        del self._modules[key]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def __contains__(self, key) -> bool:
        return key in self._modules

    def keys(self):
        return self._modules.keys()

    def items(self):
        return self._modules.items()

    def values(self):
        return self._modules.values()

    def pop(self, key: str) -> Module:
        return self._modules.pop(key)

    def clear(self) -> None:
        self._modules.clear()

    def update(self, modules) -> None:
        items = modules.items() if hasattr(modules, "items") else modules
        for key, m in items:
            self[key] = m


class ParameterList(Module):
    """A list of Parameters, registered under "0", "1", ...

    A plain Python list of Parameters would hide them from parameters() and state_dict();
    a ParameterList registers them. Tensors and arrays given to it are wrapped in
    Parameter, sharing their memory. Indexing, len, iteration, append and extend work as
    on a list; a slice is a new ParameterList. It has no forward.

    Args:
        values: an iterable of Parameters, Tensors or arrays to append (default None: empty).

    Example::

        >>> ps = nn.ParameterList([fn.ones(2), nn.Parameter(fn.zeros(3))])
        >>> [type(p).__name__ for p in ps], [p.shape for p in ps], ps[0].requires_grad
        (['Parameter', 'Parameter'], [(2,), (3,)], True)
        >>> list(ps.state_dict()), len(list(ps.parameters()))
        (['0', '1'], 2)
    """

    def __init__(self, values=None):
        super().__init__()
        for v in values or ():
            self.append(v)

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return ParameterList(list(self._parameters.values())[idx])
        return self._parameters[str(_index(idx, len(self), "ParameterList"))]

    def __setitem__(self, idx, value) -> None:
        self.register_parameter(str(_index(idx, len(self), "ParameterList")), _as_param(value))

    def __len__(self) -> int:
        return len(self._parameters)

    def __iter__(self):
        return iter(self._parameters.values())

    def append(self, value) -> "ParameterList":
        self.register_parameter(str(len(self)), _as_param(value))
        return self

    def extend(self, values) -> "ParameterList":
        for v in values:
            self.append(v)
        return self

    def extra_repr(self) -> str:
        return "\n".join(f"({i}): Parameter containing: [{p.dtype} of size {tuple(p.shape)}]"
                         for i, p in enumerate(self))


def _as_param(value) -> Parameter:
    return value if isinstance(value, Parameter) else Parameter(value)
