"""XML-CNN (Liu, Chang, Wu, Yang, SIGIR 2017): a CNN for extreme multi-label text classification.

    ids (N, L) -> Embedding (N, L, E) -> transpose (N, E, L)
      [-> Dropout(embed_dropout) on the word vectors: optional, off by default]
      -> for each width k in (2, 4, 8): Conv1d(E, 128, k, stride 1) -> ReLU
         -> dynamic max pooling: p chunks per feature map (N, 128, p) -> flatten (N, 128 p)
      -> concatenate (N, 3*128*p) -> Linear(.., 512) -> ReLU -> Dropout(0.5)
      -> Linear(512, num_labels): one sigmoid per label, binary cross-entropy on the logits

Dynamic max pooling keeps the strongest response of each feature map in each of p regions
of the text instead of one over the whole text (Kim), so a filter that fires in the first
sentence and in the last one gives two features.  The chunks are adaptive_max_pool1d's
(PyTorch's bounds: chunk i covers floor(i*n/p) .. ceil((i+1)*n/p)), so with a fixed input
length every document is cut at the same token positions.

Padding skip: documents are right-padded with id 0, whose embedding row is zero and never
trained (``padding_idx``), so every conv window lying wholly in the padding outputs exactly
its bias.  ``features`` therefore convolves only up to the batch's longest document (plus
k_max - 1 tokens) and appends relu(bias) columns, built from the bias tensor so it still gets
their gradient, to rebuild the full-length map: the same numbers as the uncropped model,
with the chunk bounds still at fixed token positions, for about half the conv work on
debtags (median 54 of 128 tokens).  It relies on the pad row staying zero, which
the forward checks (``skip_padding=False`` turns it off); see ``relu_conv_maps``.

The 512-unit bottleneck is what makes a large label set affordable: the output layer is
512*L instead of (3*128*p)*L.

Parameter count: V*E + sum_k (k*E*M + M) + (len(widths)*M*p)*H + H + H*L + L.
"""
from __future__ import annotations

import numpy as np

import foveanet.functional as F
import foveanet.nn as nn
from foveanet.autograd import cat
from foveanet.data.text.tokenize import PAD_INDEX
from foveanet.models.textcnn import _embedding, kept_length, max_norm_rows_, relu_conv_maps

__all__ = ["XMLCNN", "xmlcnn"]


