"""A user's image file, read the way a trained classifier needs it: the rule `predict` and
`show` share.

1. Size: the image is scaled to fit inside the model's input, aspect ratio kept, and padded
   with its own border colour (``load_image(fit="pad")``).  Stretching a 4:3 photo to a square
   distorts the object into something the network never saw.
2. Polarity: Fashion-MNIST and MNIST show light objects on black; a photo of a garment or of
   ink on white paper is the other way round.  When the training images share one background
   (their one-pixel borders vary little) and the image's border is far from it while the
   inverted image's border is close, the image is inverted, and a note says so.  ``invert``
   True/False forces the choice.
3. Distribution: an image whose mean brightness or contrast lies outside what the training
   images had gets a warning (the prediction is still made: refusing would only hide it).

The training statistics come from ``training_image_stats``, stored in config.json as
``image_stats`` by ``foveanet train``; runs without it skip steps 2 and 3.
"""
from __future__ import annotations

import numpy as np

__all__ = ["training_image_stats", "read_for_model", "POLARITY_GAP", "BACKGROUND_SPREAD"]

# a background is "shared" when the per-image border means have a standard deviation under
# this (Fashion-MNIST: 0.02; a folder of photos: typically 0.15-0.3)
BACKGROUND_SPREAD = 0.1
# the border must differ from the training background by more than this, and inverting must
# bring it closer, before the image is inverted (in [0, 1] brightness)
POLARITY_GAP = 0.4
# images drawn for the statistics: enough for the 0.5 / 99.5 percentiles to settle
_SAMPLE = 10_000


def _border_means(x: np.ndarray) -> np.ndarray:
    """Mean brightness of each (N, C, H, W) image's one-pixel frame."""
    from foveanet.data.image_folder import border_pixels

    return np.array([border_pixels(a).mean() for a in x])


def training_image_stats(ds) -> dict:
    """Brightness statistics of the training images (in [0, 1]) that ``read_for_model``
    compares a user's image with: the background (mean of the one-pixel borders and its
    spread over images) and the 0.5 / 99.5 percentiles of each image's mean and std."""
    x = ds.arrays()[0] if hasattr(ds, "arrays") else np.asarray(ds)
    if len(x) > _SAMPLE:
        x = x[np.random.default_rng(0).choice(len(x), _SAMPLE, replace=False)]
    x = np.asarray(x)
    x = x.astype(np.float32) * np.float32(1 / 255) if x.dtype == np.uint8 else x.astype(np.float32)
    means, stds = x.mean(axis=(1, 2, 3)), x.std(axis=(1, 2, 3))
    borders = _border_means(x)
    lo, hi = 0.5, 99.5
    return {"border_mean": float(borders.mean()), "border_std": float(borders.std()),
            "mean_range": [float(np.percentile(means, lo)), float(np.percentile(means, hi))],
            "std_range": [float(np.percentile(stds, lo)), float(np.percentile(stds, hi))]}


def _should_invert(img: np.ndarray, stats: dict) -> tuple[bool, str | None]:
    if stats.get("border_std", 1.0) >= BACKGROUND_SPREAD:
        return False, None
    bg, b = stats["border_mean"], float(_border_means(img[None])[0])
    if abs(b - bg) > POLARITY_GAP and abs((1 - b) - bg) < abs(b - bg):
        tone = "light" if b > bg else "dark"
        other = "dark" if b > bg else "light"
        return True, (f"inverted the image: its background is {tone} (border brightness {b:.2f}) "
                      f"and the training images' is {other} ({bg:.2f}); pass --no-invert to keep it")
    return False, None


def _distribution_warning(img: np.ndarray, stats: dict) -> str | None:
    m, s = float(img.mean()), float(img.std())
    (m_lo, m_hi), (s_lo, s_hi) = stats["mean_range"], stats["std_range"]
    far = []
    if not m_lo <= m <= m_hi:
        far.append(f"mean brightness {m:.2f} (training images: {m_lo:.2f}-{m_hi:.2f})")
    if not s_lo <= s <= s_hi:
        far.append(f"contrast (std) {s:.2f} (training images: {s_lo:.2f}-{s_hi:.2f})")
    if not far:
        return None
    return ("warning: this image is unlike the training images, by its " + " and ".join(far)
            + "; the prediction may mean little")


def read_for_model(path, cfg: dict, invert: bool | None = None):
    """``(x, image, notes)``: the normalised (C, H, W) float32 input for the run's model, the
    image in [0, 1] as the model sees it before normalisation (fitted, padded, maybe
    inverted), and the notes to show the user (inversion, distribution warning).

    invert: True / False force the polarity; None decides from the training background."""
    from foveanet.data import load_image
    from foveanet.train import build

    c, h, w = cfg["input_shape"]
    img = load_image(path, mode="L" if c == 1 else "RGB", size=(h, w), fit="pad")
    stats = cfg.get("image_stats")
    notes = []
    if invert is None:
        invert, why = _should_invert(img, stats) if stats else (False, None)
        if why:
            notes.append(why)
    if invert:
        img = np.float32(1) - img
    if stats:
        warn = _distribution_warning(img, stats)
        if warn:
            notes.append(warn)
    x = build.transforms(cfg, train=False)(img[None])[0]
    return np.ascontiguousarray(x, dtype=np.float32), img, notes
