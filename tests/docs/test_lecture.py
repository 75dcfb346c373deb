"""docs/lecture.md against a fresh build, and its key numbers against known values.

The rebuild renders the Markdown in memory (no pictures), ~10 s. The spot checks compare with
values worked out independently: published parameter counts, the course's hand-worked examples.
"""
import difflib
import json
import re
from pathlib import Path

import pytest

from foveanet.docs import build, facts_basics, figures

ROOT = Path(__file__).resolve().parents[2]
LECTURE = ROOT / "docs" / "lecture.md"


@pytest.fixture(scope="module")
def built():
    """A build now, in memory: {'md': the Markdown, 'rng_untouched': bool}. Needs what the
    committed build had: the Fashion-MNIST test set (the shift experiment) and torch (the
    backprop table's PyTorch column)."""
    pytest.importorskip("torch")
    import foveanet
    from foveanet.data import DatasetNotFoundError, FashionMNIST

    try:
        FashionMNIST(train=False)
    except DatasetNotFoundError as e:
        pytest.skip(f"Fashion-MNIST not available: {e}")
    foveanet.manual_seed(123)
    md, _ = build.render()
    after = foveanet.rand(4).numpy()
    foveanet.manual_seed(123)
    return {"md": md, "rng_untouched": bool((after == foveanet.rand(4).numpy()).all())}


@pytest.fixture(scope="module")
def fresh(built):
    return built["md"]


@pytest.fixture(scope="module")
def committed():
    return LECTURE.read_text(encoding="utf-8")


def test_build_leaves_the_global_rng_alone(built):
    assert built["rng_untouched"]


def test_committed_lecture_matches_a_fresh_build(fresh, committed):
    if fresh != committed:
        diff = "".join(list(difflib.unified_diff(committed.splitlines(True), fresh.splitlines(True),
                                                 "docs/lecture.md (committed)", "fresh build", n=1))[:60])
        pytest.fail("docs/lecture.md is stale: the code computes something else now. Run `make docs` "
                    f"(python -m foveanet.docs.build) and commit the result.\n{diff}")


@pytest.mark.parametrize("expected", [
    # counts published with the models (torchvision / the papers) and by the course
    "**61,706 parameters**", "**61,100,840**", "**138,357,544**", "= 60,965,224",
    "| ResNet-18 | `models.get_model(\"resnet18\")` | 18 | 11,689,512 |",
    "| ResNet-50 | `models.get_model(\"resnet50\")` | 50 | 25,557,032 |",
    "| DenseNet-121 | `models.get_model(\"densenet121\")` | 121 | 7,978,856 |",
    "| GoogLeNet (Inception v1) | `models.get_model(\"googlenet\")` | 58 | 6,624,904 |",
    "| C1 | Conv2d | 156 |", "| C3 | SparseConv | 1,516 |", "| F6 | Linear | 10,164 |",
    # 480,000^2 and 480,000 * 1,000, with and without biases
    "480,000^2 = **230,400,000,000 weights**", "230,400,480,000 parameters",
    "needs 480,000,000 weights", "480,001,000\nwith biases",
    # 3072 * 4704 FC weights against (5*5*3+1)*6 and the course's (5*5*1+1)*6
    "| 14,450,688 weights", "`(5*5*3+1)*6 = 456`", "**156**",
    # the hand-worked examples
    "Every row reads `0, 30, 30, 0`", "rows become `0, -30, -30, 0`", "`[[4, 5], [3, 4]]`",
    "`[[3.75, 1.25], [4, 2]]`", "(3*3*3+1)*10 = 280", "**1,960 features**", "39 -> 37 -> 17 -> 7",
    "p = 1 and the 6x6 image stays\n6x6", "stride 2 gives 3x3",
    "**196x196**", "**212x212**", "6, 16, 44, 100, 212 pixels",
    "costs 120,422,400 multiply-adds", "= 12,443,648",
])
def test_key_numbers(committed, expected):
    assert expected in committed


def test_stride_example_by_hand(committed):
    # the course's 7x7 image and 3x3 filter: top-left window worked out here
    img = [[2, 3, 7], [6, 6, 9], [3, 4, 8]]
    k = [[3, 4, 4], [1, 0, 2], [-1, 0, 3]]
    first = sum(img[i][j] * k[i][j] for i in range(3) for j in range(3))
    assert f"= {first}.\n" in committed
    assert re.search(rf"```\n\s*{first} 100\s+88\n", committed)


def test_baseline_numbers_are_the_recorded_measurement(committed):
    assert "| raw pixels, scaled to [0, 1] | 784 | 84.0% |" in committed
    assert "| HOG (histograms of oriented gradients) | 1,296 | 88.9% |" in committed


def test_backprop_checks_found_no_difference(committed):
    assert "Result: every difference is exactly 0." in committed
    assert "conv passes, max pooling\npasses, average pooling passes" in committed
    rows = [line for line in committed.splitlines() if line.startswith(("| dX", "| dW", "| db"))]
    assert len(rows) == 6
    for line in rows:
        assert line.rstrip(" |").split(" | ")[-3:] == ["0", "0", "0"], line


def test_every_picture_exists_and_is_small(committed):
    links = re.findall(r"\]\((lecture_images/[^)]+\.png)\)", committed)
    assert len(links) == len(figures.plan()) == 7
    files = {p.name for p in (LECTURE.parent / figures.IMAGES).glob("*.png")}
    assert {Path(link).name for link in links} == files
    assert sum((LECTURE.parent / link).stat().st_size for link in links) < 3_000_000


def test_untrained_pictures_are_labelled(committed):
    assert "First-layer filters of an untrained LeNet-5" in committed


def test_fill_rejects_missing_and_unused_values():
    assert build.fill("a ${x} b", {"x": "1"}) == "a 1 b"
    with pytest.raises(KeyError, match="no value"):
        build.fill("${x} ${y}", {"x": "1"})
    with pytest.raises(KeyError, match="no section shows"):
        build.fill("${x}", {"x": "1", "y": "2"})


def test_check_mode(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(build, "render", lambda run=None: ("# lecture\n", []))
    out = tmp_path / "lecture.md"
    assert build.main(["--out", str(out), "--no-images"]) == 0
    assert out.read_text() == "# lecture\n"
    assert build.main(["--check", "--out", str(out)]) == 0
    out.write_text("# edited by hand\n")
    assert build.main(["--check", "--out", str(out)]) == 1
    assert "STALE" in capsys.readouterr().out


def test_a_run_directory_puts_its_accuracy_in(tmp_path):
    (tmp_path / "metrics.json").write_text(json.dumps({"test_accuracy": 0.91234, "epochs": 3}))
    (tmp_path / "config.json").write_text(json.dumps({"model": "lenet5"}))
    text = facts_basics.features(tmp_path)["cnn_result"]
    assert "(lenet5, 3 epochs)" in text and "**91.2%** test accuracy" in text
    (tmp_path / "metrics.json").write_text(json.dumps({"test_accuracy": 0.5, "epochs": 1}))
    assert "(lenet5, 1 epoch)" in facts_basics.features(tmp_path)["cnn_result"]
    assert "without a trained run" in facts_basics.features(None)["cnn_result"]


def test_shapes_only_counts_like_a_real_build_and_restores_init():
    from foveanet import models
    from foveanet.docs._util import count, shapes_only
    from foveanet.nn import init

    before = init.kaiming_uniform_
    with shapes_only():
        cheap = count(models.resnet18())
    assert init.kaiming_uniform_ is before
    assert cheap == count(models.resnet18()) == 11_689_512
