"""Optimizer base: parameter groups, per-parameter state, state_dict in PyTorch's layout.

Updates run on the raw arrays (``p.data``), never through autograd, so a step records no
graph and costs only the arithmetic. Subclasses implement ``_update_group``.
"""
from __future__ import annotations

import copy

import numpy as np

from foveanet.autograd import Tensor, enable_grad
from foveanet.backend import devices as _device
from foveanet.backend.arrays import array_module


class _Required:
    """Marks a hyper-parameter that has no default and must come with every group."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _Required()


def _as_array(x):
    return x.data if isinstance(x, Tensor) else x


def _is_array(x) -> bool:
    """A NumPy array or a device array (CuPy's), as held in optimizer state."""
    return isinstance(x, np.ndarray) or _device.device_array_module(x) is not None


class Optimizer:
    """Holds ``param_groups`` (dicts of hyper-parameters plus ``'params'``) and ``state``
    (one dict per parameter, keyed by the parameter object).

    The base of every optimizer: a subclass passes its hyper-parameters as ``defaults``
    and writes ``_update_group(group)``, which updates the arrays of one group in place.
    ``step()``, ``zero_grad()``, ``add_param_group()``, ``state_dict()`` and
    ``load_state_dict()`` work as in torch.optim, state_dict layout included.

    Args:
        params: an iterable of Tensors, or of dicts each with a ``'params'`` list and
            hyper-parameters overriding ``defaults`` for that group.
        defaults: the hyper-parameters a group gets when it does not set them.

    Example::

        >>> w, b = nn.Parameter(fn.ones(2)), nn.Parameter(fn.zeros(1))
        >>> opt = fn.optim.SGD([{"params": [w]}, {"params": [b], "lr": 0.5}], lr=0.1)
        >>> [(len(g["params"]), g["lr"]) for g in opt.param_groups]
        [(1, 0.1), (1, 0.5)]
        >>> (w.sum() + b.sum()).backward()          # both gradients are 1
        >>> opt.step()
        >>> w.numpy(), b.numpy()
        (array([0.9, 0.9], dtype=float32), array([-0.5], dtype=float32))
        >>> opt.zero_grad()
        >>> w.grad is None
        True
        >>> opt.state_dict()["param_groups"][1]["params"]
        [1]
    """

    def __init__(self, params, defaults: dict):
        self.defaults = dict(defaults)
        self.state: dict = {}
        self.param_groups: list[dict] = []
        # flat reusable work arrays (one per device and dtype) so a step allocates nothing
        # per parameter
        self._scratch: dict = {}
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            f"Tensors or dicts, but got {type(params).__name__}")
        if isinstance(params, dict):
            params = [params]
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in sorted(group.items()) if k != "params"]
        return "\n".join(lines + [")"])

    # ------------------------------------------------------------------ groups
    def add_param_group(self, param_group: dict) -> None:
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, got {type(param_group).__name__}")
        group = dict(param_group)
        params = group.get("params")
        if params is None:
            raise ValueError("param_group has no 'params' entry")
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, "
                            "but the ordering of tensors in sets will change between runs; use a list")
        params = list(params)
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params is "
                                f"{type(p).__name__}")
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        if len({id(p) for p in params}) != len(params):
            raise ValueError("optimizer contains a parameter group with duplicate parameters")
        group["params"] = params
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError(f"parameter group didn't specify a value of required "
                                 f"optimization parameter {name}")
            group.setdefault(name, default)
        self._check_group(group)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    def _check_group(self, group: dict) -> None:
        """Subclasses validate a group's hyper-parameters here (also groups added later)."""

    # ------------------------------------------------------------------- steps
    def zero_grad(self, set_to_none: bool = True) -> None:
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    _as_array(p.grad)[...] = 0

    def step(self, closure=None):
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            self._update_group(group)
        return loss

    def _update_group(self, group: dict) -> None:
        raise NotImplementedError

    def _work(self, like: np.ndarray, slot: int = 0) -> np.ndarray:
        """A scratch array shaped and typed like ``like`` on its device, viewed out of a flat
        buffer that grows to the largest parameter; ``slot`` picks independent buffers."""
        key = (like.__class__, like.dtype, slot)
        buf = self._scratch.get(key)
        if buf is None or buf.size < like.size:
            buf = array_module(like).empty(like.size, dtype=like.dtype)
            self._scratch[key] = buf
        return buf[: like.size].reshape(like.shape)

    def _decayed_grad(self, p: np.ndarray, grad: np.ndarray, wd: float, maximize: bool) -> np.ndarray:
        """``grad + wd·p`` (coupled L2 weight decay), negated when ``maximize``: ``grad``
        itself when neither applies, else written into scratch slot 1."""
        if wd == 0.0 and not maximize:
            return grad
        g = self._work(p, 1)
        if wd != 0.0:
            array_module(p).multiply(p, wd, out=g)
            if maximize:
                g -= grad
            else:
                g += grad
        else:
            array_module(p).negative(grad, out=g)
        return g

    @staticmethod
    def _grads(group: dict):
        """(param array, grad array, param) for the params of ``group`` that have a grad."""
        for p in group["params"]:
            if p.grad is not None:
                g = _as_array(p.grad)
                # in-place NumPy ops would silently broadcast a wrongly shaped grad
                if g.shape != p.data.shape:
                    raise ValueError(f"optimizer: grad of shape {g.shape} for a parameter of "
                                     f"shape {p.data.shape}")
                yield p.data, g, p

    # -------------------------------------------------------------- state dict
    def state_dict(self) -> dict:
        """``{'state': {index: {...}}, 'param_groups': [{..., 'params': [index, ...]}]}``;
        indices number the parameters across groups in order. Arrays are copied into
        Tensors, so the result is a snapshot that later steps do not change."""
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: copy.deepcopy(v) for k, v in group.items() if k != "params"}
            for p in group["params"]:
                index.setdefault(id(p), len(index))
            packed["params"] = [index[id(p)] for p in group["params"]]
            groups.append(packed)
        params = {id(p): p for g in self.param_groups for p in g["params"]}
        state = {}
        for pid, i in sorted(index.items(), key=lambda kv: kv[1]):
            st = self.state.get(params[pid])
            if st:
                state[i] = {k: (Tensor(v) if _is_array(v) else copy.deepcopy(v))
                            for k, v in st.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore from ``state_dict()`` output (possibly after save/load). The values are
        copied; floating state is cast to its parameter's dtype."""
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError("loaded state dict has a different number of parameter groups "
                             f"({len(saved_groups)} vs {len(self.param_groups)})")
        for mine, saved in zip(self.param_groups, saved_groups):
            if len(mine["params"]) != len(saved["params"]):
                raise ValueError("loaded state dict contains a parameter group that doesn't match "
                                 f"the size of optimizer's group ({len(saved['params'])} vs "
                                 f"{len(mine['params'])} params)")
        by_index = {}
        for mine, saved in zip(self.param_groups, saved_groups):
            for i, p in zip(saved["params"], mine["params"]):
                by_index[int(i)] = p
        self.state = {}
        for i, st in state_dict["state"].items():
            p = by_index.get(int(i))
            if p is None:
                continue
            self.state[p] = {k: self._restore_value(k, v, p) for k, v in st.items()}
        for mine, saved in zip(self.param_groups, saved_groups):
            for k, v in saved.items():
                if k == "params":
                    continue
                # JSON and other round trips turn tuples (betas) into lists
                if isinstance(v, list) and isinstance(self.defaults.get(k, mine.get(k)), tuple):
                    v = tuple(v)
                mine[k] = copy.deepcopy(v)

    @staticmethod
    def _restore_value(key, value, param):
        value = _as_array(value)
        if _is_array(value):
            if key == "step":
                return int(value)
            # state read on the host (a checkpoint) goes to its parameter's device
            value = _device.to_device(value, _device.device_of(param.data))
            xp = array_module(param.data)
            if value.dtype.kind == "f":
                return xp.array(value, dtype=param.data.dtype, copy=True)
            return xp.array(value, copy=True)
        if key == "step":
            return int(value)
        return copy.deepcopy(value)
