"""Where a compiled kernel runs instead of the NumPy engine, with the measurement behind
each choice (imports no Numba). Times: thread CPU time, min of 9-15, one thread, 2-core
AMD EPYC under foreign load (``python -m benchmarks.run -k ...`` reruns them against
PyTorch; benchmarks/results-kernels.md).

Depthwise convolution: always (``backend/cpu/conv`` routes a layer to its depthwise engine
by route.path, and that engine runs these kernels when they are there). fwd+bwd, NumPy
taps -> compiled: 3x3 128 @28 b16 30 -> 10-18 ms; 3x3 s2 96 @56 b8 20 -> 14; 3x3 32 @112
b8 46 -> 22-26; 5x5 240 @14 b4 12.6 -> 3.5-4.3; 3x3 s2 144 @56 b1 3.8-4.3 -> 3.1-3.3.
"""
from __future__ import annotations


def max_pool(tiling: bool, values_only: bool = False) -> bool:
    """Whether max pooling runs compiled: yes, unless its windows tile the input exactly or
    only the values are wanted (inference: no backward, no indices).

    Overlapping or padded windows: 3x3 s2 p1 on (8, 64, 112, 112), fwd+bwd, NumPy views
    45-66 ms -> compiled 23-25 ms (PyTorch 55). On an exact tiling NumPy's running maximum
    reads each cell once already, and its rows are longer than the compiled kernel's
    (one output row): LeNet's 2x2/2 on (128, 6, 28, 28), fwd+bwd 1.8 -> 2.1 ms.
    Without the argmax NumPy's running maximum wins on every shape measured, one thread,
    process CPU time, min of 31, 3x3 s2 p1 forward under no_grad, compiled / NumPy (torch):
    (1, 64, 112, 112) (ResNet's stem) 1.82 / 0.51 ms (4.99); (8, 64, 112, 112) 17.8 / 7.9
    (39.0); (1, 192, 56, 56) 2.00 / 0.46 (3.73).
    """
    return not tiling and not values_only
