"""Values for slides 11-15: LeNet-5, AlexNet, VGG-16, the many more, applications.

Big models are built with ``foveanet.docs._util.shapes_only`` (no weight initialisation:
VGG-16 then builds in well under a second instead of ~10 s); their parameter counts come from
the real modules, not from a second copy of the architecture.
"""
from __future__ import annotations

import shlex

from foveanet import concepts as C
from foveanet.docs._util import count, num, shapes_only, table, words, zero_

# ------------------------------------------------------------------ 11. LeNet-5


def _fc_chain(model) -> str:
    """'120 -> 84 -> 10': the widths of the model's linear layers."""
    from foveanet import nn

    return " -> ".join(str(m.out_features) for m in model.modules() if isinstance(m, nn.Linear))


def _convs(model) -> list:
    from foveanet import nn

    return [m for m in model.modules() if isinstance(m, nn.Conv2d)]


def lenet() -> dict:
    from foveanet import models

    net = models.lenet5()
    s = C.summary(net, (1, 28, 28))
    paper = models.lenet5(variant="1998")
    names = [("C1", "features.c1"), ("S2", "features.s2"), ("C3", "features.c3"), ("S4", "features.s4"),
             ("C5", "features.c5"), ("F6", "classifier.f6"), ("output", "classifier.output")]
    mods = dict(paper.named_modules())
    rows = [(label, type(mods[n]).__name__, num(count(mods[n]))) for label, n in names]
    # the prose says C1 and F6 match the modern network's first conv and second FC layer
    if (count(mods["features.c1"]), count(mods["classifier.f6"])) != (count(net.features[0]),
                                                                      count(net.classifier[2])):
        raise RuntimeError("docs: LeNet-5 1998 C1/F6 no longer match the modern C1/F6; fix slide 11")
    # the course's drawing: 32x32x1, two 5x5 convs each followed by a 2x2/2 pool
    sizes, n = [32], 32
    for _ in range(2):
        n = C.conv_output_size(n, 5)
        sizes.append(n)
        n = C.pool_output_size(n, 2)
        sizes.append(n)
    return {"le_table": str(s), "le_total": num(s.total_params), "le_macs": num(s.total_mult_adds),
            "le_c1": s["features.0"].formula, "le_fc1": s["classifier.0"].formula,
            "le_1998_table": table(["layer", "module", "parameters"], rows, right=(2,)),
            "le_1998_total": num(count(paper)), "le_c1_1998": rows[0][2], "le_f6_1998": rows[5][2],
            "le_chain": " -> ".join(map(str, sizes)), "le_flat": num(16 * n * n),
            "le_words": words(s.total_params, 1), "le_fc_chain": _fc_chain(net)}


# ------------------------------------------------------------------ 12. AlexNet


def _leaf_rows(model, prefix="") -> list:
    rows = []
    for name, m in model.named_modules():
        if not list(m.children()) and count(m):
            k = getattr(m, "kernel_size", None)
            what = (f"{k[0]}x{k[1]}/{m.stride[0]}, {m.in_channels} -> {m.out_channels}" if k is not None
                    else f"{m.in_features} -> {m.out_features}")
            rows.append((f"{prefix}{name}", type(m).__name__, what, num(count(m))))
    return rows


# the 2012 paper's layers, split over two GPUs: groups=2 where a layer saw only its own GPU's maps
ALEXNET_2012 = (("conv1", 11, 3, 96, 1), ("conv2", 5, 96, 256, 2), ("conv3", 3, 256, 384, 1),
                ("conv4", 3, 384, 384, 2), ("conv5", 3, 384, 256, 2))
ALEXNET_2012_FC = (("fc6", 6 * 6 * 256, 4096), ("fc7", 4096, 4096), ("fc8", 4096, 1000))


