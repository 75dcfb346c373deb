"""Starting the explorer: which run to open, then uvicorn on 127.0.0.1.

With no run named, the newest run under ``./runs`` (by its config.json's time) is opened;
when there is none, a short demo run is trained first into ``runs/explore-demo`` (LeNet-5
on 2,000 Fashion-MNIST images for one epoch: about 10 s on 2 cores, enough for every page
to have numbers to show; `make demo` trains the full recipe).
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

__all__ = ["newest_run", "demo_run", "serve", "DEMO_ARGS"]

DEMO_ARGS = ["--model", "lenet5", "--dataset", "fashion-mnist", "--limit", "2000", "--test-limit", "1000",
             "--epochs", "1"]


def newest_run(root="runs"):
    """The run directory under ``root`` whose config.json is newest, or None."""
    root = Path(root)
    if not root.is_dir():
        return None
    found = [p.parent for p in root.glob("*/config.json")
             if any(p.parent.glob("*.safetensors"))]
    return max(found, key=lambda d: (d / "config.json").stat().st_mtime) if found else None


def demo_run(out="runs/explore-demo", log=print) -> Path:
    """Train the short demo run with ``foveanet train`` (in a child process: the same
    command a user would type) and return its directory."""
    log(f"no run under ./runs: training a short demo run into {out} (about 10 s) ...")
    cmd = [sys.executable, "-m", "foveanet", "train", *DEMO_ARGS, "--out", str(out)]
    rc = subprocess.call(cmd)
    if rc != 0:
        from foveanet.errors import CLIError

        raise CLIError(f"the demo run failed ({' '.join(cmd[2:])} exited with {rc}); "
                       "name a run: foveanet explore RUN_DIR")
    return Path(out)


def serve(app, host: str = "127.0.0.1", port: int = 8000, log=print) -> None:
    """Run ``app`` under uvicorn until interrupted."""
    import uvicorn

    log(f"foveanet explore: http://{host}:{port}/  (Ctrl-C stops)", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")
