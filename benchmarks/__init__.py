"""foveanet's benchmarks (``python -m benchmarks.NAME``; each module says what it measures).

They run in a process tuned as the ``foveanet`` command tunes its own
(``backend.cpu.tune_process``, before NumPy loads), so that their numbers are the ones a
user of the command gets.
"""
from foveanet.backend.cpu import tune_process

tune_process()
