"""What the compiled kernels cost at start: ``import foveanet``, and the first depthwise
conv and max pooling step (forward + backward) with an empty Numba cache (compiling) and
again in a new process with the cache filled (loading).

    python -m benchmarks.kernel_startup

Each measurement runs in a fresh Python process with its own NUMBA_CACHE_DIR, so the
machine's own cache is neither used nor touched.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

_IMPORT = "import time; t = time.perf_counter(); import foveanet; print(time.perf_counter() - t)"

_FIRST_STEP = """
import json, time
import numpy as np
t0 = time.perf_counter()
import foveanet as fn, foveanet.nn.functional as F
t1 = time.perf_counter()
x = fn.tensor(np.random.default_rng(0).standard_normal((2, 8, 12, 12)).astype(np.float32),
              requires_grad=True)
w = fn.tensor(np.random.default_rng(1).standard_normal((8, 1, 3, 3)).astype(np.float32),
              requires_grad=True)
F.conv2d(x, w, padding=1, groups=8).sum().backward()
t2 = time.perf_counter()
F.max_pool2d(x, 3, 2, 1).sum().backward()
t3 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "depthwise": t2 - t1, "max_pool": t3 - t2}))
"""


def _run(code: str, env: dict) -> str:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=root, env={**os.environ, "PYTHONPATH": root, **env})
    return out.stdout.strip().splitlines()[-1]


def main() -> None:
    imports = sorted(float(_run(_IMPORT, {})) for _ in range(5))
    print(f"import foveanet: median {1e3 * imports[2]:.0f} ms (min {1e3 * imports[0]:.0f}, "
          f"max {1e3 * imports[-1]:.0f}) over 5 processes")
    with tempfile.TemporaryDirectory() as cache:
        env = {"NUMBA_CACHE_DIR": cache, "FOVEANET_KERNELS": "numba"}
        for label in ("empty cache (compile)", "filled cache (load)", "filled cache (load)"):
            t = json.loads(_run(_FIRST_STEP, env))
            print(f"{label}: first depthwise fwd+bwd {t['depthwise']:.2f} s, first max_pool "
                  f"fwd+bwd {t['max_pool']:.2f} s (import {t['import']:.2f} s)")
    t = json.loads(_run(_FIRST_STEP, {"FOVEANET_KERNELS": "numpy"}))
    print(f"NumPy engines: first depthwise fwd+bwd {t['depthwise']:.2f} s, first max_pool "
          f"fwd+bwd {t['max_pool']:.2f} s")


if __name__ == "__main__":
    main()
