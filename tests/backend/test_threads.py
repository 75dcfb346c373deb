import pytest

import foveanet as fn
from foveanet.backend.cpu import threads as parallel


def test_set_num_threads_caps_blas_and_rejects_nonsense():
    before = fn.get_num_threads()
    try:
        fn.set_num_threads(1)
        assert fn.get_num_threads() == 1
        assert parallel.workers() == 1  # the conv sub-batch tasks follow the same knob
    finally:
        fn.set_num_threads(before)
    assert fn.get_num_threads() == before
    for bad in (0, -2, 1.5, True):
        with pytest.raises(ValueError, match="positive int"):
            fn.set_num_threads(bad)
