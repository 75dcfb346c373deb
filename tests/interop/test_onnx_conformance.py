"""foveanet.onnx.load against ONNX's own node tests.

The onnx wheel ships the generators of its backend node tests
(``onnx.backend.test.case.node.collect_testcases``): one single-node model per case, with inputs,
expected outputs and tolerances. Every case whose op a CNN export uses (``OPS``) is loaded with
``foveanet.onnx.load`` and run; cases foveanet cannot run yet are listed in ``KNOWN_GAPS`` with the
reason, as strict xfails, so a gap that closes fails until it is removed from the list.

The ``_expanded`` cases (the op's ONNX function body unrolled into other ops) are not collected:
they test the function library, not the op.

Per-op table for docs/guides/onnx-conformance.md::

    .venv/bin/python tests/interop/test_onnx_conformance.py --report
"""
from __future__ import annotations

import collections
import sys
import warnings

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")

OPS = (
    "Conv ConvTranspose MaxPool AveragePool GlobalAveragePool GlobalMaxPool BatchNormalization "
    "InstanceNormalization LayerNormalization Gemm MatMul Add Sub Mul Div Pow Relu LeakyRelu PRelu "
    "Sigmoid HardSigmoid HardSwish Tanh Erf Gelu Elu Selu Softmax LogSoftmax Clip Concat Flatten "
    "Reshape Transpose Squeeze Unsqueeze Gather Shape Slice Split Resize Upsample Pad ReduceMean "
    "ReduceMax ReduceSum Dropout Identity Constant ConstantOfShape Expand Cast Where Equal Sqrt Exp "
    "Log Neg Abs Min Max Sum Mean LRN"
).split()

# dtypes a foveanet graph carries: float tensors, and the int/bool arrays of shape arithmetic
# (not bfloat16, float8/4, int4/2, strings: numpy has no such dtype)
_DTYPES = {np.dtype(t) for t in (np.float16, np.float32, np.float64, np.int8, np.int16, np.int32, np.int64,
                                 np.uint8, np.uint16, np.uint32, np.uint64, np.bool_)}

# case name -> why foveanet does not pass it yet (strict xfail: a fixed case must leave the list)
KNOWN_GAPS: dict[str, str] = {
    "test_convtranspose_3d": "foveanet has no 3-d transposed convolution (conv_transpose1d/2d only)",
}

# training-mode Dropout draws its mask from onnx's own seeded numpy RNG: not reproducible by any
# backend, so these are skipped, not counted as gaps
RANDOM = {
    "test_training_dropout": "random training-mode mask",
    "test_training_dropout_default": "random training-mode mask",
    "test_training_dropout_default_mask": "random training-mode mask",
    "test_training_dropout_mask": "random training-mode mask",
}


def _collect():
    from onnx.backend.test.case.node import collect_testcases

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the Cast generators overflow on purpose
        cases = collect_testcases(None)
    out = []
    for case in cases:
        nodes = case.model.graph.node
        if "_expanded" in case.name or len(nodes) != 1 or nodes[0].op_type not in OPS:
            continue
        out.append((nodes[0].op_type, case))
    return sorted(out, key=lambda oc: (oc[0], oc[1].name))


def _array(v):
    """numpy scalars and TensorProto values (how the Cast cases store float8) as arrays."""
    if isinstance(v, np.generic):
        return np.asarray(v)
    if isinstance(v, onnx.TensorProto):
        from onnx import numpy_helper

        return numpy_helper.to_array(v)
    return v


def _skip_reason(case) -> str | None:
    """Cases outside what foveanet does at all (not gaps to close): exotic dtypes, random output."""
    if case.name in RANDOM:
        return RANDOM[case.name]
    for inputs, outputs in case.data_sets:
        for a in map(_array, list(inputs) + list(outputs)):
            if not isinstance(a, np.ndarray):
                return f"non-tensor value ({type(a).__name__}: sequence/optional types)"
            if a.dtype not in _DTYPES:
                return f"dtype {a.dtype} (foveanet runs float16/32/64, int and bool)"
    return None


def run_case(case) -> None:
    """Load the case's model with foveanet and compare every output; raise AssertionError."""
    import foveanet

    model = foveanet.onnx.load(case.model)
    if hasattr(model, "eval"):
        model.eval()
    for inputs, expected in case.data_sets:
        inputs, expected = [_array(a) for a in inputs], [_array(a) for a in expected]
        got = model(*inputs)
        got = got if isinstance(got, tuple) else (got,)
        assert len(got) == len(expected), f"{len(got)} outputs, expected {len(expected)}"
        for i, (g, e) in enumerate(zip(got, expected)):
            g = np.asarray(g.numpy() if hasattr(g, "numpy") else g)
            assert g.shape == e.shape, f"output {i}: shape {g.shape}, expected {e.shape}"
            if e.dtype.kind in "fc":
                np.testing.assert_allclose(g.astype(np.float64), e.astype(np.float64), rtol=case.rtol,
                                           atol=case.atol, err_msg=f"output {i}")
            else:
                np.testing.assert_array_equal(g, e, err_msg=f"output {i}")


