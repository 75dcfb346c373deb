"""The OpenBLAS settings (core type, idle-thread timeout): set only when they can take
effect, are safe, and the user chose nothing."""
import os
import subprocess
import sys

from foveanet._blas import prefer_avx512_kernels, sleep_idle_blas_threads


def _cpuinfo(tmp_path, flags):
    p = tmp_path / f"cpuinfo-{abs(hash(flags))}"
    p.write_text(f"processor\t: 0\nmodel name\t: test\nflags\t\t: {flags}\n\nprocessor\t: 1\n")
    return str(p)


def test_sets_skylakex_on_avx512_before_numpy(tmp_path):
    env = {}
    assert prefer_avx512_kernels(env, {}, _cpuinfo(tmp_path, "fpu sse2 avx2 avx512f avx512bw"))
    assert env == {"OPENBLAS_CORETYPE": "SKYLAKEX"}


def test_leaves_everything_alone_otherwise(tmp_path):
    avx512 = _cpuinfo(tmp_path, "fpu avx2 avx512f")
    cases = [
        ({}, {"numpy": object()}, avx512),                       # OpenBLAS already loaded
        ({"OPENBLAS_CORETYPE": "Haswell"}, {}, avx512),          # the user's choice wins
        ({}, {}, _cpuinfo(tmp_path, "fpu avx2 avx512_vnni")),    # no avx512f (prefix only)
        ({}, {}, str(tmp_path / "missing")),                     # no /proc/cpuinfo
    ]
    for env, modules, info in cases:
        before = dict(env)
        assert not prefer_avx512_kernels(env, modules, info)
        assert env == before


def test_idle_thread_timeout_only_before_numpy_and_without_a_user_choice():
    env = {}
    assert sleep_idle_blas_threads(env, {}) and env == {"OPENBLAS_THREAD_TIMEOUT": "4"}
    for env, modules in (({}, {"numpy": object()}), ({"OPENBLAS_THREAD_TIMEOUT": "20"}, {})):
        before = dict(env)
        assert not sleep_idle_blas_threads(env, modules) and env == before


def test_import_foveanet_sets_the_timeout_in_a_fresh_process():
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_THREAD_TIMEOUT"}
    code = "import os, foveanet, numpy; print(os.environ.get('OPENBLAS_THREAD_TIMEOUT'))"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["4"]
