"""glibc keeps a step's freed arrays for the next step (backend/cpu/memory.py, applied by
tune_process): measured by the
page faults of a repeated conv step in a fresh process, with and without the setting."""
import os
import platform
import subprocess
import sys

import pytest

# a 3x3 conv training step three times; print the minor page faults of the third
_STEP = """
from foveanet.backend.cpu import memory, tune_process
tune_process()
import resource, numpy as np, foveanet, foveanet.functional as F
r = np.random.default_rng(0)
x = r.standard_normal((4, 64, 40, 40)).astype(np.float32)
w = r.standard_normal((64, 64, 3, 3)).astype(np.float32)
def step():
    xt, wt = foveanet.tensor(x, requires_grad=True), foveanet.tensor(w, requires_grad=True)
    F.conv2d(xt, wt, padding=1).sum().backward()
step(); step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
step()
print(memory._applied, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""

glibc = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's mallopt only")


def _faults(setting):
    env = {k: v for k, v in os.environ.items() if k != "FOVEANET_MALLOC"}
    if setting:
        env["FOVEANET_MALLOC"] = setting
    env["OPENBLAS_NUM_THREADS"] = "1"
    out = subprocess.run([sys.executable, "-c", _STEP], env=env, capture_output=True, text=True,
                         check=True).stdout.split()
    return out[0], int(out[1])


@glibc
def test_a_repeated_step_reuses_its_pages():
    applied, kept = _faults(None)
    opted_out, system = _faults("system")
    assert (applied, opted_out) == ("True", "False")
    # the step's arrays are ~10 MB: thousands of fresh 4 KiB pages a step without the setting
    assert system > 1000, system
    assert kept < system / 10, (kept, system)
