"""Metric-learning losses: an embedding is trained so that distances mean identity.

``normalize`` (L2, torch's name), ``contrastive_loss`` (Hadsell, Chopra & LeCun 2006),
``triplet_margin_loss`` (torch's name and signature, p=2), its online mining over a batch
(``batch_hard_triplet_loss``: the hardest positive and negative per anchor, Hermans et al.
2017; or FaceNet's semi-hard negatives, Schroff et al. 2015) and the additive angular margin
of ArcFace (Deng et al. 2019, ``arc_margin``: cosine logits with the target's angle widened
by m).  Each differentiable step is a Function with its backward written out; the mining only
picks indices (no gradient flows through a choice).
"""
from __future__ import annotations

import math

import numpy as np

from foveanet.autograd.function import Function
from foveanet.backend.arrays import array_module
from foveanet.functional._loss_common import _finish, _reduction
from foveanet.functional._utils import as_tensor, check_float, data_on

__all__ = ["normalize", "contrastive_loss", "triplet_margin_loss", "batch_hard_triplet_loss",
           "arc_margin"]


# ------------------------------------------------------------------ L2 normalisation


class _Normalize(Function):
    """y = x / max(||x||, eps) along ``dim``.

    Where ||x|| > eps:  dx = (g - y * sum(g * y)) / ||x||   (the Jacobian (I - y y^T) / ||x||);
    where ||x|| <= eps: dx = g / eps (the scale is a constant there).
    """

    def forward(self, x, dim, eps):
        xp = array_module(x)
        n = xp.sqrt((x * x).sum(axis=dim, keepdims=True))
        self.big = n > eps
        self.den = xp.maximum(n, x.dtype.type(eps))
        self.y, self.dim = x / self.den, dim
        return self.y

    def backward(self, g):
        proj = (g * self.y).sum(axis=self.dim, keepdims=True) * self.big
        return (g - self.y * proj) / self.den


def normalize(input, p: float = 2.0, dim: int = 1, eps: float = 1e-12):
    """L2-normalise ``input`` along ``dim``, as ``torch.nn.functional.normalize`` with p=2:

        y = x / max(||x||_2, eps)

    Backward, where ``||x|| > eps`` (y has unit length, so only the part of g across y counts):

        dx = (g - y * <g, y>) / ||x||

    Args:
        input: a float Tensor.
        p: the norm's exponent; only 2 is implemented.
        dim: the axis normalised (default 1).
        eps: the smallest denominator (default 1e-12).

    Returns:
        Tensor: the input's shape, unit vectors along ``dim``.

    Example::

        >>> F.normalize(fn.tensor([[3., 4.], [0., 0.]])).numpy()
        array([[0.6, 0.8],
               [0. , 0. ]], dtype=float32)
    """
    if p != 2:
        raise ValueError(f"normalize: only p=2 is implemented, got p={p}")
    x = as_tensor(input, op="normalize")
    check_float(x, "normalize")
    return _Normalize.apply(x, dim=dim % x.ndim, eps=eps)


# ------------------------------------------------------------------ pair and triplet losses


class _Contrastive(Function):
    """d = ||x1 - x2 + eps||;  l = y d^2 + (1 - y) max(0, m - d)^2.

    dl/dx1 = (2 y + 2 (1 - y) [d < m] (d - m) / d) * (x1 - x2 + eps) = -dl/dx2.
    """

    def forward(self, x1, x2, y, margin, eps, reduction):
        xp = array_module(x1)
        diff = x1 - x2 + x1.dtype.type(eps)
        d = xp.sqrt((diff * diff).sum(axis=-1))
        m = x1.dtype.type(margin)
        hinge = xp.maximum(xp.subtract(m, d), 0)  # a NumPy scalar must not lead a device op
        loss = y * d * d + (1 - y) * hinge * hinge
        # dl/dd per pair, then through d = ||diff||: diff / d
        coef = 2 * y + 2 * (1 - y) * (d - m) * (hinge > 0) / xp.maximum(d, np.finfo(d.dtype).tiny)
        self.coef, self.diff, self.reduction, self.n = coef.astype(x1.dtype), diff, reduction, d.size
        return _finish(loss.astype(x1.dtype), reduction, d.size, x1.dtype)

    def backward(self, g):
        scale = g if self.reduction == "none" else (g / self.n if self.reduction == "mean" else g)
        gx = (array_module(g).asarray(scale, self.diff.dtype) * self.coef)[..., None] * self.diff
        return gx, -gx