def alexnet() -> dict:
    from foveanet import models

    with shapes_only():
        net = models.alexnet()
    paper = [(n, f"`{C.conv_params_formula(f, c, k, groups=g)}`") for n, f, c, k, g in ALEXNET_2012]
    paper += [(n, f"`{C.fc_params_formula(i, u)}`") for n, i, u in ALEXNET_2012_FC]
    paper_total = (sum(C.conv_params(f, c, k, groups=g) for _, f, c, k, g in ALEXNET_2012)
                   + sum(C.fc_params(i, u) for _, i, u in ALEXNET_2012_FC))
    # the course's shape chain: 227x227x3 input
    n1 = C.conv_output_size(227, 11, stride=4)
    p1 = C.pool_output_size(n1, 3, 2)
    n2 = C.conv_output_size(p1, 5, padding=2)
    p2 = C.pool_output_size(n2, 3, 2)
    n3 = C.conv_output_size(p2, 3, padding=1)
    p3 = C.pool_output_size(n3, 3, 2)
    return {"ax_total": num(count(net)), "ax_words": words(count(net), 1),
            "ax_table": table(["module", "type", "kernel/stride, channels", "parameters"],
                              _leaf_rows(net), right=(3,)),
            "ax_paper_table": table(["layer", "parameters"], paper),
            "ax_paper_total": num(paper_total), "ax_diff": num(count(net) - paper_total),
            "ax_chain": f"227 -> {n1} -> {p1} -> {n2} -> {p2} -> {n3} -> {n3} -> {n3} -> {p3}",
            "ax_flat": num(p3 * p3 * 256), "ax_n1": str(n1), "ax_fc_chain": _fc_chain(net),
            "ax_filters": "/".join(str(m.out_channels) for m in _convs(net)),
            "ax_paper_filters": "/".join(str(k) for _, _, _, k, _ in ALEXNET_2012)}


# ------------------------------------------------------------------ 13. VGG-16


def vgg() -> dict:
    from foveanet import models, nn

    with shapes_only():
        net = models.vgg16()
    convs = [(n, m) for n, m in net.named_modules() if isinstance(m, nn.Conv2d)]
    pools = [n for n, m in net.named_modules() if isinstance(m, nn.MaxPool2d)]
    fcs = [m for m in net.modules() if isinstance(m, nn.Linear)]
    conv_p, fc_p, total = sum(count(m) for _, m in convs), sum(count(m) for m in fcs), count(net)
    # receptive fields do not depend on the weights: zero them so the walk runs on clean numbers
    rf = C.receptive_field(zero_(net.features), (3, 224, 224))
    pool_rf = [rf[n.split(".", 1)[1]].rf for n in pools]
    last_conv = convs[-1][0].split(".", 1)[1]
    sizes, n = [224], 224
    for _ in pools:
        n = C.pool_output_size(C.conv_output_size(n, 3, padding=C.same_padding(3)), 2)
        sizes.append(n)
    return {"vgg_total": num(total), "vgg_words": words(total, 3), "vgg_conv": num(conv_p),
            "vgg_fc": num(fc_p), "vgg_fc_share": f"{100 * fc_p / total:.0f}%",
            "vgg_n_conv": str(len(convs)), "vgg_n_fc": str(len(fcs)), "vgg_depth": str(len(convs) + len(fcs)),
            "vgg_fc1": C.fc_params_formula(fcs[0].in_features, fcs[0].out_features),
            "vgg_chain": " -> ".join(map(str, sizes)), "vgg_flat": num(n * n * 512),
            "vgg_rf_conv": str(rf[last_conv].rf), "vgg_rf_pool": str(pool_rf[-1]),
            "vgg_fc_chain": _fc_chain(net),
            "vgg_filters": " -> ".join(dict.fromkeys(str(m.out_channels) for _, m in convs)),
            "vgg_rf_pools": ", ".join(map(str, pool_rf)), "vgg_jump": str(rf[pools[-1].split('.', 1)[1]].jump)}


# ------------------------------------------------------------------ 14. the many more

MORE = (("resnet18", "ResNet-18"), ("resnet50", "ResNet-50"), ("googlenet", "GoogLeNet (Inception v1)"),
        ("densenet121", "DenseNet-121"), ("resnext50_32x4d", "ResNeXt-50 32x4d"),
        ("resnext101_32x8d", "ResNeXt-101 32x8d"), ("mobilenet_v2", "MobileNetV2"),
        ("mobilenet_v3_large", "MobileNetV3-Large"), ("mobilenet_v3_small", "MobileNetV3-Small"),
        ("efficientnet_b0", "EfficientNet-B0"))


