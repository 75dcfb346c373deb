"""The LFW-style folder and pairs.txt reader on a tiny folder built here, the verification
metrics on hand-worked cases, and `foveanet faces` end to end with a few steps."""
import json

import numpy as np
import pytest
from PIL import Image

from foveanet.cli.main import main
from foveanet.faces import LFWFolder, equal_error_rate, pair_scores, rank1, read_pairs, roc_curve, tar_at_far
from foveanet.faces.image import read_photo
from foveanet.faces.lfw import PairsError
from tests.shared_data import fashion_mnist_on_disk

PEOPLE = ("Ann_Lee", "Bob_Stone", "Cy_Twain", "Di_Ma", "Ed_Noor")


def _face(rng, person: int, size=40):
    """A person's 'face': a fixed random pattern plus a little noise (so identities differ)."""
    base = np.random.default_rng(100 + person).random((size, size))
    return np.clip(base + 0.05 * rng.standard_normal((size, size)), 0, 1)


@pytest.fixture
def lfw(tmp_path, rng):
    for p, name in enumerate(PEOPLE):
        (tmp_path / name).mkdir()
        for k in range(1, 5):
            a = _face(rng, p)
            f = tmp_path / name / f"{name}_{k:04d}.jpg"
            if k == 1:       # 8-bit RGB
                Image.fromarray((np.stack([a] * 3, -1) * 255).astype(np.uint8)).save(f, format="PNG")
            elif k == 2:     # 16-bit grey
                Image.fromarray((a * 65535).astype(np.uint16)).save(f, format="PNG")
            else:            # 8-bit grey
                Image.fromarray((a * 255).astype(np.uint8)).save(f, format="PNG")
    (tmp_path / "pairs.txt").write_text("1\t4\nAnn_Lee\t1\t2\nBob_Stone\t3\t4\n"
                                        "Ann_Lee\t1\tBob_Stone\t2\nCy_Twain 1 Di_Ma 3\n")
    return tmp_path


def test_folder_reads_8_and_16_bit_grey_and_colour_alike(lfw):
    folder = LFWFolder(lfw, size=20)
    assert folder.identities == list(PEOPLE) and len(folder) == 20
    x, y = folder.load_all()
    assert x.shape == (20, 20, 20) and x.dtype == np.float32 and y.tolist() == sorted(list(range(5)) * 4)
    # the 16-bit and 8-bit files of one pattern read to the same values (8-bit rounding apart)
    rgb = read_photo(lfw / "Ann_Lee" / "Ann_Lee_0001.jpg")
    sixteen = read_photo(lfw / "Ann_Lee" / "Ann_Lee_0002.jpg")
    assert 0 <= sixteen.min() and sixteen.max() <= 1 and sixteen.max() > 0.9
    assert rgb.shape == sixteen.shape == (40, 40)


def test_pairs_both_formats_and_the_header(lfw):
    pairs = read_pairs(lfw / "pairs.txt")
    assert [(a.name, b.name, s) for a, b, s in pairs] == [
        ("Ann_Lee_0001.jpg", "Ann_Lee_0002.jpg", True), ("Bob_Stone_0003.jpg", "Bob_Stone_0004.jpg", True),
        ("Ann_Lee_0001.jpg", "Bob_Stone_0002.jpg", False), ("Cy_Twain_0001.jpg", "Di_Ma_0003.jpg", False)]


def test_pairs_naming_missing_images_and_bad_lines(lfw):
    (lfw / "bad.txt").write_text("Ann_Lee\t1\t9\nZed\t1\tAnn_Lee\t1\n")
    with pytest.raises(PairsError, match=r"2 image\(s\) named in the pairs are missing.*Ann_Lee_0009.jpg"):
        read_pairs(lfw / "bad.txt")
    (lfw / "bad2.txt").write_text("Ann_Lee\t1\nBob 1 2\n")
    with pytest.raises(PairsError, match="line 1: expected 'name n1 n2'"):
        read_pairs(lfw / "bad2.txt")


