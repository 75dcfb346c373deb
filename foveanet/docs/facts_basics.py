"""Values for slides 1-10: features, FC drawbacks, convolution, padding, stride, volumes,
one layer, the example network, pooling, why convolutions.

Every function returns a dict of strings for the ``${name}`` placeholders of the sections.
The examples' *inputs* (the 6x6 image, the 4x4 pooling matrix, ...) are defined here; every
output is computed by foveanet.
"""
from __future__ import annotations

import inspect
import json
from pathlib import Path

import numpy as np

from foveanet import concepts as C
from foveanet.docs._util import grid, matrix, num, pct, shape, table, words

# ------------------------------------------------------------------ 1. features


def _measured_baselines() -> dict:
    """The accuracies measured for the baselines, as the baseline module records them."""
    from foveanet.baselines.image import MEASURED

    return {k: f"{100 * v:.1f}" for k, v in MEASURED.items()}


def _hog_count(size: int = 28) -> tuple:
    """HOG features of a size x size image with hog_features' defaults: the formula, and the
    count skimage really returns when it is installed (they must agree)."""
    from foveanet.baselines import image

    d = {k: v.default for k, v in inspect.signature(image.hog_features).parameters.items()
         if v.default is not inspect.Parameter.empty}
    cells = size // d["cell"]
    blocks = cells - d["block"] + 1
    total = blocks * blocks * d["block"] ** 2 * d["orientations"]
    try:
        real = image.hog_features(np.zeros((1, size, size), np.uint8)).shape[1]
    except ImportError:
        real = total
    if real != total:
        raise RuntimeError(f"docs: HOG formula gives {total} features, skimage returns {real}")
    formula = (f"{blocks}x{blocks} blocks x {d['block']}x{d['block']} cells x "
               f"{d['orientations']} orientation bins = {num(total)}")
    return d, total, formula


def features(run=None) -> dict:
    acc = _measured_baselines()
    d, total, formula = _hog_count()
    pixels = 28 * 28
    out = {"raw_acc": acc["raw"] + "%", "hog_acc": acc["hog"] + "%", "raw_features": num(pixels),
           "hog_features": num(total), "hog_formula": formula, "hog_cell": str(d["cell"]),
           "hog_orient": str(d["orientations"])}
    if run is not None:
        m = json.loads((Path(run) / "metrics.json").read_text())
        cfg_path = Path(run) / "config.json"
        model = json.loads(cfg_path.read_text()).get("model", "?") if cfg_path.is_file() else "?"
        epochs = m.get("epochs", "?")
        out["cnn_result"] = (f"The run `{Path(run).name}` ({model}, {epochs} epoch{'' if epochs == 1 else 's'}) "
                             f"reached **{pct(m['test_accuracy'])}** test accuracy (its `metrics.json`).")
    else:
        out["cnn_result"] = ("This copy was built without a trained run; rebuild with "
                             "`python -m foveanet.docs.build --run RUN_DIR` to print a run's "
                             "test accuracy here.")
    return out


# ------------------------------------------------------------------ 2. FC drawbacks


def fc_drawbacks() -> dict:
    big = C.fc_vs_conv((400, 400, 3))
    thousand = C.fc_vs_conv((400, 400, 3), units=1000)
    return {
        "big_shape": "x".join(map(str, big.input_shape)), "big_n": num(big.inputs),
        "big_w": num(big.fc_weights), "big_p": num(big.fc_params),
        "big_bias": num(big.fc_params - big.fc_weights), "big_words": words(big.fc_weights, 3),
        "big_gb": num(big.fc_weights * 4 / 1e9),
        "k_units": num(thousand.units), "k_w": num(thousand.fc_weights), "k_p": num(thousand.fc_params),
        "k_words": words(thousand.fc_weights, 3),
    }


# ------------------------------------------------------------------ 3-7. convolution


def _conv(x, w, **kw) -> np.ndarray:
    from foveanet.functional import conv2d

    return conv2d(np.asarray(x, np.float64), np.asarray(w, np.float64), **kw).numpy()


