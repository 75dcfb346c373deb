"""Kim (2014) CNN for sentence classification: one convolution layer over word vectors.

    ids (N, L) -> Embedding (N, L, E) -> transpose (N, E, L)
      -> for each width k in (3, 4, 5): Conv1d(E, 100, k) -> ReLU -> max over time (N, 100)
      -> concatenate (N, 300) -> Dropout(0.5) -> Linear(300, num_classes)

The head is a logit layer: softmax/cross-entropy for one label per document
(``multi_label=False``), one sigmoid/BCE per label otherwise -- the module returns logits
either way and the loss is chosen by the training loop (``loss()`` picks the right one).

Embedding modes (Kim's names): ``rand`` (learned from scratch), ``static`` (pretrained and
frozen), ``non-static`` (pretrained and fine-tuned).  The ``multichannel`` variant is left
out: it doubles the embedding memory for a gain Kim reports as inconsistent.

Parameter count: V*E + sum_k (k*E*M + M) + (len(widths)*M)*C + C.
"""
from __future__ import annotations

import numpy as np

import foveanet.functional as F
import foveanet.nn as nn
from foveanet.autograd import cat
from foveanet.autograd.tensor import Tensor
from foveanet.backend import devices
from foveanet.backend.arrays import array_module
from foveanet.data.text.tokenize import PAD_INDEX

__all__ = ["TextCNN", "textcnn", "max_norm_rows_", "relu_conv_maps"]

EMBEDDING_MODES = ("rand", "static", "non-static")


def max_norm_rows_(weight: np.ndarray, max_norm: float) -> int:
    """Scale in place every row of ``weight`` whose L2 norm exceeds ``max_norm`` back to it;
    returns how many rows were scaled.  Kim's l2 constraint is on each output unit's weight
    vector (a row of the linear weight), applied after every update, not a penalty in the loss."""
    xp = array_module(weight)
    norms = xp.sqrt(xp.einsum("ij,ij->i", weight, weight))
    big = norms > max_norm
    if big.any():
        weight[big] *= (max_norm / norms[big]).astype(weight.dtype)[:, None]
    return int(big.sum())


def kept_length(ids: np.ndarray, widest: int, min_length: int) -> int:
    """Tokens worth convolving: up to the batch's last non-pad token plus ``widest - 1``, so
    that every window touching a real token is computed."""
    nonpad = ids != PAD_INDEX
    last = ids.shape[1] - np.argmax(nonpad[:, ::-1], axis=1)      # one past the last real token
    last[~nonpad.any(axis=1)] = 0
    return min(ids.shape[1], max(int(last.max(initial=0)) + widest - 1, min_length))


def relu_conv_maps(embedding, convs, ids, widest: int, min_length: int, skip: bool, drop=None):
    """relu(conv_k(embedding(ids)^T)) for each conv, full length (N, M, L - k + 1).

    With ``skip`` and a zero pad row, the convs run only on the first ``kept_length`` tokens:
    a window wholly in the right padding sees zero vectors and outputs exactly its bias, so
    the rest of each map is relu(bias), appended as a tensor op of the bias so that it still
    gets those positions' gradient.  The pooled result is the uncropped one, ties included.
    ``drop`` (a Dropout module, or None) is applied to the embedded tokens before the convs."""
    # token ids stay on the host for kept_length (a few ints per document: no wait for a GPU)
    # and move to the embedding's device once cropped
    ids = devices.to_host(ids.data if isinstance(ids, Tensor) else ids)
    n, length = ids.shape
    zero_pad = not embedding.weight.data[PAD_INDEX].any()   # pretrained tables are taken as given
    keep = kept_length(ids, widest, min_length) if skip and zero_pad else length
    x = embedding(devices.to_device(ids[:, :keep] if keep < length else ids,
                                    embedding.weight.device))                   # (N, keep, E)
    if drop is not None:
        x = drop(x)        # zero stays zero: the padding windows still output just their bias
    x = x.transpose(1, 2)                                                      # (N, E, keep)
    maps = []
    for conv in convs:
        h = F.relu(conv(x))
        if keep < length:
            tail = F.relu(conv.bias).reshape(1, -1, 1).expand(n, conv.bias.shape[0], length - keep)
            h = cat([h, tail], 2)
        maps.append(h)
    return maps


def _embedding(vocab_size, embed_dim, pretrained, mode, rng_init=True):
    if mode not in EMBEDDING_MODES:
        raise ValueError(f"embedding mode must be one of {EMBEDDING_MODES}, got {mode!r}")
    if pretrained is None:
        if mode != "rand":
            raise ValueError(f"embedding mode {mode!r} needs pretrained vectors")
        emb = nn.Embedding(vocab_size, embed_dim, padding_idx=PAD_INDEX)
        if rng_init:
            # Kim's U(-0.25, 0.25) for words without a vector: the spread of word2vec entries,
            # where N(0, 1) (the layer default) would start 4x louder than the filters expect
            nn.init.uniform_(emb.weight, -0.25, 0.25)
            emb.weight.data[PAD_INDEX] = 0
        return emb
    w = np.asarray(getattr(pretrained, "data", pretrained), dtype=np.float32)
    if w.shape != (vocab_size, embed_dim):
        raise ValueError(f"pretrained vectors have shape {w.shape}, expected ({vocab_size}, {embed_dim})")
    if mode == "rand":
        raise ValueError("embedding mode 'rand' ignores pretrained vectors; use 'static' or 'non-static'")
    return nn.Embedding.from_pretrained(w.copy(), freeze=(mode == "static"), padding_idx=PAD_INDEX)


