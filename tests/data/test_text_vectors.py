import gzip

import numpy as np
import pytest

from foveanet.data.text import Vocab, embedding_matrix, load_vectors

W2V = "3 2\nthe 0.5 -1.0 \nCat 1.25 2.0\ndog 3.0 4.0\n"
GLOVE = "the 0.5 -1.0\ncat 1.25 2.0\ndog 3.0 4.0\nthe 9 9\n"


def test_word2vec_and_glove_formats(tmp_path):
    (tmp_path / "w.txt").write_text(W2V)
    (tmp_path / "g.txt").write_text(GLOVE)
    with gzip.open(tmp_path / "w.gz", "wt") as f:
        f.write(W2V)
    for name, fmt in [("w.txt", "auto"), ("w.txt", "word2vec"), ("w.gz", "auto")]:
        words, M = load_vectors(tmp_path / name, format=fmt)
        assert words == ["the", "Cat", "dog"]
        assert M.dtype == np.float32
        np.testing.assert_array_equal(M, [[0.5, -1.0], [1.25, 2.0], [3.0, 4.0]])
    words, M = load_vectors(tmp_path / "g.txt")
    assert words == ["the", "cat", "dog"]                 # first occurrence of "the" wins
    np.testing.assert_array_equal(M[0], [0.5, -1.0])
    words, M = load_vectors(tmp_path / "g.txt", format="glove", vocab={"dog", "emu"})
    assert words == ["dog"] and M.shape == (1, 2)


def test_word_with_space_in_glove(tmp_path):
    (tmp_path / "g.txt").write_text("c 3 4\nnew york 5 6\n")
    words, M = load_vectors(tmp_path / "g.txt")
    assert words == ["c", "new york"]
    np.testing.assert_array_equal(M[1], [5, 6])


@pytest.mark.parametrize("text, fmt, match", [
    ("3 2\nthe 0.5 -1.0\ncat 1.25\ndog 3 4\n", "auto", r"g\.txt:3: expected a word and 2 values, got 1"),
    ("the 0.5 -1.0\ncat 1.25 2.0 7.0\n", "glove", r"g\.txt:2: expected a word and 2 values, got 3"),
    ("the 0.5 -1.0\ncat 1.25 x\n", "glove", r"g\.txt:2: non-numeric"),
    ("5 2\nthe 0.5 -1.0\n", "auto", r"g\.txt:1: header declares 5 vectors, the file has 1"),
    ("the 0.5 -1.0\n", "word2vec", r"g\.txt:1: expected a word2vec header"),
    ("\n", "auto", "no vectors"),
])
def test_vector_file_errors_name_the_line(tmp_path, text, fmt, match):
    (tmp_path / "g.txt").write_text(text)
    with pytest.raises(ValueError, match=match):
        load_vectors(tmp_path / "g.txt", format=fmt)


def test_embedding_matrix_copies_found_words_and_seeds_the_rest():
    vocab = Vocab().fit([["the", "the", "cat", "zebra"]])   # <pad> <unk> the cat zebra
    words = ["the", "Cat", "dog"]
    vecs = np.array([[0.5, -1.0], [1.25, 2.0], [3.0, 4.0]], dtype=np.float32)
    M, cov = embedding_matrix(vocab, words, vecs, seed=3)
    assert M.shape == (5, 2) and M.dtype == np.float32
    np.testing.assert_array_equal(M[0], [0, 0])
    np.testing.assert_array_equal(M[2], [0.5, -1.0])
    np.testing.assert_array_equal(M[3], [1.25, 2.0])         # via the lower-case fallback
    expect = (np.random.default_rng(3).standard_normal((5, 2)) * 0.25).astype(np.float32)
    np.testing.assert_array_equal(M[[1, 4]], expect[[1, 4]])
    assert cov == {"found": 2, "total": 3, "rate": 2 / 3}
    M2, cov2 = embedding_matrix(vocab, words, vecs, seed=3, lowercase_fallback=False)
    assert cov2["found"] == 1
    with pytest.raises(ValueError, match="shape"):
        embedding_matrix(vocab, words, vecs[:2])
