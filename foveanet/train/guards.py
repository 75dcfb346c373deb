"""Training guards: a step whose loss or gradient is inf or NaN stops the run there.

A learning rate that is far too large makes the weights overflow within a few steps; from
then on every number is NaN, the accuracy sits at chance, and NumPy prints a raw
``RuntimeWarning`` from whichever op overflowed first.  The loops of this project (the image
Trainer, segmentation, text) therefore run each step with NumPy's floating-point warnings
off (``float_errors_quiet``) and check the step's result instead (``check_step``):
the loss, and the sum of every gradient (inf and NaN propagate through a sum, so one pass over
each gradient finds them).  The check runs *before* ``optimizer.step()``, so the weights in
memory, and every file already written, are still those of the last good step.
"""
from __future__ import annotations

import math

import numpy as np

from foveanet.errors import TrainingDiverged

__all__ = ["check_step", "float_errors_quiet", "global_step_stats", "gradient_total",
           "gradients_to_check", "TrainingDiverged"]


def float_errors_quiet():
    """``with float_errors_quiet():`` NumPy's overflow / invalid / divide warnings off; the
    step's loss and gradients are checked by ``check_step`` instead."""
    return np.errstate(over="ignore", invalid="ignore", divide="ignore")


def _array(g):
    """A gradient's array: a Tensor's ``.data``, or the array itself (NumPy's and CuPy's
    arrays have a ``.data`` of their own: a buffer, not the values)."""
    from foveanet.autograd.tensor import Tensor

    return g.data if isinstance(g, Tensor) else g


def _first_bad_gradient(named_params) -> str | None:
    for name, p in named_params:
        g = getattr(p, "grad", None)
        if g is None:
            continue
        g = _array(g)
        if not math.isfinite(float(g.sum())):
            return f"{name} (shape {tuple(g.shape)})"
    return None


def gradient_total(named_params):
    """The sum of every gradient of ``named_params`` as a 0-d array where they live (None
    when none has one): inf or NaN in any gradient makes it non-finite. On a GPU the sums
    queue up without waiting, and one copy of the total tells whether ``check_step`` must
    look at each gradient; a finite total clears them all."""
    total = None
    for _, p in named_params:
        g = getattr(p, "grad", None)
        if g is None:
            continue
        s = _array(g).sum()
        total = s if total is None else total + s
    return total


def gradients_to_check(named_params):
    """What ``check_step`` must look at: every gradient on the CPU (one NumPy pass each, and
    the first bad one ends the scan); on a GPU none when their total is finite, found in one
    copy to the host instead of one per parameter."""
    named_params = list(named_params)
    total = gradient_total(named_params)
    if total is None or isinstance(total, (np.ndarray, np.generic)):
        return named_params
    return () if math.isfinite(float(total)) else named_params


def check_step(loss: float, named_params=(), *, epoch: int, step: int, lr: float | None,
               steps_per_epoch: int | None = None, where: str | None = None) -> None:
    """Raise ``TrainingDiverged`` when ``loss`` or a gradient of ``named_params`` (the
    ``(name, parameter)`` pairs of ``module.named_parameters()``) is inf/NaN.

    ``epoch`` (1-based), ``step`` (1-based, within the epoch) and ``lr`` go into the message;
    ``where`` names the files that keep the last good state (e.g. the run's checkpoint)."""
    bad = None if math.isfinite(loss) else f"the loss is {loss}"
    if bad is None:
        name = _first_bad_gradient(named_params)
        if name is None:
            return
        bad = f"the gradient of {name} holds inf or NaN (the loss was still {loss:.6g})"
    of = f" of {steps_per_epoch}" if steps_per_epoch else ""
    lr_text = f"{lr:g}" if lr is not None else "?"
    smaller = f" (--lr {lr / 10:g})" if lr else ""
    kept = f" {where}" if where else ""
    message = (f"training diverged at epoch {epoch}, step {step}{of}: {bad}, at learning rate "
               f"{lr_text}. The run stopped before this step changed the weights.{kept} "
               f"What to try: a learning rate ten times smaller{smaller}; a schedule that warms up "
               f"(one-cycle); AdamW instead of plain SGD; and check that the inputs hold no inf "
               f"or NaN.")
    raise TrainingDiverged(message, {"epoch": epoch, "step": step, "loss": loss if math.isfinite(loss)
                                     else repr(loss), "lr": lr, "reason": bad})


def global_step_stats(loss: float, correct: int, n: int) -> tuple:
    """(mean loss, correct, samples) of one step over all data-parallel ranks, from each rank's
    own: one all-reduce of 3 numbers. Every rank then checks the same loss with ``check_step``
    (its gradients are the same too), so all ranks stop together if the run diverges."""
    from foveanet.distributed import all_reduce

    stats = np.array([loss * n, correct, n], np.float64)
    all_reduce(stats)
    return float(stats[0] / stats[2]), int(stats[1]), int(stats[2])
