import os

import numpy as np
import pytest

import foveanet


@pytest.fixture(autouse=True)
def _seed():
    foveanet.manual_seed(0)
    yield


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture(autouse=True, scope="session")
def _one_thread_per_xdist_worker():
    # `make test` runs 2 workers on 2 cores: at 2 threads each, OpenBLAS's threads spin waiting
    # for each other (two workers training XML-CNN at once: 8 s alone -> 62 s each); tests
    # that exercise threading set their own count
    if os.environ.get("PYTEST_XDIST_WORKER"):
        foveanet.set_num_threads(1)
    yield
