"""The documentation site and the release: the API pages match the code, `mkdocs build
--strict` passes (a broken link, a page missing from the nav or a docstring griffe cannot
parse fails it), the README stays a short guide whose links resolve, and `python -m build`
makes a wheel that carries the whole package and the right version."""
import html
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import foveanet
from foveanet.docs import api

ROOT = Path(__file__).resolve().parents[2]
README_LIMIT = 8 * 1024


def test_api_pages_are_current():
    stale = [rel for rel, text in api.pages().items()
             if not (ROOT / "docs" / rel).is_file()
             or (ROOT / "docs" / rel).read_text(encoding="utf-8") != text]
    assert stale == [], f"run `python -m foveanet.docs.api`: {stale}"


def test_every_api_page_is_in_the_nav():
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    assert [rel for rel in api.pages() if rel not in nav] == []


def test_api_page_renders_public_paths():
    text = api.pages()["api/nn.md"]
    assert "::: foveanet.nn.modules.conv.Conv2d" in text
    assert 'heading: "foveanet.nn.Conv2d"' in text


def test_mkdocs_builds_strict(tmp_path):
    # the notebooks are executed by test_notebooks.py; here the site only renders them
    env = dict(os.environ, FOVEANET_DOCS_EXECUTE="false", NO_MKDOCS_2_WARNING="1")
    site = tmp_path / "site"
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(site)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    conv = (site / "api" / "nn" / "index.html").read_text(encoding="utf-8")
    assert "foveanet.nn.Conv2d" in conv and "padding_mode" in conv
    assert (site / "notebooks" / "04_backprop_by_hand" / "index.html").is_file()
    # the included results files and changelog reached their pages
    assert "Unreleased" in (site / "changelog" / "index.html").read_text(encoding="utf-8")
    # a formula written bare in a docstring (f*f*C, out[i][j]) becomes Markdown emphasis or a
    # link; deliberate emphasis is words, mkdocstrings marks arguments <em>required</em>
    mangled = [(page.parent.name, m) for page in (site / "api").glob("*/index.html")
               for m in re.findall(r"<em>(.*?)</em>", page.read_text(encoding="utf-8"), re.S)
               if m != "required" and not re.fullmatch(r"[A-Za-z][a-z]+( [a-z]+)*", m)]
    assert mangled == [], "wrap these formulas in double backticks: " + repr(mangled)
    # formula lines written one under the other (or under a text line) with no blank line
    # and no indent are one Markdown paragraph: the site runs them together on one line.
    # Flagged: two lines in a row that each open with ``lhs = `` (or ->, <-), or a
    # "backward:" label that is not the paragraph's first line
    equation = re.compile(r"[^\s=\[{]{1,24}([\[{][^\]}]*[\]}])? (=|<-|->|→) ")
    backward = re.compile(r"backward\b[^.]*[:=]")
    merged = []
    for page in (site / "api").glob("*/index.html"):
        for para in re.findall(r"<p>(.*?)</p>", page.read_text(encoding="utf-8"), re.S):
            text = html.unescape(re.sub(r"<[^>]+>", "", para))
            lines = [line.strip() for line in text.split("\n")]
            merged += [(page.parent.name, a, b) for a, b in zip(lines, lines[1:])
                       if backward.match(b) or (equation.match(a) and equation.match(b))]
    assert merged == [], ("indent these formulas 4 spaces deeper, with a blank line before and "
                          "after, so that they render as a block: " + repr(merged))


def test_readme_is_a_short_guide_whose_links_resolve():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(text.encode()) <= README_LIMIT, f"README is {len(text.encode())} bytes"
    assert text.index("make demo") < text.index("make test") < 400
    for link in re.findall(r"\]\(([^)#\s]+)\)", text):
        if "://" not in link:
            assert (ROOT / link).exists(), f"README links to {link}, which is not in the repo"


def test_no_history_narration_in_docs_and_code():
    # history lives in git; the only allowed uses are ONNX Runtime's InferenceSession and
    # pytest's fixture scope
    hits = []
    for path in [*ROOT.glob("*.md"), *(ROOT / "docs").rglob("*.md"),
                 *(ROOT / "benchmarks").rglob("*.*"), *(ROOT / "foveanet").rglob("*.py"),
                 *(ROOT / "tests").rglob("*.py")]:
        if path.suffix not in (".py", ".md") or path == Path(__file__):
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            low = line.lower()
            if "session" in low and "inferencesession" not in low and 'scope="session"' not in low \
                    and "session.run" not in low and "session = ort" not in low:
                hits.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert hits == []


def test_changelog_has_this_version():
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert f"## [{foveanet.__version__}] - " in text and "## [Unreleased]" in text


def test_wheel_carries_the_package(tmp_path):
    pytest.importorskip("build")
    proc = subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation",
                           "--outdir", str(tmp_path)], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    (wheel,) = tmp_path.glob("*.whl")
    assert wheel.name.startswith(f"foveanet-{foveanet.__version__}-py3-none-any")
    names = set(zipfile.ZipFile(wheel).namelist())
    package = {p.relative_to(ROOT).as_posix() for p in (ROOT / "foveanet").rglob("*.py")}
    assert package - names == set()
    # the explorer's page (package data) travels too
    assert {p.relative_to(ROOT).as_posix() for p in (ROOT / "foveanet/explore/static").iterdir()} - names == set()
    assert not any(n.startswith(("tests/", "benchmarks/")) for n in names)
    meta = zipfile.ZipFile(wheel).read(f"foveanet-{foveanet.__version__}.dist-info/METADATA").decode()
    assert "License-Expression: MIT" in meta and "Provides-Extra: docs" in meta
