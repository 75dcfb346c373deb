"""Encoder pretraining: the U-Net's encoder first learns to classify single Fashion-MNIST items.

Why. On the composed scenes most of the U-Net's errors are whole items given a neighbouring
class (a shirt painted as T-shirt, coat or dress: benchmarks/results-segment.md), i.e.
classification errors, and the recipe is limited by training time, not by overfitting. A
scene costs a full 64x64 U-Net pass and shows 2-4 items; one item alone on a 32x32 canvas
costs the encoder alone at a quarter of the pixels, about a tenth of a scene. So a pass
over the 55,000 training items teaches the encoder the garment classes for less than the
price of one scene epoch, and segmentation training then starts from features that already
tell a shirt from a T-shirt (the classic "pretrained backbone" of FCN-style segmentation,
here on the same item pool).

Data hygiene: only the items that train scenes use (``item_pool('train')``: Fashion-MNIST's
training set minus the 5,000 items reserved for validation scenes), masked exactly as the
scene generator pastes them (grey values above ``THRESHOLD``), placed at a random offset
on a 32x32 black canvas (a little translation augmentation). Test items are never seen.

The head (global average pool of the bottleneck + a linear layer) exists only during
pretraining; the U-Net's own parameters and state_dict keys are unchanged.
"""
from __future__ import annotations

import time

import numpy as np

import foveanet
from foveanet import nn
from foveanet.segmentation.scenes import THRESHOLD, item_pool
from foveanet.train.guards import check_step, float_errors_quiet

__all__ = ["EncoderClassifier", "item_canvases", "pretrain_encoder"]

CANVAS = 32


class EncoderClassifier(nn.Module):
    """U-Net encoder -> global average pool -> linear: logits over the 10 item classes."""

    def __init__(self, unet, num_classes: int = 10):
        super().__init__()
        self.unet = unet
        width = unet.encoders[-1][0].out_channels
        self.fc = nn.Linear(width, num_classes)

    def forward(self, x):
        for i, enc in enumerate(self.unet.encoders):
            x = enc(x if i == 0 else self.unet.pool(x))
        return self.fc(x.mean(dim=(2, 3)))


def item_canvases(items: np.ndarray, rng, canvas: int = CANVAS) -> np.ndarray:
    """uint8 items (M, 28, 28) -> float32 (M, 1, canvas, canvas) in [0, 1]: masked as the
    scenes paste them, each at a random offset (0..canvas-28 in both directions)."""
    m, h, w = items.shape
    out = np.zeros((m, 1, canvas, canvas), np.float32)
    pix = np.where(items > THRESHOLD, items, 0).astype(np.float32) / 255
    tops = rng.integers(0, canvas - h + 1, m)
    lefts = rng.integers(0, canvas - w + 1, m)
    for t in range(canvas - h + 1):  # one vectorised paste per offset pair
        for l in range(canvas - w + 1):
            sel = np.flatnonzero((tops == t) & (lefts == l))
            if len(sel):
                out[sel, 0, t:t + h, l:l + w] = pix[sel]
    return out


def pretrain_encoder(unet, epochs: int, batch_size: int = 128, lr: float = 5e-3,
                     weight_decay: float = 1e-4, seed: int = 0, log=None, data=None) -> list:
    """Train ``unet``'s encoder (in place) as an item classifier for ``epochs`` passes over
    the training items; returns the per-epoch history (loss, accuracy, seconds).

    AdamW with a one-cycle schedule; ``data``: optional (items, labels) instead of the
    Fashion-MNIST training pool (tests)."""
    from foveanet.functional import cross_entropy

    items, labels = data if data is not None else item_pool("train")[:2]
    labels = np.asarray(labels, dtype=np.int64)
    rng = np.random.default_rng(seed)
    model = EncoderClassifier(unet)
    model.train()
    steps = -(-len(items) // batch_size)
    opt = foveanet.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    sched = foveanet.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, epochs=epochs,
                                                   steps_per_epoch=steps, pct_start=0.2)
    history = []
    named = list(model.named_parameters())
    for epoch in range(epochs):
        t0 = time.perf_counter()
        x_all = item_canvases(items, rng)
        order = rng.permutation(len(items))
        loss_sum, correct = 0.0, 0
        for b in range(steps):
            idx = order[b * batch_size:(b + 1) * batch_size]
            with float_errors_quiet():
                logits = model(foveanet.tensor(x_all[idx]))
                loss = cross_entropy(logits, foveanet.tensor(labels[idx]))
                opt.zero_grad()
                loss.backward()
                check_step(float(loss.item()), named, epoch=epoch + 1, step=b + 1, steps_per_epoch=steps,
                           lr=opt.param_groups[0]["lr"], where="It happened in the encoder's pretraining on single items.")
            opt.step()
            sched.step()
            loss_sum += float(loss.item()) * len(idx)
            correct += int((logits.data.argmax(axis=1) == labels[idx]).sum())
        row = {"epoch": epoch + 1, "loss": loss_sum / len(items), "accuracy": correct / len(items),
               "seconds": time.perf_counter() - t0}
        history.append(row)
        if log is not None:
            log(f"pretrain {epoch + 1}/{epochs} loss {row['loss']:.4f} item accuracy "
                f"{100 * row['accuracy']:.2f}% | {row['seconds']:.0f}s")
    return history