def test_roc_eer_tar_hand_worked():
    # scores of 3 same pairs (0.9, 0.7, 0.4) and 3 different (0.8, 0.3, 0.2)
    s = np.array([0.9, 0.8, 0.7, 0.4, 0.3, 0.2])
    same = np.array([1, 0, 1, 1, 0, 0], bool)
    far, tar, th = roc_curve(s, same)
    np.testing.assert_allclose(far, [0, 0, 1 / 3, 1 / 3, 1 / 3, 2 / 3, 1])
    np.testing.assert_allclose(tar, [0, 1 / 3, 1 / 3, 2 / 3, 1, 1, 1])
    assert tar_at_far(far, tar, th, 0.01) == (pytest.approx(1 / 3), 0.9)
    eer, t = equal_error_rate(far, tar, th)      # at >= 0.7: FAR 1/3, FRR 1/3
    assert eer == pytest.approx(1 / 3) and t == 0.7
    assert rank1(np.eye(3)[[0, 0, 1, 1, 2, 2]] + 0.01, np.array([0, 0, 1, 1, 2, 2]))[0] == 1.0
    sc, sm = pair_scores(np.array([[1., 0.], [0., 2.]]), np.array([3, 3]))
    assert sc.tolist() == [0.0] and sm.tolist() == [True]


def test_cli_detect_says_when_there_is_no_face(tmp_path, capsys):
    from foveanet.faces.detector import face_net
    from foveanet.train.checkpoint import save_weights

    model = face_net(16)              # untrained but fixed: its last bias makes every P(face) tiny
    model[-1].bias.data[:] = -50.0
    save_weights(model.state_dict(), tmp_path / "det.safetensors")
    Image.fromarray(np.full((64, 80), 30000, np.uint16)).save(tmp_path / "flat16.png")
    rc = main(["faces", "detect", str(tmp_path / "flat16.png"), "-o", str(tmp_path / "b.png"),
               "--model", str(tmp_path / "det.safetensors")])
    out = capsys.readouterr().out
    assert rc == 0 and "no face found" in out and (tmp_path / "b.png").is_file()
    rc = main(["faces", "detect", str(tmp_path / "nothing.png"), "--model", str(tmp_path / "det.safetensors")])
    assert rc == 2 and "no image file at" in capsys.readouterr().err


def test_cli_train_verify_evaluate_on_a_folder(lfw, tmp_path, capsys):
    run = tmp_path / "run"
    rc = main(["faces", "train-embedding", "--data", str(lfw), "--loss", "triplet", "--steps", "6",
               "--size", "16", "--width", "4", "--dim", "8", "--out", str(run), "--quiet"])
    assert rc == 0, capsys.readouterr().err
    m = json.loads((run / "metrics.json").read_text())
    cfg = json.loads((run / "config.json").read_text())
    # 5 people, 30% (2) held out: the test identities are never trained on
    assert m["test"]["identities"] == 2 and cfg["train_identities"] == 3
    assert 0 <= m["test"]["eer"] <= 1 and (run / "roc.png").is_file()
    capsys.readouterr()
    a, b = lfw / "Ann_Lee" / "Ann_Lee_0001.jpg", lfw / "Ann_Lee" / "Ann_Lee_0003.jpg"
    assert main(["faces", "verify", str(run), str(a), str(b)]) == 0
    assert "cosine similarity" in capsys.readouterr().out
    assert main(["faces", "evaluate", str(run), "--pairs", str(lfw / "pairs.txt")]) == 0
    assert "4 pairs: EER" in capsys.readouterr().out
    (lfw / "missing.txt").write_text("Ann_Lee\t1\t7\n")
    assert main(["faces", "evaluate", str(run), "--pairs", str(lfw / "missing.txt")]) == 2
    assert "missing" in capsys.readouterr().err
    assert main(["faces", "verify", str(lfw), str(a), str(b)]) == 2
    assert "not a finished" in capsys.readouterr().err


@pytest.mark.skipif(not fashion_mnist_on_disk(), reason="Fashion-MNIST is not on this machine")
@pytest.mark.parametrize("loss", ["arcface", "contrastive", "softmax", "semi-hard"])
def test_builtin_stand_in_keeps_test_identities_unseen(loss, tmp_path):
    from foveanet.faces import train_embedding
    from foveanet.faces.embedding import UNSEEN

    m = train_embedding(tmp_path / loss, loss=loss, steps=3, per_identity=20, test_images=60, width=4,
                        dim=8, quiet=True, pictures=False)
    with np.load(tmp_path / loss / "test_set.npz") as z:
        assert set(np.unique(z["y"])) <= set(UNSEEN)
    assert m["test"]["identities"] == 4 and np.isfinite(m["test"]["eer"])