class XMLCNN(nn.Module):
    """XML-CNN (Liu et al., SIGIR 2017): a CNN for extreme multi-label text classification.

        ids (N, L) -> Embedding (N, L, E)
          -> for each width k: Conv1d(E, M, k) -> ReLU -> max pooling into p chunks (N, M·p)
          -> concatenate -> Linear(.., hidden) -> ReLU -> Dropout -> Linear(hidden, num_labels)
        parameters: V·E + Σ_k (k·E·M + M) + len(kernel_sizes)·M·p·H + H + H·L + L

    One logit per label, trained with binary cross entropy. The pooling is the paper's dynamic
    max pooling; the module docstring explains its chunks and the padding skip.

    Args:
        vocab_size: V, rows of the embedding table (id 0 is the padding).
        num_labels: L, logits out.
        embed_dim: E (default 300).
        kernel_sizes: the filter widths k (default (2, 4, 8)).
        num_filters: M filters per width (default 128).
        pool_chunks: p, the max-pooling regions per feature map (default 2).
        hidden: H, the bottleneck's width (default 512).
        dropout: p of the dropout before the output layer (default 0.5).
        pretrained: (V, E) word vectors, or None.
        embedding_mode: "rand" (default), "static" or "non-static", as ``TextCNN``.
        max_norm: Kim's row constraint on the output weight, or None (default: off).
        skip_padding: skip the all-padding windows (default True).
        embed_dropout: dropout on the word vectors (default 0: off).

    Shape:
        - Input: (N, L) integer ids, L >= max(kernel_sizes) + pool_chunks - 1.
        - Output: (N, num_labels).

    Example::

        >>> net = fn.models.XMLCNN(vocab_size=10, num_labels=5, embed_dim=4, num_filters=2,
        ...                        hidden=8)
        >>> sum(p.numel() for p in net.parameters())  # 40 + 14·4·2 + 6 + 12·8 + 8 + 8·5 + 5
        307
        >>> ids = fn.tensor([[5, 3, 9, 2, 7, 1, 4, 8, 0, 0]])
        >>> net.min_length, net.features(ids).shape, net(ids).shape
        (9, (1, 12), (1, 5))
    """

    def __init__(self, vocab_size: int, num_labels: int, embed_dim: int = 300,
                 kernel_sizes=(2, 4, 8), num_filters: int = 128, pool_chunks: int = 2,
                 hidden: int = 512, dropout: float = 0.5, pretrained=None,
                 embedding_mode: str = "rand", max_norm: float | None = None,
                 skip_padding: bool = True, embed_dropout: float = 0.0):
        super().__init__()
        if pool_chunks < 1:
            raise ValueError(f"XMLCNN: pool_chunks must be >= 1, got {pool_chunks}")
        self.vocab_size, self.num_labels, self.embed_dim = int(vocab_size), int(num_labels), int(embed_dim)
        self.kernel_sizes, self.num_filters = tuple(int(k) for k in kernel_sizes), int(num_filters)
        self.pool_chunks, self.hidden = int(pool_chunks), int(hidden)
        self.embedding_mode, self.max_norm = embedding_mode, max_norm
        self.multi_label, self.skip_padding = True, bool(skip_padding)
        self.embedding = _embedding(vocab_size, embed_dim, pretrained, embedding_mode)
        self.convs = nn.ModuleList([nn.Conv1d(embed_dim, num_filters, k) for k in self.kernel_sizes])
        self.bottleneck = nn.Linear(len(self.kernel_sizes) * num_filters * self.pool_chunks, hidden)
        self.dropout = nn.Dropout(dropout)
        # off by default (the paper's has none); a parameter-free module, so the weights and
        # state_dict keys are the same either way
        self.embed_dropout = nn.Dropout(embed_dropout) if embed_dropout else None
        self.fc = nn.Linear(hidden, num_labels)

    @property
    def min_length(self) -> int:
        """Shortest input for which the widest filter still gives ``pool_chunks`` outputs."""
        return max(self.kernel_sizes) + self.pool_chunks - 1

    def features(self, ids):
        if ids.shape[-1] < self.min_length:
            raise ValueError(f"XMLCNN: inputs of {ids.shape[-1]} tokens are too short for width "
                             f"{max(self.kernel_sizes)} and {self.pool_chunks} chunks; pad them to at "
                             f"least {self.min_length}")
        n = ids.shape[0]
        maps = relu_conv_maps(self.embedding, self.convs, ids, max(self.kernel_sizes),
                              self.min_length, self.skip_padding, self.embed_dropout)
        return cat([F.adaptive_max_pool1d(h, self.pool_chunks).reshape(n, -1) for h in maps], 1)

    def _kept_length(self, ids: np.ndarray) -> int:
        return kept_length(ids, max(self.kernel_sizes), self.min_length)

    def pad_row_is_zero(self) -> bool:
        return not self.embedding.weight.data[PAD_INDEX].any()

    def forward(self, ids):
        return self.fc(self.dropout(F.relu(self.bottleneck(self.features(ids)))))

    def loss(self, logits, target):
        return F.binary_cross_entropy_with_logits(logits, target)

    def apply_max_norm(self) -> int:
        """Off by default (the paper uses none); with ``max_norm`` set, Kim's row constraint on
        the output weight, so both models can be trained by the same loop."""
        if self.max_norm is None:
            return 0
        return max_norm_rows_(self.fc.weight.data, float(self.max_norm))


def xmlcnn(vocab_size: int, num_labels: int, **kwargs) -> XMLCNN:
    """XML-CNN (Liu et al. 2017) for multi-label text; see ``XMLCNN``.

    Args:
        vocab_size: V, rows of the embedding table.
        num_labels: L, logits out.
        **kwargs: the other options of ``XMLCNN`` (``embed_dim``, ``pool_chunks``...).

    Example::

        >>> net = fn.models.xmlcnn(vocab_size=1000, num_labels=10)  # E 300, M 128, p 2, H 512
        >>> sum(p.numel() for p in net.parameters())
        1236842
        >>> (1000 * 300 + sum(k * 300 * 128 + 128 for k in (2, 4, 8))
        ...  + 3 * 128 * 2 * 512 + 512 + 512 * 10 + 10)
        1236842
    """
    return XMLCNN(vocab_size, num_labels, **kwargs)
