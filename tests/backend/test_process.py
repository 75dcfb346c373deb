"""Process tuning (backend/cpu/process.py): the OpenBLAS settings (core type, idle-thread
timeout) are set only when they can take effect, are safe, and the user chose nothing; and
only when asked: by tune_process(), FOVEANET_TUNE_PROCESS=1 or the foveanet command, never
by a plain import."""
import os
import subprocess
import sys

from foveanet.backend.cpu.process import prefer_avx512_kernels, sleep_idle_blas_threads


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


_REPORT = """
import os, sys
{before}
import foveanet, numpy
import foveanet.functional as F
x = foveanet.randn(2, 3, 8, 8, requires_grad=True)
F.conv2d(x, foveanet.randn(4, 3, 3, 3)).sum().backward()  # the engine runs, threads and all
from foveanet.backend.cpu import memory
print(os.environ.get('OPENBLAS_THREAD_TIMEOUT'), os.environ.get('OPENBLAS_CORETYPE'),
      memory._applied)
"""

_TUNING_VARS = ("OPENBLAS_THREAD_TIMEOUT", "OPENBLAS_CORETYPE", "FOVEANET_TUNE_PROCESS",
                "FOVEANET_MALLOC")


def _run(before: str = "", **extra):
    env = {k: v for k, v in os.environ.items() if k not in _TUNING_VARS}
    env.update(extra)
    code = _REPORT.format(before=before)
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          check=True).stdout.split()


def test_import_foveanet_changes_nothing_in_the_host_process():
    assert _run() == ["None", "None", "None"]


def _avx512() -> bool:
    with open("/proc/cpuinfo") as f:
        return any(line.startswith("flags") and "avx512f" in line.split() for line in f)


def _tuned():
    return ["4", "SKYLAKEX" if _avx512() else "None", "True"]


def test_tune_process_before_numpy_sets_all_three():
    assert _run("import foveanet.backend.cpu as cpu; print(cpu.tune_process(), file=sys.stderr)") \
        == _tuned()


def test_the_environment_variable_asks_import_foveanet_to_tune():
    assert _run(FOVEANET_TUNE_PROCESS="1") == _tuned()
    assert _run(FOVEANET_TUNE_PROCESS="0") == ["None", "None", "None"]


def test_tune_process_after_numpy_reports_what_it_could_not_do():
    code = ("import numpy\nfrom foveanet.backend.cpu import tune_process\n"
            "print(sorted(k for k, v in tune_process().items() if v))")
    env = {k: v for k, v in os.environ.items() if k not in _TUNING_VARS}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "['malloc']"


def test_the_foveanet_command_tunes_before_numpy_loads():
    code = ("import os, sys\nfrom foveanet.cli.main import main\n"
            "try:\n    main(['--version'])\nexcept SystemExit:\n    pass\n"
            "from foveanet.backend.cpu import memory\n"
            "print(os.environ.get('OPENBLAS_THREAD_TIMEOUT'), os.environ.get('OPENBLAS_CORETYPE'),"
            " memory._applied)")
    env = {k: v for k, v in os.environ.items() if k not in _TUNING_VARS}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout.split()
    assert out[-3:] == _tuned()
