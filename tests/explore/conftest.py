"""Run directories for the explorer's tests, made by the project's own commands: a LeNet-5
trained for one epoch on 600 Fashion-MNIST images (``foveanet train``), and an untrained
ResNet-18 saved with ``save_weights`` (its graph has residual adds; no data behind it)."""
import json
import subprocess
import sys

import pytest

from tests.shared_data import fashion_mnist_on_disk

needs_data = pytest.mark.skipif(not fashion_mnist_on_disk(), reason="Fashion-MNIST files not on this machine")
pytest.importorskip("starlette")


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
