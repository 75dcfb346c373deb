import gzip
import json
import lzma

import pytest

from foveanet.data.text import build_debtags, read_documents
from foveanet.data.text.debtags import description_text, iter_deb822, main, parse_tags

PACKAGES = """\
Package: alpha
Version: 1.0
Description: first tool
Description-md5: aaaa
Tag: admin::configuring, implemented-in::c,
 interface::commandline, role::program
Section: admin

Package: beta
Description: a library
 Long text kept in the Packages file itself.
 .
 Second paragraph.
Tag: role::shared-lib
Description-md5: bbbb

Package: gamma
Description: untagged package
Description-md5: cccc

Package: delta
Description: stale md5
Description-md5: dddd
Tag: role::{devel-lib,program}, suite::debian
"""

PACKAGES_I386 = """\
Package: alpha
Description: first tool (other arch)
Description-md5: aaaa
Tag: role::data
"""

TRANSLATION = """\
Package: alpha
Description-md5: aaaa
Description-en: first tool
 Alpha does  things: it configures
 .
 the system.
   * verbatim item

Package: delta
Description-md5: ffff
Description-en: other version
 Not this one.
"""


def _lists(tmp_path):
    d = tmp_path / "lists"
    d.mkdir()
    (d / "deb.example_debian_dists_x_main_binary-amd64_Packages").write_text(PACKAGES)
    with lzma.open(d / "deb.example_debian_dists_x_main_binary-i386_Packages.xz", "wt") as f:
        f.write(PACKAGES_I386)
    with gzip.open(d / "deb.example_debian_dists_x_main_i18n_Translation-en.gz", "wt") as f:
        f.write(TRANSLATION)
    (d / "partial").mkdir()
    (d / "lock").write_text("")
    return d


def test_build_debtags_from_fake_lists(tmp_path):
    counts = build_debtags(_lists(tmp_path), tmp_path / "out.jsonl.gz")
    rows = [json.loads(l) for l in gzip.open(tmp_path / "out.jsonl.gz", "rt", encoding="utf-8")]
    assert rows == [
        {"id": "alpha", "text": "first tool Alpha does  things: it configures the system. "
                                "* verbatim item",
         "labels": ["admin::configuring", "implemented-in::c", "interface::commandline",
                    "role::program"]},
        {"id": "beta", "text": "a library Long text kept in the Packages file itself. "
                               "Second paragraph.", "labels": ["role::shared-lib"]},
        # translation md5 does not match: the Packages description is used
        {"id": "delta", "text": "stale md5",
         "labels": ["role::devel-lib", "role::program", "suite::debian"]},
    ]
    assert counts == {"packages_files": 2, "translation_files": 1, "packages": 4, "tagged": 3,
                      "written": 3, "long_description": 2, "short_only": 1, "duplicates": 1,
                      "no_text": 0}
    # the output reads back through the ordinary reader
    assert [d.id for d in read_documents(tmp_path / "out.jsonl.gz")] == ["alpha", "beta", "delta"]


def test_plain_output_and_main(tmp_path, capsys):
    lists = _lists(tmp_path)
    assert main(str(tmp_path / "o.jsonl"), lists_dir=str(lists)) == 0
    assert "wrote 3 packages" in capsys.readouterr().out
    assert (tmp_path / "o.jsonl").read_text().count("\n") == 3


def test_parse_tags_and_description():
    assert parse_tags("b::x, a::y,\n c::z,, ") == ["a::y", "b::x", "c::z"]
    assert parse_tags("role::{program,plugin}, x::y") == ["role::plugin", "role::program", "x::y"]
    assert parse_tags("") == []
    assert description_text("short\n line one\n .\n line two") == "short line one line two"


def test_deb822_errors(tmp_path):
    p = tmp_path / "x_Packages"
    p.write_text("Package: a\nnot a field line\n")
    with pytest.raises(ValueError, match=r"x_Packages:2: expected 'Field: value'"):
        list(iter_deb822(p))
    p.write_text(" continuation first\n")
    with pytest.raises(ValueError, match=r"x_Packages:1: continuation"):
        list(iter_deb822(p))
    with pytest.raises(FileNotFoundError, match="no \\*_Packages"):
        build_debtags(tmp_path / "nowhere", tmp_path / "o.jsonl")
