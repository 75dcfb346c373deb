import functools
import gzip
import hashlib
import http.server
import os
import threading
from pathlib import Path

import numpy as np
import pytest

from foveanet.data import MNIST, ChecksumError, DataLoader, DatasetNotFoundError, FashionMNIST, write_idx

DEBIAN = Path("/usr/share/datasets/fashion-mnist")
needs_debian = pytest.mark.skipif(not (DEBIAN / "t10k-labels-idx1-ubyte.gz").exists(),
                                  reason="apt-get install dataset-fashion-mnist")
FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No FOVEANET_DATA, an empty home (so an empty cache) and no system copy."""
    monkeypatch.delenv("FOVEANET_DATA", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setattr(FashionMNIST, "system_dirs", ())
    return tmp_path


def fake_copy(directory, n_train=12, n_test=5, seed=0, gz=True):
    """A small, valid copy of the 4 files; returns their (train, test) contents."""
    rng = np.random.default_rng(seed)
    out = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        x = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        y = rng.integers(0, 10, size=n).astype(np.uint8)
        suffix = ".gz" if gz else ""
        write_idx(Path(directory) / f"{prefix}-images-idx3-ubyte{suffix}", x)
        write_idx(Path(directory) / f"{prefix}-labels-idx1-ubyte{suffix}", y)
        out[prefix] = (x, y)
    return out


@needs_debian
def test_fashion_mnist_from_debian_copy(isolated, monkeypatch):
    monkeypatch.setattr(FashionMNIST, "system_dirs", (str(DEBIAN),))
    train, test = FashionMNIST(train=True, download=False), FashionMNIST(train=False, download=False)
    assert train.directory == DEBIAN
    assert train.data.shape == (60000, 28, 28) and train.data.dtype == np.uint8
    assert test.data.shape == (10000, 28, 28) and test.targets.dtype == np.int64
    # the dataset is balanced by construction: 6,000 / 1,000 images per class
    np.testing.assert_array_equal(np.bincount(train.targets), [6000] * 10)
    np.testing.assert_array_equal(np.bincount(test.targets), [1000] * 10)
    assert train.classes[0] == "T-shirt/top" and train.classes[9] == "Ankle boot" and len(train) == 60000
    x, y = test[0]
    assert x.shape == (1, 28, 28) and x.dtype == np.float32 and y == test.targets[0] == 9  # ankle boot
    np.testing.assert_allclose(x[0], test.data[0] / 255, atol=1e-7)
    xs, ys = test.arrays()
    assert xs.shape == (10000, 1, 28, 28) and xs.dtype == np.float32 and 0 <= xs.min() and xs.max() == 1
    np.testing.assert_array_equal(ys, test.targets)


@needs_debian
def test_checksum_table_against_debian_copy():
    # Debian re-compressed the .gz files, so their bytes differ from upstream's: the published
    # .gz MD5s cannot match, the decompressed content must match md5_raw
    for f in FILES:
        blob = (DEBIAN / f"{f}.gz").read_bytes()
        assert hashlib.md5(gzip.decompress(blob)).hexdigest() == FashionMNIST.md5_raw[f]
    assert FashionMNIST.verify_checksums(DEBIAN) == dict.fromkeys(FILES, True)


def test_verify_checksums_flags_other_files(tmp_path):
    fake_copy(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    got = FashionMNIST.verify_checksums(tmp_path)
    assert got["t10k-labels-idx1-ubyte"] is None and got["train-images-idx3-ubyte"] is False


def test_lookup_order(isolated, monkeypatch):
    tmp = isolated
    env, cache, root = tmp / "env", tmp / "home/.cache/foveanet/fashion-mnist", tmp / "root"
    want_env = fake_copy(env / "fashion-mnist", seed=1)
    want_cache = fake_copy(cache, seed=2, gz=False)  # uncompressed files are accepted too
    want_root = fake_copy(root, seed=3)
    monkeypatch.setenv("FOVEANET_DATA", str(env))

    ds = FashionMNIST(root=root, train=False, download=False)
    assert ds.directory == root
    np.testing.assert_array_equal(ds.data, want_root["t10k"][0])

    ds = FashionMNIST(train=True, download=False)
    assert ds.directory == env / "fashion-mnist"
    np.testing.assert_array_equal(ds.data, want_env["train"][0])
    np.testing.assert_array_equal(ds.targets, want_env["train"][1])

    monkeypatch.delenv("FOVEANET_DATA")
    ds = FashionMNIST(train=True, download=False)
    assert ds.directory == cache
    np.testing.assert_array_equal(ds.data, want_cache["train"][0])

    # a root without the files falls through to the next place
    ds = FashionMNIST(root=tmp / "nothing-here", train=True, download=False)
    assert ds.directory == cache
    # MNIST looks in its own directories only
    with pytest.raises(DatasetNotFoundError):
        MNIST(download=False)


def test_cache_beats_system_copy(isolated, monkeypatch):
    system = isolated / "system"
    fake_copy(system, seed=4)
    want = fake_copy(isolated / "home/.cache/foveanet/fashion-mnist", seed=5)
    monkeypatch.setattr(FashionMNIST, "system_dirs", (str(system),))
    np.testing.assert_array_equal(FashionMNIST(train=False).data, want["t10k"][0])
    (isolated / "home/.cache/foveanet/fashion-mnist/t10k-images-idx3-ubyte.gz").unlink()
    assert FashionMNIST(train=False).directory == system


class _Server:
    def __init__(self, directory):
        handler = functools.partial(_QuietHandler, directory=str(directory))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.requests = []

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def served(isolated):
    """A local HTTP server holding a fake copy, as the official mirror would."""
    remote = isolated / "remote"
    content = fake_copy(remote, n_train=20, n_test=7, seed=6)
    md5 = {f: hashlib.md5((remote / f"{f}.gz").read_bytes()).hexdigest() for f in FILES}
    server = _Server(remote)
    yield server, content, md5
    server.close()


def test_download_with_correct_checksums(served, isolated, monkeypatch):
    server, content, md5 = served
    monkeypatch.setattr(FashionMNIST, "mirrors", (server.url,))
    monkeypatch.setattr(FashionMNIST, "md5_gz", md5)
    ds = FashionMNIST(train=True)
    cache = isolated / "home/.cache/foveanet/fashion-mnist"
    assert ds.directory == cache
    assert sorted(p.name for p in cache.iterdir()) == sorted(f + ".gz" for f in FILES)  # no temp files left
    np.testing.assert_array_equal(ds.data, content["train"][0])
    np.testing.assert_array_equal(ds.targets, content["train"][1])
    # the test split came with the same download; later loads work offline
    monkeypatch.setattr(FashionMNIST, "mirrors", ("http://127.0.0.1:9/",))
    np.testing.assert_array_equal(FashionMNIST(train=False).data, content["t10k"][0])


def test_download_with_wrong_checksum_is_discarded(served, isolated, monkeypatch):
    server, content, md5 = served
    bad = dict(md5, **{"train-labels-idx1-ubyte": "0" * 32})
    monkeypatch.setattr(FashionMNIST, "mirrors", (server.url,))
    monkeypatch.setattr(FashionMNIST, "md5_gz", bad)
    with pytest.raises(ChecksumError, match=r"train-labels-idx1-ubyte\.gz: MD5 [0-9a-f]{32} does not match"):
        FashionMNIST(train=True)
    cache = isolated / "home/.cache/foveanet/fashion-mnist"
    names = sorted(p.name for p in cache.iterdir())
    assert names == ["train-images-idx3-ubyte.gz"]  # the first file verified; nothing partial kept


def test_offline_message_lists_searched_dirs_and_fixes(isolated, monkeypatch):
    monkeypatch.setenv("FOVEANET_DATA", str(isolated / "envdir"))
    monkeypatch.setattr(FashionMNIST, "system_dirs", ("/nonexistent/fashion-mnist",))
    # port 9 (discard) on localhost: nothing listens, the connection is refused at once
    monkeypatch.setattr(FashionMNIST, "mirrors", ("http://127.0.0.1:9/",))
    with pytest.raises(DatasetNotFoundError) as info:
        FashionMNIST(root=isolated / "myroot", train=False)
    msg = str(info.value)
    for d in (isolated / "myroot", isolated / "envdir/fashion-mnist",
              isolated / "home/.cache/foveanet/fashion-mnist", "/nonexistent/fashion-mnist"):
        assert f"  {d}\n" in msg
    assert "download failed" in msg and "apt-get install dataset-fashion-mnist" in msg
    assert "put the 4 files (train-images-idx3-ubyte.gz" in msg
    with pytest.raises(DatasetNotFoundError, match="download=False"):
        FashionMNIST(train=False, download=False)


def test_malformed_local_copy_is_reported(isolated):
    d = isolated / "bad"
    fake_copy(d)
    write_idx(d / "t10k-labels-idx1-ubyte.gz", np.array([1, 2, 3], np.uint8))
    with pytest.raises(ValueError, match=r"5 images but labels of shape \(3,\)"):
        FashionMNIST(root=d, train=False)


def test_loader_fast_path_over_dataset(isolated):
    fake_copy(isolated / "root", n_train=10)
    ds = FashionMNIST(root=isolated / "root")
    batches = list(DataLoader(ds, batch_size=4))
    assert [len(y) for _, y in batches] == [4, 4, 2]
    np.testing.assert_allclose(batches[1][0].data[:, 0], ds.data[4:8] / 255, atol=1e-7)
    assert os.environ.get("FOVEANET_DATA") is None
