"""Every public class and function (foveanet.docs.api's list, the one the API reference
renders) has a docstring of its own that starts with a one-line summary and holds an example
that runs: each example is a doctest run here with the standard library's doctest, so a
docstring that stops describing the code fails the suite."""
import doctest
import io

import numpy as np
import pytest

import foveanet
import foveanet.nn as nn
import foveanet.nn.functional as F
from foveanet.docs import api

# Public names without a runnable example, each with the reason. test_exemptions_are_current
# fails once one of them has an example, so that the entry goes.
EXEMPT = {
    "foveanet.text.train": "trains XML-CNN on a data file for minutes: the text guide shows it",
    "foveanet.segmentation.train": "trains a U-Net for minutes: the segmentation guide shows it",
    "foveanet.faces.train_embedding": "trains an embedding CNN for minutes: the faces guide shows it",
    "foveanet.faces.evaluate_embedding": "needs a trained run directory: the faces guide shows it",
    "foveanet.faces.verify_pair": "needs a trained run directory: the faces guide shows it",
    "foveanet.medical.train": "trains a U-Net on a real volume for minutes: the medical guide shows it",
    "foveanet.ocr.train": "renders lines and trains a CRNN for minutes: the OCR guide shows it",
}

# NumPy's default print options, pinned: expected outputs are pasted from runs under them,
# and another test (or a user's startup file) may have changed the global state
PRINT_OPTIONS = dict(precision=8, threshold=1000, edgeitems=3, linewidth=75, suppress=False,
                     nanstr="nan", infstr="inf", sign="-", floatmode="maxprec", formatter=None,
                     legacy=False)

ENTRIES = {e.public_path: e for e in api.all_entries() if e.documented_at}


def _run_examples(obj, name: str) -> tuple:
    """(examples attempted, failures, the runner's report) for obj's own docstring."""
    globs = {"fn": foveanet, "nn": nn, "F": F, "np": np}
    test = doctest.DocTestParser().get_doctest(api.own_doc(obj), globs, name, None, 0)
    runner = doctest.DocTestRunner(verbose=False, optionflags=doctest.NORMALIZE_WHITESPACE)
    report = io.StringIO()
    foveanet.manual_seed(0)
    with np.printoptions(**PRINT_OPTIONS):
        runner.run(test, out=report.write)
    failed, attempted = runner.summarize(verbose=False)
    return attempted, failed, report.getvalue()


def test_every_public_name_has_a_docstring():
    assert api.undocumented() == []


@pytest.mark.parametrize("path", sorted(ENTRIES))
def test_docstring_starts_with_a_summary_line(path):
    doc = api.own_doc(ENTRIES[path].obj)
    first = doc.split("\n")[0] if doc else ""
    assert first.strip(), f"{path}: no docstring"
    # the summary is a sentence in words: a formula first would make the API table unreadable
    assert first[:1].isupper() or first.startswith("``"), f"{path}: summary line {first!r}"


@pytest.mark.parametrize("path", sorted(set(ENTRIES) - set(EXEMPT)))
def test_docstring_example_runs(path):
    attempted, failed, report = _run_examples(ENTRIES[path].obj, path)
    assert attempted > 0, f"{path}: the docstring holds no example (>>> lines)"
    assert failed == 0, f"{path}: {failed} of {attempted} example lines failed\n{report}"


@pytest.mark.parametrize("path", sorted(EXEMPT))
def test_exemptions_are_current(path):
    assert path in ENTRIES, f"{path} is exempted but is not a public name"
    attempted, _, _ = _run_examples(ENTRIES[path].obj, path)
    assert attempted == 0, f"{path} now has an example: remove it from EXEMPT"


def _wrong_example():
    """Doubles a number.

    Example:
        >>> 2 * 2
        5
    """


def test_a_wrong_example_is_caught():
    attempted, failed, report = _run_examples(_wrong_example, "_wrong_example")
    assert (attempted, failed) == (1, 1) and "Expected:\n    5" in report