_CASES = _collect()


def _params():
    for op, case in _CASES:
        marks = []
        skip = _skip_reason(case)
        if skip:
            marks.append(pytest.mark.skip(reason=f"{op}: {skip}"))
        elif case.name in KNOWN_GAPS:
            marks.append(pytest.mark.xfail(strict=True, reason=f"{op}: {KNOWN_GAPS[case.name]}"))
        yield pytest.param(op, case, id=case.name, marks=marks)


@pytest.mark.parametrize("op, case", list(_params()))
def test_node_case(op, case):
    try:
        run_case(case)
    except AssertionError as e:
        pytest.fail(f"{op} ({case.name}): wrong output: {e}", pytrace=False)
    except Exception as e:  # noqa: BLE001 - the failure must name the op and what went wrong
        pytest.fail(f"{op} ({case.name}): {type(e).__name__}: {e}", pytrace=False)


# float converters composed of foveanet ops: the imported graph must stay differentiable
GRAD_CASES = ["test_resize_upsample_scales_cubic", "test_resize_downsample_scales_linear_antialias",
              "test_resize_tf_crop_and_resize_extrapolation_value",
              "test_layer_normalization_3d_axis1_epsilon",
              "test_instancenorm_example", "test_prelu_broadcast", "test_lrn", "test_selu", "test_hardswish",
              "test_averagepool_3d_dilations_small", "test_maxpool_3d_dilations", "test_max_two_inputs",
              "test_mean_two_inputs", "test_split_variable_parts_2d_opset18", "test_expand_dim_changed",
              "test_where_example", "test_batchnorm_example_training_mode"]


@pytest.mark.parametrize("name", GRAD_CASES)
def test_converter_gradients(name):
    """Finite differences of the first output w.r.t. the float inputs, in float64."""
    import foveanet

    case = next(c for _, c in _CASES if c.name == name)
    model = foveanet.onnx.load(case.model).eval()
    ins = [_array(a) for a in case.data_sets[0][0]]
    # every float input, but Resize's roi and scales (coordinates, not data)
    resize = case.model.graph.node[0].op_type == "Resize"
    grad = [i for i, a in enumerate(ins) if a.dtype.kind == "f" and a.size and not (resize and i > 0)]

    def first(*xs):
        full = list(ins)
        for i, x in zip(grad, xs):
            full[i] = x
        out = model(*full)
        return out[0] if isinstance(out, tuple) else out

    xs = tuple(foveanet.tensor(ins[i].astype(np.float64), requires_grad=True) for i in grad)
    assert foveanet.gradcheck(first, xs, atol=1e-4, rtol=1e-3), name


def test_known_gaps_are_collected_cases():
    names = {case.name for _, case in _CASES}
    assert not set(KNOWN_GAPS) - names, "KNOWN_GAPS names a case that does not exist"


def report() -> str:
    """Markdown table: op, cases, passed, skipped, xfail (with reasons), and any unexpected failure."""
    rows = collections.OrderedDict((op, {"cases": 0, "passed": 0, "skipped": [], "xfail": [], "failed": []})
                                   for op in OPS)
    for op, case in _CASES:
        row = rows[op]
        row["cases"] += 1
        skip = _skip_reason(case)
        if skip:
            row["skipped"].append((case.name, skip))
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                run_case(case)
            ok = True
        except Exception:  # noqa: BLE001
            ok = False
        if ok:
            row["passed"] += 1
        elif case.name in KNOWN_GAPS:
            row["xfail"].append((case.name, KNOWN_GAPS[case.name]))
        else:
            row["failed"].append((case.name, "unexpected failure"))
    lines = ["| op | cases | passed | skipped (why) | xfail (known gaps, why) |", "|---|---:|---:|---|---|"]
    tot = collections.Counter()
    for op, r in rows.items():
        gaps = "; ".join(f"`{n}`: {why}" for n, why in r["xfail"] + r["failed"])
        why = sorted({w.split(" (")[0].replace("dtype ", "") for _, w in r["skipped"]})
        skipped = f"{len(r['skipped'])} ({', '.join(why)})" if why else "0"
        lines.append(f"| {op} | {r['cases']} | {r['passed']} | {skipped} | {gaps} |")
        tot.update(cases=r["cases"], passed=r["passed"], skipped=len(r["skipped"]),
                   xfail=len(r["xfail"]) + len(r["failed"]))
    run = tot["cases"] - tot["skipped"]
    lines.append(f"| **total** | {tot['cases']} | {tot['passed']} | {tot['skipped']} | {tot['xfail']} |")
    summary = (f"{tot['passed']} of {run} runnable cases pass ({100.0 * tot['passed'] / max(run, 1):.1f}%); "
               f"{tot['skipped']} skipped (dtypes foveanet does not carry, random outputs).")
    return "\n".join([summary, "", *lines])


if __name__ == "__main__":
    if "--report" in sys.argv:
        print(report())
