"""Trainer: the training loop, evaluation, prediction, run directory and exact resume.

Exact resume.  Everything a step depends on is either restored from the checkpoint or a
pure function of restored numbers: the weights, the optimizer's moments and step counts,
the scheduler's position, the loader's (seed, epoch, next batch) -- which fixes both the
shuffled order and each batch's augmentation -- and the global generator's state (dropout).
A run killed at any point and resumed from its last checkpoint therefore repeats the same
float operations in the same order and ends with bitwise the same weights.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

import foveanet
from foveanet import backend
from foveanet.train import checkpoint as ckpt
from foveanet.train.callbacks import ModelCheckpoint
from foveanet.train.metrics import MetricAccumulator, precision_recall_f1
from foveanet.train.progress import ProgressBar

__all__ = ["Trainer", "scheduler_interval"]

# schedules whose period is counted in optimizer steps rather than epochs
_PER_BATCH = ("OneCycleLR", "CyclicLR")


def scheduler_interval(scheduler) -> str | None:
    if scheduler is None:
        return None
    return "batch" if type(scheduler).__name__ in _PER_BATCH else "epoch"


def _np(x):
    data = getattr(x, "data", None)
    return data if isinstance(data, np.ndarray) else np.asarray(x)


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


class Trainer:
    """Fit ``model`` on ``train_loader``, evaluating on ``val_loader`` after every epoch.

    scheduler: stepped after every batch (OneCycleLR, CyclicLR) or every epoch (the others;
        ReduceLROnPlateau gets the test loss); override with ``scheduler_interval``.
    run_dir: where config.json, metrics.json, the weights, the checkpoint and the pictures
        go; None keeps everything in memory.
    callbacks: e.g. ``[EarlyStopping('test_accuracy', patience=3)]``; with a run_dir a
        ``ModelCheckpoint`` is added unless one is given.
    seed: seeds the global generator (dropout) and the train loader at the start of a fresh
        ``fit`` (not of a resumed one: the checkpoint carries both).
    """

    def __init__(self, model, optimizer, loss_fn=None, scheduler=None, train_loader=None,
                 val_loader=None, max_epochs: int = 10, run_dir=None, callbacks=(),
                 seed: int | None = None, class_names=None, config: dict | None = None,
                 scheduler_interval: str | None = None, progress=True, checkpoint_seconds: float = 30.0,
                 eval_loss_fn=None, tta: bool = False):
        F = foveanet.functional
        # test-time augmentation: evaluate/predict average the class probabilities of each
        # image and its mirror image (for data whose classes are symmetric under flips); in
        # fit, the final epoch's evaluation only
        self.tta = bool(tta)
        self.model, self.optimizer, self.scheduler = model, optimizer, scheduler
        self.loss_fn = loss_fn if loss_fn is not None else F.cross_entropy
        # test loss without label smoothing etc., so runs with different recipes compare
        self.eval_loss_fn = eval_loss_fn if eval_loss_fn is not None else F.cross_entropy
        self.train_loader, self.val_loader = train_loader, val_loader
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
        self.last_eval = None     # evaluate() of the latest finished epoch
        self.seconds = 0.0        # training + evaluation time, summed over all sessions

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
        while self.epoch < self.max_epochs and not self.stop_training:
            self._run_epoch()
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
        for x, y in loader:
            lr = self.optimizer.param_groups[0]["lr"]
            out = self.model(x)
            loss = self.loss_fn(out, y)
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
            if self.interval == "batch":
                self.scheduler.step()
            self.global_step += 1
            n = len(_np(y))
            lv = float(loss.item())
            correct = int((_np(out).argmax(axis=1) == _np(y)).sum())
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
        # test-time flips cost a second pass: only the final epoch's evaluation takes them
        val = self.evaluate(self.val_loader, tta=self.tta and self.epoch + 1 == self.max_epochs) \
            if self.val_loader is not None else None
        self.last_eval = val
        if self.interval == "epoch":
            if type(self.scheduler).__name__ == "ReduceLROnPlateau":
                self.scheduler.step(val["loss"] if val else p["loss_sum"] / max(p["seen"], 1))
            else:
                self.scheduler.step()
        seconds = base_seconds + time.perf_counter() - t_resume
        self.seconds += seconds - base_seconds
        logs = {"epoch": self.epoch + 1, "train_loss": p["loss_sum"] / max(p["seen"], 1),
                "train_accuracy": p["correct"] / max(p["seen"], 1),
                "test_loss": val["loss"] if val else None, "test_accuracy": val["accuracy"] if val else None,
                "test_top5": val.get("top5") if val else None,
                **({"test_accuracy_without_tta": val["accuracy_without_tta"]}
                   if val and "accuracy_without_tta" in val else {}),
                "lr": p["lr"], "seconds": seconds,
                # process CPU time: on a machine shared with other jobs, a steadier measure
                # of the work than wall time (with BLAS threads it can exceed it)
                "cpu_seconds": base_cpu + time.process_time() - cpu_resume}
        self.history.append(logs)
        self.epoch += 1
        self._partial = None
        bar.end_epoch(val, seconds)
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
                    chunks.append(softmax(_np(self.model(x)).astype(np.float64)))
        finally:
            self.model.train(was_training)
        return np.concatenate(chunks) if chunks else np.zeros((0, 0))

    def _probs_and_mirror(self, x) -> tuple:
        """Softmax (float64) of the images ``x``, and of their left-right mirror images."""
        a = _np(x)
        plain = softmax(_np(self.model(foveanet.from_numpy(np.ascontiguousarray(a)))).astype(np.float64))
        return plain, softmax(_np(self.model(foveanet.from_numpy(a[..., ::-1].copy()))).astype(np.float64))

    # ----------------------------------------------------------- checkpoint
    def state_dict(self) -> dict:
        return {
            "version": 1,
            "model": self.model.state_dict(),
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
        return path

    def load_checkpoint(self, path=None) -> dict:
        """Restore everything ``fit`` needs to continue exactly where the checkpoint was taken."""
        path = Path(path) if path is not None else self.run_dir / "checkpoint.safetensors"
        st = ckpt.load_checkpoint(path)
        self.model.load_state_dict(st["model"])
        self.optimizer.load_state_dict(st["optimizer"])
        if self.scheduler is not None and st["scheduler"] is not None:
            self.scheduler.load_state_dict(st["scheduler"])
        self.train_loader.load_state_dict(st["loader"])
        backend.set_rng_state(st["rng"])
        self.epoch, self.global_step = int(st["epoch"]), int(st["global_step"])
        self._partial = st["partial"]
        self.history = list(st["history"])
        self.seconds = float(st["seconds"])
        for c in self.callbacks:
            if type(c).__name__ in st["callbacks"]:
                c.load_state_dict(st["callbacks"][type(c).__name__])
        self.resumed = True
        return st

    # ------------------------------------------------------------ run files
    def summary(self) -> dict:
        tests = [h["test_accuracy"] for h in self.history if h.get("test_accuracy") is not None]
        last = self.history[-1] if self.history else {}
        best = int(np.argmax(tests)) if tests else None
        return {
            "history": self.history,
            "epochs": len(self.history),
            "test_accuracy": last.get("test_accuracy"),
            "test_loss": last.get("test_loss"),
            "test_top5": last.get("test_top5"),
            **({"test_accuracy_without_tta": last["test_accuracy_without_tta"]}
               if "test_accuracy_without_tta" in last else {}),
            "tta": self.tta,
            "best_test_accuracy": tests[best] if tests else None,
            "best_epoch": best + 1 if tests else None,
            "seconds": self.seconds,
            "stopped_early": self.epoch < self.max_epochs,
        }

    def write_metrics(self, extra: dict | None = None) -> dict:
        out = self.summary()
        if extra:
            out.update(extra)
        ckpt.write_json(self.run_dir / "metrics.json", out)
        return out

    def finish(self, pictures: bool = True) -> dict | None:
        """Final evaluation into metrics.json and the pictures of the run."""
        if self.val_loader is None:
            return None
        res = self.last_eval if self.last_eval is not None else self.evaluate(self.val_loader)
        extra = {"per_class": res["per_class"], "macro": res["macro"], "confusion": res["confusion"].tolist(),
                 "classes": self.class_names}
        self.write_metrics(extra)
        if pictures:
            from foveanet.train import plots

            plots.save_run_pictures(self, res)
        return res


__all__ += ["softmax"]