class TextCNN(nn.Module):
    """Kim's (2014) CNN for sentence classification: one layer of 1-d convs over word vectors.

        ids (N, L) -> Embedding (N, L, E)
          -> for each width k: Conv1d(E, M, k) -> ReLU -> max over time (N, M)
          -> concatenate (N, len(kernel_sizes)·M) -> Dropout -> Linear -> logits
        parameters: V·E + Σ_k (k·E·M + M) + len(kernel_sizes)·M·C + C

    Windows wholly in the right padding (id 0, a zero row) are skipped, with the same result
    (``skip_padding``).

    Args:
        vocab_size: V, rows of the embedding table (id 0 is the padding).
        num_classes: C, logits out (one per label when ``multi_label``).
        embed_dim: E (default 300).
        kernel_sizes: the filter widths k (default (3, 4, 5)).
        num_filters: M filters per width (default 100).
        dropout: p before the linear layer (default 0.5).
        multi_label: ``loss`` is one sigmoid/BCE per label instead of softmax cross entropy
            (default False).
        pretrained: (V, E) word vectors, or None.
        embedding_mode: "rand" (learned from U(-0.25, 0.25), default), "static" (pretrained,
            frozen) or "non-static" (pretrained, fine-tuned).
        max_norm: Kim's l2 constraint on the output weight's rows, applied by
            ``apply_max_norm`` (default 3; None: off).
        skip_padding: skip the all-padding windows (default True).

    Shape:
        - Input: (N, L) integer ids, L >= max(kernel_sizes).
        - Output: (N, num_classes).

    Example::

        >>> net = fn.models.TextCNN(vocab_size=10, num_classes=3, embed_dim=4, num_filters=2)
        >>> sum(p.numel() for p in net.parameters())  # 10·4 + (3 + 4 + 5)·4·2 + 3·2 + 6·3 + 3
        163
        >>> ids = fn.tensor([[5, 3, 9, 2, 0, 0], [1, 2, 3, 4, 5, 6]])
        >>> net.features(ids).shape, net(ids).shape
        ((2, 6), (2, 3))
    """

    def __init__(self, vocab_size: int, num_classes: int, embed_dim: int = 300,
                 kernel_sizes=(3, 4, 5), num_filters: int = 100, dropout: float = 0.5,
                 multi_label: bool = False, pretrained=None, embedding_mode: str = "rand",
                 max_norm: float | None = 3.0, skip_padding: bool = True):
        super().__init__()
        self.vocab_size, self.num_classes, self.embed_dim = int(vocab_size), int(num_classes), int(embed_dim)
        self.kernel_sizes, self.num_filters = tuple(int(k) for k in kernel_sizes), int(num_filters)
        self.multi_label, self.embedding_mode, self.max_norm = bool(multi_label), embedding_mode, max_norm
        self.skip_padding = bool(skip_padding)
        self.embedding = _embedding(vocab_size, embed_dim, pretrained, embedding_mode)
        self.convs = nn.ModuleList([nn.Conv1d(embed_dim, num_filters, k) for k in self.kernel_sizes])
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(len(self.kernel_sizes) * num_filters, num_classes)

    @property
    def min_length(self) -> int:
        """Shortest input every filter fits into (shorter ones must be padded)."""
        return max(self.kernel_sizes)

    def features(self, ids):
        if ids.shape[-1] < self.min_length:
            raise ValueError(f"TextCNN: inputs of {ids.shape[-1]} tokens are shorter than the widest "
                             f"filter ({self.min_length}); pad them to at least {self.min_length}")
        maps = relu_conv_maps(self.embedding, self.convs, ids, max(self.kernel_sizes),
                              self.min_length, self.skip_padding)
        pooled = [h.amax(dim=2) for h in maps]                     # max over time
        return cat(pooled, 1)

    def forward(self, ids):
        return self.fc(self.dropout(self.features(ids)))

    def loss(self, logits, target):
        if self.multi_label:
            return F.binary_cross_entropy_with_logits(logits, target)
        return F.cross_entropy(logits, target)

    def apply_max_norm(self) -> int:
        """Rescale the rows of the output weight whose L2 norm exceeds ``max_norm`` (call after
        each optimiser step); returns the number of rows rescaled."""
        if self.max_norm is None:
            return 0
        return max_norm_rows_(self.fc.weight.data, float(self.max_norm))


def textcnn(vocab_size: int, num_classes: int, **kwargs) -> TextCNN:
    """Kim's (2014) CNN-rand/static/non-static (``embedding_mode``); see ``TextCNN``.

    Args:
        vocab_size: V, rows of the embedding table.
        num_classes: C, logits out.
        **kwargs: the other options of ``TextCNN`` (``embed_dim``, ``pretrained``...).

    Example::

        >>> net = fn.models.textcnn(vocab_size=1000, num_classes=2)  # E = 300, M = 100
        >>> sum(p.numel() for p in net.parameters())
        660902
        >>> 1000 * 300 + sum(k * 300 * 100 + 100 for k in (3, 4, 5)) + 3 * 100 * 2 + 2
        660902
    """
    return TextCNN(vocab_size, num_classes, **kwargs)
