"""`foveanet text` end to end on a small slice of debtags, and the messages for bad input."""
import json
from collections import Counter

import numpy as np
import pytest

from foveanet.cli.main import main
from foveanet.data.text import is_test, read_documents, single_label_task, split_documents

from tests.shared_data import DEBTAGS  # noqa: E402
# every 20th document: a slice with debtags' label mix (the first 1,500 are one alphabet range)
# (no word2vec pass: XML-CNN's default one has tests of its own, and would add ~10 s to every run)
TINY = ["--epochs", "1", "--batch-size", "16", "--lr", "1e-2", "--max-len", "40", "--embed-dim", "32",
        "--min-count", "1", "--word2vec-epochs", "0", "--ensemble", "1"]


@pytest.fixture(scope="module")
def slice_file(tmp_path_factory):
    docs = read_documents(DEBTAGS)[::20]
    path = tmp_path_factory.mktemp("data") / "slice.jsonl"
    path.write_text("".join(json.dumps({"id": d.id, "text": d.text, "labels": list(d.labels)}) + "\n"
                            for d in docs))
    return path


@pytest.fixture(scope="module")
def xml_run(slice_file, tmp_path_factory):
    import contextlib
    import io

    out = tmp_path_factory.mktemp("runs") / "xml"
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = main(["text", "train", "--model", "xml-cnn", "--data", str(slice_file), "--out", str(out),
                   "--pool-chunks", "2", *TINY, "--epochs", "6"])
    assert rc == 0, buf.getvalue()
    return out, buf.getvalue()


def test_tiny_xmlcnn_beats_label_prior(xml_run, slice_file):
    out, text = xml_run
    train, test = split_documents(read_documents(slice_file))
    counts = Counter(l for d in train for l in d.labels)
    top = min(counts, key=lambda l: (-counts[l], l))
    prior_p1 = np.mean([top in d.labels for d in test])
    m = json.loads((out / "metrics.json").read_text())
    assert m["n_docs"] == len(test) == 319
    assert m["p@1"] > prior_p1 + 0.1, (m["p@1"], prior_p1)
    for k in ("p@1", "p@3", "p@5", "ndcg@3", "ndcg@5", "psp@1", "psp@2", "psp@3", "psp@4", "psp@5"):
        assert 0 <= m[k] <= 1, k
    # six epochs: the default softmax loss + weight average is still climbing steeply after four at
    # this size, where the BLAS kernel and thread count alone moved seed 0 from 0.55 to 0.42 (a CI
    # failure); after six, seeds 0-3 on both kernels and 1-2 threads land at 0.54-0.67.
    # The kept epoch is the best on validation
    val = [r["val"]["p@1"] for r in m["history"]]
    assert len(m["history"]) == 6 and m["selected_by"] == "validation p@1"
    assert m["best_epoch"] == 1 + int(np.argmax(val)) and m["p@1"] == m["history"][m["best_epoch"] - 1]["p@1"]
    assert m["data"]["n_val"] == round(0.1 * len(train)) and m["data"]["n_train"] == len(train) - m["data"]["n_val"]
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["model"] == "xml-cnn" and cfg["max_len"] == 40 and cfg["family"] == "text"
    for name in ("model.safetensors", "vocab.json", "labels.json"):
        assert (out / name).exists()
    seen = set(json.loads((out / "labels.json").read_text())["itos"])   # fitted without the validation part
    unseen = sum(1 for d in test for l in d.labels if l not in seen)
    assert ("never seen in training" in text) == (unseen > 0)
    if unseen:
        assert f"{unseen:,} test label occurrences" in text


def test_evaluate_cli_reproduces_metrics(xml_run, capsys):
    out, _ = xml_run
    assert main(["text", "evaluate", str(out)]) == 0
    lines = capsys.readouterr().out
    m = json.loads((out / "metrics.json").read_text())
    for k in ("p@1", "p@3", "p@5", "ndcg@5", "psp@5"):
        assert f"{k:9s} {m[k]:.4f}" in lines


