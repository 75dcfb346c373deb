"""The explorer's JSON API through Starlette's test client, checked against PyTorch and the
lecture's hand-worked examples."""
import asyncio
import base64
import io
import json

import numpy as np
import pytest
import torch

pytest.importorskip("starlette")


def arr(a):
    return np.frombuffer(base64.b64decode(a["b64"]), dtype="<f4").reshape(a["shape"])


def png(image: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG")
    return buf.getvalue()


def torch_lenet_layer(run_dir, x):
    """features.0 of the run's weights, in torch: conv 5x5, padding 2."""
    from foveanet.train.checkpoint import load_weights

    w = load_weights(run_dir / "best.safetensors")
    wt = torch.tensor(w["features.0.weight"].numpy())
    bt = torch.tensor(w["features.0.bias"].numpy())
    return torch.nn.functional.conv2d(torch.tensor(x), wt, bt, padding=2).numpy()[0], wt.numpy(), bt.numpy()


def test_model_graph_numbers(client):
    m = client.get("/api/model").json()
    by = {n["name"]: n for n in m["nodes"]}
    assert by["features.0"]["formula"] == "(5*5*1+1)*6 = 156"
    assert by["features.3"]["formula"] == "(5*5*6+1)*16 = 2416"
    assert by["features.0"]["output_shape"] == [1, 6, 28, 28]
    # 28x28x6 outputs, each a 5*5*1 dot product
    assert by["features.0"]["mult_adds"] == 28 * 28 * 6 * 25
    assert by["features.3"]["rf"] == 14                 # 5 -> pool 6 -> 6 + (5-1)*2
    assert m["total_params"] == sum(n["params"] for n in m["nodes"]) == 61706
    assert [(e["from"], e["to"]) for e in m["edges"]][:3] == [("input", 0), (0, 1), (1, 2)]
    assert not any(n["merge"] for n in m["nodes"])


def test_resnet_graph_has_residual_adds(resnet_run):
    from starlette.testclient import TestClient

    from foveanet.explore import create_app, open_run

    c = TestClient(create_app(open_run(resnet_run)))
    m = c.get("/api/model").json()
    merges = [n for n in m["nodes"] if n["merge"]]
    assert len(merges) == 8 and {n["merge"] for n in merges} == {"add"}   # 8 basic blocks
    assert all(n["type"] == "ReLU" for n in merges)                          # relu(out + identity)
    # torchvision's resnet18 has 11,689,512 parameters with 1000 classes; 10 classes: -(512+1)*990
    assert m["total_params"] == 11_689_512 - 513 * 990
    # no test images behind this run: a 404 that says so, not a 500
    r = c.get("/api/images")
    assert r.status_code == 404 and "cannot be read" in r.json()["error"]


def test_image_overview_probabilities_and_saliency(client, lenet_run):
    from foveanet.explore.runs import ClassifierRun

    ov = client.get("/api/images/test-3").json()
    p = [t["p"] for t in ov["topk"]]
    assert p == sorted(p, reverse=True) and 0 < sum(p) <= 1 + 1e-6
    run = ClassifierRun(lenet_run)
    img = arr(ov["image"])
    x = run.transform(img)
    logits = run.net(x).numpy()[0].astype(np.float64)
    e = np.exp(logits - logits.max())
    assert ov["topk"][0]["class"] == int(np.argmax(logits))
    assert ov["topk"][0]["p"] == pytest.approx(e.max() / e.sum(), rel=1e-5)
    # saliency = |d s_top / d x| (max over the 1 channel): torch's autograd on the same weights
    sal = arr(ov["saliency"])
    from foveanet.train.checkpoint import load_weights

    w = {k: torch.tensor(v.numpy()) for k, v in load_weights(lenet_run / "best.safetensors").items()}
    F = torch.nn.functional
    xt = torch.tensor(x, requires_grad=True)
    h = F.max_pool2d(F.relu(F.conv2d(xt, w["features.0.weight"], w["features.0.bias"], padding=2)), 2)
    h = F.max_pool2d(F.relu(F.conv2d(h, w["features.3.weight"], w["features.3.bias"])), 2).flatten(1)
    h = F.relu(F.linear(h, w["classifier.0.weight"], w["classifier.0.bias"]))
    h = F.relu(F.linear(h, w["classifier.2.weight"], w["classifier.2.bias"]))
    s = F.linear(h, w["classifier.4.weight"], w["classifier.4.bias"])
    s[0, int(np.argmax(logits))].backward()
    np.testing.assert_allclose(sal, xt.grad.abs().numpy()[0, 0], rtol=1e-4, atol=1e-6)
    cam = arr(ov["grad_cam"])
    assert ov["cam_layer"] == "features.3" and cam.shape == (28, 28) and cam.min() >= 0


def test_feature_maps_match_torch_conv(client, lenet_run):
    from foveanet.explore.runs import ClassifierRun

    ov = client.get("/api/images/test-0").json()
    r = client.get("/api/images/test-0/layers/features.0?start=2&count=3").json()
    maps = arr(r["maps"])
    assert r["shape"] == [6, 28, 28] and maps.shape == (3, 28, 28)
    x = ClassifierRun(lenet_run).transform(arr(ov["image"]))
    want, _, _ = torch_lenet_layer(lenet_run, x)
    np.testing.assert_allclose(maps, want[2:5], rtol=1e-4, atol=1e-5)
    flat = client.get("/api/images/test-0/layers/classifier.4").json()
    assert flat["shape"] == [10]


def test_pixel_dot_product(client, lenet_run):
    from foveanet.explore.runs import ClassifierRun

    ov = client.get("/api/images/test-0").json()
    d = client.get("/api/images/test-0/layers/features.0/pixel?c=4&y=0&x=9").json()
    x = ClassifierRun(lenet_run).transform(arr(ov["image"]))
    out, wt, bt = torch_lenet_layer(lenet_run, x)
    # the window by hand: rows -2..2 (two of them in the zero padding), columns 7..11
    padded = np.pad(x[0, 0], 2)
    win = padded[0:5, 9:14]
    np.testing.assert_allclose(np.array(d["window"][0]), win, atol=1e-6)
    np.testing.assert_allclose(np.array(d["filter"][0]), wt[4, 0], atol=1e-6)
    assert d["input_rows"] == [-2, -1, 0, 1, 2] and d["input_cols"] == [7, 8, 9, 10, 11]
    assert d["bias"] == pytest.approx(float(bt[4]))
    assert d["z"] == pytest.approx(float((win * wt[4, 0]).sum() + bt[4]), abs=1e-5)
    assert d["z"] == pytest.approx(float(out[4, 0, 9]), abs=1e-5) == pytest.approx(d["output"], abs=1e-5)
    assert d["activation"]["type"] == "ReLU" and d["activation"]["value"] == pytest.approx(max(d["z"], 0), abs=1e-6)
    assert d["receptive_field"] == {"top": -2, "left": 7, "bottom": 2, "right": 11}


def test_upload_converted_like_predict(client, lenet_run):
    from foveanet.train.image_input import read_for_model
    from foveanet.train.run import read_config

    img = np.full((60, 100, 3), 255, np.uint8)           # a dark bar on white, 100 wide
    img[20:40, 30:70] = (20, 40, 60)
    data = png(img)
    r = client.post("/api/images", content=data, headers={"content-type": "image/png"})
    assert r.status_code == 200
    ov = r.json()
    path = lenet_run.parent / "upload.png"
    path.write_bytes(data)
    _, want, notes = read_for_model(path, read_config(lenet_run))
    np.testing.assert_allclose(arr(ov["image"]), want, atol=1e-6)
    assert ov["notes"] == notes and any("inverted" in n for n in notes)
    # the same image as a multipart form gives the same id
    r2 = client.post("/api/images", files={"file": ("x.png", data, "image/png")})
    assert r2.json()["id"] == ov["id"]


@pytest.mark.parametrize("path, status, words", [
    ("/api/images/test-0/layers/nope", 404, "no layer named 'nope'"),
    ("/api/images/test-999999", 404, "test-0 .. test-199"),
    ("/api/images/up-unknown", 404, "upload it again"),
    ("/api/images/test-0/layers/features.2/pixel?y=0&x=0", 400, "not a 2-d convolution"),
    ("/api/images/test-0/layers/features.0/pixel?c=6&y=0&x=0", 400, "outside"),
    ("/api/images/test-0/layers/features.0/pixel?c=0&y=a&x=0", 400, "integer"),
    ("/api/playground?n=3&f=5", 400, "no output"),
    ("/api/playground?preset=nope", 400, "unknown preset"),
    ("/api/nothing", 404, "no such page"),
    ("/static/%2e%2e/app.py", 404, "no file"),
    ("/static/..%2fapp.py", 404, "no file"),
    ("/static/../../runs.py", 404, ""),
    ("/api/run/files/%2e%2e/%2e%2e/etc/passwd", 404, "no file"),
    ("/static/" + "a" * 300 + ".js", 404, "no file"),   # past the file system's name limit
    ("/api/run/files/" + "a/" * 3000 + "x.png", 404, "no file"),
    ("/api/run/files/best.safetensors", 404, "serves only"),
])
def test_errors_are_4xx_json(client, path, status, words):
    r = client.get(path)
    assert r.status_code == status, r.text
    assert words in r.json()["error"]


def test_bad_uploads(client):
    r = client.post("/api/images", content=b"not an image at all", headers={"content-type": "text/plain"})
    assert r.status_code == 415 and "PNG or JPEG" in r.json()["error"]
    big = b"\x89PNG\r\n\x1a\n" + bytes(11 * 1024 * 1024)
    r = client.post("/api/images", content=big, headers={"content-type": "image/png"})
    assert r.status_code == 413 and "10 MB" in r.json()["error"]
    broken = b"\x89PNG\r\n\x1a\n" + b"\0" * 100           # a PNG signature and nothing else
    r = client.post("/api/images", content=broken, headers={"content-type": "image/png"})
    assert r.status_code == 415 and "cannot read image" in r.json()["error"]
    assert client.post("/api/images", content=b"").status_code == 400


def test_missing_run_files(lenet_run, tmp_path):
    import shutil

    from starlette.testclient import TestClient

    from foveanet.errors import UserError
    from foveanet.explore import create_app, open_run

    run = tmp_path / "run"
    shutil.copytree(lenet_run, run)
    (run / "metrics.json").unlink()
    c = TestClient(create_app(open_run(run)))
    r = c.get("/api/training")
    assert r.status_code == 404 and "no metrics.json" in r.json()["error"]
    (run / "best.safetensors").unlink()
    with pytest.raises(UserError, match="best.safetensors not found"):
        open_run(run)
    with pytest.raises(UserError, match="no config.json"):
        open_run(tmp_path)


def test_playground_lecture_presets_and_torch(client):
    e = client.get("/api/playground?preset=edge").json()
    assert e["output_size"] == 4 and all(row == [0, 30, 30, 0] for row in e["output"][0])
    assert e["params"] == "(3*3*1+1)*1 = 10"
    p = client.get("/api/playground?preset=pool").json()
    assert p["output"][0] == [[4, 5], [3, 4]]
    r = client.get("/api/playground?n=7&f=3&p=1&s=2&d=2&cin=2&cout=3&seed=4").json()
    # floor((7 + 2 - 2*(3-1) - 1)/2) + 1 = 3
    assert r["output_size"] == 3 and r["formula"].endswith("= 3")
    x = torch.tensor(np.array(r["input"]))[None]          # already padded by 1
    w = torch.tensor(np.array(r["filters"]))
    want = torch.nn.functional.conv2d(x, w, stride=2, dilation=2).numpy()[0]
    np.testing.assert_allclose(np.array(r["output"]), want, atol=1e-9)
    assert r["params"] == "(3*3*2+1)*3 = 57"
    m = client.get("/api/playground?op=pool&n=5&f=2&p=1&s=2&seed=1").json()
    grid = np.array([[-np.inf if v is None else v for v in row] for row in m["input"][0]])
    assert np.isinf(grid[0]).all() and np.isfinite(grid[1:-1, 1:-1]).all()   # the padding: -inf
    want = torch.nn.functional.max_pool2d(torch.tensor(grid)[None, None], 2, 2).numpy()[0, 0]
    assert m["output_size"] == 3 and np.array(m["output"][0]).tolist() == want.tolist()


def test_training_page(client, lenet_run):
    t = client.get("/api/training").json()
    m = json.loads((lenet_run / "metrics.json").read_text())
    assert t["history"] == m["history"] and t["confusion"] == m["confusion"]
    c = client.get("/api/training/confused").json()
    cm = np.array(c["confusion"])
    # the best weights' predictions on the test split: metrics.json's matrix of the chosen epoch
    assert cm.sum() == 200 and c["accuracy"] == pytest.approx(np.trace(cm) / 200)
    np.testing.assert_array_equal(cm, np.array(m["confusion"]))
    top = c["pairs"][0]
    off = cm.copy()
    np.fill_diagonal(off, 0)
    assert top["count"] == off.max() and len(top["examples"]) == min(6, off.max())


def test_filters(client, lenet_run):
    from foveanet.train.checkpoint import load_weights
    from foveanet.vision import filters as V

    f = client.get("/api/filters").json()
    assert [l["name"] for l in f["layers"]] == ["features.0", "features.3"]
    w = load_weights(lenet_run / "best.safetensors")["features.3.weight"].numpy()
    np.testing.assert_array_equal(arr(f["layers"][1]["weights"]), w[:, :3])
    c = client.get("/api/filters/classic/test-0").json()
    sobel = next(q for q in c["filters"] if q["name"] == "sobel_x")
    np.testing.assert_allclose(arr(sobel["response"]), V.apply(arr(c["image"]), "sobel_x"), atol=1e-6)


def test_200_concurrent_requests(client):
    import httpx

    app = client.app
    paths = ["/api/run", "/api/model", "/api/images/test-1", "/api/images/test-1/layers/features.3",
             "/api/playground?n=9&f=3", "/static/app.js", "/"]

    async def go():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            return await asyncio.gather(*(c.get(paths[i % len(paths)]) for i in range(200)))
    codes = [r.status_code for r in asyncio.run(go())]
    assert codes == [200] * 200


def test_newest_run_and_cli_help(tmp_path, lenet_run):
    import os
    import shutil
    import subprocess
    import sys

    from foveanet.explore.server import newest_run

    assert newest_run(tmp_path / "runs") is None
    for name in ("old", "new"):
        shutil.copytree(lenet_run, tmp_path / "runs" / name)
    os.utime(tmp_path / "runs" / "old" / "config.json", (1, 1))
    assert newest_run(tmp_path / "runs").name == "new"
    out = subprocess.run([sys.executable, "-m", "foveanet", "explore", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "127.0.0.1" in out.stdout
    bad = subprocess.run([sys.executable, "-m", "foveanet", "explore", str(tmp_path / "nope")],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "no such run directory" in bad.stderr


@pytest.mark.slow
def test_demo_run_when_there_is_none(tmp_path):
    from tests.shared_data import fashion_mnist_on_disk

    if not fashion_mnist_on_disk():
        pytest.skip("Fashion-MNIST files not on this machine")
    from foveanet.explore.runs import ClassifierRun
    from foveanet.explore.server import demo_run, newest_run

    out = demo_run(tmp_path / "runs" / "explore-demo", log=lambda *a, **k: None)
    assert newest_run(tmp_path / "runs") == out
    run = ClassifierRun(out)
    assert run.cfg["limit"] == 2000 and run.cfg["epochs"] == 1 and len(run.test_set()[0]) == 1000


def test_training_page_shows_a_baseline_file(lenet_run, tmp_path):
    import shutil

    from starlette.testclient import TestClient

    from foveanet.explore import create_app, open_run

    run = tmp_path / "run"
    shutil.copytree(lenet_run, run)
    rows = [{"name": "hog + linear SVM", "test_accuracy": 0.889, "seconds": 61.0, "kind": "hand-crafted"}]
    (run / "baseline.json").write_text(json.dumps(rows))     # as `foveanet baseline --out` writes it
    t = TestClient(create_app(open_run(run))).get("/api/training").json()
    assert t["baseline"] == rows
