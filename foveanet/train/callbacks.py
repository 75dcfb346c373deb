"""Trainer callbacks: hooks called at fixed points of ``Trainer.fit``.

A callback with state that must survive a restart (early stopping's patience counter, the
best score so far) implements ``state_dict``/``load_state_dict``; the trainer stores it in the
checkpoint under the callback's class name.
"""
from __future__ import annotations

import math
import time
from pathlib import Path

__all__ = ["Callback", "EarlyStopping", "ModelCheckpoint"]


class Callback:
    """The base class of Trainer callbacks: hooks that ``Trainer.fit`` calls at fixed points.

    A subclass overrides the hooks it needs; each gets the trainer (``trainer.model``,
    ``trainer.epoch``, ``trainer.global_step``; setting ``trainer.stop_training`` ends the
    fit after the epoch):

    - ``on_fit_start(trainer)``, ``on_fit_end(trainer)``
    - ``on_batch_end(trainer, logs)``: logs ``{"loss", "batch", "epoch"}``
    - ``on_epoch_end(trainer, logs)``: the epoch's results (``epoch`` 1-based,
      ``train_loss``, ``val_accuracy``...), as in ``trainer.history``

    A callback with state that must survive a restart implements ``state_dict`` and
    ``load_state_dict``; the trainer stores it in the checkpoint under the class name.

    Example::

        >>> from foveanet.train import Callback, Trainer
        >>> class StepLog(Callback):
        ...     def __init__(self):
        ...         self.steps = []
        ...     def on_epoch_end(self, trainer, logs):
        ...         self.steps.append((logs["epoch"], trainer.global_step))
        >>> ds = fn.data.TensorDataset(np.eye(4, 2, dtype=np.float32), np.array([0, 1, 0, 0]))
        >>> model = nn.Linear(2, 2)
        >>> log = StepLog()
        >>> _ = Trainer(model, fn.optim.SGD(model.parameters(), lr=0.1),
        ...             train_loader=fn.data.DataLoader(ds, batch_size=2), max_epochs=2,
        ...             callbacks=[log], progress=False).fit()
        >>> log.steps                                     # 2 batches per epoch
        [(1, 2), (2, 4)]
    """

    def on_fit_start(self, trainer): ...
    def on_batch_end(self, trainer, logs: dict): ...
    def on_epoch_end(self, trainer, logs: dict): ...
    def on_fit_end(self, trainer): ...

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass


def _better(mode: str, value: float, best: float | None, min_delta: float) -> bool:
    if best is None:
        return True
    return value > best + min_delta if mode == "max" else value < best - min_delta


class EarlyStopping(Callback):
    """Stop training when a monitored score has not improved for ``patience`` epochs.

    Monitor a validation key: stopping on the test set would choose the model by its test
    score. ``best``, ``wait`` and ``stopped_epoch`` are saved in the trainer's checkpoint.

    Args:
        monitor: a key of the epoch logs, e.g. ``'val_accuracy'``, ``'val_loss'`` (default
            ``'val_loss'``).
        patience: epochs without improvement before stopping (default 5).
        mode: ``'min'`` or ``'max'`` (default None: ``'min'`` for a key ending in ``loss``,
            else ``'max'``).
        min_delta: an improvement must exceed this (default 0).

    Example::

        >>> import types
        >>> from foveanet.train import EarlyStopping
        >>> stop = EarlyStopping("val_loss", patience=2)
        >>> trainer = types.SimpleNamespace(stop_training=False)     # what the hook touches
        >>> for epoch, loss in enumerate([0.9, 0.7, 0.75, 0.72], 1):
        ...     stop.on_epoch_end(trainer, {"epoch": epoch, "val_loss": loss})
        >>> trainer.stop_training, stop.stopped_epoch, stop.best     # 2 epochs above 0.7
        (True, 4, 0.7)
    """

    def __init__(self, monitor: str = "val_loss", patience: int = 5, mode: str | None = None,
                 min_delta: float = 0.0):
        if mode is None:
            mode = "min" if monitor.endswith("loss") else "max"
        if mode not in ("min", "max"):
            raise ValueError(f"EarlyStopping: mode must be 'min' or 'max', got {mode!r}")
        self.monitor, self.patience, self.mode, self.min_delta = monitor, int(patience), mode, float(min_delta)
        self.best, self.wait, self.stopped_epoch = None, 0, None

    def on_epoch_end(self, trainer, logs):
        value = logs.get(self.monitor)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            raise KeyError(f"EarlyStopping: no {self.monitor!r} in the epoch results "
                           f"(have {sorted(k for k in logs if not k.startswith('_'))})")
        if _better(self.mode, value, self.best, self.min_delta):
            self.best, self.wait = value, 0
        else:
            self.wait += 1
            if self.wait >= self.patience:
                self.stopped_epoch = logs["epoch"]
                trainer.stop_training = True

    def state_dict(self):
        return {"best": self.best, "wait": self.wait, "stopped_epoch": self.stopped_epoch}

    def load_state_dict(self, state):
        self.best, self.wait, self.stopped_epoch = state["best"], state["wait"], state["stopped_epoch"]


