"""Learning-rate schedules, matching torch.optim.lr_scheduler value for value.

Most schedules are written in PyTorch's recursive ("chainable") form, which multiplies the
current ``group['lr']`` by a factor: that is what PyTorch computes, so the float rounding
agrees, and it lets two schedulers act on the same optimizer. ``step(epoch)`` jumps with the
closed form where one exists.
"""
from __future__ import annotations

import math
from bisect import bisect_right
from collections import Counter

from foveanet.optim._lr_base import LRScheduler, _per_group


class LambdaLR(LRScheduler):
    """Set each group's lr to its initial lr times a function of the epoch.

        lr = base_lr * lr_lambda(epoch)

    Args:
        optimizer: the Optimizer whose groups' ``lr`` the schedule sets.
        lr_lambda: a function of the epoch (an int) returning the factor, or a list of
            them, one per param group.
        last_epoch: the index of the last epoch done, to resume a run (default -1: a new
            run; resuming needs ``initial_lr`` in the param groups, as saved with them).

    Example::

        >>> opt = fn.optim.SGD([nn.Parameter(fn.zeros(1))], lr=1.0)
        >>> sched = fn.optim.lr_scheduler.LambdaLR(opt, lambda epoch: (epoch + 1) / 4)
        >>> lrs = []
        >>> for epoch in range(5):
        ...     lrs.append(opt.param_groups[0]["lr"])
        ...     opt.step()
        ...     sched.step()
        >>> lrs
        [0.25, 0.5, 0.75, 1.0, 1.25]
    """

    def __init__(self, optimizer, lr_lambda, last_epoch=-1):
        n = len(optimizer.param_groups)
        if isinstance(lr_lambda, (list, tuple)):
            if len(lr_lambda) != n:
                raise ValueError(f"Expected {n} lr_lambdas, but got {len(lr_lambda)}")
            self.lr_lambdas = list(lr_lambda)
        else:
            self.lr_lambdas = [lr_lambda] * n
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return [base * fn(self.last_epoch) for fn, base in zip(self.lr_lambdas, self.base_lrs)]


