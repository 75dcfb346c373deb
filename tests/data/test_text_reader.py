import gzip
import hashlib
import json
import os
from collections import Counter

import pytest

from foveanet.data.text import is_test, read_documents, split_documents

from tests.shared_data import DEBTAGS  # noqa: E402


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_jsonl_plain_and_gzip_same_documents(tmp_path):
    lines = [{"id": "a", "text": "Hello world", "labels": ["x::1", "y::2"]},
             {"id": "b", "text": "  spaced  ", "labels": ["x::1", "x::1", " "]},
             {"text": "no id here", "label": "z"}]
    body = "\n".join(json.dumps(d) for d in lines) + "\n\n"
    plain = _write(tmp_path / "d.jsonl", body)
    # gzip content under a misleading name: detection must use the magic bytes
    gz, gz2 = tmp_path / "d.jsonl.gz", tmp_path / "renamed.jsonl"
    for g in (gz, gz2):
        with gzip.open(g, "wt", encoding="utf-8") as f:
            f.write(body)
    for p in (plain, gz, gz2):
        docs = read_documents(p)
        assert [d.id for d in docs] == ["a", "b", "3"]
        assert docs[0].labels == ("x::1", "y::2")
        assert docs[1].text == "spaced" and docs[1].labels == ("x::1",)
        assert docs[2].labels == ("z",)
        assert docs.stats == {"read": 3, "kept": 3, "dropped_empty_text": 0, "dropped_no_labels": 0}


def test_csv_labels_column_and_single_label_and_tsv(tmp_path):
    p = _write(tmp_path / "d.csv", 'id,text,labels\n1,"a, quoted text",x|y\n2,plain,z\n')
    docs = read_documents(p)
    assert [(d.id, d.text, d.labels) for d in docs] == [("1", "a, quoted text", ("x", "y")),
                                                      ("2", "plain", ("z",))]
    p = _write(tmp_path / "s.csv", "text,label\nfoo bar,pos\nbaz,neg\n")
    docs = read_documents(p)
    assert [(d.id, d.labels) for d in docs] == [("1", ("pos",)), ("2", ("neg",))]
    p = _write(tmp_path / "t.tsv", "text\tlabels\nfoo\ta;b\n")
    assert read_documents(p, label_sep=";")[0].labels == ("a", "b")
    p = _write(tmp_path / "noext", "text,labels\nfoo,a\n")
    with pytest.raises(ValueError, match="format"):
        read_documents(p)
    assert read_documents(p, format="csv")[0].labels == ("a",)


def test_malformed_jsonl_names_file_and_line(tmp_path):
    p = _write(tmp_path / "bad.jsonl",
               '{"text": "ok", "labels": ["a"]}\n\n{"text": "broken", "labels": [}\n')
    with pytest.raises(ValueError, match=r"bad\.jsonl:3: malformed JSON"):
        read_documents(p)
    p = _write(tmp_path / "bad2.jsonl", '{"text": "ok", "labels": "a"}\n')
    with pytest.raises(ValueError, match=r"bad2\.jsonl:1: .*list of strings"):
        read_documents(p)
    p = _write(tmp_path / "bad3.jsonl", '{"text": "ok", "labels": ["a"]}\n[1, 2]\n')
    with pytest.raises(ValueError, match=r"bad3\.jsonl:2: expected a JSON object"):
        read_documents(p)


def test_malformed_csv_names_file_and_line(tmp_path):
    p = _write(tmp_path / "bad.csv", "text,labels\nfine,a\ntoo,many,fields\n")
    with pytest.raises(ValueError, match=r"bad\.csv:3: expected 2 fields"):
        read_documents(p)
    p = _write(tmp_path / "nohdr.csv", "words,tags\nx,y\n")
    with pytest.raises(ValueError, match=r"nohdr\.csv:1: .*no 'text' column"):
        read_documents(p)


@pytest.mark.parametrize("content", ["", "\n\n  \n", "text,labels\n"])
def test_empty_file_is_an_error(tmp_path, content):
    name = "e.csv" if content.startswith("text") else "e.jsonl"
    p = _write(tmp_path / name, content)
    with pytest.raises(ValueError, match="empty"):
        read_documents(p)


def test_dropped_documents_are_counted_and_warned(tmp_path):
    rows = [{"id": "1", "text": "", "labels": ["a"]},
            {"id": "2", "text": "   ", "labels": ["a"]},
            {"id": "3", "text": "kept", "labels": ["a"]},
            {"id": "4", "text": "no labels", "labels": []},
            {"id": "5", "text": "blank labels", "labels": ["", "  "]},
            {"id": "6", "text": "no labels key"}]
    p = _write(tmp_path / "d.jsonl", "\n".join(json.dumps(r) for r in rows))
    with pytest.warns(UserWarning, match="dropped 2 documents with empty text and 3 without labels"):
        docs = read_documents(p)
    assert [d.id for d in docs] == ["3"]
    assert docs.stats == {"read": 6, "kept": 1, "dropped_empty_text": 2, "dropped_no_labels": 3}


def test_split_rule_matches_sha256_definition():
    ids = ["0ad", "apt", "bash", "python3", "libc6", "x", "", "é"]
    for i in ids:
        assert is_test(i) == (int(hashlib.sha256(i.encode()).hexdigest(), 16) % 10 < 2)


@pytest.mark.skipif(not os.path.exists(DEBTAGS), reason="shared debtags data not present")
def test_debtags_split_counts():
    docs = read_documents(DEBTAGS)
    assert len(docs) == 30300 and docs.stats["kept"] == 30300
    train, test = split_documents(docs)
    assert (len(train), len(test)) == (24279, 6021)
    counts = Counter(l for d in docs for l in d.labels)
    # README says 597 labels / 467 with >= 10 documents; the file itself has 598 / 469
    assert len(counts) == 598
    assert sum(c >= 10 for c in counts.values()) == 469
    assert abs(sum(len(d.labels) for d in docs) / len(docs) - 3.70) < 0.005
