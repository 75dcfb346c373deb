"""The lecture's pictures, drawn by foveanet.vision.pictures into docs/lecture_images/.

``plan(run)`` lists the figures (file name, caption, how to draw it) without drawing anything,
so the Markdown, which only links to them, can be rendered fast (the tests do that); ``draw``
writes the PNGs. The untrained network is seeded, so its pictures are the same on every build.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

IMAGES = "lecture_images"   # folder beside lecture.md; links are relative to the document
SEED = 0


@dataclass(frozen=True)
class Figure:
    key: str          # the placeholder is ${fig_<key>}
    file: str
    caption: str
    draw: Callable    # draw(path) -> None

    def markdown(self) -> str:
        return f"![{self.caption}]({IMAGES}/{self.file})\n\n*{self.caption}*"


def _fashion():
    from foveanet.data import FashionMNIST

    test = FashionMNIST(train=False)
    return test.data[0].astype(np.float32) / np.float32(255), test.classes[int(test.targets[0])]


def _untrained():
    import foveanet
    from foveanet import models

    foveanet.manual_seed(SEED)
    return models.lenet5().eval(), None


def _trained(run):
    from foveanet.train import build
    from foveanet.train.checkpoint import load_weights

    d = Path(run)
    cfg = json.loads((d / "config.json").read_text())
    net = build.model(cfg)
    weights = d / "best.safetensors" if (d / "best.safetensors").is_file() else d / "last.safetensors"
    net.load_state_dict(load_weights(weights))
    return net.eval(), cfg


def _net(run):
    return _trained(run) if run is not None else _untrained()


def _model_label(run) -> str:
    if run is None:
        return f"an untrained LeNet-5 (random initialisation, seed {SEED}; no trained run was given to the build)"
    cfg = json.loads((Path(run) / "config.json").read_text())
    return f"the trained {cfg.get('model', 'model')} of run `{Path(run).name}`"


def plan(run=None) -> list:
    from foveanet.vision import features, pictures

    label = _model_label(run)

    def filters_on_image(path):
        img, _ = _fashion()
        pictures.filter_grid(img, path)

    def maps(path):
        net, cfg = _net(run)
        img, _ = _fashion()
        tf = None
        if cfg is not None:
            from foveanet.train import build
            tf = build.transforms(cfg, train=False)
        features.feature_maps(net, img, path, transform=tf)

    def learned(path):
        net, _ = _net(run)
        features.learned_filters(net, path)

    def rf(path):
        from foveanet import nn
        from foveanet.concepts import receptive_field

        net, cfg = _net(run)
        img, _ = _fashion()
        layer = [n for n, m in net.named_modules() if isinstance(m, nn.Conv2d)][-1]
        size = receptive_field(net, (1,) + img.shape)[layer].size      # the centre unit of the last conv
        tf = None
        if cfg is not None:
            from foveanet.train import build
            tf = build.transforms(cfg, train=False)
        features.receptive_field_picture(net, img, layer, unit=(size[0] // 2, size[1] // 2), out=path,
                                         transform=tf)

    pad = (6, 3, 1, 1)
    stride = (7, 3, 0, 2)
    return [
        Figure("padding", "padding.png",
               f"Padding: a {pad[0]}x{pad[0]} input, {pad[1]}x{pad[1]} filter, p = {pad[2]}, s = {pad[3]} "
               "(grey ring: the zero padding)",
               lambda path: pictures.padding_stride_grid(*pad, out=path)),
        Figure("stride", "stride.png",
               f"Stride: a {stride[0]}x{stride[0]} input, {stride[1]}x{stride[1]} filter, p = {stride[2]}, "
               f"s = {stride[3]}", lambda path: pictures.padding_stride_grid(*stride, out=path)),
        Figure("fc_vs_conv", "fc_vs_conv.png",
               "Parameters of a fully connected layer against 3x3 and 5x5 conv layers as the image grows "
               "(log scale)", lambda path: pictures.fc_vs_conv_chart(path)),
        Figure("filters_image", "filters_fashion.png",
               "The classic hand-made filters applied by foveanet's conv2d to the first Fashion-MNIST "
               "test image", filters_on_image),
        Figure("feature_maps", "feature_maps.png", f"Feature maps of every conv layer of {label}", maps),
        Figure("learned", "learned_filters.png" if run else "untrained_filters.png",
               f"First-layer filters of {label}", learned),
        Figure("receptive_field", "receptive_field.png",
               f"Receptive field of the centre unit of the last conv layer of {label}", rf),
    ]


def markdown(figures) -> dict:
    """{'fig_<key>': the image link and caption} for the template."""
    return {f"fig_{f.key}": f.markdown() for f in figures}


def draw(figures, folder) -> list:
    """Draws every figure into ``folder``; returns the paths written."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for f in figures:
        path = folder / f.file
        f.draw(path)
        written.append(path)
    return written
