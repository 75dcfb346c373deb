"""Run directories for the explorer's tests, made by the project's own commands: a LeNet-5
trained for one epoch on 600 Fashion-MNIST images (``foveanet train``), and an untrained
ResNet-18 saved with ``save_weights`` (its graph has residual adds; no data behind it)."""
import json
import subprocess
import sys
import warnings

import pytest

from tests.shared_data import fashion_mnist_on_disk

needs_data = pytest.mark.skipif(not fashion_mnist_on_disk(), reason="Fashion-MNIST files not on this machine")
pytest.importorskip("starlette")
with warnings.catch_warnings():
    # Starlette 1.x suggests httpx2 for its test client; httpx is what it runs on today
    warnings.simplefilter("ignore")
    import starlette.testclient  # noqa: F401


@pytest.fixture(scope="package")
def lenet_run(tmp_path_factory):
    if not fashion_mnist_on_disk():
        pytest.skip("Fashion-MNIST files not on this machine")
    out = tmp_path_factory.mktemp("explore") / "lenet"
    subprocess.run([sys.executable, "-m", "foveanet", "train", "--limit", "600", "--test-limit", "200",
                    "--epochs", "1", "--out", str(out)], check=True, capture_output=True)
    return out


@pytest.fixture(scope="package")
def resnet_run(tmp_path_factory):
    from foveanet.train import build
    from foveanet.train.checkpoint import save_weights, write_json

    out = tmp_path_factory.mktemp("explore") / "resnet"
    out.mkdir()
    cfg = {"model": "resnet18", "dataset": "no-such-folder", "input_shape": [3, 32, 32],
           "classes": [f"c{i}" for i in range(10)], "mean": [0.5] * 3, "std": [0.25] * 3,
           "augment": "none"}
    write_json(out / "config.json", cfg)
    save_weights(build.model(json.loads((out / "config.json").read_text())).state_dict(), out / "best.safetensors")
    return out


@pytest.fixture(scope="package")
def client(lenet_run):
    from starlette.testclient import TestClient

    from foveanet.explore import create_app, open_run

    return TestClient(create_app(open_run(lenet_run)))


@pytest.fixture(scope="package")
def segment_run(tmp_path_factory):
    """An untrained, tiny U-Net run directory (as segmentation's own docstrings make one)."""
    from foveanet.segmentation import DEFAULTS
    from foveanet.segmentation.pipeline import build_model
    from foveanet.train.checkpoint import save_weights, write_json

    if not fashion_mnist_on_disk():
        pytest.skip("Fashion-MNIST files not on this machine")
    out = tmp_path_factory.mktemp("explore") / "unet"
    out.mkdir()
    cfg = {**DEFAULTS, "task": "segment", "base_width": 2, "depth": 1, "size": 16, "items": [1, 2],
           "test_scenes": 4, "tta": False}
    write_json(out / "config.json", cfg)
    save_weights(build_model(cfg).state_dict(), out / "best.safetensors")
    return out


@pytest.fixture(scope="package")
def text_run(tmp_path_factory):
    """A TextCNN trained for a few epochs on 60 two-label documents (``foveanet.text.train``)."""
    from foveanet.text import make_config, train

    root = tmp_path_factory.mktemp("explore")
    data = root / "docs.jsonl"
    lines = []
    for i in range(60):
        text = ("a fast text editor for source code" if i % 2 else "an arcade shooter game with many levels")
        lines.append(json.dumps({"id": f"d{i}", "text": text, "labels": ["editor" if i % 2 else "game"]}))
    data.write_text("\n".join(lines) + "\n")
    cfg = make_config("textcnn", data=str(data), embed_dim=8, num_filters=4, epochs=8,
                      lr=5e-2, val_split=0)
    train(cfg, out=root / "text", log=lambda line: None)
    return root / "text"
