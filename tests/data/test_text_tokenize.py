import numpy as np
import pytest

from foveanet.data.text import (
    Document, LabelVocab, Vocab, pick_single_label, single_label_task, tokenize,
)


@pytest.mark.parametrize("text, tokens", [
    ("C++ and GTK-3 on X11, v1.2.3 (x86_64); C# e.g.",
     ["c++", "and", "gtk-3", "on", "x11", "v1.2.3", "x86_64", "c#", "e.g"]),
    ("End. -flag --long a--b 'quoted'", ["end", "flag", "long", "a", "b", "quoted"]),
    ("GTK+ libapt-pkg Notepad++ 0 A.D.", ["gtk+", "libapt-pkg", "notepad++", "0", "a.d"]),
    ("Jean-François Moine", ["jean-françois", "moine"]),
    ("__init__ ... +++ ---", ["init"]),
    ("", []),
])
def test_tokenize_rule(text, tokens):
    assert tokenize(text) == tokens


def _vocab_data():
    # counts: the 4, a 3, b 2, c 2, d 1
    return [["the", "a", "b"], ["the", "a", "c"], ["the", "a", "b", "c", "d"], ["the"]]


def test_vocab_order_min_count_max_size():
    v = Vocab().fit(_vocab_data())
    # by count desc, ties alphabetical, after <pad>=0 <unk>=1
    assert v.itos == ["<pad>", "<unk>", "the", "a", "b", "c", "d"]
    assert v["the"] == 2 and v["zzz"] == 1 and len(v) == 7
    assert Vocab(min_count=2).fit(_vocab_data()).itos == ["<pad>", "<unk>", "the", "a", "b", "c"]
    # max_size counts the specials
    assert Vocab(max_size=4).fit(_vocab_data()).itos == ["<pad>", "<unk>", "the", "a"]
    v3 = Vocab(specials=("<pad>", "<unk>", "<cls>")).fit(_vocab_data())
    assert v3.itos[:4] == ["<pad>", "<unk>", "<cls>", "the"]


def test_vocab_errors():
    with pytest.raises(ValueError, match="min_count"):
        Vocab(min_count=0)
    with pytest.raises(ValueError, match="max_size"):
        Vocab(max_size=1)
    with pytest.raises(ValueError, match="specials"):
        Vocab(specials=("<unk>", "<pad>"))
    with pytest.raises(TypeError, match="tokenize"):
        Vocab().fit(["a string, not tokens"])
    with pytest.raises(ValueError, match="length"):
        Vocab().fit(_vocab_data()).encode(["a"], 0)


def test_encode_pad_truncate_unknown():
    v = Vocab(min_count=2).fit(_vocab_data())   # the=2 a=3 b=4 c=5
    out = v.encode(["a", "d", "the"], 5)
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out, [3, 1, 2, 0, 0])       # d is below min_count -> <unk>
    np.testing.assert_array_equal(v.encode(["c", "b", "a", "the", "x"], 3), [5, 4, 3])
    X, stats = v.encode_batch([["a"], ["x", "y", "b", "c"], []], 3, return_stats=True)
    np.testing.assert_array_equal(X, [[3, 0, 0], [1, 1, 4], [0, 0, 0]])
    assert stats == {"tokens": 4, "unknown": 2, "truncated_docs": 1}
    assert v.decode(X[1]) == ["<unk>", "<unk>", "b"]


def test_vocab_json_round_trip(tmp_path):
    v = Vocab(min_count=2).fit(_vocab_data())
    v.save(tmp_path / "v.json")
    w = Vocab.load(tmp_path / "v.json")
    assert w.itos == v.itos and w["c"] == v["c"] and w.min_count == 2


def test_label_vocab_multi_hot_and_unseen():
    lv = LabelVocab().fit([["b", "a"], ["c"], ["a"]])
    assert lv.itos == ["a", "b", "c"]
    with pytest.warns(UserWarning, match="3 occurrences of 2 labels not seen in training, in 2 doc"):
        Y = lv.multi_hot([["a", "z"], ["c", "b", "y", "z"], []])
    assert Y.dtype == np.float32
    np.testing.assert_array_equal(Y, [[1, 0, 0], [0, 1, 1], [0, 0, 0]])
    assert lv.last_unseen == {"labels": 3, "distinct": 2, "docs": 2}
    assert lv.indices([["c", "a"]]) == [[0, 2]]
    assert lv.decode(Y[1]) == ["b", "c"] and lv.decode([2, 0]) == ["c", "a"]
    assert LabelVocab(min_count=2).fit([["a"], ["a", "b"]]).itos == ["a"]


def test_label_vocab_single_index_mode():
    lv = LabelVocab().fit(["pos", "neg", "pos"])
    assert lv.itos == ["neg", "pos"]
    with pytest.warns(UserWarning, match="1 occurrences of 1 labels"):
        idx = lv.index(["pos", "neg", "meh"])
    assert idx.dtype == np.int64
    np.testing.assert_array_equal(idx, [1, 0, -100])
    with pytest.raises(TypeError, match="one label"):
        lv.index([["pos"]])


def test_single_label_rule():
    def doc(i, *labels):
        return Document(str(i), "t", labels)
    train = [doc(1, "role::program", "use::x"), doc(2, "role::program"),
             doc(3, "role::plugin", "role::program"), doc(4, "role::plugin"),
             doc(5, "role::data", "role::plugin"), doc(6, "use::x")]
    # train counts: program 3, plugin 3, data 1 -> ties go alphabetical (plugin < program)
    test = [doc(7, "role::program", "role::plugin"), doc(8, "use::y"),
            doc(9, "role::data", "role::new")]
    tr_docs, tr_lab, te_docs, te_lab = single_label_task(train, test)
    assert [d.id for d in tr_docs] == ["1", "2", "3", "4", "5"]
    assert tr_lab == ["role::program", "role::program", "role::plugin", "role::plugin",
                      "role::plugin"]
    assert [d.id for d in te_docs] == ["7", "9"]
    assert te_lab == ["role::plugin", "role::data"]   # unseen role::new has count 0
    assert pick_single_label(("use::x",), {}) is None
    assert pick_single_label(("implemented-in::c", "implemented-in::perl"),
                             {"implemented-in::perl": 5, "implemented-in::c": 4},
                             facet="implemented-in::") == "implemented-in::perl"
