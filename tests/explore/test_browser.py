"""End-to-end: `foveanet explore RUN` started as a user would, driven in Debian's chromium by
Playwright (no browser download: the executable is /usr/bin/chromium, `make chromium`)."""
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("starlette")
pw = pytest.importorskip("playwright.sync_api")
CHROMIUM = os.environ.get("FOVEANET_CHROMIUM", "/usr/bin/chromium")
pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"no chromium at {CHROMIUM} (make chromium)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(run_dir, port):
    """`foveanet explore RUN --port PORT`; waits until the API answers."""
    proc = subprocess.Popen([sys.executable, "-m", "foveanet", "explore", str(run_dir), "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(url + "/api/run", timeout=1).read()
            return proc, url
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(f"the server exited: {proc.stdout.read()}")
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the server did not answer within 30 s")


@pytest.fixture(scope="module")
def browser_page(lenet_run):
    port = free_port()
    proc, url = start_server(lenet_run, port)
    errors = []
    with pw.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1300, "height": 900})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        try:
            yield page, url, errors
        finally:
            browser.close()
            proc.terminate()
            proc.wait(10)


def open_page(page, url, name):
    page.goto(f"{url}/#{name}")
    page.wait_for_selector(f"#page[data-ready='{name}']", timeout=20000)


def number(text: str) -> float:
    return float(re.search(r"-?\d+(\.\d+)?(e-?\d+)?", text).group(0))


def test_the_server_binds_loopback(browser_page):
    from foveanet.cli.main import build_parser

    _, url, _ = browser_page
    assert build_parser().parse_args(["explore", "RUN"]).host == "127.0.0.1"
    port = int(url.rsplit(":", 1)[1])
    tcp = Path("/proc/net/tcp")
    if not tcp.is_file():
        pytest.skip("no /proc/net/tcp to read the listening address from")
    # listening sockets (state 0A) on our port: local address 0100007F is 127.0.0.1
    listening = [line.split()[1] for line in tcp.read_text().splitlines()[1:]
                 if line.split()[3] == "0A" and int(line.split()[1].split(":")[1], 16) == port]
    assert listening == ["0100007F:%04X" % port]


def test_model_page(browser_page):
    page, url, errors = browser_page
    open_page(page, url, "model")
    assert page.locator("#graph .node").count() == 12          # the input + LeNet-5's 11 layers
    assert "61,706 parameters" in page.locator("h2").inner_text()
    page.locator("#graph .node[data-name='features.3']").click()
    assert page.locator("#d-formula").inner_text() == "(5*5*6+1)*16 = 2416"
    assert page.locator("#d-receptive-field").inner_text() == "14"
    page.locator("#layer-details a").click()                # open the layer: its maps for an image
    page.wait_for_selector("#page[data-ready='image'] #maps canvas")
    assert page.locator("#maps canvas").count() == 16
    assert errors == []


def test_image_page_layer_and_pixel(browser_page):
    page, url, errors = browser_page
    open_page(page, url, "image")
    page.wait_for_selector("#topk tr")
    probs = [number(t) for t in page.locator("#topk td.num").all_inner_texts()]
    assert len(probs) == 5 and probs == sorted(probs, reverse=True) and sum(probs) <= 100.05
    page.locator("#layers button[data-layer='features.0']").click()
    page.wait_for_selector("#maps canvas")
    assert page.locator("#maps canvas").count() == 6
    cv = page.locator("#maps canvas[data-channel='2']")
    box = cv.bounding_box()
    # pixel (y=14, x=3) of a 28x28 map drawn at 3 px a pixel
    page.mouse.click(box["x"] + (3 + 0.5) * box["width"] / 28, box["y"] + (14 + 0.5) * box["height"] / 28)
    page.wait_for_selector("#dot-z")
    z, out = number(page.locator("#dot-z").inner_text()), number(page.locator("#dot-output").inner_text())
    s, b = number(page.locator("#dot-sum").inner_text()), number(page.locator("#dot-bias").inner_text())
    assert z == pytest.approx(out, abs=2e-6) and z == pytest.approx(s + b, abs=2e-6)
    assert page.locator("#rf-text").inner_text() == "receptive field: input rows 12..16, columns 1..5"
    act = page.locator("#dot-activation").inner_text()
    assert act.startswith("ReLU(z) = ") and number(act.split("=")[1]) == pytest.approx(max(z, 0), abs=2e-6)
    assert errors == []


def test_upload(browser_page, tmp_path):
    from PIL import Image

    page, url, errors = browser_page
    open_page(page, url, "image")
    page.wait_for_selector("#topk tr")
    img = np.full((90, 60, 3), 250, np.uint8)
    img[10:80, 15:45] = (30, 30, 90)                       # a dark blob on white: inverted
    path = tmp_path / "photo.png"
    Image.fromarray(img).save(path)
    page.set_input_files("#upload", str(path))
    page.wait_for_selector("text=inverted the image")
    assert page.locator("#topk tr").count() == 5
    assert page.locator("figcaption", has_text="input (converted)").count() == 1
    bad = tmp_path / "notes.png"
    bad.write_text("not a picture")
    with page.expect_response(lambda r: r.url.endswith("/api/images") and r.status == 415):
        page.set_input_files("#upload", str(bad))
    page.wait_for_selector("#error:not([hidden])")
    assert "PNG or JPEG" in page.locator("#error").inner_text()
    # the browser itself logs the 415 answer; nothing else may be an error
    assert [e for e in errors if "415" not in e] == []
    errors.clear()


def test_filters_and_training_pages(browser_page):
    page, url, errors = browser_page
    open_page(page, url, "filters")
    assert page.locator("#learned canvas").count() == 6 + 16
    assert page.locator("#classic figure").count() == 1 + 12
    open_page(page, url, "training")
    page.wait_for_selector("#cm-accuracy")
    assert page.locator("#confusion td").count() == 100
    cells = sum(int(t) for t in page.locator("#confusion td").all_inner_texts())
    assert cells == 200                                    # the run's 200 test images
    acc = number(page.locator("#cm-accuracy").inner_text())
    assert 0 < acc <= 100
    assert page.locator("#curves svg").count() == 2
    assert errors == []


def test_playground(browser_page):
    page, url, errors = browser_page
    open_page(page, url, "playground")
    page.wait_for_selector("#pg-output")
    rows = [page.locator(f"#pg-output tr:nth-child({i}) td").all_inner_texts() for i in (1, 4)]
    assert rows == [["0", "30", "30", "0"]] * 2
    assert page.locator("#pg-params").inner_text() == "(3*3*1+1)*1 = 10"
    page.locator("#pg-n").fill("9")                         # move the n slider
    page.wait_for_function("document.querySelector('#pg-size') && document.querySelector('#pg-size').textContent.startsWith('7 x 7')")
    assert page.locator("#pg-output tr").count() == 7
    page.locator("#pg-p").fill("1")
    page.wait_for_function("document.querySelector('#pg-size').textContent.startsWith('9 x 9')")
    assert page.locator("#pg-input td.pad").count() == 11 * 11 - 9 * 9
    page.locator("#preset-pool").click()
    page.wait_for_function("document.querySelector('#pg-size').textContent.startsWith('2 x 2')")
    assert [page.locator(f"#pg-output tr:nth-child({i}) td").all_inner_texts() for i in (1, 2)] == [["4", "5"], ["3", "4"]]
    assert errors == []
