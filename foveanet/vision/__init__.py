"""Classic image filters and the pictures that explain a CNN.

    from foveanet.vision import features, filters, pictures
    edges = filters.apply(img, "sobel_x")                 # raw numbers, float32
    pictures.filter_grid(img, "grid.png")                 # every filter side by side
    features.feature_maps(model, img, "maps.png")         # every conv layer's output
    pictures.padding_stride_grid(7, 3, 1, 2, "pad.png")   # the output-size arithmetic

Pictures need matplotlib (imported lazily, Agg backend); filters need only NumPy.
"""
from foveanet.vision import filters

__all__ = ["features", "filters", "pictures"]


def __getattr__(name):
    if name in ("pictures", "features"):  # matplotlib (and, for features, the nn layer) on first use
        import importlib

        return importlib.import_module(f"foveanet.vision.{name}")
    raise AttributeError(f"module 'foveanet.vision' has no attribute {name!r}")