def contrastive_loss(input1, input2, target, margin: float = 1.0, eps: float = 1e-6,
                     reduction: str = "mean"):
    """Contrastive loss of embedding pairs (Hadsell, Chopra & LeCun 2006):

        d_i = ||x1_i - x2_i + eps||_2
        l_i = y_i * d_i^2 + (1 - y_i) * max(0, margin - d_i)^2

    Same-identity pairs (y = 1) are pulled together, different ones (y = 0) pushed until they
    are ``margin`` apart.  Backward (``x2`` gets the negative):

        dl_i/dx1_i = (2 y_i + 2 (1 - y_i) [d_i < margin] (d_i - margin) / d_i) * (x1_i - x2_i + eps)

    Args:
        input1, input2: (N, D) embeddings.
        target: (N,) 1 for a same-identity pair, 0 for a different one.
        margin: the distance beyond which a different pair costs nothing (default 1).
        eps: added to the difference, as torch's ``pairwise_distance`` (default 1e-6).
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'``.

    Returns:
        Tensor: a scalar, or (N,) with ``reduction='none'``.

    Example::

        >>> a, b = fn.tensor([[0., 0.], [0., 0.]]), fn.tensor([[0.3, 0.4], [0.3, 0.4]])
        >>> F.contrastive_loss(a, b, np.array([1., 0.]), margin=1.0, eps=0,
        ...                    reduction='none').numpy().round(4)   # d = 0.5: 0.25, (1-0.5)^2
        array([0.25, 0.25], dtype=float32)
    """
    reduction = _reduction("contrastive_loss", reduction)
    x1, x2 = as_tensor(input1, op="contrastive_loss"), as_tensor(input2, op="contrastive_loss")
    check_float(x1, "contrastive_loss")
    if x1.shape != x2.shape or x1.ndim != 2:
        raise ValueError(f"contrastive_loss: inputs must be two (N, D) tensors of one shape, got "
                         f"{tuple(x1.shape)} and {tuple(x2.shape)}")
    y = data_on(target, x1, x1.dtype)
    if y.shape != (x1.shape[0],):
        raise ValueError(f"contrastive_loss: target must be ({x1.shape[0]},) with 1 for a same pair "
                         f"and 0 for a different one, got shape {y.shape}")
    return _Contrastive.apply(x1, x2, y=y, margin=margin, eps=eps, reduction=reduction)


class _Triplet(Function):
    """d_ap = ||a - p + eps||, d_an = ||a - n + eps||;  l = max(0, d_ap - d_an + m).

    Where l > 0:  dl/da = u_ap - u_an,  dl/dp = -u_ap,  dl/dn = u_an  (u = diff / d).
    """

    def forward(self, a, p, n, margin, eps, reduction):
        xp = array_module(a)
        e = a.dtype.type(eps)
        dap, dan = a - p + e, a - n + e
        ap, an = xp.sqrt((dap * dap).sum(-1)), xp.sqrt((dan * dan).sum(-1))
        loss = xp.maximum(ap - an + a.dtype.type(margin), 0)
        tiny = np.finfo(a.dtype).tiny
        active = (loss > 0).astype(a.dtype)
        self.u_ap = dap / xp.maximum(ap, tiny)[:, None] * active[:, None]
        self.u_an = dan / xp.maximum(an, tiny)[:, None] * active[:, None]
        self.reduction, self.n = reduction, len(loss)
        return _finish(loss, reduction, len(loss), a.dtype)

    def backward(self, g):
        g = array_module(g).asarray(g, self.u_ap.dtype)
        s = g[:, None] if self.reduction == "none" else (g / self.n if self.reduction == "mean" else g)
        return s * (self.u_ap - self.u_an), -s * self.u_ap, s * self.u_an


