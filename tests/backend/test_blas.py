"""The OpenBLAS core-type choice: set only when it can take effect and is safe."""
from foveanet._blas import prefer_avx512_kernels


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
