"""Trainer: the training loop, evaluation, prediction, run directory and exact resume.

Exact resume.  Everything a step depends on is either restored from the checkpoint or a
pure function of restored numbers: the weights, the optimizer's moments and step counts,
the scheduler's position, the loader's (seed, epoch, next batch) -- which fixes both the
shuffled order and each batch's augmentation -- and the global generator's state (dropout).
A run killed at any point and resumed from its last checkpoint therefore repeats the same
float operations in the same order and ends with bitwise the same weights.

Validation and test.  ``val_loader`` (a hold-out of the *training* data) is what model
selection reads: best.safetensors, early stopping, ReduceLROnPlateau and the best epoch.
``test_loader`` is scored after every epoch for the learning curve and the report; nothing
reads it to decide, so the test numbers carry no selection bias.

Divergence.  Every step runs with NumPy's floating-point warnings off and is checked
(``train.guards``): an inf/NaN loss or gradient stops the run before the optimizer step, with
a message, ``diverged`` in metrics.json, and the files of the last good state kept.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

import foveanet
from foveanet import backend
from foveanet.backend import devices
from foveanet.train import checkpoint as ckpt
from foveanet.train.callbacks import ModelCheckpoint
from foveanet.train.guards import (TrainingDiverged, check_step, float_errors_quiet, global_step_stats,
                                   gradient_total)
from foveanet.train.metrics import MetricAccumulator, _np, precision_recall_f1
from foveanet.train.progress import ProgressBar

__all__ = ["Trainer", "scheduler_interval"]

# schedules whose period is counted in optimizer steps rather than epochs
_PER_BATCH = ("OneCycleLR", "CyclicLR")


def scheduler_interval(scheduler) -> str | None:
    if scheduler is None:
        return None
    return "batch" if type(scheduler).__name__ in _PER_BATCH else "epoch"


def softmax(logits: np.ndarray) -> np.ndarray:
    """The softmax of each row of a NumPy array: class probabilities from logits.

        p[n, c] = exp(z[n, c] - max_c z[n]) / sum_c' exp(z[n, c'] - max_c z[n])

    (the row maximum is subtracted so that large logits do not overflow).

    Args:
        logits: (N, C) array.

    Returns:
        ndarray: (N, C), each row summing to 1.

    Example::

        >>> from foveanet.train import softmax
        >>> softmax(np.array([[0.0, np.log(3.0)], [1000.0, 1000.0]]))
        array([[0.25, 0.75],
               [0.5 , 0.5 ]])
    """
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


class Trainer:
    """The training loop: fit a model, score it after every epoch, checkpoint and resume exactly.

    ``fit()`` runs the epochs and returns ``history`` (one dict of results per epoch);
    ``evaluate(loader)`` gives loss, accuracy, top-5, the confusion matrix and per-class
    scores; ``predict(data)`` the class probabilities; ``save_checkpoint``/``load_checkpoint``
    hold everything a resumed ``fit`` needs to repeat the same steps bit for bit.

    Args:
        model: the module to train.
        optimizer: its optimizer.
        loss_fn: training loss ``loss_fn(output, target)`` (default None: cross-entropy).
        scheduler: a learning-rate scheduler, stepped after every batch (OneCycleLR,
            CyclicLR) or every epoch (the others; ReduceLROnPlateau gets the validation
            loss) (default None).
        train_loader: a ``foveanet.data.DataLoader`` of (inputs, targets).
        val_loader: a hold-out of the training data; the epoch logs' ``val_*`` keys, which
            model selection reads (best.safetensors, ``EarlyStopping('val_accuracy')``,
            ReduceLROnPlateau) (default None).
        max_epochs: epochs to run (default 10).
        run_dir: where config.json, metrics.json, the weights, the checkpoint and the
            pictures go (default None: everything stays in memory).
        callbacks: e.g. ``[EarlyStopping('val_accuracy', patience=3)]``; with a run_dir a
            ``ModelCheckpoint`` is added unless one is given (default none).
        seed: seeds the global generator (dropout) and the train loader at the start of a
            fresh ``fit`` (not of a resumed one: the checkpoint carries both) (default None).
        class_names: names of the classes, for the report and the pictures (default None).
        config: written to run_dir/config.json (default None).
        scheduler_interval: ``'batch'`` or ``'epoch'``, overriding the choice by scheduler
            type (default None).
        progress: show a progress bar (True/False) or use this ``ProgressBar``
            (default True).
        checkpoint_seconds: seconds between the mid-epoch checkpoints of the
            ``ModelCheckpoint`` added for a run_dir (default 30).
        eval_loss_fn: the loss that evaluation reports, so that runs trained with different
            losses (label smoothing...) compare (default None: cross-entropy).
        tta: test-time augmentation: evaluate and predict average each image's class
            probabilities with its mirror image's (in ``fit``, the final epoch's test
            evaluation only) (default False).
        test_loader: scored every epoch (``test_*`` keys) for the curve and the report,
            never chosen on (default None).
        device: where to train (``'cuda'``: a GPU, as ``model.to('cuda')``): the model moves
            there once, here, and every batch as it comes from a loader; a step's loss,
            accuracy and divergence check come back to the host in one copy; checkpoints
            hold host arrays, so they load on any device (default None: where the model is).

    Raises:
        RuntimeError: ``device='cuda'`` where CuPy or a GPU is missing (the message says
            what to install).

    Example::

        >>> from foveanet.train import Trainer
        >>> x = np.array([[0., 1.], [1., 0.], [0., 2.], [2., 0.]], np.float32)
        >>> ds = fn.data.TensorDataset(x, np.array([1, 0, 1, 0]))    # the larger coordinate
        >>> model = nn.Linear(2, 2)
        >>> trainer = Trainer(model, fn.optim.SGD(model.parameters(), lr=0.5),
        ...                   train_loader=fn.data.DataLoader(ds, batch_size=2, shuffle=True),
        ...                   val_loader=fn.data.DataLoader(ds, batch_size=4),
        ...                   max_epochs=3, seed=0, progress=False)
        >>> history = trainer.fit()
        >>> len(history), trainer.global_step                         # 3 epochs of 2 batches
        (3, 6)
        >>> [epoch["val_accuracy"] for epoch in history]
        [1.0, 1.0, 1.0]
        >>> trainer.evaluate(fn.data.DataLoader(ds, batch_size=4))["confusion"]
        array([[2, 0],
               [0, 2]])
    """

    def __init__(self, model, optimizer, loss_fn=None, scheduler=None, train_loader=None,
                 val_loader=None, max_epochs: int = 10, run_dir=None, callbacks=(),
                 seed: int | None = None, class_names=None, config: dict | None = None,
                 scheduler_interval: str | None = None, progress=True, checkpoint_seconds: float = 30.0,
                 eval_loss_fn=None, tta: bool = False, test_loader=None, device=None):
        F = foveanet.functional
        # test-time augmentation: evaluate/predict average the class probabilities of each
        # image and its mirror image (for data whose classes are symmetric under flips); in
        # fit, the final epoch's evaluation only
        self.tta = bool(tta)
        self.model, self.optimizer, self.scheduler = model, optimizer, scheduler
        # a data-parallel model (foveanet.distributed.DistributedDataParallel) trains wrapped;
        # weights and checkpoints hold the model inside, so that a run resumes at any world
        # size and its files load into the plain model
        self.net = model.module if getattr(model, "wraps_module", False) else model
        self.device = None if device is None else devices.Device(device)
        if self.device is not None:
            devices.module_for(self.device)  # no CUDA here: one clear error before any work
            self.net.to(str(self.device))  # in place: an optimizer built before keeps its Parameters
            _optimizer_state_to(self.optimizer, self.device)
        # batches from host loaders are moved to a GPU; on the CPU nothing is touched
        self._moves = self.device is not None and self.device.type != "cpu"
        from foveanet.distributed.process_group import get_world_size

        self.world_size = get_world_size()
        self.loss_fn = loss_fn if loss_fn is not None else F.cross_entropy
        # test loss without label smoothing etc., so runs with different recipes compare
        self.eval_loss_fn = eval_loss_fn if eval_loss_fn is not None else F.cross_entropy
        self.train_loader, self.val_loader, self.test_loader = train_loader, val_loader, test_loader
        self.max_epochs, self.seed = int(max_epochs), seed
        self.class_names = list(class_names) if class_names is not None else None
        self.config = config
        self.interval = scheduler_interval or globals()["scheduler_interval"](scheduler)
        if self.interval not in (None, "batch", "epoch"):
            raise ValueError(f"Trainer: scheduler_interval must be 'batch' or 'epoch', got {self.interval!r}")
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.callbacks = list(callbacks)
        if self.run_dir is not None and not any(isinstance(c, ModelCheckpoint) for c in self.callbacks):
            self.callbacks.append(ModelCheckpoint(self.run_dir, every_seconds=checkpoint_seconds))
        # checkpoints last: the epoch-end checkpoint must hold the other callbacks' new state
        self.callbacks.sort(key=lambda c: isinstance(c, ModelCheckpoint))
        if isinstance(progress, ProgressBar):
            self.progress = progress
        else:
            self.progress = ProgressBar(self.max_epochs, enabled=bool(progress))
        self.epoch = 0            # the next epoch to run
        self.global_step = 0      # optimizer steps taken
        self.history: list[dict] = []
        self.stop_training = False
        self.resumed = False
        self._partial = None      # train totals of the running epoch
        self.last_eval = None     # evaluate() of the test set after the latest finished epoch
        self.diverged = None      # where the run diverged (TrainingDiverged.where), if it did
        self.checkpointed_at = None  # (epoch, batch) of the latest checkpoint written
        self.seconds = 0.0        # training + evaluation time, over all runs of a resumed training

    # ------------------------------------------------------------------ fit
    def fit(self) -> list[dict]:
        if self.train_loader is None:
            raise ValueError("Trainer.fit: no train_loader")
        if not self.resumed:
            if self.seed is not None:
                backend.manual_seed(int(self.seed))
                self.train_loader.seed = int(self.seed)
            self.train_loader.set_epoch(self.epoch, 0)
        if self.run_dir is not None:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            if self.config is not None:
                ckpt.write_json(self.run_dir / "config.json", self.config)
        for cb in self.callbacks:
            cb.on_fit_start(self)
        self.stop_training = False
        try:
            while self.epoch < self.max_epochs and not self.stop_training:
                self._run_epoch()
        except TrainingDiverged as e:
            self._stopped_by_divergence(e)
            raise
        for cb in self.callbacks:
            cb.on_fit_end(self)
        if self.run_dir is not None:
            self.finish()
        return self.history

    def _run_epoch(self):
        loader = self.train_loader
        state = loader.state_dict()
        if state["epoch"] != self.epoch:  # a loader iterated elsewhere: realign
            loader.set_epoch(self.epoch, 0)
            state = loader.state_dict()
        start = state["batch"]
        p = self._partial if (self._partial and start > 0) else \
            {"loss_sum": 0.0, "correct": 0, "seen": 0, "seconds": 0.0, "cpu_seconds": 0.0, "lr": None}
        self._partial = p
        bar = self.progress
        bar.start_epoch(self.epoch, len(loader), start)
        bar.loss_sum, bar.correct, bar.seen = p["loss_sum"], p["correct"], p["seen"]
        self.model.train()
        t_resume, cpu_resume = time.perf_counter(), time.process_time()
        base_seconds, base_cpu = p["seconds"], p.get("cpu_seconds", 0.0)
        named = list(self.net.named_parameters())
        for x, y in loader:
            lr = self.optimizer.param_groups[0]["lr"]
            if self._moves:
                x, y = self._on_device(x), self._on_device(y)
            with float_errors_quiet():
                out = self.model(x)
                loss = self.loss_fn(out, y)
                self.optimizer.zero_grad()
                loss.backward()
                if self._moves:
                    lv, correct, n, grads_finite = _device_step_stats(loss, out, y, named)
                else:
                    lv = float(loss.item())
                    n = len(_np(y))
                    correct = int((_np(out).argmax(axis=1) == _np(y)).sum())
                    grads_finite = False  # not summed yet: check_step looks at each gradient
                if self.world_size > 1:
                    lv, correct, n = global_step_stats(lv, correct, n)
                # on every rank the same global loss and averaged gradients: all ranks stop
                # together if the run diverges
                check_step(lv, () if grads_finite else named, epoch=self.epoch + 1,
                           step=loader.state_dict()["batch"], steps_per_epoch=len(loader), lr=lr)
            self.optimizer.step()
            if self.interval == "batch":
                self.scheduler.step()
            self.global_step += 1
            p["loss_sum"] += lv * n
            p["correct"] += correct
            p["seen"] += n
            p["lr"] = lr
            p["seconds"] = base_seconds + time.perf_counter() - t_resume
            p["cpu_seconds"] = base_cpu + time.process_time() - cpu_resume
            bar.update(n, lv, correct, lr)
            logs = {"loss": lv, "batch": loader.state_dict()["batch"] - 1, "epoch": self.epoch}
            for cb in self.callbacks:
                cb.on_batch_end(self, logs)
        # test-time flips cost a second pass: only the final epoch's test evaluation takes them
        val = self.evaluate(self.val_loader, tta=False) if self.val_loader is not None else None
        test = self.evaluate(self.test_loader, tta=self.tta and self.epoch + 1 == self.max_epochs) \
            if self.test_loader is not None else None
        self.last_eval = test
        if self.interval == "epoch":
            if type(self.scheduler).__name__ == "ReduceLROnPlateau":
                self.scheduler.step(val["loss"] if val else p["loss_sum"] / max(p["seen"], 1))
            else:
                self.scheduler.step()
        seconds = base_seconds + time.perf_counter() - t_resume
        self.seconds += seconds - base_seconds
        logs = {"epoch": self.epoch + 1, "train_loss": p["loss_sum"] / max(p["seen"], 1),
                "train_accuracy": p["correct"] / max(p["seen"], 1),
                "val_loss": val["loss"] if val else None, "val_accuracy": val["accuracy"] if val else None,
                "test_loss": test["loss"] if test else None, "test_accuracy": test["accuracy"] if test else None,
                "test_top5": test.get("top5") if test else None,
                **({"test_accuracy_without_tta": test["accuracy_without_tta"]}
                   if test and "accuracy_without_tta" in test else {}),
                "lr": p["lr"], "seconds": seconds,
                # process CPU time: on a machine shared with other jobs, a steadier measure
                # of the work than wall time (with BLAS threads it can exceed it)
                "cpu_seconds": base_cpu + time.process_time() - cpu_resume}
        self.history.append(logs)
        self.epoch += 1
        self._partial = None
        bar.end_epoch(val, seconds, test=test)
        for cb in self.callbacks:
            cb.on_epoch_end(self, logs)
        if self.run_dir is not None:
            self.write_metrics()

    # ------------------------------------------------------------- evaluate
    def _batches(self, data, batch_size: int = 256):
        """Inputs of ``data`` (a loader yielding (x, y) or x, or an array) batch by batch."""
        if hasattr(data, "__iter__") and not isinstance(data, np.ndarray) and not hasattr(data, "shape"):
            for item in data:
                yield item if isinstance(item, (tuple, list)) else (item, None)
        else:
            arr = _np(data)
            if arr.ndim == 3:
                arr = arr[None]
            for i in range(0, len(arr), batch_size):
                yield arr[i:i + batch_size], None

    def evaluate(self, loader, num_classes: int | None = None, tta: bool | None = None) -> dict:
        """loss, accuracy, top5, confusion matrix and per-class precision/recall/F1 of the
        model on ``loader`` (in eval mode, without recording a graph); ``tta`` (default: the
        Trainer's setting) averages each image with its mirror image."""
        tta = self.tta if tta is None else tta
        was_training = getattr(self.model, "training", False)
        self.model.eval()
        acc = None
        plain_correct = 0
        try:
            with foveanet.no_grad():
                for x, y in self._batches(loader):
                    if y is None:
                        raise ValueError("Trainer.evaluate: the loader must yield (inputs, targets)")
                    if self._moves:
                        x, y = self._on_device(x), self._on_device(y)
                    if tta:
                        plain, mirrored = self._probs_and_mirror(x)
                        logits = np.log((plain + mirrored) / 2)  # log-probabilities: same argmax
                        t = _np(y).astype(np.int64).reshape(-1)
                        loss = float(-logits[np.arange(len(t)), t].mean())
                        plain_correct += int((plain.argmax(1) == t).sum())
                    else:
                        out = self.model(x if not isinstance(x, np.ndarray) else foveanet.from_numpy(x))
                        logits = _np(out)
                        loss = float(self.eval_loss_fn(out, y).item())
                    if acc is None:
                        acc = MetricAccumulator(num_classes or logits.shape[1], topk=5)
                    acc.update(logits, y, loss)
        finally:
            self.model.train(was_training)
        if acc is None:
            raise ValueError("Trainer.evaluate: the loader yielded no batches")
        res = acc.result()
        if tta:  # what the model alone scores, beside the mirror-averaged accuracy
            res["accuracy_without_tta"] = plain_correct / max(1, int(acc.cm.sum()))
        prf = precision_recall_f1(acc.cm)
        res.update({
            "confusion": acc.cm,
            "per_class": {k: prf[k].tolist() for k in ("precision", "recall", "f1", "support")},
            "macro": prf["macro"],
        })
        return res

    def predict(self, data, batch_size: int = 256) -> np.ndarray:
        """Class probabilities (N, C) for an array/Tensor of images or a loader."""
        was_training = getattr(self.model, "training", False)
        self.model.eval()
        chunks = []
        try:
            with foveanet.no_grad():
                for x, _ in self._batches(data, batch_size):
                    if self.tta:
                        plain, mirrored = self._probs_and_mirror(x)
                        chunks.append((plain + mirrored) / 2)
                        continue
                    x = foveanet.from_numpy(np.ascontiguousarray(x)) if isinstance(x, np.ndarray) else x
                    if self._moves:
                        x = self._on_device(x)
                    chunks.append(softmax(_np(self.model(x)).astype(np.float64)))
        finally:
            self.model.train(was_training)
        return np.concatenate(chunks) if chunks else np.zeros((0, 0))

    def _probs_and_mirror(self, x) -> tuple:
        """Softmax (float64) of the images ``x``, and of their left-right mirror images."""
        a = _np(x)
        plain = softmax(_np(self.model(self._on_device(np.ascontiguousarray(a)))).astype(np.float64))
        return plain, softmax(_np(self.model(self._on_device(a[..., ::-1].copy()))).astype(np.float64))

    def _on_device(self, v):
        """A batch field (a Tensor or an array) on the Trainer's device, as a Tensor."""
        t = v if isinstance(v, foveanet.Tensor) else foveanet.from_numpy(v) \
            if isinstance(v, np.ndarray) else foveanet.tensor(v)
        return t.to(self.device) if self._moves else t

    # ----------------------------------------------------------- checkpoint
    def state_dict(self) -> dict:
        return {
            "version": 1,
            "model": self.net.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "loader": self.train_loader.state_dict(),
            "rng": backend.get_rng_state(),
            "epoch": self.epoch,
            "global_step": self.global_step,
            "partial": dict(self._partial) if self._partial else None,
            "history": self.history,
            "seconds": self.seconds,
            "callbacks": {type(c).__name__: c.state_dict() for c in self.callbacks},
        }

    def save_checkpoint(self, path=None) -> Path:
        path = Path(path) if path is not None else self.run_dir / "checkpoint.safetensors"
        ckpt.save_checkpoint(self.state_dict(), path)
        self.checkpointed_at = (self.epoch, self.train_loader.state_dict()["batch"])
        return path

    def load_checkpoint(self, path=None, state: dict | None = None) -> dict:
        """Restore everything ``fit`` needs to continue exactly where the checkpoint was taken;
        ``state``: a checkpoint already read with ``checkpoint.load_checkpoint``."""
        if state is None:
            path = Path(path) if path is not None else self.run_dir / "checkpoint.safetensors"
            state = ckpt.load_checkpoint(path)
        st = state
        self.net.load_state_dict(st["model"])
        self.optimizer.load_state_dict(st["optimizer"])
        if self.device is not None:  # the file holds host arrays: the state follows the weights
            _optimizer_state_to(self.optimizer, self.device)
        if self.scheduler is not None and st["scheduler"] is not None:
            self.scheduler.load_state_dict(st["scheduler"])
        self.train_loader.load_state_dict(st["loader"])
        backend.set_rng_state(st["rng"])
        self.epoch, self.global_step = int(st["epoch"]), int(st["global_step"])
        self._partial = st["partial"]
        self.history = list(st["history"])
        self.seconds = float(st["seconds"])
        self.checkpointed_at = (self.epoch, int(st["loader"]["batch"]))
        for c in self.callbacks:
            if type(c).__name__ in st["callbacks"]:
                c.load_state_dict(st["callbacks"][type(c).__name__])
        self.resumed = True
        return st

    # ------------------------------------------------------------ run files
    def best_epoch(self) -> int | None:
        """The epoch (1-based) that model selection keeps: the first with the highest
        validation accuracy, or the last epoch when there is no validation set."""
        vals = [h.get("val_accuracy") for h in self.history]
        if not self.history:
            return None
        if any(v is None for v in vals):
            return len(self.history)
        return int(np.argmax(vals)) + 1

    def summary(self) -> dict:
        """metrics.json: the last epoch's test numbers at top level; the selected epoch's
        under ``best_*`` (chosen by validation accuracy, its test accuracy only reported)."""
        last = self.history[-1] if self.history else {}
        b = self.best_epoch()
        best = self.history[b - 1] if b else {}
        return {
            "history": self.history,
            "epochs": len(self.history),
            "test_accuracy": last.get("test_accuracy"),
            "test_loss": last.get("test_loss"),
            "test_top5": last.get("test_top5"),
            **({"test_accuracy_without_tta": last["test_accuracy_without_tta"]}
               if "test_accuracy_without_tta" in last else {}),
            "val_accuracy": last.get("val_accuracy"),
            "val_loss": last.get("val_loss"),
            "tta": self.tta,
            "best_epoch": b,
            "selected_by": "val_accuracy" if best.get("val_accuracy") is not None else "last epoch",
            "best_val_accuracy": best.get("val_accuracy"),
            "best_epoch_test_accuracy": best.get("test_accuracy"),
            "seconds": self.seconds,
            "stopped_early": self.epoch < self.max_epochs,
            **({"diverged": self.diverged} if self.diverged else {}),
        }

    def _stopped_by_divergence(self, e: TrainingDiverged) -> None:
        """Record where the run diverged and say which files keep the last good state."""
        self.diverged = e.where
        if self.run_dir is None:
            return
        self.write_metrics()
        kept = []
        if self.checkpointed_at is not None:
            epoch, batch = self.checkpointed_at
            kept.append(f"{self.run_dir / 'checkpoint.safetensors'} (epoch {epoch + 1}, after batch {batch})")
        if (self.run_dir / "last.safetensors").is_file():
            kept.append(f"{self.run_dir / 'last.safetensors'} (epoch {len(self.history)})")
        note = ("Files kept: " + "; ".join(kept) + ".") if kept else "No weights had been written yet."
        e.args = (f"{e.args[0]} {note} {self.run_dir / 'metrics.json'} records the step.",)

    def write_metrics(self, extra: dict | None = None) -> dict:
        out = self.summary()
        if extra:
            out.update(extra)
        ckpt.write_json(self.run_dir / "metrics.json", out)
        return out

    def finish(self, pictures: bool = True) -> dict | None:
        """The last epoch's test evaluation into metrics.json (written first), then the
        pictures of the run."""
        if self.test_loader is None:
            return None
        res = self.last_eval if self.last_eval is not None else self.evaluate(self.test_loader)
        extra = {"per_class": res["per_class"], "macro": res["macro"], "confusion": res["confusion"].tolist(),
                 "classes": self.class_names}
        self.write_metrics(extra)
        if pictures:
            from foveanet.train import plots

            plots.save_run_pictures(self, res)
        return res


def _device_step_stats(loss, out, y, named) -> tuple:
    """(loss, correct, samples, gradients finite) of a step on a GPU, in one copy to the
    host: a float() of each would make the step wait for the device three times."""
    xp = backend.array_module(loss.data)
    correct = (out.data.argmax(axis=1) == y.data).sum()
    parts = [loss.data.astype(np.float64).reshape(1), correct.astype(np.float64).reshape(1)]
    total = gradient_total(named)
    if total is not None:
        parts.append(total.astype(np.float64).reshape(1))
    host = xp.asnumpy(xp.concatenate(parts))
    finite = total is not None and bool(np.isfinite(host[2]))
    return float(host[0]), int(host[1]), int(y.shape[0]), finite


def _optimizer_state_to(optimizer, dev) -> None:
    """Move an optimizer's per-parameter state (moments, step counts held as arrays) onto
    ``dev``: after ``load_state_dict`` from a file it is on the host."""
    for st in getattr(optimizer, "state", {}).values():
        for k, v in st.items():
            if isinstance(v, foveanet.Tensor):
                st[k] = v.to(dev)
            elif hasattr(v, "shape") and hasattr(v, "dtype"):
                st[k] = devices.to_device(v, dev)


__all__ += ["softmax"]
