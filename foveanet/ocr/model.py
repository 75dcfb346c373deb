"""CRNN line recognizer (Shi, Bai & Yao 2015): convolutional features over the line image,
its columns read as time steps by a sequence head, one class distribution per column."""
from __future__ import annotations

import foveanet.nn as nn
import foveanet.nn.functional as F

__all__ = ["CRNN", "HEADS"]

HEADS = ("lstm", "conv")


class CRNN(nn.Module):
    """Line image (N, 1, 32, W) -> log-probabilities (W/frame, N, C) for CTC.

    Features: four 3x3 conv + batch norm + ReLU blocks of ``width``, 2``*width``,
    4``*width``, 4``*width`` channels; a 2x2 max pool after the first, then after the
    second a 2x2 pool (``frame=4``) or a (2, 1) pool (``frame=2``), and a (2, 1) pool after
    the third, so the 32-pixel height becomes 4 and a frame is ``frame`` pixels of width.
    The 4 rows of each column are flattened into one feature vector per frame (16``*width``).

    Heads: ``'lstm'``, a bidirectional LSTM of ``hidden`` units each way then a linear
    layer; ``'conv'``, two 1-d convolutions of kernel 5 (``hidden`` channels, ReLU) then a
    1x1 convolution, a purely convolutional sequence model with a receptive field of 9 frames.

    Args:
        num_classes: C, classes including CTC's blank (``len(alphabet)``).
        head: ``'lstm'`` or ``'conv'``.
        width: channels of the first conv block.
        hidden: units of the sequence head.
        frame: pixels of line width per time step, 2 or 4.
        dropout: the probability of zeroing each number of the per-frame features and of
            the head's output in training (0: none).

    Example::

        >>> from foveanet.ocr import CRNN
        >>> m = CRNN(96, head="lstm", width=4, hidden=8)
        >>> m(fn.zeros(2, 1, 32, 100)).shape       # 100 / 4 = 25 frames
        (25, 2, 96)
        >>> CRNN(96, width=4, hidden=8, frame=2)(fn.zeros(1, 1, 32, 100)).shape
        (50, 1, 96)
    """

    def __init__(self, num_classes: int, head: str = "lstm", width: int = 16, hidden: int = 96,
                 frame: int = 4, dropout: float = 0.0):
        super().__init__()
        if head not in HEADS:
            raise ValueError(f"CRNN: head must be one of {HEADS}, got {head!r}")
        if frame not in (2, 4):
            raise ValueError(f"CRNN: frame must be 2 or 4 pixels, got {frame!r}")
        self.head_kind = head
        self.frame = frame
        chans = [1, width, 2 * width, 4 * width, 4 * width]
        layers = []
        for i in range(4):
            layers += [nn.Conv2d(chans[i], chans[i + 1], 3, padding=1, bias=False),
                       nn.BatchNorm2d(chans[i + 1]), nn.ReLU()]
            if i == 0 or (i == 1 and frame == 4):
                layers.append(nn.MaxPool2d(2))
            elif i < 3:
                layers.append(nn.MaxPool2d((2, 1)))
        self.features = nn.Sequential(*layers)
        self.drop = nn.Dropout(dropout) if dropout else None
        feat = 4 * chans[-1]
        if head == "lstm":
            self.rnn = nn.LSTM(feat, hidden, bidirectional=True)
            self.classifier = nn.Linear(2 * hidden, num_classes)
        else:
            self.seq = nn.Sequential(nn.Conv1d(feat, hidden, 5, padding=2), nn.ReLU(),
                                     nn.Conv1d(hidden, hidden, 5, padding=2), nn.ReLU(),
                                     nn.Conv1d(hidden, num_classes, 1))

    def forward(self, x):
        f = self.features(x)                       # (N, C, 4, W/frame)
        n, c, h, w = f.shape
        f = f.reshape(n, c * h, w)                 # (N, 4C, T)
        if self.drop is not None:
            f = self.drop(f)
        if self.head_kind == "lstm":
            seq, _ = self.rnn(f.permute(2, 0, 1))  # (T, N, 2H)
            logits = self.classifier(seq if self.drop is None else self.drop(seq))
        else:
            logits = self.seq(f).permute(2, 0, 1)  # (T, N, C)
        return F.log_softmax(logits, dim=2)
