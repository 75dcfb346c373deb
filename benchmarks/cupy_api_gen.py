"""Print foveanet/backend/cupy_api.py from the installed CuPy (run where cupy imports)."""
import cupy, cupyx, cupy.random, cupy.linalg, cupy.fft, cupy.lib.stride_tricks, cupyx.scipy.special

def names(obj):
    return sorted(n for n in dir(obj) if not n.startswith("_"))

def block(name, items, width=96):
    lines, line = [], "    "
    for it in items:
        piece = repr(it) + ", "
        if len(line) + len(piece) > width:
            lines.append(line.rstrip()); line = "    "
        line += piece
    lines.append(line.rstrip())
    return f"{name} = frozenset({{\n" + "\n".join(lines) + "\n})\n"

ufunc_methods = [m for m in ("reduce", "accumulate", "reduceat", "outer", "at") if hasattr(cupy.add, m)]
ndarray_dunders = sorted(n for n in dir(cupy.ndarray) if n.startswith("__") and n.endswith("__"))
out = [f'"""The public names of CuPy {cupy.__version__} (cupy-cuda12x), so that the CPU stand-in offers\n'
       'exactly what CuPy offers and a NumPy-only call fails on the CPU as it would on a GPU.\n\n'
       'Generated, not written: in an environment where ``pip install cupy-cuda12x`` succeeded (no GPU\n'
       'is needed to import it), ``python benchmarks/cupy_api_gen.py > foveanet/backend/cupy_api.py``.\n"""\n',
       f'VERSION = {cupy.__version__!r}\n\n',
       block("MODULE", names(cupy)), "\n",
       block("RANDOM", names(cupy.random)), "\n",
       block("GENERATOR", names(cupy.random.Generator)), "\n",
       block("LINALG", names(cupy.linalg)), "\n",
       block("FFT", names(cupy.fft)), "\n",
       block("STRIDE_TRICKS", names(cupy.lib.stride_tricks)), "\n",
       block("NDARRAY", names(cupy.ndarray)), "\n",
       block("NDARRAY_DUNDERS", ndarray_dunders), "\n",
       block("UFUNC_METHODS", ufunc_methods), "\n",
       block("CUPYX", names(cupyx)), "\n",
       block("SPECIAL", names(cupyx.scipy.special))]
print("".join(out), end="")
