import gzip
import json

from foveanet.cli.main import main

PACKAGES = """Package: foo
Version: 1.0
Description: a foo tool
Description-md5: 0123456789abcdef0123456789abcdef
Tag: role::program, implemented-in::c,
 interface::commandline

Package: untagged
Description: no tags here
Description-md5: fedcba9876543210fedcba9876543210
"""
TRANSLATION = """Package: foo
Description-md5: 0123456789abcdef0123456789abcdef
Description-en: a foo tool
 Foo turns bars into foos.
 .
 It is fast.
"""


def test_debtags_command_builds_jsonl_from_apt_lists(tmp_path, capsys):
    lists = tmp_path / "lists"
    lists.mkdir()
    (lists / "deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages").write_text(PACKAGES)
    (lists / "deb.debian.org_debian_dists_bookworm_main_i18n_Translation-en").write_text(TRANSLATION)
    out = tmp_path / "out.jsonl.gz"
    assert main(["data", "debtags", "--lists", str(lists), "--out", str(out)]) == 0
    rows = [json.loads(line) for line in gzip.open(out, "rt")]
    assert [r["id"] for r in rows] == ["foo"]
    assert sorted(rows[0]["labels"]) == ["implemented-in::c", "interface::commandline", "role::program"]
    assert "Foo turns bars into foos." in rows[0]["text"]
    assert "wrote 1 packages" in capsys.readouterr().out


def test_debtags_command_missing_lists_dir_is_a_user_error(tmp_path, capsys):
    assert main(["data", "debtags", "--lists", str(tmp_path / "nope"), "--out", str(tmp_path / "x.jsonl")]) == 2
    assert "is not a directory of apt lists" in capsys.readouterr().err