def convolution() -> dict:
    n, f = 6, 3
    img = np.zeros((n, n))
    img[:, : n // 2] = 10                                   # bright left half, dark right half
    kernel = np.array([[1, 0, -1]] * f, dtype=np.float64)   # vertical edge detector
    y = _conv(img[None, None], kernel[None, None])[0, 0]
    y_rev = _conv(img[None, None, :, ::-1], kernel[None, None])[0, 0]
    return {"edge_n": str(n), "edge_f": str(f), "edge_img": grid(img), "edge_k": grid(kernel),
            "edge_out": grid(y), "edge_rows": matrix(y[:1]).strip("[]"), "edge_size": shape(y.shape),
            "edge_rev_rows": matrix(y_rev[:1]).strip("[]"), "edge_formula": str(C.conv_output_size(n, f)),
            "edge_peak": num(y.max()), "edge_bright": num(img.max())}


def padding() -> dict:
    n, f = 6, 3
    p = C.same_padding(f)
    img = np.zeros((n, n))
    img[:, : n // 2] = 10
    kernel = np.array([[1, 0, -1]] * f, dtype=np.float64)
    y = _conv(img[None, None], kernel[None, None], padding=p)[0, 0]
    rows = [(fi, C.same_padding(fi), C.conv_output_size(n, fi, padding=C.same_padding(fi)))
            for fi in (1, 3, 5, 7)]
    return {"pad_p": str(p), "pad_out": str(C.conv_output_size(n, f, padding=p)),
            "pad_valid": str(C.conv_output_size(n, f)), "pad_grid": grid(y),
            "pad_table": table(["f", "same padding p = (f-1)/2", f"output of a {n}x{n} input"],
                               rows, right=(0, 1, 2)),
            "pad_even": str(C.same_padding(4))}


def stride() -> dict:
    img = np.array([[2, 3, 7, 4, 6, 2, 9], [6, 6, 9, 8, 7, 4, 3], [3, 4, 8, 3, 8, 9, 7],
                    [7, 8, 3, 6, 6, 3, 4], [4, 2, 1, 8, 3, 4, 6], [3, 2, 4, 1, 9, 8, 3],
                    [0, 1, 3, 9, 2, 1, 4]], dtype=np.float64)
    k = np.array([[3, 4, 4], [1, 0, 2], [-1, 0, 3]], dtype=np.float64)
    s = 2
    y = _conv(img[None, None], k[None, None], stride=s)[0, 0]
    first = float((img[:3, :3] * k).sum())
    cases = [(6, 3, 0, 1), (6, 3, 1, 1), (7, 3, 0, 2), (7, 3, 1, 2), (8, 3, 0, 2), (224, 7, 3, 2)]
    rows = [(n, f, p, s_, f"floor(({n} + {2 * p} - {f}) / {s_}) + 1 = floor({(n + 2 * p - f) / s_:g}) + 1",
             C.conv_output_size(n, f, padding=p, stride=s_)) for n, f, p, s_ in cases]
    return {"st_img": grid(img), "st_k": grid(k), "st_s": str(s), "st_out": grid(y),
            "st_n": str(img.shape[0]), "st_size": str(C.conv_output_size(img.shape[0], 3, stride=s)),
            "st_first": num(first),
            "st_first_sum": " + ".join(f"{a:g}*{b:g}" if b >= 0 else f"{a:g}*({b:g})"
                                       for a, b in zip(img[:3, :3].ravel(), k.ravel())),
            "st_table": table(["n", "f", "p", "s", "floor((n + 2p - f) / s) + 1", "output"], rows,
                              right=(0, 1, 2, 3, 5))}


def volumes() -> dict:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 5, size=(1, 3, 6, 6))
    w1 = rng.integers(-1, 2, size=(1, 3, 3, 3))
    w2 = rng.integers(-1, 2, size=(2, 3, 3, 3))
    y1, y2 = _conv(x, w1), _conv(x, w2)
    by_hand = float((x[0, :, :3, :3] * w1[0]).sum())
    return {"vol_x": shape(x.shape), "vol_w1": shape(w1.shape), "vol_y1": shape(y1.shape),
            "vol_w2": shape(w2.shape), "vol_n": str(x.shape[-1]), "vol_y2": shape(y2.shape), "vol_terms": str(w1[0].size),
            "vol_first": num(y1[0, 0, 0, 0]), "vol_hand": num(by_hand)}


def one_layer() -> dict:
    from foveanet import nn
    from foveanet.docs._util import count

    f, c, k = 3, 3, 10
    layer = nn.Conv2d(c, k, f)
    return {"ol_formula": C.conv_params_formula(f, c, k), "ol_params": num(C.conv_params(f, c, k)),
            "ol_counted": num(count(layer)), "ol_weights": num(f * f * c * k), "ol_biases": str(k),
            "ol_w_shape": shape(layer.weight.shape)}


# ------------------------------------------------------------------ 8. example network


def example() -> dict:
    stages = C.example_network()
    rows = []
    for st in stages:
        if st.layer == "input":
            rows.append(("input", "", "", "", "", shape(st.shape), ""))
            continue
        rows.append((st.layer, f"{st.f}x{st.f}", st.stride, st.padding, st.filters, shape(st.shape),
                     f"`{st.formula}`"))
    last = stages[-1]
    return {"ex_table": table(["layer", "f", "s", "p", "filters", "output (h x w x c)", "parameters"],
                              rows, right=(2, 3, 4)),
            "ex_sizes": " -> ".join(str(st.shape[0]) for st in stages),
            "ex_features": num(last.size), "ex_last": " x ".join(map(str, last.shape)),
            "ex_params": num(sum(st.params for st in stages)),
            "ex_n2": (f"floor(({stages[1].shape[0]} - {stages[2].f}) / {stages[2].stride}) + 1 = "
                      f"{C.conv_output_size(stages[1].shape[0], stages[2].f, stride=stages[2].stride)}"),
            "ex_first": "x".join(map(str, stages[0].shape))}


# ------------------------------------------------------------------ 9. pooling


def pooling() -> dict:
    from foveanet import nn
    from foveanet.docs._util import count
    from foveanet.functional import avg_pool2d, max_pool2d

    x = np.array([[1, 3, 5, 3], [4, 2, 3, 1], [3, 1, 1, 3], [0, 1, 0, 4]], dtype=np.float64)
    a = np.array([[1, 3, 2, 1], [2, 9, 1, 1], [1, 4, 2, 3], [5, 6, 1, 2]], dtype=np.float64)
    mx = max_pool2d(x[None, None], 2, 2).numpy()[0, 0]
    av = avg_pool2d(a[None, None], 2, 2).numpy()[0, 0]
    rng = np.random.default_rng(0)
    vol = rng.standard_normal((1, 16, 28, 28))
    big = max_pool2d(vol, 2, 2)
    return {"mp_in": grid(x), "mp_out": matrix(mx), "mp_out_grid": grid(mx),
            "av_in": grid(a), "av_out": matrix(av), "av_out_grid": grid(av),
            "pool_params": num(count(nn.MaxPool2d(2)) + count(nn.AvgPool2d(2))),
            "pool_size": str(C.pool_output_size(vol.shape[-1], 2)), "pool_vol": shape(big.shape[1:]),
            "pool_in": shape(vol.shape[1:]), "pool_n": str(vol.shape[-1]),
            "pool_odd": str(C.pool_output_size(7, 2)), "pool_odd_ceil": str(C.pool_output_size(7, 2, ceil_mode=True))}


# ------------------------------------------------------------------ 10. why convolutions


def _fashion_image():
    from foveanet.data import FashionMNIST

    test = FashionMNIST(train=False)
    return test.data[0], test.classes[int(test.targets[0])]


def why_conv() -> dict:
    r = C.fc_vs_conv((32, 32, 3), conv=(5, 6))
    img, label = _fashion_image()
    s1 = C.shift_experiment(img, k=1)
    s2 = C.shift_experiment(img, k=2, axis=0)
    inputs_per_output = 5 * 5 * 3
    return {
        "wc_in": "x".join(map(str, r.input_shape)), "wc_out": "x".join(map(str, r.output_shape)),
        "wc_n_in": num(r.inputs), "wc_n_out": num(r.units), "wc_fc_w": num(r.fc_weights),
        "wc_fc_p": num(r.fc_params), "wc_fc_words": words(r.fc_weights, 2),
        "wc_conv": num(r.conv_params), "wc_conv_formula": r.conv_formula,
        "wc_course": num(r.conv_params_ignoring_channels),
        "wc_course_formula": C.conv_params_formula(5, 1, 6),
        "wc_ratio": f"{r.param_ratio:,.0f}",
        "wc_course_ratio": f"{r.fc_params / r.conv_params_ignoring_channels:,.0f}", "wc_fc_macs": num(r.fc_connections),
        "wc_conv_macs": num(r.conv_connections), "wc_fan": num(inputs_per_output),
        "sh_label": label, "sh_changed": num(s1.changed), "sh_pixels": num(s1.pixels),
        "sh_frac": pct(s1.changed_fraction), "sh_d2l": num(s1.dark_to_light), "sh_l2d": num(s1.light_to_dark),
        "sh_compared": num(s1.conv_compared), "sh_diff": f"{s1.conv_max_abs_diff:g}",
        "sh_conv_rel": pct(s1.conv_relative_change), "sh_fc_rel": pct(s1.fc_relative_change),
        "sh2_compared": num(s2.conv_compared), "sh2_diff": f"{s2.conv_max_abs_diff:g}",
        "sh2_fc_rel": pct(s2.fc_relative_change), "sh2_frac": pct(s2.changed_fraction),
    }


def compute(run=None) -> dict:
    out = {}
    for part in (features(run), fc_drawbacks(), convolution(), padding(), stride(), volumes(),
                 one_layer(), example(), pooling(), why_conv()):
        clash = set(out) & set(part)
        if clash:
            raise RuntimeError(f"docs: placeholder names used twice: {sorted(clash)}")
        out.update(part)
    return out