class StepLR(LRScheduler):
    """Decay the learning rate by ``gamma`` every ``step_size`` epochs.

        lr = base_lr * gamma ** (epoch // step_size)

    Args:
        optimizer: the Optimizer whose groups' ``lr`` the schedule sets.
        step_size: the number of epochs between decays.
        gamma: the factor applied at each decay (default 0.1).
        last_epoch: the index of the last epoch done, to resume a run (default -1: a new
            run; resuming needs ``initial_lr`` in the param groups, as saved with them).

    Example::

        >>> opt = fn.optim.SGD([nn.Parameter(fn.zeros(1))], lr=1.0)
        >>> sched = fn.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
        >>> lrs = []
        >>> for epoch in range(6):
        ...     lrs.append(sched.get_last_lr()[0])
        ...     opt.step()
        ...     sched.step()
        >>> lrs
        [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]
    """

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self._is_initial or self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._current()
        return [lr * self.gamma for lr in self._current()]

    def _get_closed_form_lr(self):
        return [b * self.gamma ** (self.last_epoch // self.step_size) for b in self.base_lrs]


class MultiStepLR(LRScheduler):
    """Decay the learning rate by ``gamma`` at each milestone epoch.

        lr = base_lr * gamma ** (number of milestones <= epoch)

    Args:
        optimizer: the Optimizer whose groups' ``lr`` the schedule sets.
        milestones: the epochs at which to decay (a milestone listed twice decays twice).
        gamma: the factor applied at each milestone (default 0.1).
        last_epoch: the index of the last epoch done, to resume a run (default -1: a new
            run; resuming needs ``initial_lr`` in the param groups, as saved with them).

    Example::

        >>> opt = fn.optim.SGD([nn.Parameter(fn.zeros(1))], lr=1.0)
        >>> sched = fn.optim.lr_scheduler.MultiStepLR(opt, milestones=[2, 5], gamma=0.5)
        >>> lrs = []
        >>> for epoch in range(7):
        ...     lrs.append(sched.get_last_lr()[0])
        ...     opt.step()
        ...     sched.step()
        >>> lrs
        [1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25]
    """

    def __init__(self, optimizer, milestones, gamma=0.1, last_epoch=-1):
        self.milestones = Counter(milestones)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self._is_initial or self.last_epoch not in self.milestones:
            return self._current()
        k = self.milestones[self.last_epoch]
        return [lr * self.gamma ** k for lr in self._current()]

    def _get_closed_form_lr(self):
        ms = sorted(self.milestones.elements())
        return [b * self.gamma ** bisect_right(ms, self.last_epoch) for b in self.base_lrs]

    def state_dict(self):
        sd = super().state_dict()
        # a Counter has int keys; a plain list survives any serialisation
        sd["milestones"] = sorted(self.milestones.elements())
        return sd

    def load_state_dict(self, state_dict):
        state_dict = dict(state_dict)
        self.milestones = Counter(int(m) for m in state_dict.pop("milestones", []))
        super().load_state_dict(state_dict)


class ExponentialLR(LRScheduler):
    """Decay the learning rate by ``gamma`` every epoch.

        lr = base_lr * gamma ** epoch

    Args:
        optimizer: the Optimizer whose groups' ``lr`` the schedule sets.
        gamma: the factor applied each epoch.
        last_epoch: the index of the last epoch done, to resume a run (default -1: a new
            run; resuming needs ``initial_lr`` in the param groups, as saved with them).

    Example::

        >>> opt = fn.optim.SGD([nn.Parameter(fn.zeros(1))], lr=1.0)
        >>> sched = fn.optim.lr_scheduler.ExponentialLR(opt, gamma=0.5)
        >>> lrs = []
        >>> for epoch in range(4):
        ...     lrs.append(sched.get_last_lr()[0])
        ...     opt.step()
        ...     sched.step()
        >>> lrs
        [1.0, 0.5, 0.25, 0.125]
    """

    def __init__(self, optimizer, gamma, last_epoch=-1):
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self._is_initial:
            return self._current()
        return [lr * self.gamma for lr in self._current()]

    def _get_closed_form_lr(self):
        return [b * self.gamma ** self.last_epoch for b in self.base_lrs]


class LinearLR(LRScheduler):
    """Factor going linearly from start_factor to end_factor over total_iters epochs.

        lr = base_lr * (start_factor + (end_factor - start_factor) * min(epoch, total_iters)
                        / total_iters)

    The usual warm-up: a small lr at first, the full one after ``total_iters`` epochs.

    Args:
        optimizer: the Optimizer whose groups' ``lr`` the schedule sets.
        start_factor: the factor at epoch 0, in (0, 1] (default 1/3).
        end_factor: the factor from epoch ``total_iters`` on, in [0, 1] (default 1).
        total_iters: the number of epochs the ramp lasts (default 5).
        last_epoch: the index of the last epoch done, to resume a run (default -1: a new
            run; resuming needs ``initial_lr`` in the param groups, as saved with them).

    Example::

        >>> opt = fn.optim.SGD([nn.Parameter(fn.zeros(1))], lr=1.0)
        >>> sched = fn.optim.lr_scheduler.LinearLR(opt, start_factor=0.25, total_iters=3)
        >>> lrs = []
        >>> for epoch in range(5):
        ...     lrs.append(sched.get_last_lr()[0])
        ...     opt.step()
        ...     sched.step()
        >>> lrs
        [0.25, 0.5, 0.75, 1.0, 1.0]
    """

    def __init__(self, optimizer, start_factor=1.0 / 3, end_factor=1.0, total_iters=5,
                 last_epoch=-1):
        if start_factor > 1.0 or start_factor <= 0:
            raise ValueError("Starting multiplicative factor expected to be greater than 0 "
                             "and less or equal to 1.")
        if end_factor > 1.0 or end_factor < 0:
            raise ValueError("Ending multiplicative factor expected to be between 0 and 1.")
        self.start_factor, self.end_factor, self.total_iters = start_factor, end_factor, total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self._is_initial:
            return [lr * self.start_factor for lr in self._current()]
        if self.last_epoch > self.total_iters:
            return self._current()
        span = self.end_factor - self.start_factor
        # ratio of consecutive factors, so repeated application lands on the linear ramp
        ratio = 1.0 + span / (self.total_iters * self.start_factor + (self.last_epoch - 1) * span)
        return [lr * ratio for lr in self._current()]

    def _get_closed_form_lr(self):
        frac = min(self.total_iters, self.last_epoch) / self.total_iters
        return [b * (self.start_factor + (self.end_factor - self.start_factor) * frac)
                for b in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """Anneal the learning rate from its initial value to ``eta_min`` along a half cosine.

        lr = eta_min + (base_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2

    continued as a cosine wave past T_max (PyTorch's recursive form).

    Args:
        optimizer: the Optimizer whose groups' ``lr`` the schedule sets.
        T_max: the number of epochs from the initial lr down to ``eta_min``.
        eta_min: the lowest lr (default 0).
        last_epoch: the index of the last epoch done, to resume a run (default -1: a new
            run; resuming needs ``initial_lr`` in the param groups, as saved with them).

    Example::

        >>> opt = fn.optim.SGD([nn.Parameter(fn.zeros(1))], lr=1.0)
        >>> sched = fn.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=4)
        >>> lrs = []
        >>> for epoch in range(6):
        ...     lrs.append(round(sched.get_last_lr()[0], 4))
        ...     opt.step()
        ...     sched.step()
        >>> lrs                       # (1 + cos(pi/4)) / 2 = 0.8536; back up after T_max
        [1.0, 0.8536, 0.5, 0.1464, 0.0, 0.1464]
    """

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        e, T, lo = self.last_epoch, self.T_max, self.eta_min
        if self._is_initial:
            return self._current()
        if self._step_count == 1 and e > 0:
            return [lo + (b - lo) * (1 + math.cos(e * math.pi / T)) / 2 for b in self.base_lrs]
        if (e - 1 - T) % (2 * T) == 0:
            # at the trough the ratio form divides by zero; step up by the first increment
            return [lr + (b - lo) * (1 - math.cos(math.pi / T)) / 2
                    for b, lr in zip(self.base_lrs, self._current())]
        ratio = (1 + math.cos(math.pi * e / T)) / (1 + math.cos(math.pi * (e - 1) / T))
        return [ratio * (lr - lo) + lo for lr in self._current()]

    def _get_closed_form_lr(self):
        e, T, lo = self.last_epoch, self.T_max, self.eta_min
        return [lo + (b - lo) * (1 + math.cos(math.pi * e / T)) / 2 for b in self.base_lrs]


def _anneal_cos(start, end, pct):
    return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)


def _anneal_linear(start, end, pct):
    return (end - start) * pct + start


class OneCycleLR(LRScheduler):
    """Smith's 1cycle: lr rises from max_lr/div_factor to max_lr over pct_start of the steps,
    then falls to initial_lr/final_div_factor; momentum (or Adam's beta1) moves opposite,
    between max_momentum and base_momentum. Steps once per batch.

    Phases end at step ``pct_start * total_steps - 1`` and at ``total_steps - 1`` (with
    three_phase, the lr first comes back down to the initial lr at step
    ``2 * pct_start * total_steps - 2``, then falls to the minimum); each phase anneals
    along a half cosine (or a line) between its two ends.

    Args:
        optimizer: the Optimizer whose groups' ``lr`` the schedule sets.
        max_lr: the peak lr, a float or one per param group.
        total_steps: the number of steps in the cycle (default None:
            ``epochs * steps_per_epoch``).
        epochs: the number of epochs, with ``steps_per_epoch`` (default None).
        steps_per_epoch: the number of steps per epoch (default None).
        pct_start: the fraction of the steps spent rising (default 0.3).
        anneal_strategy: ``'cos'`` or ``'linear'`` (default ``'cos'``).
        cycle_momentum: move momentum (or Adam's beta1) opposite to the lr (default True).
        base_momentum: the momentum at the peak lr (default 0.85).
        max_momentum: the momentum at the start and the end (default 0.95).
        div_factor: initial_lr = max_lr / div_factor (default 25).
        final_div_factor: the last lr = initial_lr / final_div_factor (default 1e4).
        three_phase: come back down to the initial lr (symmetrically to the rise) before
            annealing to the last lr in a third phase (default False).
        last_epoch: the index of the last step done, to resume a run (default -1: a new
            run).

    Example::

        >>> opt = fn.optim.SGD([nn.Parameter(fn.zeros(1))], lr=0.1, momentum=0.9)
        >>> sched = fn.optim.lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=10)
        >>> lrs, moms = [], []
        >>> for step in range(10):
        ...     lrs.append(round(sched.get_last_lr()[0], 4))
        ...     moms.append(round(opt.param_groups[0]["momentum"], 3))
        ...     opt.step()
        ...     sched.step()
        >>> lrs                        # 1.0 / 25 = 0.04 up to 1.0 at step 0.3 * 10 - 1 = 2
        [0.04, 0.52, 1.0, 0.9505, 0.8117, 0.6113, 0.3887, 0.1883, 0.0495, 0.0]
        >>> moms
        [0.95, 0.9, 0.85, 0.855, 0.869, 0.889, 0.911, 0.931, 0.945, 0.95]
    """

    def __init__(self, optimizer, max_lr, total_steps=None, epochs=None, steps_per_epoch=None,
                 pct_start=0.3, anneal_strategy="cos", cycle_momentum=True, base_momentum=0.85,
                 max_momentum=0.95, div_factor=25.0, final_div_factor=1e4, three_phase=False,
                 last_epoch=-1):
        if total_steps is not None:
            if not isinstance(total_steps, int) or total_steps <= 0:
                raise ValueError(f"Expected positive integer total_steps, but got {total_steps}")
            self.total_steps = total_steps
        elif epochs is not None and steps_per_epoch is not None:
            if not isinstance(epochs, int) or epochs <= 0:
                raise ValueError(f"Expected positive integer epochs, but got {epochs}")
            if not isinstance(steps_per_epoch, int) or steps_per_epoch <= 0:
                raise ValueError(f"Expected positive integer steps_per_epoch, but got {steps_per_epoch}")
            self.total_steps = epochs * steps_per_epoch
        else:
            raise ValueError("You must define either total_steps OR (epochs AND steps_per_epoch)")
        if not isinstance(pct_start, float) or not 0 <= pct_start <= 1:
            raise ValueError(f"Expected float between 0 and 1 pct_start, but got {pct_start}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"anneal_strategy must be one of 'cos' or 'linear', instead got "
                             f"{anneal_strategy}")
        n = self.total_steps
        up = float(pct_start * n) - 1
        # (end_step, start_lr key, end_lr key, start_momentum key, end_momentum key)
        if three_phase:
            self._phases = [(up, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                            (float(2 * pct_start * n) - 2, "max_lr", "initial_lr",
                             "base_momentum", "max_momentum"),
                            (n - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum")]
        else:
            self._phases = [(up, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                            (n - 1, "max_lr", "min_lr", "base_momentum", "max_momentum")]
        self.anneal_strategy = anneal_strategy
        if last_epoch == -1:
            for m, group in zip(_per_group("max_lr", optimizer, max_lr), optimizer.param_groups):
                group["initial_lr"] = m / div_factor
                group["max_lr"] = m
                group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError("optimizer must support momentum or beta1 with `cycle_momentum` "
                                 "option enabled")
            self.use_beta1 = "betas" in optimizer.defaults
            if last_epoch == -1:
                for hi, lo, group in zip(_per_group("max_momentum", optimizer, max_momentum),
                                         _per_group("base_momentum", optimizer, base_momentum),
                                         optimizer.param_groups):
                    self._set_momentum(group, hi)
                    group["max_momentum"], group["base_momentum"] = hi, lo
        super().__init__(optimizer, last_epoch)

    def _set_momentum(self, group, value):
        if self.use_beta1:
            group["betas"] = (value, *group["betas"][1:])
        else:
            group["momentum"] = value

    def get_lr(self):
        step = self.last_epoch
        if step > self.total_steps:
            raise ValueError(f"Tried to step {step} times. The specified number of total steps "
                             f"is {self.total_steps}")
        anneal = _anneal_cos if self.anneal_strategy == "cos" else _anneal_linear
        lrs = []
        for group in self.optimizer.param_groups:
            start = 0.0
            for i, (end, lr0, lr1, m0, m1) in enumerate(self._phases):
                if step <= end or i == len(self._phases) - 1:
                    pct = (step - start) / (end - start)
                    lrs.append(anneal(group[lr0], group[lr1], pct))
                    if self.cycle_momentum:
                        self._set_momentum(group, anneal(group[m0], group[m1], pct))
                    break
                start = end
        return lrs


class ReduceLROnPlateau(LRScheduler):
    """Multiply lr by ``factor`` once the metric has not improved for ``patience`` epochs.

    ``step(metric)`` takes the epoch's metric (a validation loss, say). An epoch improves
    on the best so far when ``metric < best * (1 - threshold)`` (mode ``'min'``,
    threshold_mode ``'rel'``; ``'abs'`` uses best - threshold, mode ``'max'`` the
    reverse). After ``patience + 1`` epochs without improvement the lr is cut, and
    ``cooldown`` epochs pass before bad epochs count again.

    Args:
        optimizer: the Optimizer whose groups' ``lr`` the schedule sets.
        mode: ``'min'`` (lower is better) or ``'max'`` (default ``'min'``).
        factor: the factor applied at each cut, below 1 (default 0.1).
        patience: the number of epochs without improvement tolerated (default 10).
        threshold: the margin an improvement must clear (default 1e-4).
        threshold_mode: ``'rel'`` or ``'abs'`` (default ``'rel'``).
        cooldown: epochs to wait after a cut (default 0).
        min_lr: the lowest lr, a float or one per param group (default 0).
        eps: a cut smaller than this is skipped (default 1e-8).

    Example::

        >>> opt = fn.optim.SGD([nn.Parameter(fn.zeros(1))], lr=1.0)
        >>> sched = fn.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=1)
        >>> lrs = []
        >>> for loss in [1.0, 0.8, 0.8, 0.8, 0.7, 0.7, 0.7]:
        ...     sched.step(loss)
        ...     lrs.append(opt.param_groups[0]["lr"])
        >>> lrs
        [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25]
    """

    def __init__(self, optimizer, mode="min", factor=0.1, patience=10, threshold=1e-4,
                 threshold_mode="rel", cooldown=0, min_lr=0.0, eps=1e-8):
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau: Factor should be < 1.0. (got factor={factor})")
        if mode not in ("min", "max"):
            raise ValueError(f"ReduceLROnPlateau: mode {mode} is unknown! (expected 'min' or 'max')")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"ReduceLROnPlateau: threshold mode {threshold_mode} is unknown! "
                             "(expected 'rel' or 'abs')")
        n = len(optimizer.param_groups)
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != n:
                raise ValueError(f"expected {n} min_lrs, got {len(min_lr)}")
            self.min_lrs = list(min_lr)
        else:
            self.min_lrs = [min_lr] * n
        self.optimizer = optimizer
        self.factor, self.patience, self.threshold = factor, patience, threshold
        self.mode, self.threshold_mode = mode, threshold_mode
        self.cooldown, self.eps = cooldown, eps
        self.last_epoch = 0
        self._step_count = 0
        self._last_lr = self._current()
        self._reset()

    def _reset(self):
        self.best = math.inf if self.mode == "min" else -math.inf
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    def is_better(self, a, best):
        if self.mode == "min":
            return a < (best * (1 - self.threshold) if self.threshold_mode == "rel"
                        else best - self.threshold)
        return a > (best * (1 + self.threshold) if self.threshold_mode == "rel"
                    else best + self.threshold)

    @property
    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def step(self, metrics, epoch=None):
        current = float(metrics)
        self._step_count += 1
        self.last_epoch = self.last_epoch + 1 if epoch is None else epoch
        if self.is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs during cooldown do not count
        if self.num_bad_epochs > self.patience:
            for group, floor in zip(self.optimizer.param_groups, self.min_lrs):
                old = float(group["lr"])
                new = max(old * self.factor, floor)
                if old - new > self.eps:  # skip updates too small to matter
                    group["lr"] = new
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = self._current()


class SequentialLR(LRScheduler):
    """Run ``schedulers[i]`` between ``milestones[i-1]`` and ``milestones[i]``; each one
    restarts from epoch 0 at its milestone.

    Args:
        optimizer: the Optimizer whose groups' ``lr`` the schedule sets.
        schedulers: the schedulers to chain, all built on ``optimizer`` (not
            ReduceLROnPlateau).
        milestones: the epochs at which the next scheduler takes over, one fewer than
            the schedulers.
        last_epoch: the index of the last epoch done, to resume a run (default -1: a new
            run; resuming needs ``initial_lr`` in the param groups, as saved with them).

    Example::

        >>> opt = fn.optim.SGD([nn.Parameter(fn.zeros(1))], lr=1.0)
        >>> LR = fn.optim.lr_scheduler
        >>> warmup = LR.LinearLR(opt, start_factor=0.25, total_iters=3)
        >>> decay = LR.ExponentialLR(opt, gamma=0.5)
        >>> sched = LR.SequentialLR(opt, [warmup, decay], milestones=[3])
        >>> lrs = []
        >>> for epoch in range(6):
        ...     lrs.append(sched.get_last_lr()[0])
        ...     opt.step()
        ...     sched.step()
        >>> lrs
        [0.25, 0.5, 0.75, 1.0, 0.5, 0.25]
    """

    def __init__(self, optimizer, schedulers, milestones, last_epoch=-1):
        if len(schedulers) < 1:
            raise ValueError("SequentialLR expects at least one scheduler")
        for i, s in enumerate(schedulers):
            if isinstance(s, ReduceLROnPlateau):
                raise ValueError(f"SequentialLR does not support ReduceLROnPlateau (index {i})")
            if s.optimizer is not optimizer:
                raise ValueError(f"SequentialLR expects all schedulers to belong to the same "
                                 f"optimizer, but scheduler at index {i} does not")
        if len(milestones) != len(schedulers) - 1:
            raise ValueError("Sequential Schedulers expects number of schedulers provided to be "
                             "one more than the number of milestone points, but got number of "
                             f"schedulers {len(schedulers)} and the number of milestones to be "
                             f"equal to {len(milestones)}")
        self.optimizer = optimizer
        self._schedulers = list(schedulers)
        self._milestones = list(milestones)
        self.last_epoch = last_epoch + 1
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        # each scheduler already took its initial step when it was built: undo that count
        for s in self._schedulers:
            s.last_epoch -= 1
        first = self._schedulers[bisect_right(self._milestones, 0)]
        first._initial_step()
        self._last_lr = first.get_last_lr()

    def step(self):
        self.last_epoch += 1
        idx = bisect_right(self._milestones, self.last_epoch)
        s = self._schedulers[idx]
        if idx > 0 and self._milestones[idx - 1] == self.last_epoch:
            s._update_lr(0)
        else:
            s.step()
        self._last_lr = s.get_last_lr()

    def state_dict(self):
        sd = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "_schedulers")}
        sd["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return sd

    def load_state_dict(self, state_dict):
        state_dict = dict(state_dict)
        inner = state_dict.pop("_schedulers")
        self.__dict__.update(state_dict)
        for s, sd in zip(self._schedulers, inner):
            s.load_state_dict(sd)