def _weighted_layers(model) -> int:
    """Conv and linear layers, the 1x1 shortcut projections of ResNets left out: the depth in
    the names 'ResNet-18', 'DenseNet-121' (for GoogLeNet it counts parallel branches too)."""
    from foveanet import nn

    return sum(1 for n, m in model.named_modules()
               if isinstance(m, (nn.Conv2d, nn.Linear)) and "downsample" not in n)


def many_more() -> dict:
    from foveanet import models

    rows, out = [], {}
    with shapes_only():
        for key, label in MORE:
            net = models.get_model(key)
            rows.append((label, f"`models.get_model(\"{key}\")`", num(_weighted_layers(net)), num(count(net))))
        aux = models.googlenet(aux_logits=True)
    out["mm_table"] = table(["network", "foveanet", "conv + linear layers", "parameters"], rows, right=(2, 3))
    out["mm_googlenet_aux"] = num(count(aux))
    # 1x1 convolutions as a bottleneck: the course's 28x28x192 -> 28x28x32 with a 5x5 conv
    direct = C.conv_mult_adds((28, 28), 32, 5, 192)
    reduce_ = C.conv_mult_adds((28, 28), 16, 1, 192)
    then = C.conv_mult_adds((28, 28), 32, 5, 16)
    out.update(bn_direct=num(direct), bn_reduce=num(reduce_), bn_then=num(then), bn_total=num(reduce_ + then),
               bn_direct_words=words(direct, 3), bn_total_words=words(reduce_ + then, 3),
               bn_ratio=f"{direct / (reduce_ + then):.1f}")
    # a ResNet-50 bottleneck block against two plain 3x3 convs at 256 channels (no biases: BN follows)
    plain = 2 * C.conv_params(3, 256, 256, bias=False)
    block = (C.conv_params(1, 256, 64, bias=False) + C.conv_params(3, 64, 64, bias=False)
             + C.conv_params(1, 64, 256, bias=False))
    dense3 = C.conv_params(3, 128, 128, bias=False)
    out.update(rb_plain=num(plain), rb_block=num(block), rx_dense=num(dense3),
               rx_formula=C.conv_params_formula(3, 128, 128, bias=False, groups=32))
    # depthwise separable: a 3x3 conv per channel, then a 1x1 conv mixing them (MobileNets)
    out.update(dw_formula=C.conv_params_formula(3, 128, 128, bias=False, groups=128),
               pw_formula=C.conv_params_formula(1, 128, 128, bias=False))
    return out


# ------------------------------------------------------------------ 15. applications

COMMANDS = {
    "app_train": "foveanet train --model lenet5 --dataset fashion-mnist --out runs/demo-lenet5",
    "app_eval": "foveanet evaluate runs/demo-lenet5",
    "app_show": "foveanet show filters runs/demo-lenet5 -o filters.png",
    "app_baseline": "foveanet baseline --runs runs/demo-lenet5",
    "app_segment": "foveanet segment train --out runs/unet",
    "app_segment_eval": "foveanet segment evaluate runs/unet",
    "app_text_data": "foveanet data debtags --out debtags.jsonl.gz",
    "app_text": "foveanet text train --model textcnn --task single --data debtags.jsonl.gz --out runs/kim",
}


def _parses(parser, argv: list) -> bool:
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        try:
            parser.parse_args(argv)
        except SystemExit:
            return False
    return True


def applications() -> dict:
    """The commands, each checked against this checkout's `foveanet` parser: a command of a
    family that exists must parse (else the build fails: the lecture would teach a wrong
    command); a family not written yet is marked as such."""
    import argparse

    from foveanet.cli.main import build_parser

    parser = build_parser()
    families = set()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            families |= set(action.choices)
    out = {}
    for key, cmd in COMMANDS.items():
        argv = shlex.split(cmd)[1:]
        if argv[0] not in families:
            out[key] = f"{cmd}  # not in this checkout yet: `foveanet {argv[0]}` is still being written"
        elif not _parses(parser, argv):
            raise RuntimeError(f"docs: the lecture's command `{cmd}` does not parse; update "
                               "foveanet/docs/facts_nets.py COMMANDS")
        else:
            out[key] = cmd
    return out


def compute() -> dict:
    out = {}
    for part in (lenet(), alexnet(), vgg(), many_more(), applications()):
        clash = set(out) & set(part)
        if clash:
            raise RuntimeError(f"docs: placeholder names used twice: {sorted(clash)}")
        out.update(part)
    return out
