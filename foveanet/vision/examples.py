"""Regenerate the example pictures in docs/images/:  python -m foveanet.vision.examples [OUT_DIR]

Everything comes from the Fashion-MNIST test set (no photos ship offline): the filter pictures
use a "scene" of six test items, each upscaled 2x (bilinear) and tinted a different colour, so
that colour filtering has something to show; the model pictures use test item 0 (an ankle
boot) and a LeNet-5 trained here for one quick pass over 12,000 training images (seeded:
the same pictures every time on the same machine; ~77% test accuracy, far from the 91% of
a full run but enough for the first-layer filters to have left their random start; about
15 s of CPU).
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

# items (test-set indices) in the scene, and their tints (RGB multipliers)
SCENE_ITEMS = (0, 1, 2, 7, 9, 12)
TINTS = ((1.0, 0.55, 0.2), (0.3, 0.6, 1.0), (0.45, 1.0, 0.45), (1.0, 1.0, 0.3), (1.0, 0.35, 0.8),
         (0.4, 0.95, 1.0))
MEAN, STD = 0.2860, 0.3530  # Fashion-MNIST training-set statistics


def scene(data: np.ndarray, colour: bool = True, scale: int = 2) -> np.ndarray:
    """Six 28x28 items upscaled ``scale``x on a 2x3 grid: float32 (3 or 1, H, W) in [0, 1]."""
    from PIL import Image

    side = 28 * scale
    canvas = np.zeros((3, 2 * side, 3 * side), dtype=np.float32)
    for k, (i, tint) in enumerate(zip(SCENE_ITEMS, TINTS)):
        big = Image.fromarray(data[i]).resize((side, side), Image.BILINEAR)
        a = np.asarray(big, dtype=np.float32) / 255
        r, c = divmod(k, 3)
        canvas[:, r * side:(r + 1) * side, c * side:(c + 1) * side] = a * np.array(tint, np.float32)[:, None, None]
    return canvas if colour else canvas.mean(axis=0, keepdims=True)


def quick_lenet(images: int = 12000, seed: int = 0):
    """LeNet-5 after one epoch of AdamW on the first ``images`` training images."""
    import foveanet
    from foveanet import functional as F
    from foveanet import optim
    from foveanet.data import FashionMNIST
    from foveanet.models import lenet5

    foveanet.manual_seed(seed)
    train = FashionMNIST(train=True)
    x = ((train.data[:images].astype(np.float32) / 255 - MEAN) / STD)[:, None]
    y = np.asarray(train.targets[:images], dtype=np.int64)
    model = lenet5()
    opt = optim.AdamW(model.parameters(), lr=3e-3)
    order = np.random.default_rng(seed).permutation(images)
    for start in range(0, images, 64):
        idx = order[start:start + 64]
        loss = F.cross_entropy(model(foveanet.from_numpy(x[idx])), foveanet.from_numpy(y[idx]))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


def _accuracy(model, data, targets) -> float:
    import foveanet

    x = ((data.astype(np.float32) / 255 - MEAN) / STD)[:, None]
    with foveanet.no_grad():
        pred = np.concatenate([model(x[i:i + 1000]).numpy().argmax(1) for i in range(0, len(x), 1000)])
    return float((pred == np.asarray(targets)).mean())


def generate(out="docs/images") -> list[Path]:
    from foveanet.data import FashionMNIST
    from foveanet.vision import pictures as P

    out = Path(out)
    test = FashionMNIST(train=False)
    colour = scene(test.data)
    boot = test.data[0].astype(np.float32) / 255
    paths = [
        P.filter_grid(colour, out / "filters_grey.png", mode="gray", dpi=75),
        P.filter_grid(colour, out / "filters_colour.png", mode="per-channel", dpi=75),
        P.padding_stride_grid(7, 3, 1, 2, out / "padding_stride.png"),
        P.padding_stride_grid(6, 3, 0, 2, out / "padding_stride_uncovered.png", positions=4),
        P.fc_vs_conv_chart(out / "fc_vs_conv.png"),
    ]
    t = time.perf_counter()
    model = quick_lenet()
    acc = _accuracy(model, test.data, test.targets)
    print(f"quick LeNet-5: {time.perf_counter() - t:.0f} s, test accuracy {acc:.1%}")

    def normalise(batch):
        return (batch - MEAN) / STD

    paths += [
        P.learned_filters(model, out / "learned_filters.png"),
        P.feature_maps(model, boot, out / "feature_maps.png", transform=normalise),
        P.receptive_field_picture(model, boot, "features.3", (4, 5), out / "receptive_field.png",
                                  transform=normalise),
    ]
    for p in paths:
        print(f"{p}  {p.stat().st_size / 1024:.0f} KB")
    return paths


if __name__ == "__main__":
    generate(sys.argv[1] if len(sys.argv) > 1 else "docs/images")
