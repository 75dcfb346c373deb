"""The seam holds in the source: code in the seam's folders computes with the array module of
its inputs (``xp = array_module(x)``), never NumPy directly, so the same code runs on CuPy.

The scan reads each file's AST and lists every ``np.<name>`` outside the names that compute
nothing (dtypes, ``np.ndarray`` for isinstance, ``np.errstate`` around host code). A place that
must stay NumPy (a file format, a host draw, a layer built on the host before ``.to``) is
listed in HOST under its file and function, with the reason; an entry whose place is gone
fails too, so the list stays true. To bring a folder or file under the seam, add it to SCOPE
(one line per owner) and its NumPy places to HOST.
"""
import ast
import pathlib

import pytest

import foveanet

ROOT = pathlib.Path(foveanet.__file__).parent

SCOPE = (
    "autograd", "nn", "optim", "serialization.py",  # seam-autograd
    *(f"functional/{n}.py" for n in ("conv", "im2col", "pooling", "adaptive_pooling", "linear",
                                      "normalization", "dropout", "sparse")),  # seam-conv
    *(f"functional/{n}.py" for n in ("activation", "loss", "loss_regression", "_loss_common",
                                      "metric_loss", "ctc", "recurrent", "shape", "_utils")),
    "data/transforms.py", "train/trainer.py", "train/guards.py",  # seam-rest
)

# names that compute nothing: dtypes and type checks, constants, host error flags
ALLOWED = frozenset({
    "dtype", "ndarray", "generic", "number", "integer", "floating", "bool_", "float16",
    "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
    "uint64", "newaxis", "pi", "inf", "nan", "finfo", "iinfo", "errstate",
})

_BUILT_ON_HOST = "a layer is built on the host, as torch's default; Module.to moves it"
_HOST_DRAW = "drawn on the host generator, then copied once: one seed, one model on every device"

# file -> {function: (np names, why they stay NumPy there)}
HOST = {
    "autograd/creation.py": {
        "_like": ({"asarray"}, "host data (a list, a scalar) becomes an array, then moves"),
        "arange": ({"arange"}, "made on the host, then moved: the same values on every device"),
        "linspace": ({"linspace"}, "made on the host, then moved: the same values on every device"),
    },
    "autograd/function.py": {
        "shape_of": ({"shape"}, "the shape of a Python number or list: host data"),
    },
    "autograd/gradcheck.py": {
        "gradcheck": ({"random", "zeros", "abs", "unravel_index", "argmax"},
                      "the finite differences are Python floats, compared on the host"),
    },
    "autograd/shape_ops.py": {
        "normalize_index": ({"asarray"}, "a list index becomes an array, moved to the data's device"),
    },
    "autograd/tensor.py": {
        "_to_array": ({"array"}, "host data (lists, NumPy arrays) becomes the CPU array"),
        "_wrap": ({"asarray"}, "a NumPy scalar an op returned on the CPU becomes a 0-d array"),
        "__repr__": ({"array2string"}, "printing reads a host copy"),
    },
    "nn/freezing.py": {
        "freeze": ({"array"}, "read-only copies are of host arrays; a GPU model only stops asking for gradients"),
    },
    "nn/init.py": {
        "trunc_normal_": ({"clip"}, _HOST_DRAW),
        "orthogonal_": ({"linalg", "sign", "diag"}, _HOST_DRAW),
    },
    "nn/modules/_helpers.py": {
        "_as_array": ({"asarray"}, "a state_dict value given as a list; load_state_dict moves it"),
    },
    "nn/modules/conv.py": {"__init__": ({"empty"}, _BUILT_ON_HOST)},
    "nn/modules/linear.py": {"__init__": ({"empty"}, _BUILT_ON_HOST)},
    "nn/modules/metric_loss.py": {"__init__": ({"empty"}, _BUILT_ON_HOST)},
    "nn/modules/normalization.py": {
        "_affine_params": ({"ones", "zeros"}, _BUILT_ON_HOST),
        "__init__": ({"zeros", "ones", "array"}, _BUILT_ON_HOST),
        "_check_input_dim": ({"ndim"}, "the dims of a list input, for the error message"),
    },
    "nn/modules/rnn.py": {"__init__": ({"empty"}, _BUILT_ON_HOST)},
    "nn/modules/sparse.py": {
        "__init__": ({"empty", "shape"}, _BUILT_ON_HOST),
        "from_pretrained": ({"asarray"}, _BUILT_ON_HOST),
    },
    "nn/parameter.py": {"__init__": ({"empty"}, "an empty Parameter() is a host placeholder")},
    # seam-conv
    "functional/pooling.py": {
        "_first_inside": ({"arange", "where"}, "a per-axis table from the geometry, on the host"),
        "_forward_compiled": ({"ascontiguousarray", "empty"}, "the CPU's compiled kernel (NumPy only)"),
        "_backward_compiled": ({"ascontiguousarray", "empty"}, "the CPU's compiled kernel (NumPy only)"),
        "divisor": ({"asarray", "arange", "minimum", "maximum", "outer"},
                    "the window counts from the geometry: a small host table, moved with xp.asarray"),
    },
    "functional/activation.py": {
        "_relu_backward": ({"empty_like"}, "the CPU's compiled kernel (NumPy only)"),
    },
    "functional/adaptive_pooling.py": {
        "_bounds": ({"arange"}, "window bounds from the sizes: a small host table"),
        "_windows": ({"minimum", "arange"}, "window cells from the sizes: a small host table"),
        "_averaging_matrix": ({"arange"}, "built on the host (small), then moved"),
    },
    "functional/normalization.py": {"_size": ({"size"}, "the element count of a list input")},
    # seam-rest
    "functional/loss.py": {"_layout": ({"prod"}, "the product of a shape's Python ints")},
    "functional/loss_regression.py": {
        "_broadcastable": ({"broadcast_shapes"}, "shapes are Python tuples"),
        "_regression": ({"broadcast_shapes"}, "shapes are Python tuples"),
    },
    "functional/ctc.py": {
        "_lengths": ({"atleast_1d"}, "the lengths, read to the host: the recursion's loop bounds"),
        "ctc_loss": ({"full", "concatenate", "cumsum"},
                     "the targets' layout (offsets, the blank-interleaved labels) is a host plan, moved once"),
    },
    "functional/shape.py": {
        "_as_sel": ({"all", "diff"}, "a Python index list checked on the host"),
        "_fold_plan": ({"flatnonzero", "empty", "searchsorted", "arange", "argsort"},
                       "an index plan from the shapes, built on the host and moved once"),
        "backward": ({"array_equal", "arange"}, "compares two host index plans"),
        "_pad_index": ({"abs", "where", "arange", "clip"}, "the padded axis' source indices, a host plan"),
        "_nearest_index": ({"minimum", "floor", "arange"}, "the resize's source indices, a host plan"),
        "_linear_matrix": ({"clip", "minimum", "floor", "maximum", "arange", "zeros", "eye"},
                           "the small interpolation matrix, built on the host and moved once"),
    },
    "data/transforms.py": {
        "<module>": ({"sliding_window_view"}, "the random crop's CPU branch; a device batch takes xp's"),
        "__call__": ({"asarray", "random"}, "the transform's draws come from the host generator"),
        "apply": ({"rint", "random", "sqrt", "floor", "asarray", "minimum", "exp", "arange", "atleast_1d"},
                  "per-sample parameters (crop boxes, angles, index tables) drawn on the host, then moved"),
        "__init__": ({"asarray", "where", "any", "atleast_1d"}, "a transform's settings, on the host"),
        "mean_std": ({"asarray", "sqrt", "maximum", "zeros", "square"},
                     "dataset statistics over host arrays, before training"),
        "_linear_weights": ({"minimum", "floor", "arange", "clip"}, "a resize's index table, a host plan"),
    },
    "train/trainer.py": {
        "softmax": ({"exp"}, "predict's probabilities, on logits already copied to the host"),
        "evaluate": ({"log", "arange"}, "the metrics run on host copies of the predictions"),
        "predict": ({"ascontiguousarray", "zeros", "concatenate"}, "predictions are returned as NumPy arrays"),
        "_probs_and_mirror": ({"ascontiguousarray"}, "test-time flips of a host batch"),
        "best_epoch": ({"argmax"}, "over the history's Python floats"),
        "_device_step_stats": ({"isfinite"}, "the step's numbers after their one copy to the host"),
    },
    "train/guards.py": {
        "global_step_stats": ({"array"}, "the step's scalars, copied to the host in one array"),
    },
}


