"""The lecture's notebooks (docs/notebooks) run top to bottom in a fresh kernel, and are committed
without outputs.

Each notebook pins the lecture's numbers with ``assert`` cells, so a formula or a model that
drifts fails here as a cell error, not as a silently different printout. They run as the site
renders them: kernel ``python3``, matplotlib on the Agg backend, working directory a temporary
folder (nothing lands in the repository), this checkout's ``foveanet`` first on the path.
"""
import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.shared_data import fashion_mnist_on_disk

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK_DIR = ROOT / "docs" / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
EXPECTED = [
    "01_convolution.ipynb",
    "02_pooling.ipynb",
    "03_fc_vs_conv.ipynb",
    "04_backprop_by_hand.ipynb",
    "05_classic_networks.ipynb",
    "06_training_lenet5.ipynb",
]
NEEDS_FASHION_MNIST = {"06_training_lenet5.ipynb"}
# seconds per cell: the slowest cell (two epochs of LeNet-5) takes about 10 s alone on 2 cores;
# the margin is for a loaded machine, the limit for a cell that hangs
CELL_TIMEOUT = 180


def _kernel_env(tmp_path: Path) -> dict:
    env = dict(os.environ)
    env["MPLBACKEND"] = "Agg"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["IPYTHONDIR"] = str(tmp_path / ".ipython")  # the kernel's history database stays here
    if os.environ.get("PYTEST_XDIST_WORKER"):
        # as tests/conftest.py does for the workers: one BLAS thread per process, so that two
        # kernels on 2 cores do not leave OpenBLAS threads spinning against each other
        env["OPENBLAS_NUM_THREADS"] = env["OMP_NUM_THREADS"] = "1"
    return env


def test_the_six_notebooks_are_there():
    assert [p.name for p in NOTEBOOKS] == EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"
    dirty = [i for i, cell in enumerate(nb.cells) if cell.cell_type == "code"
             and (cell.get("outputs") or cell.get("execution_count") is not None)]
    assert not dirty, (f"{path.name}: code cells {dirty} hold outputs or execution counts; "
                       "clear them before committing (jupyter nbconvert --clear-output --inplace)")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path, tmp_path):
    if path.name in NEEDS_FASHION_MNIST and not fashion_mnist_on_disk():
        pytest.skip("Fashion-MNIST is not on disk (sudo apt-get install dataset-fashion-mnist)")
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}},
                            # plain tracebacks: the failure report is read in a terminal or a log
                            extra_arguments=["--InteractiveShell.colors=NoColor"])
    client.execute(env=_kernel_env(tmp_path))  # a failing cell raises CellExecutionError
