"""Loss modules: hold the reduction and (as buffers, like PyTorch) class weights."""
from __future__ import annotations

import foveanet.functional as F
from foveanet.functional._loss_common import _reduction
from foveanet.nn.modules.module import Module


class _Loss(Module):
    def __init__(self, size_average=None, reduce=None, reduction: str = "mean"):
        super().__init__()
        # PyTorch's deprecated size_average/reduce pair folds into reduction here, once, by
        # the rule the functional losses use
        if size_average is not None or reduce is not None:
            reduction = _reduction(type(self).__name__, reduction, size_average, reduce)
        self.reduction = reduction


class _WeightedLoss(_Loss):
    def __init__(self, weight=None, size_average=None, reduce=None, reduction: str = "mean"):
        super().__init__(size_average, reduce, reduction)
        # a buffer, so it follows .to(dtype) and appears in state_dict as in PyTorch
        self.register_buffer("weight", weight)


class CrossEntropyLoss(_WeightedLoss):
    """Softmax cross entropy of logits x and class targets y:

        l_i = -w[y_i] * log(softmax(x_i)[y_i]) = w[y_i] * (log(sum_c exp(x[i, c])) - x[i, y_i])

    ``'mean'`` divides the sum by ``sum_i w[y_i]`` over the non-ignored targets (their count
    when unweighted). With label smoothing e the target is the mixture of the class and the
    uniform distribution:

        (1 - e) * one-hot(y_i) + e/C

    The target may also hold class probabilities q (a float tensor of the input's shape):

        l_i = -sum_c w[c] * q[i, c] * log(softmax(x_i)[c])

    and ``'mean'`` then divides by the number of positions ``N * d1 * ...``.

    It is LogSoftmax(dim=1) followed by NLLLoss, in one numerically stable step.

    Args:
        weight: per-class weights w, a (C,) Tensor or ndarray, kept as a buffer (default None: 1).
        size_average, reduce: PyTorch's deprecated pair, folded into ``reduction`` once, at
            construction (reduce=False gives 'none', else size_average=False gives 'sum').
        ignore_index: class targets equal to it contribute nothing (default -100).
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'`` (the per-position losses).
        label_smoothing: e in [0, 1], the share of the target spread evenly over the C
            classes (default 0.0).

    Shape:
        - Input: logits (C,), (N, C) or (N, C, d1, ...).
        - Target: integer class ids (), (N,) or (N, d1, ...), each in [0, C) or ignore_index;
          or class probabilities of the input's shape.
        - Output: a scalar, or (), (N,) or (N, d1, ...) with ``reduction='none'``.

    Attributes:
        weight: the class-weight buffer, or None.

    Example::

        >>> loss = nn.CrossEntropyLoss()
        >>> x = fn.tensor([[1., 2., 3.], [0., 0., 0.]])
        >>> round(loss(x, fn.tensor([2, 0])).item(), 4)
        0.7531
        >>> nn.CrossEntropyLoss(reduction='none')(x, fn.tensor([2, 0])).numpy().round(4)
        array([0.4076, 1.0986], dtype=float32)
        >>> round(loss(x, fn.tensor([[0., 0., 1.], [1., 0., 0.]])).item(), 4)   # as one-hot
        0.7531
    """

    def __init__(self, weight=None, size_average=None, ignore_index: int = -100, reduce=None,
                 reduction: str = "mean", label_smoothing: float = 0.0):
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index, self.label_smoothing = ignore_index, label_smoothing

    def forward(self, input, target):
        return F.cross_entropy(input, target, weight=self.weight, ignore_index=self.ignore_index,
                               reduction=self.reduction, label_smoothing=self.label_smoothing)


