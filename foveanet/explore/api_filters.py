"""The filters page's API: every conv layer's learned filters, and the lecture's classic
filters (``foveanet.vision.filters``, applied with foveanet's conv2d) on one image."""
from __future__ import annotations

import numpy as np

from foveanet.explore.payload import array_json

__all__ = ["learned", "classic"]

# filters sent per layer (out x in channels): enough to see the patterns; a ResNet's deep
# layers (512 x 512 x 3 x 3) would be 9 MB each
MAX_OUT, MAX_IN = 32, 3


def learned(run) -> dict:
    """Each Conv2d layer's weights: shape, the first ``MAX_OUT`` x ``MAX_IN`` filters, bias."""
    from foveanet.vision.features import _convs

    layers = []
    for name, m in _convs(run.net):
        w = np.asarray(m.weight.numpy())
        b = m.bias.numpy()[:MAX_OUT] if getattr(m, "bias", None) is not None else None
        layers.append({"name": name, "shape": list(w.shape), "weights": array_json(w[:MAX_OUT, :MAX_IN]),
                       "bias": None if b is None else [float(v) for v in b]})
    return {"layers": layers}


def classic(run, image_id: str) -> dict:
    """Every named classic 3x3 filter applied to the image (luminance), raw responses."""
    from foveanet.vision import filters as V

    img, _, _ = run.image(image_id)
    out = []
    for name in V.names():
        y = V.apply(img, name, mode="gray")
        out.append({"name": name, "kernel": V.get(name).tolist(), "display": V.display_kind(name),
                    "response": array_json(y)})
    return {"image": array_json(img), "filters": out}