def triplet_margin_loss(anchor, positive, negative, margin: float = 1.0, p: float = 2,
                        eps: float = 1e-6, swap: bool = False, reduction: str = "mean"):
    """Triplet loss (Schroff et al. 2015), as ``torch.nn.functional.triplet_margin_loss``:

        d(a, b) = ||a - b + eps||_2
        l_i = max(0, d(a_i, p_i) - d(a_i, n_i) + margin)

    An anchor must be nearer its positive (same identity) than its negative by ``margin``.
    Backward where ``l_i > 0``, with ``u_ab = (a - b + eps) / d(a, b)``:

        dl/da = u_ap - u_an,   dl/dp = -u_ap,   dl/dn = u_an

    Args:
        anchor, positive, negative: (N, D) embeddings.
        margin: the gap required (default 1).
        p: the norm's exponent; only 2 is implemented.
        eps: added to the differences (default 1e-6).
        swap: torch's distance swap; not implemented (must be False).
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'``.

    Returns:
        Tensor: a scalar, or (N,) with ``reduction='none'``.

    Example::

        >>> a = fn.tensor([[0., 0.]])
        >>> F.triplet_margin_loss(a, fn.tensor([[0., 1.]]), fn.tensor([[0., 1.5]]), margin=1.0, eps=0).item()
        0.5
    """
    if p != 2 or swap:
        raise ValueError(f"triplet_margin_loss: only p=2 without swap is implemented, got p={p}, swap={swap}")
    reduction = _reduction("triplet_margin_loss", reduction)
    a, pos, neg = (as_tensor(v, op="triplet_margin_loss") for v in (anchor, positive, negative))
    check_float(a, "triplet_margin_loss")
    if not (a.shape == pos.shape == neg.shape) or a.ndim != 2:
        raise ValueError(f"triplet_margin_loss: anchor, positive and negative must be (N, D) of one "
                         f"shape, got {tuple(a.shape)}, {tuple(pos.shape)}, {tuple(neg.shape)}")
    return _Triplet.apply(a, pos, neg, margin=margin, eps=eps, reduction=reduction)


def mine_triplets(embeddings: np.ndarray, labels: np.ndarray, margin: float, mining: str = "hard",
                  eps: float = 1e-6):
    """(anchor, positive, negative) index arrays chosen within a batch (no gradient).

    ``'hard'``: per anchor with a positive and a negative, the farthest positive and the
    nearest negative (batch hard).  ``'semi-hard'``: per positive pair (a, p), the nearest
    negative farther than p (``d_an > d_ap``), FaceNet's semi-hard choice (it is inside the
    margin when one exists there); when no negative is farther than p, the farthest negative,
    as TensorFlow Addons' ``triplet_semihard_loss``.
    """
    xp = array_module(embeddings)
    x = xp.asarray(embeddings, np.float64)
    diff = x[:, None, :] - x[None, :, :] + eps
    d = xp.sqrt((diff * diff).sum(-1))
    same = labels[:, None] == labels[None, :]
    n = len(x)
    pos = same & ~xp.eye(n, dtype=bool)
    neg = ~same
    if mining == "hard":
        ok = pos.any(1) & neg.any(1)
        a = xp.flatnonzero(ok)
        p = xp.where(pos, d, -np.inf)[a].argmax(1)
        ng = xp.where(neg, d, np.inf)[a].argmin(1)
        return a, p, ng
    if mining != "semi-hard":
        raise ValueError(f"mining must be 'hard' or 'semi-hard', got {mining!r}")
    a, p = xp.nonzero(pos & neg.any(1)[:, None])
    dan = xp.where(neg[a], d[a], np.nan)                        # (P, N): this anchor's negatives
    farther = dan > d[a, p][:, None]
    outside = xp.where(farther, dan, np.inf).argmin(1)
    inside = xp.where(xp.isnan(dan), -np.inf, dan).argmax(1)
    ng = xp.where(farther.any(1), outside, inside)
    return a, p, ng


def batch_hard_triplet_loss(embeddings, labels, margin: float = 0.2, mining: str = "hard",
                            eps: float = 1e-6):
    """Triplet loss with triplets mined online inside the batch:

        l = mean over mined (a, p, n) of max(0, d(a, p) - d(a, n) + margin)

    ``mining='hard'`` (Hermans, Beyer & Leibe 2017): one triplet per anchor, its farthest
    positive and nearest negative.  ``mining='semi-hard'`` (Schroff et al. 2015): one triplet
    per positive pair (a, p), with the nearest negative farther than p (a semi-hard one,
    ``d_ap < d_an < d_ap + margin``, when there is one inside the margin), else the farthest
    negative.  The choice is made on the values; the gradient is ``triplet_margin_loss``'s
    through the chosen rows.

    Args:
        embeddings: (N, D) Tensor.
        labels: (N,) identities.
        margin: the gap required (default 0.2, for unit-length embeddings).
        mining: ``'hard'`` (default) or ``'semi-hard'``.
        eps: added to the differences (default 1e-6).

    Returns:
        Tensor: the scalar loss (0 when no anchor has both a positive and a negative).

    Example::

        >>> x = fn.tensor([[0., 0.], [0., 1.], [0., 0.5], [3., 0.]])
        >>> loss = F.batch_hard_triplet_loss(x, np.array([0, 0, 1, 1]), margin=1.0, eps=0)
        >>> round(loss.item(), 4)   # anchors: 1 - .5 + 1, 1 - .5 + 1, 3.041 - .5 + 1, 3.041 - 3 + 1
        1.8957
    """
    x = as_tensor(embeddings, op="batch_hard_triplet_loss")
    check_float(x, "batch_hard_triplet_loss")
    y = data_on(labels, x)
    if x.ndim != 2 or y.shape != (x.shape[0],):
        raise ValueError(f"batch_hard_triplet_loss: expected (N, D) embeddings and (N,) labels, got "
                         f"{tuple(x.shape)} and {y.shape}")
    a, p, n = mine_triplets(x.data, y, margin, mining, eps)
    if len(a) == 0:
        return (x * 0).sum()
    return triplet_margin_loss(x[a], x[p], x[n], margin=margin, eps=eps)


