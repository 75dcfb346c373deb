"""Recurrent layers LSTM and GRU with torch.nn's signature and state_dict keys."""
from __future__ import annotations

import math

import numpy as np

import foveanet.functional as F
from foveanet import backend
from foveanet.backend.arrays import array_module
from foveanet.autograd.shape_ops import cat, stack
from foveanet.functional._utils import as_tensor
from foveanet.functional.recurrent import gru_layer, lstm_layer
from foveanet.nn import init
from foveanet.nn.modules.module import Module
from foveanet.nn.parameter import Parameter


class _RNNBase(Module):
    _gates = 1

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 proj_size: int = 0, device=None, dtype=None):
        super().__init__()
        name = type(self).__name__
        if proj_size:
            raise ValueError(f"{name}: proj_size is not supported here, got {proj_size}")
        if not 0 <= dropout <= 1:
            raise ValueError(f"{name}: dropout must be in [0, 1], got {dropout}")
        if hidden_size < 1 or num_layers < 1:
            raise ValueError(f"{name}: hidden_size and num_layers must be positive, "
                             f"got {hidden_size} and {num_layers}")
        self.input_size, self.hidden_size, self.num_layers = int(input_size), int(hidden_size), int(num_layers)
        self.bias, self.batch_first, self.dropout = bool(bias), bool(batch_first), float(dropout)
        self.bidirectional = bool(bidirectional)
        dirs = 2 if bidirectional else 1
        dt = np.dtype(dtype or backend.get_default_dtype())
        g = self._gates * hidden_size
        for layer in range(num_layers):
            width = input_size if layer == 0 else hidden_size * dirs
            for sfx in ("", "_reverse")[:dirs]:
                self.register_parameter(f"weight_ih_l{layer}{sfx}", Parameter(np.empty((g, width), dt)))
                self.register_parameter(f"weight_hh_l{layer}{sfx}", Parameter(np.empty((g, hidden_size), dt)))
                if bias:
                    self.register_parameter(f"bias_ih_l{layer}{sfx}", Parameter(np.empty((g,), dt)))
                    self.register_parameter(f"bias_hh_l{layer}{sfx}", Parameter(np.empty((g,), dt)))
        self.reset_parameters()
        if device is not None:
            self.to(device)

    def reset_parameters(self) -> None:
        bound = 1 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    def _weights(self, layer, sfx):
        get = lambda k: getattr(self, f"{k}_l{layer}{sfx}") if self.bias or k.startswith("w") else None  # noqa: E731
        return get("weight_ih"), get("weight_hh"), get("bias_ih"), get("bias_hh")

    def _prepare(self, input, hx, states):
        """The input as (T, N, I), the initial states as (layers*dirs, N, H) each, and whether
        the input came unbatched."""
        name = type(self).__name__
        x = as_tensor(input, op=name)
        if x.ndim not in (2, 3):
            raise ValueError(f"{name}: expected a 2-d (L, H_in) or 3-d input, got shape {tuple(x.shape)}")
        unbatched = x.ndim == 2
        if unbatched:
            x = x.reshape(x.shape[0], 1, x.shape[1])
        elif self.batch_first:
            x = x.permute(1, 0, 2)
        if x.shape[2] != self.input_size:
            raise ValueError(f"{name}: input has {x.shape[2]} features, expected input_size={self.input_size}")
        dirs = 2 if self.bidirectional else 1
        shape = (self.num_layers * dirs, x.shape[1], self.hidden_size)
        if hx is None:
            hx = tuple(array_module(x.data).zeros(shape, x.dtype) for _ in range(states))
        elif states == 1:
            hx = (hx,)
        out = []
        for h in hx:
            h = as_tensor(h, "hx", name)
            if unbatched and h.ndim == 2:
                h = h.reshape(h.shape[0], 1, h.shape[1])
            if tuple(h.shape) != shape:
                raise ValueError(f"{name}: initial state has shape {tuple(h.shape)}, expected {shape}")
            out.append(h)
        return x, out, unbatched

    def _run(self, input, hx, states, step):
        x, h0, unbatched = self._prepare(input, hx, states)
        dirs = 2 if self.bidirectional else 1
        finals = [[] for _ in range(states)]
        for layer in range(self.num_layers):
            if layer and self.dropout and self.training:
                x = F.dropout(x, self.dropout, training=True)
            outs = []
            for d, sfx in enumerate(("", "_reverse")[:dirs]):
                k = layer * dirs + d
                res = step(x, [h[k] for h in h0], self._weights(layer, sfx), d == 1)
                outs.append(res[0])
                for s in range(states):
                    finals[s].append(res[1 + s])
            x = outs[0] if dirs == 1 else cat(outs, dim=2)
        if unbatched:
            out = x.reshape(x.shape[0], x.shape[2])
            finals = [[f.reshape(f.shape[1]) for f in fs] for fs in finals]
        else:
            out = x.permute(1, 0, 2) if self.batch_first else x
        return out, [stack(fs, dim=0) for fs in finals]

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s


