"""Every public nn.Module class of foveanet.nn documents itself torch.nn-style (its own
docstring with ``Args:`` naming exactly the constructor's arguments, ``Shape:`` and
``Example::``), and the examples run: each is a doctest checked here with the standard
library's doctest, so a docstring that stops describing the code fails the suite."""
import doctest
import inspect
import io
import re

import numpy as np
import pytest

import foveanet
import foveanet.nn as nn

# Classes that take no input of their own, so that a ``Shape:`` section has nothing to
# describe: each has a docstring with Args and an Example, but is exempt from the checks
# below, for the reason given. test_exemptions_are_current fails once one of them passes
# the checks, so that its entry gets removed and it is checked like the rest.
EXEMPT = {
    "Module": "the base class: its forward is the subclass's, so it has no shapes of its own",
    "ModuleList": "a container without forward: it takes no input, so no shapes",
    "ModuleDict": "a container without forward: it takes no input, so no shapes",
    "ParameterList": "a container of Parameters without forward: it takes no input, so no shapes",
}

# documented in full; listed so that losing one from foveanet.nn (or from the discovery
# below) fails instead of silently shrinking what is checked
DOCUMENTED = {
    "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d",
    "AvgPool1d", "AvgPool2d", "MaxPool1d", "MaxPool2d",
    "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "L1Loss", "MSELoss", "NLLLoss",
    "BatchNorm1d", "BatchNorm2d", "GroupNorm", "LayerNorm",
    "Conv1d", "Conv2d", "ConvTranspose1d", "ConvTranspose2d", "Linear", "Embedding",
    "Dropout", "Dropout1d", "Dropout2d", "Flatten", "Identity", "Unflatten", "Upsample",
    "Sequential",
    "ELU", "GELU", "LeakyReLU", "LogSoftmax", "ReLU", "ReLU6", "SiLU", "Sigmoid", "Softmax", "Tanh",
    "Hardsigmoid", "Hardswish",
    "ContrastiveLoss", "TripletMarginLoss", "BatchHardTripletLoss", "ArcFace",
    "CTCLoss", "LSTM", "GRU",
}

# NumPy's default print options, pinned: the expected outputs were pasted from runs under
# them, and another test (or a user's startup file) may have changed the global state
PRINT_OPTIONS = dict(precision=8, threshold=1000, edgeitems=3, linewidth=75, suppress=False,
                     nanstr="nan", infstr="inf", sign="-", floatmode="maxprec", formatter=None,
                     legacy=False)


def _public_module_classes() -> dict:
    return {name: obj for name, obj in vars(nn).items()
            if not name.startswith("_") and inspect.isclass(obj) and issubclass(obj, nn.Module)}


PUBLIC = _public_module_classes()
CHECKED = sorted(set(PUBLIC) - set(EXEMPT))


def _own_doc(cls) -> str:
    doc = cls.__dict__.get("__doc__")  # not inherited: cls.__doc__ would be, via inspect
    return inspect.cleandoc(doc) if doc else ""


def _section(doc: str, title: str) -> str:
    """The lines under ``title:`` up to the next section heading (a line ending in ':'
    at the left margin), or '' when there is no such section."""
    m = re.search(rf"^{title}:\n(.*?)(?=^\S[^\n]*:\s*$|\Z)", doc, re.M | re.S)
    return m.group(1) if m else ""


def _documented_args(doc: str) -> set:
    """Argument names of the Args entries: ``name: ...`` or ``a, b: ...`` at the section's
    first indentation level."""
    names = set()
    for entry in re.findall(r"^ {4}(\w+(?:, \w+)*):", _section(doc, "Args"), re.M):
        names.update(entry.split(", "))
    return names


def _init_args(cls) -> set:
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]  # without self
    return {p.name for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}


def _problems(cls) -> list:
    """What the class's own docstring lacks; [] when it passes."""
    doc = _own_doc(cls)
    if not doc:
        return ["no docstring of its own"]
    out = [f"no {word!r} section" for word in ("Shape:", "Example::") if word not in doc]
    documented, actual = _documented_args(doc), _init_args(cls)
    if documented != actual:
        out.append(f"Args documents {sorted(documented)}, __init__ takes {sorted(actual)}")
    return out


def _run_examples(obj, name: str) -> tuple:
    """(examples attempted, failures, the runner's report) for obj's own docstring."""
    globs = {"fn": foveanet, "nn": nn, "np": np}
    tests = doctest.DocTestFinder(recurse=False).find(obj, name, globs=globs)
    runner = doctest.DocTestRunner(verbose=False)
    report = io.StringIO()
    with np.printoptions(**PRINT_OPTIONS):
        for test in tests:
            runner.run(test, out=report.write)
    failed, attempted = runner.summarize(verbose=False)
    return attempted, failed, report.getvalue()


def test_discovery_finds_every_public_module_class():
    assert DOCUMENTED <= set(PUBLIC), sorted(DOCUMENTED - set(PUBLIC))
    assert not DOCUMENTED & set(EXEMPT)
    # what is checked is exactly the documented set: a new public module class must either
    # be documented (and added to DOCUMENTED) or be exempted with a reason
    assert set(CHECKED) == DOCUMENTED, (sorted(set(CHECKED) - DOCUMENTED), sorted(DOCUMENTED - set(CHECKED)))
    public_all = {n for n in nn.__all__ if inspect.isclass(getattr(nn, n))
                  and issubclass(getattr(nn, n), nn.Module)}
    assert public_all == set(PUBLIC)


@pytest.mark.parametrize("name", CHECKED)
def test_docstring_has_args_shape_and_example(name):
    assert _problems(PUBLIC[name]) == [], f"{name}: {_problems(PUBLIC[name])}"


@pytest.mark.parametrize("name", sorted(EXEMPT))
def test_exemptions_are_current(name):
    assert name in PUBLIC, f"{name} is exempted but is not a public module class of foveanet.nn"
    assert _own_doc(PUBLIC[name]), f"{name} has no docstring of its own at all"
    assert _problems(PUBLIC[name]), f"{name} now passes the docstring checks: remove it from EXEMPT"


@pytest.mark.parametrize("name", CHECKED + sorted(EXEMPT))
def test_docstring_examples_run(name):
    attempted, failed, report = _run_examples(PUBLIC[name], name)
    assert attempted > 0, f"{name}: the Example:: section holds no doctest"
    assert failed == 0, f"{name}: {failed} of {attempted} examples failed\n{report}"


class _WrongExample(nn.Module):
    """Doubles nothing.

    Shape:
        - Input: (*).

    Example::

        >>> nn.ReLU()(fn.tensor([-1., 2.])).numpy()
        array([0., 3.], dtype=float32)
    """


def test_wrong_example_and_missing_sections_are_caught():
    # the checks above must be able to fail: a wrong expected value, a missing section and
    # an invented argument are each reported
    attempted, failed, report = _run_examples(_WrongExample, "_WrongExample")
    assert (attempted, failed) == (1, 1) and "array([0., 2.], dtype=float32)" in report
    assert _problems(_WrongExample) == []  # no __init__ args, both sections present

    class NoShape(nn.Module):
        """y = x.

        Args:
            scale: not an argument of __init__.

        Example::

            >>> 1
            1
        """

        def __init__(self, p=0.5):
            super().__init__()

    problems = _problems(NoShape)
    assert "no 'Shape:' section" in problems
    assert any("Args documents ['scale'], __init__ takes ['p']" in p for p in problems)
