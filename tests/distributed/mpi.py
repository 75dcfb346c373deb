"""Launching a test's worker script on several MPI ranks with the real ``mpirun``."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent


def mpirun_command(n: int) -> list:
    """``mpirun -n N`` as the tests need it: --oversubscribe (more ranks than this machine's
    2 cores), --allow-run-as-root only when we are root (CI runs as root)."""
    if shutil.which("mpirun") is None:
        pytest.skip("mpirun is not installed (make install: apt-get install openmpi-bin)")
    pytest.importorskip("mpi4py")
    cmd = ["mpirun", "-n", str(n), "--oversubscribe"]
    if os.geteuid() == 0:
        cmd.append("--allow-run-as-root")
    return cmd


def run_mpi(script: str, n: int = 2, args=(), timeout: float = 240, env=None,
            check: bool = True) -> subprocess.CompletedProcess:
    """Run ``tests/distributed/<script>`` on ``n`` ranks; each rank uses one BLAS thread.

    With ``check`` a non-zero exit fails the test with the ranks' output."""
    full_env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1",
                    PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
                    # OpenMPI's shared-memory transport warns about the container's /dev/shm size
                    OMPI_MCA_btl_vader_single_copy_mechanism="none",
                    **(env or {}))
    cmd = mpirun_command(n) + [sys.executable, str(HERE / script), *map(str, args)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=full_env, cwd=ROOT)
    if check and proc.returncode != 0:
        pytest.fail(f"{' '.join(cmd)} exited with {proc.returncode}\nstdout:\n{proc.stdout[-3000:]}\n"
                    f"stderr:\n{proc.stderr[-3000:]}")
    return proc
