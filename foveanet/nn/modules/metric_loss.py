"""Metric-learning loss modules: contrastive, triplet (plain and mined), ArcFace's margin."""
from __future__ import annotations

import numpy as np

import foveanet.functional as F
from foveanet import backend
from foveanet.nn import init
from foveanet.nn.modules.loss import _Loss
from foveanet.nn.modules.module import Module
from foveanet.nn.parameter import Parameter


class ContrastiveLoss(_Loss):
    """Contrastive loss of embedding pairs (see ``F.contrastive_loss``):

        l_i = y_i * d_i^2 + (1 - y_i) * max(0, margin - d_i)^2,   d_i = ||x1_i - x2_i + eps||

    Args:
        margin: the distance beyond which a different pair costs nothing (default 1).
        eps: added to the difference (default 1e-6).
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'``.

    Shape:
        - Input: x1, x2 (N, D); target (N,), 1 same identity, 0 different.
        - Output: a scalar, or (N,) with ``reduction='none'``.

    Example::

        >>> loss = nn.ContrastiveLoss(margin=2.0, eps=0)
        >>> loss(fn.tensor([[0., 0.]]), fn.tensor([[0., 1.]]), np.array([0.])).item()   # (2 - 1)^2
        1.0
    """

    def __init__(self, margin: float = 1.0, eps: float = 1e-6, reduction: str = "mean"):
        super().__init__(reduction=reduction)
        self.margin, self.eps = margin, eps

    def forward(self, input1, input2, target):
        return F.contrastive_loss(input1, input2, target, self.margin, self.eps, self.reduction)


class TripletMarginLoss(_Loss):
    """Triplet loss, as ``torch.nn.TripletMarginLoss`` (p=2, no swap):

        l_i = max(0, ||a_i - p_i + eps|| - ||a_i - n_i + eps|| + margin)

    Args:
        margin: the gap required (default 1).
        p: the norm's exponent; only 2.
        eps: added to the differences (default 1e-6).
        swap: must be False.
        size_average, reduce: PyTorch's deprecated pair.
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'``.

    Shape:
        - Input: anchor, positive, negative (N, D).
        - Output: a scalar, or (N,) with ``reduction='none'``.

    Example::

        >>> loss = nn.TripletMarginLoss(margin=1.0, eps=0)
        >>> a, p, n = fn.tensor([[0., 0.]]), fn.tensor([[1., 0.]]), fn.tensor([[3., 0.]])
        >>> loss(a, p, n).item()                                   # 1 - 3 + 1 < 0
        0.0
    """

    def __init__(self, margin: float = 1.0, p: float = 2.0, eps: float = 1e-6, swap: bool = False,
                 size_average=None, reduce=None, reduction: str = "mean"):
        super().__init__(size_average, reduce, reduction)
        self.margin, self.p, self.eps, self.swap = margin, p, eps, swap

    def forward(self, anchor, positive, negative):
        return F.triplet_margin_loss(anchor, positive, negative, self.margin, self.p, self.eps,
                                     self.swap, self.reduction)


class BatchHardTripletLoss(Module):
    """Triplet loss over triplets mined in the batch (see ``F.batch_hard_triplet_loss``):
    ``mining='hard'`` takes each anchor's farthest positive and nearest negative,
    ``'semi-hard'`` each positive pair's nearest negative beyond the positive.

        l = mean over mined (a, p, n) of max(0, d(a, p) - d(a, n) + margin)

    Args:
        margin: the gap required (default 0.2).
        mining: ``'hard'`` (default) or ``'semi-hard'``.
        eps: added to the differences (default 1e-6).

    Shape:
        - Input: embeddings (N, D), labels (N,).
        - Output: a scalar.

    Example::

        >>> loss = nn.BatchHardTripletLoss(margin=1.0, eps=0)
        >>> x = fn.tensor([[0., 0.], [0., 1.], [0., 0.5], [3., 0.]])
        >>> round(loss(x, np.array([0, 0, 1, 1])).item(), 4)
        1.8957
    """

    def __init__(self, margin: float = 0.2, mining: str = "hard", eps: float = 1e-6):
        super().__init__()
        if mining not in ("hard", "semi-hard"):
            raise ValueError(f"BatchHardTripletLoss: mining must be 'hard' or 'semi-hard', got {mining!r}")
        self.margin, self.mining, self.eps = margin, mining, eps

    def forward(self, embeddings, labels):
        return F.batch_hard_triplet_loss(embeddings, labels, self.margin, self.mining, self.eps)


class ArcFace(Module):
    """ArcFace's additive angular margin head (Deng et al. 2019): logits for softmax
    cross-entropy from the cosines between the unit embedding and C unit class centres W:

        cos_ij = <x_i / ||x_i||, W_j / ||W_j||>
        z_ij   = s * cos_ij,   z_iy = s * cos(arccos(cos_iy) + m)   (see ``F.arc_margin``)

    ``F.cross_entropy(head(x, y), y)`` is the ArcFace loss; at test time only the embedding
    x is kept.  Without a target (``head(x)``) it returns ``s * cos``, the plain normalised
    softmax logits.

    Args:
        in_features: D, the embedding size.
        num_classes: C, the training identities.
        margin: m in radians (default 0.5).
        scale: s (default 64; smaller, e.g. 16, for few classes).
        dtype: the weight's dtype (default: the default dtype).

    Attributes:
        weight: (C, D) class centres, initialised Xavier-uniform.

    Shape:
        - Input: x (N, D), target (N,) integers.
        - Output: (N, C) logits.

    Example::

        >>> head = nn.ArcFace(2, 3, margin=0.5, scale=1.0)
        >>> _ = nn.init.eye_(head.weight)                      # centres e1, e2 and (0, 0)
        >>> head(fn.tensor([[2., 0.]]), np.array([1])).numpy().round(4)
        array([[ 1.    , -0.4794,  0.    ]], dtype=float32)
    """

    def __init__(self, in_features: int, num_classes: int, margin: float = 0.5, scale: float = 64.0,
                 dtype=None):
        super().__init__()
        self.in_features, self.num_classes = int(in_features), int(num_classes)
        self.margin, self.scale = float(margin), float(scale)
        dt = np.dtype(dtype or backend.get_default_dtype())
        self.weight = Parameter(np.empty((self.num_classes, self.in_features), dtype=dt))
        init.xavier_uniform_(self.weight)

    def cosine(self, input):
        """(N, C) cosines between the unit embeddings and the unit class centres."""
        return F.linear(F.normalize(input), F.normalize(self.weight))

    def forward(self, input, target=None):
        c = self.cosine(input)
        if target is None:
            return c * self.scale
        return F.arc_margin(c, target, self.margin, self.scale)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, num_classes={self.num_classes}, "
                f"margin={self.margin}, scale={self.scale}")