def test_predict_cli_prints_top_labels(xml_run, capsys):
    out, _ = xml_run
    labels = json.loads((out / "labels.json").read_text())["itos"]
    assert main(["text", "predict", str(out), "shared library for image processing, development files",
                 "--topk", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4
    probs = [float(line.split()[0]) for line in lines[1:]]
    assert probs == sorted(probs, reverse=True) and all(0 < p < 1 for p in probs)
    assert all(line.split()[1] in labels for line in lines[1:])


def test_single_label_textcnn(slice_file, tmp_path, capsys):
    out = tmp_path / "kim"
    assert main(["text", "train", "--model", "textcnn", "--task", "single", "--data", str(slice_file),
                 "--out", str(out), *TINY]) == 0
    m = json.loads((out / "metrics.json").read_text())
    tr, te = split_documents(read_documents(slice_file))
    _, tr_lab, _, te_lab = single_label_task(tr, te)
    assert m["n_docs"] == sum(l in set(tr_lab) for l in te_lab)
    assert 0 < m["accuracy"] <= 1 and 0 <= m["macro_f1"] <= 1
    capsys.readouterr()
    assert main(["text", "evaluate", str(out)]) == 0
    assert f"accuracy  {m['accuracy']:.4f}" in capsys.readouterr().out


def _err(argv, capsys):
    try:
        rc = main(argv)
    except SystemExit as e:  # argparse's own range checks exit with 2
        rc = e.code
    return rc, capsys.readouterr().err


def test_bad_inputs_say_what_is_wrong(tmp_path, capsys):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    rc, err = _err(["text", "train", "--data", str(empty), "--out", str(tmp_path / "r")], capsys)
    assert rc == 2 and "empty.jsonl is empty" in err

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "a b c", "labels": ["x"]}\n{"text": "d e f", "labels": ["y"]}\n{"text": oops}\n')
    rc, err = _err(["text", "train", "--data", str(bad), "--out", str(tmp_path / "r")], capsys)
    assert rc == 2 and "bad.jsonl:3: malformed JSON" in err

    blank = tmp_path / "blank.jsonl"
    blank.write_text('{"text": "  ", "labels": ["x"]}\n{"text": "", "labels": ["y"]}\n{"text": "z", "labels": []}\n')
    rc, err = _err(["text", "train", "--data", str(blank), "--out", str(tmp_path / "r")], capsys)
    assert rc == 2 and "none of the 3 records can be used (2 have empty text, 1 have no labels)" in err

    # two usable documents, both on the training side of the hash split, and one without labels
    ids = [i for i in (f"pkg{n}" for n in range(50)) if not is_test(i)][:2]
    few = tmp_path / "few.jsonl"
    few.write_text("".join(json.dumps({"id": i, "text": "some words here", "labels": ["a"]}) + "\n" for i in ids)
                   + json.dumps({"id": "nolabel", "text": "words", "labels": []}) + "\n")
    rc = main(["text", "train", "--data", str(few), "--out", str(tmp_path / "r")])
    cap = capsys.readouterr()
    assert rc == 2 and "skipped 0 with empty text and 1 without labels" in cap.out
    assert "left 2 training and 0 test documents" in cap.err

    rc, err = _err(["text", "train", "--data", str(tmp_path / "missing.jsonl"), "--out", "r"], capsys)
    assert rc == 2 and "missing.jsonl: no such file" in err
    rc, err = _err(["text", "train", "--model", "xml-cnn", "--task", "single", "--data", str(few),
                    "--out", "r"], capsys)
    assert rc == 2 and "use --model textcnn" in err
    rc, err = _err(["text", "train", "--data", str(few), "--out", "r", "--max-len", "0"], capsys)
    assert rc == 2 and "argument --max-len: expected an integer >= 1, got 0" in err
    rc, err = _err(["text", "train", "--data", str(few), "--out", "r", "--ensemble", "0"], capsys)
    assert rc == 2 and "argument --ensemble: expected an integer >= 1, got 0" in err


def test_predict_and_evaluate_refuse_non_runs(tmp_path, capsys):
    rc, err = _err(["text", "predict", str(tmp_path), "some text"], capsys)
    assert rc == 2 and "not a finished text run (missing config.json" in err
    rc, err = _err(["text", "evaluate", str(tmp_path)], capsys)
    assert rc == 2 and "not a finished text run" in err


def test_predict_refuses_empty_text(xml_run, capsys):
    rc, err = _err(["text", "predict", str(xml_run[0]), "fine", "   "], capsys)
    assert rc == 2 and "text 2 of 2 is empty" in err


def test_help_has_examples(capsys):
    with pytest.raises(SystemExit):
        main(["text", "train", "--help"])
    out = capsys.readouterr().out
    assert "foveanet text train --model xml-cnn" in out and "--task single" in out


def test_baseline_cli_prints_runs_beside(xml_run, slice_file, capsys):
    out, _ = xml_run
    assert main(["text", "baseline", "--data", str(slice_file), "--runs", str(out)]) == 0
    text = capsys.readouterr().out
    m = json.loads((out / "metrics.json").read_text())
    rows = [line for line in text.splitlines() if line.startswith(("TF-IDF", "xml-cnn"))]
    assert len(rows) == 2 and rows[1].split()[2] == f"{m['p@1']:.4f}"
    rc, err = _err(["text", "baseline", "--data", str(slice_file), "--runs", str(out.parent / "nope")], capsys)
    assert rc == 2 and "no metrics.json" in err


def test_recipe_flags_reach_the_run_config(slice_file, tmp_path):
    out = tmp_path / "flags"
    assert main(["text", "train", "--model", "xml-cnn", "--data", str(slice_file), "--out", str(out),
                 "--limit", "300", *TINY, "--loss", "bce", "--ema", "0.9", "--val-split", "0.2",
                 "--embed-dropout", "0.1", "--ensemble", "2"]) == 0
    cfg = json.loads((out / "config.json").read_text())
    assert (cfg["loss"], cfg["ema"], cfg["val_split"], cfg["embed_dropout"]) == ("bce", 0.9, 0.2, 0.1)
    assert cfg["ensemble"] == 2 and (out / "model-2.safetensors").is_file()


def test_embed_then_train_from_the_vectors(slice_file, tmp_path, capsys):
    from foveanet.data.text import load_vectors, tokenize
    from foveanet.text.pipeline import document_parts
    from foveanet.text.word_vectors import RANDOM_EMBED_RMS

    vec = tmp_path / "vec.txt"
    assert main(["text", "embed", "--data", str(slice_file), "--out", str(vec), "--limit", "600",
                 "--dim", "32", "--epochs", "1", "--min-count", "1", "--seed", "2"]) == 0
    out = capsys.readouterr().out
    assert "wrote" in out and "s CPU" in out
    info = json.loads((tmp_path / "vec.txt.json").read_text())
    assert (info["seed"], info["val_split"], info["task"], info["sgns"]["dim"]) == (2, 0.1, "multi", 32)
    words, X = load_vectors(vec, format="word2vec")
    assert X.shape == (len(words), 32) and info["words"] == len(words)
    # learned from the run's training documents only: no word that occurs only in test or validation
    train, _, val, _, test, _, _ = document_parts(read_documents(slice_file)[:600], seed=2, val_fraction=0.1)
    seen = {t for d in train for t in tokenize(d.text)}
    assert set(words) == seen
    assert {t for d in test + val for t in tokenize(d.text)} - seen         # there were others to leak

    run = tmp_path / "xml-w2v"
    assert main(["text", "train", "--data", str(slice_file), "--out", str(run), "--limit", "600",
                 *TINY, "--pool-chunks", "2", "--seed", "2", "--vectors", str(vec)]) == 0
    out = capsys.readouterr().out
    assert "words found in" in out and "warning" not in out
    cfg = json.loads((run / "config.json").read_text())
    m = json.loads((run / "metrics.json").read_text())
    assert cfg["vectors"] == str(vec)
    v = m["data"]["vectors"]
    assert v["found"] == v["total"] == len(words) and v["sgns_cpu_seconds"] == info["cpu_seconds"]
    assert np.isclose(v["scale"], RANDOM_EMBED_RMS / np.sqrt(np.mean(X.astype(np.float64) ** 2)), rtol=1e-4)

    # another seed holds out other documents: said, not refused; a wrong dimension is refused
    assert main(["text", "train", "--data", str(slice_file), "--out", str(tmp_path / "r2"), "--limit", "600",
                 *TINY, "--pool-chunks", "2", "--vectors", str(vec)]) == 0
    assert "warning: the vectors were learned with another hold-out (seed 2 (this run: 0))" in capsys.readouterr().out
    rc, err = _err(["text", "train", "--data", str(slice_file), "--out", str(tmp_path / "r3"), "--limit", "300",
                    *TINY, "--embed-dim", "16", "--vectors", str(vec)], capsys)
    assert rc == 2 and "vectors of dimension 32, but the model's embedding has 16" in err
    rc, err = _err(["text", "train", "--data", str(slice_file), "--out", "r", "--vectors", str(tmp_path / "no.txt")],
                   capsys)
    assert rc == 2 and "no.txt: no such vector file" in err


def test_word2vec_epochs_flag(slice_file, tmp_path, capsys):
    run = tmp_path / "w2v"
    assert main(["text", "train", "--data", str(slice_file), "--out", str(run), "--limit", "300",
                 *TINY, "--pool-chunks", "2", "--word2vec-epochs", "1"]) == 0
    out = capsys.readouterr().out
    assert "sgns epoch 1/1" in out and "counted in this run's time" in out
    cfg = json.loads((run / "config.json").read_text())
    v = json.loads((run / "metrics.json").read_text())["data"]["vectors"]
    assert cfg["word2vec_epochs"] == 1 and v["sgns"]["epochs"] == 1 and v["found"] == v["total"]
    assert main(["text", "train", "--data", str(slice_file), "--out", str(tmp_path / "r0"), "--limit", "300",
                 *TINY, "--pool-chunks", "2", "--word2vec-epochs", "0"]) == 0
    assert "vectors" not in json.loads((tmp_path / "r0" / "metrics.json").read_text())["data"]
    capsys.readouterr()
    rc, err = _err(["text", "train", "--data", str(slice_file), "--out", "r", "--word2vec-epochs", "-1"], capsys)
    assert rc == 2 and "argument --word2vec-epochs: expected an integer >= 0, got -1" in err
    vec = tmp_path / "v.txt"
    vec.write_text("1 32\nword " + " ".join(["0.1"] * 32) + "\n")
    rc, err = _err(["text", "train", "--data", str(slice_file), "--out", "r", "--vectors", str(vec),
                    "--word2vec-epochs", "2"], capsys)
    assert rc == 2 and "not both" in err


def test_embed_refuses_a_directory_as_out(slice_file, tmp_path, capsys):
    rc, err = _err(["text", "embed", "--data", str(slice_file), "--out", str(tmp_path)], capsys)
    assert rc == 2 and "is a directory" in err and "vectors.txt" in err


def test_vectors_from_other_contents_under_the_same_name_are_flagged(slice_file, tmp_path, capsys):
    # the provenance check compares the data's bytes, not only its file name
    import hashlib

    data = tmp_path / "a" / "slice.jsonl"
    data.parent.mkdir()
    data.write_bytes(slice_file.read_bytes())
    vec = tmp_path / "vec.txt"
    assert main(["text", "embed", "--data", str(data), "--out", str(vec), "--limit", "300",
                 "--dim", "32", "--epochs", "1", "--min-count", "1"]) == 0
    info = json.loads((tmp_path / "vec.txt.json").read_text())
    assert info["data_sha256"] == hashlib.sha256(data.read_bytes()).hexdigest()
    capsys.readouterr()
    args = ["text", "train", "--data", str(data), "--out", str(tmp_path / "same"), "--limit", "300",
            *TINY, "--pool-chunks", "2", "--vectors", str(vec)]
    assert main(args) == 0
    assert "warning" not in capsys.readouterr().out
    other = tmp_path / "b" / "slice.jsonl"                     # same name, one document fewer
    other.parent.mkdir()
    other.write_text("".join(data.read_text().splitlines(keepends=True)[1:]))
    args[args.index(str(data))] = str(other)
    args[args.index(str(tmp_path / "same"))] = str(tmp_path / "other")
    assert main(args) == 0
    assert "whose contents differ" in capsys.readouterr().out
