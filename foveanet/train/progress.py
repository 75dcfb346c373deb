"""A dependency-free progress bar for training, written to stderr.

On a terminal the current line is redrawn with ``\\r`` (at most ~10 times a second, so
drawing never costs more than the batches it reports); when stderr is a file or a pipe
(CI logs, ``nohup``) carriage returns would pile up as one huge line, so only one summary
line per epoch is printed instead.
"""
from __future__ import annotations

import shutil
import sys
import time


def _fmt_time(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


class ProgressBar:
    """A training progress bar: ``update`` per batch, ``end_epoch`` with the epoch's results.

    On a terminal the line is redrawn (at most every ``min_interval`` seconds); on a file or
    a pipe only one summary line per epoch is written.

    Args:
        total_epochs: epochs of the run, for the ``epoch e/n`` label.
        stream: where to write (default None: stderr).
        tty: redraw one line (True) or print one line per epoch (False) (default None:
            ``stream.isatty()``).
        enabled: False writes nothing (the numbers still go to metrics.json) (default True).
        min_interval: seconds between redraws (default 0.1).
        width: characters of the bar (default 24).

    Example::

        >>> import io
        >>> from foveanet.train import ProgressBar
        >>> bar = ProgressBar(2, stream=io.StringIO(), tty=False)
        >>> bar.start_epoch(0, batches=2)
        >>> bar.update(4, loss=0.5, correct=3)
        >>> bar.update(4, loss=0.3, correct=4)
        >>> bar.mean_loss, bar.accuracy                   # (0.5*4 + 0.3*4) / 8, 7 / 8
        (0.4, 0.875)
        >>> bar.end_epoch({"loss": 0.35, "accuracy": 0.75}, seconds=2.0)
        'epoch 1/2 loss 0.4000 acc 87.50% | val loss 0.3500 acc 75.00% | 2.0s 4 img/s'
    """

    def __init__(self, total_epochs: int, stream=None, tty: bool | None = None,
                 enabled: bool = True, min_interval: float = 0.1, width: int = 24):
        self.stream = stream if stream is not None else sys.stderr
        if tty is None:
            isatty = getattr(self.stream, "isatty", None)
            tty = bool(isatty and isatty())
        self.tty, self.enabled = tty, enabled
        self.total_epochs = int(total_epochs)
        self.min_interval, self.width = min_interval, width
        self._last_draw = 0.0

    def start_epoch(self, epoch: int, batches: int, start_batch: int = 0):
        """epoch is 0-based; a resumed epoch starts at ``start_batch``."""
        self.epoch, self.batches, self.start_batch = epoch, batches, start_batch
        self.batch, self.images = start_batch, 0
        self.loss_sum, self.correct, self.seen = 0.0, 0, 0
        self.lr = None
        self.t0 = time.perf_counter()
        self._last_draw = 0.0

    def update(self, n: int, loss: float, correct: int, lr: float | None = None):
        """One batch of ``n`` images done with mean ``loss`` and ``correct`` right answers."""
        self.batch += 1
        self.images += n
        self.loss_sum += loss * n
        self.correct += correct
        self.seen += n
        self.lr = lr
        if self.enabled and self.tty:
            now = time.perf_counter()
            if now - self._last_draw >= self.min_interval or self.batch == self.batches:
                self._last_draw = now
                self._draw(self._line(now))

    @property
    def mean_loss(self) -> float:
        return self.loss_sum / max(self.seen, 1)

    @property
    def accuracy(self) -> float:
        return self.correct / max(self.seen, 1)

    def _line(self, now: float) -> str:
        elapsed = now - self.t0
        rate = self.images / elapsed if elapsed > 0 else 0.0
        done = self.batch - self.start_batch
        left = self.batches - self.batch
        eta = elapsed / done * left if done else 0.0
        frac = self.batch / max(self.batches, 1)
        filled = int(frac * self.width)
        bar = "#" * filled + "." * (self.width - filled)
        lr = f" lr {self.lr:.2e}" if self.lr is not None else ""
        return (f"epoch {self.epoch + 1}/{self.total_epochs} [{bar}] {self.batch}/{self.batches} "
                f"loss {self.mean_loss:.4f} acc {100 * self.accuracy:5.2f}% {rate:,.0f} img/s "
                f"ETA {_fmt_time(eta)}{lr}")

    def _draw(self, line: str):
        cols = shutil.get_terminal_size((120, 20)).columns
        self.stream.write("\r" + line[: cols - 1].ljust(cols - 1))
        self.stream.flush()

    def end_epoch(self, val: dict | None = None, seconds: float | None = None,
                  test: dict | None = None) -> str:
        """Finish the epoch's line (with the validation and test loss/accuracy when given);
        returns the text."""
        now = time.perf_counter()
        seconds = now - self.t0 if seconds is None else seconds
        rate = self.images / seconds if seconds > 0 else 0.0
        lr = f" lr {self.lr:.2e}" if self.lr is not None else ""
        text = (f"epoch {self.epoch + 1}/{self.total_epochs} loss {self.mean_loss:.4f} "
                f"acc {100 * self.accuracy:.2f}%")
        if val:
            text += f" | val loss {val['loss']:.4f} acc {100 * val['accuracy']:.2f}%"
        if test:
            text += f" | test loss {test['loss']:.4f} acc {100 * test['accuracy']:.2f}%"
        text += f" | {seconds:.1f}s {rate:,.0f} img/s{lr}"
        if self.enabled:
            if self.tty:
                cols = shutil.get_terminal_size((120, 20)).columns
                self.stream.write("\r" + " " * (cols - 1) + "\r")
            self.stream.write(text + "\n")
            self.stream.flush()
        return text

    def message(self, text: str):
        if self.enabled:
            self.stream.write(text + "\n")
            self.stream.flush()