# ------------------------------------------------------------------ angular margin


class _ArcMargin(Function):
    """z_ij = s cos_ij, except z_iy = s * psi(cos_iy) at the target, with

        psi(c) = cos(arccos(c) + m)                 when arccos(c) + m <= pi
               = c - m sin(m)                       otherwise (keeps psi falling);
        psi'(c) = cos m + sin m * c / sqrt(1 - c^2)  (resp. 1).
    """

    def forward(self, cosine, target, margin, scale):
        xp = array_module(cosine)
        dt = cosine.dtype.type
        c = xp.clip(cosine, -1, 1)
        rows = xp.arange(len(c))
        ct = c[rows, target]
        sin_t = xp.sqrt(xp.maximum(1 - ct * ct, np.finfo(c.dtype).tiny))
        ok = ct > math.cos(math.pi - margin)
        cos_m, sin_m = math.cos(margin), math.sin(margin)
        psi = xp.where(ok, ct * dt(cos_m) - sin_t * dt(sin_m), ct - dt(margin * sin_m))
        dpsi = xp.where(ok, ct * dt(sin_m) / sin_t + dt(cos_m), dt(1))
        z = c * dt(scale)
        z[rows, target] = psi * dt(scale)
        self.rows, self.target, self.dpsi, self.scale = rows, target, dpsi.astype(c.dtype), dt(scale)
        self.inside = (cosine >= -1) & (cosine <= 1)
        return z.astype(cosine.dtype)

    def backward(self, g):
        gc = g * self.scale
        gc[self.rows, self.target] *= self.dpsi
        return gc * self.inside


def arc_margin(cosine, target, margin: float = 0.5, scale: float = 64.0):
    """ArcFace's logits (Deng et al. 2019): the cosines scaled by s, the target's angle
    widened by the additive angular margin m:

        z_ij = s * cos(theta_ij)                   for j != y_i
        z_iy = s * cos(theta_iy + m)               theta = arccos(cosine), for theta + m <= pi
        z_iy = s * (cos(theta_iy) - m sin m)       beyond (insightface's fallback, still falling)

    Softmax cross-entropy of z is the ArcFace loss.  Backward, with ``c = cos(theta_iy)``:

        dz_ij/dc_ij = s                      dz_iy/dc_iy = s * (cos m + sin m * c / sqrt(1 - c^2))

    Args:
        cosine: (N, C) cosines between unit embeddings and unit class centres.
        target: (N,) class indices.
        margin: m in radians (default 0.5).
        scale: s (default 64).

    Returns:
        Tensor: (N, C) logits.

    Example::

        >>> z = F.arc_margin(fn.tensor([[1.0, 0.0]]), np.array([1]), margin=0.5, scale=1.0)
        >>> z.numpy().round(4)          # target: cos(pi/2 + 0.5) = -sin 0.5
        array([[ 1.    , -0.4794]], dtype=float32)
    """
    c = as_tensor(cosine, op="arc_margin")
    check_float(c, "arc_margin")
    t = data_on(target, c)
    if c.ndim != 2 or t.shape != (c.shape[0],) or t.dtype.kind not in "iu":
        raise ValueError(f"arc_margin: expected (N, C) cosines and (N,) integer targets, got "
                         f"{tuple(c.shape)} and {t.shape} {t.dtype}")
    if len(t) and (t.min() < 0 or t.max() >= c.shape[1]):
        raise ValueError(f"arc_margin: targets must lie in 0..{c.shape[1] - 1}, got {t.min()}..{t.max()}")
    return _ArcMargin.apply(c, target=t, margin=float(margin), scale=float(scale))