class NLLLoss(_WeightedLoss):
    """Negative log likelihood of log-probabilities: l_i = -w[y_i] * x[i, y_i].

    ``'mean'`` divides the sum by ``sum_i w[y_i]`` over the non-ignored targets (their count
    when unweighted); a batch whose targets are all ignored gives NaN.

    Args:
        weight: per-class weights w, a (C,) Tensor or ndarray, kept as a buffer (default None: 1).
        size_average, reduce: PyTorch's deprecated pair, folded into ``reduction`` once, at
            construction (reduce=False gives 'none', else size_average=False gives 'sum').
        ignore_index: targets equal to it contribute nothing (default -100).
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'`` (the per-element losses).

    Shape:
        - Input: log-probabilities (C,), (N, C) or (N, C, d1, ...), e.g. from LogSoftmax(dim=1).
        - Target: integer class ids (), (N,) or (N, d1, ...), each in [0, C) or ignore_index.
        - Output: a scalar, or the target's shape with ``reduction='none'``.

    Example::

        >>> loss = nn.NLLLoss()
        >>> loss(fn.tensor([[-1., -2.], [-3., -0.5]]), fn.tensor([0, 1])).item()
        0.75
    """

    def __init__(self, weight=None, size_average=None, ignore_index: int = -100, reduce=None,
                 reduction: str = "mean"):
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index

    def forward(self, input, target):
        return F.nll_loss(input, target, weight=self.weight, ignore_index=self.ignore_index,
                          reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Sigmoid + binary cross entropy in one stable step, on logits x and targets t:

        l = -w * [p * t * log(sigmoid(x)) + (1 - t) * log(1 - sigmoid(x))],  p = pos_weight

    Args:
        weight: element weights w, broadcast to the input's shape (default None: 1).
        size_average, reduce: PyTorch's deprecated pair, folded into ``reduction`` once, at
            construction (reduce=False gives 'none', else size_average=False gives 'sum').
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'`` (the per-element losses).
            ``'mean'`` averages over all elements (it does not divide by the sum of w).
        pos_weight: weight p of the positive term, broadcast along the last dim, e.g. one
            per class (C,) (default None: 1).

    Shape:
        - Input: ``(*)``, logits; Target: ``(*)``, the same shape (probabilities, not range-checked).
        - Output: a scalar, or ``(*)`` with ``reduction='none'``.

    Example::

        >>> loss = nn.BCEWithLogitsLoss()
        >>> round(loss(fn.tensor([0., 0.]), fn.tensor([1., 0.])).item(), 4)   # log 2
        0.6931
    """

    def __init__(self, weight=None, size_average=None, reduce=None, reduction: str = "mean", pos_weight=None):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, input, target):
        return F.binary_cross_entropy_with_logits(input, target, self.weight, pos_weight=self.pos_weight,
                                                  reduction=self.reduction)


class BCELoss(_WeightedLoss):
    """Binary cross entropy of probabilities x and targets t:

        l = -w * [t * log(x) + (1 - t) * log(1 - x)],  each log clamped at -100 (as PyTorch)

    An input outside [0, 1] raises ValueError (use BCEWithLogitsLoss for raw scores);
    integer targets (0/1 labels) are cast to the input's dtype, where PyTorch wants floats.

    Args:
        weight: element weights w, broadcast to the input's shape (default None: 1).
        size_average, reduce: PyTorch's deprecated pair, folded into ``reduction`` once, at
            construction (reduce=False gives 'none', else size_average=False gives 'sum').
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'`` (the per-element losses).
            ``'mean'`` averages over all elements (it does not divide by the sum of w).

    Shape:
        - Input: ``(*)``, probabilities; Target: ``(*)``, exactly the same shape.
        - Output: a scalar, or ``(*)`` with ``reduction='none'``.

    Example::

        >>> loss = nn.BCELoss()
        >>> round(loss(fn.tensor([0.5, 0.5]), fn.tensor([1., 0.])).item(), 4)   # log 2
        0.6931
    """

    def forward(self, input, target):
        return F.binary_cross_entropy(input, target, weight=self.weight, reduction=self.reduction)


class MSELoss(_Loss):
    """Mean squared error: l_i = (x_i - t_i)^2, then the reduction.

    Input and target broadcast against each other, silently (PyTorch warns when the shapes
    differ); ``'mean'`` divides by the number of elements of the broadcast shape.

    Args:
        size_average, reduce: PyTorch's deprecated pair, folded into ``reduction`` once, at
            construction (reduce=False gives 'none', else size_average=False gives 'sum').
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'`` (the per-element losses).

    Shape:
        - Input: ``(*)``; Target: ``(*)``, the same shape or one that broadcasts with it.
        - Output: a scalar, or the broadcast shape with ``reduction='none'``.

    Example::

        >>> loss = nn.MSELoss()
        >>> loss(fn.tensor([1., 2.]), fn.tensor([0., 0.])).item()
        2.5
        >>> nn.MSELoss(reduction='none')(fn.tensor([1., 2.]), fn.tensor([0., 0.])).numpy()
        array([1., 4.], dtype=float32)
    """

    def forward(self, input, target):
        return F.mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    """Mean absolute error: l_i = |x_i - t_i|, then the reduction.

    Input and target broadcast against each other, silently (PyTorch warns when the shapes
    differ); ``'mean'`` divides by the number of elements of the broadcast shape.

    Args:
        size_average, reduce: PyTorch's deprecated pair, folded into ``reduction`` once, at
            construction (reduce=False gives 'none', else size_average=False gives 'sum').
        reduction: ``'mean'`` (default), ``'sum'`` or ``'none'`` (the per-element losses).

    Shape:
        - Input: ``(*)``; Target: ``(*)``, the same shape or one that broadcasts with it.
        - Output: a scalar, or the broadcast shape with ``reduction='none'``.

    Example::

        >>> loss = nn.L1Loss()
        >>> loss(fn.tensor([1., -2.]), fn.tensor([0., 0.])).item()
        1.5
        >>> nn.L1Loss(reduction='sum')(fn.tensor([1., -2.]), fn.tensor([0., 0.])).item()
        3.0
    """

    def forward(self, input, target):
        return F.l1_loss(input, target, reduction=self.reduction)


class CTCLoss(_Loss):
    """Connectionist temporal classification loss (``foveanet.functional.ctc_loss``).

    The loss of one sample is ``-log p(l | x)``, the probability of its label sequence l
    summed over every frame-wise alignment that collapses to l (merge repeats, drop blanks),
    computed by the forward-backward recursion in log space.

    Args:
        blank: the blank class id (default 0).
        reduction: ``'mean'`` (default: each loss divided by its target length, then the
            batch mean), ``'sum'`` or ``'none'``.
        zero_infinity: set infinite losses and their gradients to zero (default False).

    Shape:
        - Log_probs: (T, N, C) or (T, C); targets: (N, S) padded or 1-d concatenated;
          input_lengths, target_lengths: (N,).
        - Output: a scalar, or (N,) with ``reduction='none'``.

    Example::

        >>> ctc = nn.CTCLoss(reduction='none')
        >>> lp = nn.functional.log_softmax(fn.zeros(4, 2, 3), dim=2)
        >>> ctc(lp, np.array([[1, 2], [1, 1]]), [4, 4], [2, 2]).numpy().round(4)  # -log(15/81), -log(5/81)
        array([1.6864, 2.785 ], dtype=float32)
    """

    def __init__(self, blank: int = 0, reduction: str = "mean", zero_infinity: bool = False):
        super().__init__(reduction=reduction)
        self.blank, self.zero_infinity = int(blank), bool(zero_infinity)

    def forward(self, log_probs, targets, input_lengths, target_lengths):
        return F.ctc_loss(log_probs, targets, input_lengths, target_lengths, self.blank,
                          self.reduction, self.zero_infinity)
