"""The image page's API: test images, uploads, one image's top-k, saliency and Grad-CAM,
any layer's feature maps, and the dot product behind one output pixel of a conv layer."""
from __future__ import annotations

import numpy as np

from foveanet.explore.errors import bad_request
from foveanet.explore.payload import array_json
from foveanet.explore.runs import TEST_LISTED

__all__ = ["test_images", "image_overview", "layer_maps", "pixel"]

# channels of one layer sent at once unless the page asks for more (ResNet-18's first
# layer: 16 of 64 maps at 112x112 is 0.8 MB; all 64 would be 3.2 MB)
DEFAULT_MAPS = 16


def test_images(run, count: int = TEST_LISTED) -> dict:
    """The first ``count`` test images with their labels, as thumbnails."""
    x, y = run.test_set()
    n = min(count, len(x))
    labels = np.ndim(y) == 1      # a segmentation run's targets are masks
    return {"count": int(len(x)), "images": [
        {"id": f"test-{i}", "label": int(y[i]) if labels else None,
         "class": _name(run, int(y[i])) if labels else f"scene {i}", "image": array_json(x[i])}
        for i in range(n)]}


def _name(run, k):
    return run.classes[k] if 0 <= k < len(run.classes) else str(k)


def image_overview(run, image_id: str, k: int = 5) -> dict:
    """The converted input, top-k classes, saliency, Grad-CAM and the list of layers."""
    an = run.analysis(image_id)
    order = np.argsort(-an.probs)[:k]
    layers = [{"name": n, "type": type(run.module(n)).__name__, "shape": list(an.outputs[n].shape),
               "conv": n in an.inputs} for n in an.order]
    return {"id": image_id, "image": array_json(an.image), "label": an.label,
            "label_name": None if an.label is None else _name(run, an.label), "notes": an.notes,
            "topk": [{"class": int(i), "name": _name(run, int(i)), "p": float(an.probs[i])} for i in order],
            "saliency": array_json(an.saliency),
            "grad_cam": None if an.grad_cam is None else array_json(an.grad_cam),
            "cam_layer": an.cam_layer, "layers": layers, "seconds": an.seconds}


def layer_maps(run, image_id: str, layer: str, start: int = 0, count: int = DEFAULT_MAPS) -> dict:
    """Output of ``layer`` for the image: channels ``start .. start+count`` of a (C, H, W)
    map, or the whole vector of a flattened layer."""
    run.module(layer)                      # 404 for an unknown name
    an = run.analysis(image_id)
    out = an.outputs.get(layer)
    if out is None:
        raise bad_request(f"layer {layer!r} did not run for this image")
    if count < 1 or start < 0:
        raise bad_request(f"start must be >= 0 and count >= 1, got start={start}, count={count}")
    part = out[start:start + count] if out.ndim == 3 else out
    return {"layer": layer, "type": type(run.module(layer)).__name__, "shape": list(out.shape),
            "start": start if out.ndim == 3 else 0, "maps": array_json(part), "conv": layer in an.inputs}


def pixel(run, image_id: str, layer: str, c: int, y: int, x: int) -> dict:
    """``analysis.dot_product`` for output pixel (c, y, x) of ``layer``."""
    from foveanet.explore.analysis import dot_product

    run.module(layer)
    return dot_product(run, run.analysis(image_id), layer, c, y, x)
