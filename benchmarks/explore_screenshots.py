"""Screenshots of every explorer page for the docs (docs/images/explore-*.png), taken in
Debian's chromium by Playwright from servers started with the real `foveanet explore`.

    python -m benchmarks.explore_screenshots --classify runs/lenet [--segment runs/unet] [--text runs/text]

The pictures in docs/images came from these runs (the last two short, made in minutes on 2 cores):
    foveanet train --model lenet5 --dataset fashion-mnist --out runs/lenet    (`make demo`: 91.0% test)
    foveanet segment train --epochs 4 --scenes 1500 --base-width 8 --test-scenes 200 \
        --pretrain-epochs 1 --out runs/unet                                       (mIoU 0.27)
    foveanet text train --model textcnn --data debtags-bookworm.jsonl.gz --limit 5000 \
        --epochs 3 --word2vec-epochs 0 --out runs/text

Each page is driven the way the browser tests drive it (a layer and an output pixel
clicked on the image page, the lecture's preset in the playground), so the pictures show
the numbers a reader will see.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.explore.test_browser import CHROMIUM, free_port, start_server  # noqa: E402


def shoot(run_dir, pages, out: Path, viewport=(1280, 860)):
    from playwright.sync_api import sync_playwright

    proc, url = start_server(run_dir, free_port())
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
            for name, act in pages:
                page.goto(f"{url}/#{name}")
                page.wait_for_selector(f"#page[data-ready='{name}']", timeout=60000)
                if act:
                    act(page)
                page.wait_for_timeout(300)
                path = out / f"explore-{name}.png"
                page.screenshot(path=str(path), full_page=name == "image")
                print(f"wrote {path}")
            browser.close()
    finally:
        proc.terminate()
        proc.wait(10)


def model_click(page):
    page.locator("#graph .node[data-name='features.3']").click()


def image_click(page):
    page.wait_for_selector("#topk tr")
    page.locator("#thumbs canvas").nth(9).click()
    page.wait_for_timeout(500)
    page.locator("#layers button[data-layer='features.0']").click()
    page.wait_for_selector("#maps canvas")
    cv = page.locator("#maps canvas[data-channel='1']")
    box = cv.bounding_box()
    page.mouse.click(box["x"] + 14.5 * box["width"] / 28, box["y"] + 10.5 * box["height"] / 28)
    page.wait_for_selector("#dot-z")


def training_wait(page):
    page.wait_for_selector("#cm-accuracy", timeout=60000)


def playground_slide(page):
    page.wait_for_selector("#pg-output")
    page.locator("#pg-output td").nth(5).click()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--classify", required=True, help="a `foveanet train` run (LeNet-5 on Fashion-MNIST)")
    ap.add_argument("--segment", help="a `foveanet segment train` run")
    ap.add_argument("--text", help="a `foveanet text train` run")
    ap.add_argument("--out", default=str(ROOT / "docs" / "images"))
    args = ap.parse_args()
    out = Path(args.out)
    shoot(args.classify, [("model", model_click), ("image", image_click), ("filters", None),
                          ("training", training_wait), ("playground", playground_slide)], out)
    if args.segment:
        shoot(args.segment, [("segment", lambda p: p.locator("#thumbs canvas").nth(2).click() or p.wait_for_timeout(800))], out)
    if args.text:
        shoot(args.text, [("text", lambda p: p.wait_for_selector("#filters h3"))], out)


if __name__ == "__main__":
    main()