class LSTM(_RNNBase):
    """Multi-layer long short-term memory over a sequence, with torch.nn.LSTM's signature.

    For each frame t, with x_t the layer's input and (h_{t-1}, c_{t-1}) its state:

        i = sigmoid(W_ii x_t + b_ii + W_hi h_{t-1} + b_hi)
        f = sigmoid(W_if x_t + b_if + W_hf h_{t-1} + b_hf)
        g = tanh(W_ig x_t + b_ig + W_hg h_{t-1} + b_hg)
        o = sigmoid(W_io x_t + b_io + W_ho h_{t-1} + b_ho)
        c_t = f * c_{t-1} + i * g,    h_t = o * tanh(c_t)

    Layer k > 0 reads layer k-1's outputs (both directions concatenated when
    bidirectional), with dropout between layers in training. The backward through time is
    written by hand (``foveanet.functional.recurrent``).

    Args:
        input_size: I, features per frame.
        hidden_size: H, features of the state.
        num_layers: stacked layers (default 1).
        bias: learn b_ih and b_hh (default True).
        batch_first: input and output are (N, T, ``*``) instead of (T, N, ``*``) (default False).
        dropout: dropout probability on every layer's output but the last (default 0).
        bidirectional: add a layer reading the sequence backwards (default False).
        proj_size: only 0 is supported.
        device: where the parameters live (default None: the CPU); ``'cuda'`` builds them on
            the host (one seed, one model on every device) and moves them, as ``.to(device)``.
        dtype: the parameters' dtype (default ``foveanet.get_default_dtype()``).

    Shape:
        - Input: (T, N, I), (N, T, I) with batch_first, or unbatched (T, I).
        - Output: ``(T, N, D * H)`` with D = 2 if bidirectional else 1;
          h_n and c_n: ``(D * num_layers, N, H)``.

    Attributes:
        weight_ih_l[k]: (4H, I) for k = 0, else (4H, D*H), gates stacked (i, f, g, o).
        weight_hh_l[k]: (4H, H); bias_ih_l[k], bias_hh_l[k]: (4H,); the backward direction's
            carry the suffix ``_reverse``. All are initialised U(-1/sqrt(H), 1/sqrt(H)).

    Example::

        >>> lstm = nn.LSTM(10, 20, num_layers=2, bidirectional=True)
        >>> out, (h, c) = lstm(fn.ones(5, 3, 10))
        >>> out.shape, h.shape, c.shape
        ((5, 3, 40), (4, 3, 20), (4, 3, 20))
        >>> sorted(lstm.state_dict())[:4]
        ['bias_hh_l0', 'bias_hh_l0_reverse', 'bias_hh_l1', 'bias_hh_l1_reverse']
    """

    _gates = 4

    def forward(self, input, hx=None):
        def step(x, h, w, rev):
            return lstm_layer(x, h[0], h[1], *w, reverse=rev)
        out, (h, c) = self._run(input, hx, 2, step)
        return out, (h, c)


class GRU(_RNNBase):
    """Multi-layer gated recurrent unit over a sequence, with torch.nn.GRU's signature.

    For each frame t, with x_t the layer's input and h_{t-1} its state:

        r = sigmoid(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)
        z = sigmoid(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
        n = tanh(W_in x_t + b_in + r * (W_hn h_{t-1} + b_hn))
        h_t = (1 - z) * n + z * h_{t-1}

    Args:
        input_size: I, features per frame.
        hidden_size: H, features of the state.
        num_layers: stacked layers (default 1).
        bias: learn b_ih and b_hh (default True).
        batch_first: input and output are (N, T, ``*``) instead of (T, N, ``*``) (default False).
        dropout: dropout probability on every layer's output but the last (default 0).
        bidirectional: add a layer reading the sequence backwards (default False).
        proj_size: only 0 is supported.
        device: where the parameters live (default None: the CPU); ``'cuda'`` builds them on
            the host (one seed, one model on every device) and moves them, as ``.to(device)``.
        dtype: the parameters' dtype (default ``foveanet.get_default_dtype()``).

    Shape:
        - Input: (T, N, I), (N, T, I) with batch_first, or unbatched (T, I).
        - Output: ``(T, N, D * H)``; h_n: ``(D * num_layers, N, H)``.

    Attributes:
        weight_ih_l[k]: (3H, I) for k = 0, else (3H, D*H), gates stacked (r, z, n).
        weight_hh_l[k]: (3H, H); bias_ih_l[k], bias_hh_l[k]: (3H,); ``_reverse`` for the
            backward direction. All are initialised U(-1/sqrt(H), 1/sqrt(H)).

    Example::

        >>> gru = nn.GRU(4, 6, batch_first=True)
        >>> out, h = gru(fn.ones(2, 7, 4))
        >>> out.shape, h.shape
        ((2, 7, 6), (1, 2, 6))
        >>> np.allclose(out.numpy()[:, -1], h.numpy()[0])
        True
    """

    _gates = 3

    def forward(self, input, hx=None):
        def step(x, h, w, rev):
            return gru_layer(x, h[0], *w, reverse=rev)
        out, (h,) = self._run(input, hx, 1, step)
        return out, h
