"""The explorer's speed targets (issue 17), measured through its ASGI app in this process:

    first page         GET / + its 4 scripts + /api/run + /api/model on a freshly opened run  < 1 s
    28x28 layer maps   GET /api/images/ID/layers/features.0 for an image not seen before
                       (the forward and backward pass included)                              < 200 ms
    ResNet-18 224x224  upload a 224x224 JPEG, then GET one layer's maps                        < 2 s

    python -m benchmarks.bench_explore --run runs/lenet          # table on stdout
    python -m benchmarks.bench_explore --run runs/lenet --write  # also benchmarks/results-explore.md

The LeNet-5 numbers need a `foveanet train` run (Fashion-MNIST); the ResNet-18 one builds an
untrained ResNet-18 run directory in a temporary folder (the time does not depend on the
weights' values). Each number is the median of --repeats fresh images (min beside it).
"""
from __future__ import annotations

import argparse
import datetime
import io
import platform
import statistics
import subprocess
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np


def client(run_dir):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")       # Starlette's note that it prefers httpx2
        from starlette.testclient import TestClient
    from foveanet.explore import create_app, open_run

    return TestClient(create_app(open_run(run_dir)))


def timed(fn):
    t = time.perf_counter()
    r = fn()
    dt = time.perf_counter() - t
    if hasattr(r, "status_code") and r.status_code != 200:
        raise RuntimeError(f"{r.status_code}: {r.text[:200]}")
    return dt


def first_page(run_dir) -> float:
    t = time.perf_counter()
    c = client(run_dir)
    for path in ("/", "/static/style.css", "/static/draw.js", "/static/pages.js", "/static/playground.js",
                 "/static/app.js", "/api/run", "/api/model"):
        r = c.get(path)
        assert r.status_code == 200, (path, r.text)
    return time.perf_counter() - t


def first_page_http(run_dir) -> float:
    """The same requests over HTTP to `foveanet explore RUN` started in a child process,
    once it answers (the server's start is not counted: it happens once)."""
    import sys
    import urllib.request

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.explore.test_browser import free_port, start_server

    proc, url = start_server(run_dir, free_port())
    try:
        t = time.perf_counter()
        for path in ("/", "/static/style.css", "/static/draw.js", "/static/pages.js", "/static/playground.js",
                     "/static/app.js", "/api/run", "/api/model"):
            urllib.request.urlopen(url + path, timeout=30).read()
        return time.perf_counter() - t
    finally:
        proc.terminate()
        proc.wait(10)


def lenet_maps(run_dir, repeats: int):
    c = client(run_dir)
    c.get("/api/images")                          # the test set read once, as the page does
    cold = [timed(lambda i=i: c.get(f"/api/images/test-{i}/layers/features.0")) for i in range(repeats)]
    warm = [timed(lambda i=i: c.get(f"/api/images/test-{i}/layers/features.3")) for i in range(repeats)]
    return cold, warm


def resnet(repeats: int):
    from PIL import Image

    from foveanet.train import build
    from foveanet.train.checkpoint import save_weights, write_json

    with tempfile.TemporaryDirectory() as tmp:
        cfg = {"model": "resnet18", "dataset": "none", "input_shape": [3, 224, 224],
               "classes": [f"class {i}" for i in range(1000)], "mean": [0.485, 0.456, 0.406],
               "std": [0.229, 0.224, 0.225], "augment": "none"}
        write_json(Path(tmp) / "config.json", cfg)
        save_weights(build.model(cfg).state_dict(), Path(tmp) / "best.safetensors")
        c = client(tmp)
        c.get("/api/model")
        rng = np.random.default_rng(0)
        times = []
        for _ in range(repeats):
            buf = io.BytesIO()
            Image.fromarray(rng.integers(0, 256, (224, 224, 3), dtype=np.uint8)).save(buf, format="JPEG")
            t = time.perf_counter()
            r = c.post("/api/images", content=buf.getvalue(), headers={"content-type": "image/jpeg"})
            assert r.status_code == 200, r.text
            r2 = c.get(f"/api/images/{r.json()['id']}/layers/layer1.0.conv1")
            assert r2.status_code == 200, r2.text
            times.append(time.perf_counter() - t)
        return times


def machine() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        model = next(line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name"))
    except (OSError, StopIteration):
        model = platform.processor()
    import os

    return f"{model}, {os.cpu_count()} cores"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", required=True, help="a LeNet-5 `foveanet train` run directory")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--write", action="store_true", help="append to benchmarks/results-explore.md")
    args = ap.parse_args()
    load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    fp = [first_page(args.run) for _ in range(args.repeats)]
    fh = [first_page_http(args.run) for _ in range(max(2, args.repeats // 2))]
    cold, warm = lenet_maps(args.run, args.repeats)
    rn = resnet(max(2, args.repeats // 2))

    def cell(xs):
        return f"{1000 * statistics.median(xs):.0f} ms (min {1000 * min(xs):.0f})"

    rows = [("first page (HTML, scripts, /api/run, /api/model; run opened cold)", cell(fp), "< 1 s"),
            ("first page over HTTP from `foveanet explore RUN` (a fresh server each time)", cell(fh), "< 1 s"),
            ("LeNet-5 28x28: one layer's maps, new image (forward + backward)", cell(cold), "< 200 ms"),
            ("LeNet-5 28x28: another layer's maps, same image (cached)", cell(warm), ""),
            ("ResNet-18 224x224: upload a JPEG + one layer's maps", cell(rn), "< 2 s")]
    table = ["| measurement | median (min) | target |", "|---|---|---|"]
    table += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    text = "\n".join(table)
    print(text)
    print(load)
    if args.write:
        path = Path(__file__).with_name("results-explore.md")
        head = "" if path.exists() else "# The explorer's response times\n\nTargets from issue 17; `benchmarks/bench_explore.py` (its docstring says what each row times).\n"
        entry = (f"\n## {datetime.date.today()}\n\nMachine: {machine()}. Load: `{load}`.\n\n"
                 f"Command: `python -m benchmarks.bench_explore --run {args.run} --repeats {args.repeats} --write`\n\n{text}\n")
        path.write_text((path.read_text() if path.exists() else head) + entry)
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