def numpy_uses(source: str):
    """(line, enclosing function, name) for every ``np.<name>`` and ``from numpy import name``
    in ``source`` whose name computes something (not in ALLOWED)."""
    found = []

    def visit(node, scope):
        for child in ast.iter_child_nodes(node):
            inner = child.name if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) else scope
            if (isinstance(child, ast.Attribute) and isinstance(child.value, ast.Name)
                    and child.value.id == "np" and child.attr not in ALLOWED):
                found.append((child.lineno, scope, child.attr))
            elif isinstance(child, ast.ImportFrom) and (child.module or "").split(".")[0] == "numpy":
                found.extend((child.lineno, scope, a.name) for a in child.names if a.name not in ALLOWED)
            visit(child, inner)

    visit(ast.parse(source), "<module>")
    return found


def _files():
    for entry in SCOPE:
        path = ROOT / entry
        yield from (sorted(path.rglob("*.py")) if path.is_dir() else [path])


def test_the_scan_sees_numpy_calls_and_lets_dtypes_pass():
    source = ("import numpy as np\nfrom numpy import exp\n"
              "def f(x):\n    y = np.exp(x).astype(np.float32)\n"
              "    return isinstance(y, np.ndarray) and np.zeros_like(y)\n")
    assert numpy_uses(source) == [(2, "<module>", "exp"), (4, "f", "exp"), (5, "f", "zeros_like")]


@pytest.mark.parametrize("path", list(_files()), ids=lambda p: str(p.relative_to(ROOT)))
def test_seam_code_uses_the_array_module_of_its_inputs(path):
    rel = str(path.relative_to(ROOT))
    listed = HOST.get(rel, {})
    offenders = [f"{rel}:{line} np.{name} in {func}()" for line, func, name in numpy_uses(path.read_text())
                 if name not in listed.get(func, ((), ""))[0]]
    assert not offenders, ("NumPy where the input's array module (xp = array_module(x)) belongs; "
                           "if the place must stay NumPy, list it in HOST with why:\n"
                           + "\n".join(offenders))


def test_every_listed_numpy_place_still_exists():
    stale = []
    for rel, places in HOST.items():
        path = ROOT / rel
        uses = {(func, name) for _, func, name in numpy_uses(path.read_text())} if path.exists() else set()
        for func, (names, why) in places.items():
            assert why, f"{rel}:{func} needs a reason"
            stale += [f"{rel}: np.{n} in {func}()" for n in sorted(names) if (func, n) not in uses]
    assert not stale, "HOST lists NumPy places the code no longer has:\n" + "\n".join(stale)