class ModelCheckpoint(Callback):
    """Keep a run directory resumable: the checkpoint, the last weights and the best weights.

    Writes checkpoint.safetensors at every epoch end, and mid-epoch every ``every_seconds``
    of training and/or every ``every_batches`` batches; last.safetensors each epoch and
    best.safetensors when ``monitor`` improves. Without a validation score there is nothing
    to choose by: best.safetensors is then the latest epoch's weights, as
    ``Trainer.best_epoch`` says. A Trainer with a ``run_dir`` adds one unless given one.

    Args:
        run_dir: the directory to write to.
        every_seconds: mid-epoch checkpoint interval in seconds of training; None for none
            (default 30).
        every_batches: mid-epoch checkpoint every this many batches; None for none
            (default None).
        monitor: the validation key that chooses best.safetensors (default
            ``'val_accuracy'``).
        mode: ``'min'`` or ``'max'`` (default None: ``'min'`` for a key ending in ``loss``,
            else ``'max'``).

    Example::

        >>> import os, tempfile
        >>> from foveanet.train import ModelCheckpoint, Trainer
        >>> ds = fn.data.TensorDataset(np.eye(4, 2, dtype=np.float32), np.array([0, 1, 0, 0]))
        >>> model = nn.Linear(2, 2)
        >>> with tempfile.TemporaryDirectory() as run_dir:
        ...     trainer = Trainer(model, fn.optim.SGD(model.parameters(), lr=0.1),
        ...                       train_loader=fn.data.DataLoader(ds, batch_size=2),
        ...                       max_epochs=1, run_dir=run_dir, progress=False,
        ...                       callbacks=[ModelCheckpoint(run_dir, every_seconds=None)])
        ...     _ = trainer.fit()
        ...     files = sorted(os.listdir(run_dir))
        >>> files
        ['best.safetensors', 'checkpoint.safetensors', 'last.safetensors', 'metrics.json']
    """

    def __init__(self, run_dir, every_seconds: float | None = 30.0, every_batches: int | None = None,
                 monitor: str = "val_accuracy", mode: str | None = None):
        self.run_dir = Path(run_dir)
        self.every_seconds, self.every_batches = every_seconds, every_batches
        self.monitor = monitor
        self.mode = mode or ("min" if monitor.endswith("loss") else "max")
        self.best = None
        self._last = time.monotonic()

    def on_fit_start(self, trainer):
        self._last = time.monotonic()

    def on_batch_end(self, trainer, logs):
        due = self.every_batches is not None and trainer.global_step % self.every_batches == 0
        if self.every_seconds is not None and time.monotonic() - self._last >= self.every_seconds:
            due = True
        if due:
            trainer.save_checkpoint(self.run_dir / "checkpoint.safetensors")
            self._last = time.monotonic()

    def on_epoch_end(self, trainer, logs):
        from foveanet.train.checkpoint import save_weights

        value = logs.get(self.monitor)
        if value is None or _better(self.mode, value, self.best, 0.0):
            self.best = value
            save_weights(trainer.net.state_dict(), self.run_dir / "best.safetensors")
        save_weights(trainer.net.state_dict(), self.run_dir / "last.safetensors")
        # written last: a checkpoint that says "epoch done" implies the weight files are too
        trainer.save_checkpoint(self.run_dir / "checkpoint.safetensors")
        self._last = time.monotonic()

    def state_dict(self):
        return {"best": self.best}

    def load_state_dict(self, state):
        self.best = state["best"]
