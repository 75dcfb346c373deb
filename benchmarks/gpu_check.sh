#!/usr/bin/env bash
# The GPU verification of issue 22, in one go on a machine with an NVIDIA GPU:
#   1. CuPy (pip install "cupy-cuda12x[ctk]" if it is missing; WHEELS=dir installs offline)
#   2. the tests marked gpu (foveanet on 'cuda' against the CPU and PyTorch), twice: with the
#      GPU kernels (backend/cuda) and with FOVEANET_KERNELS=reference (the formulas alone)
#   3. benchmarks/bench_gpu.py: training steps, foveanet 'cuda' vs torch 'cuda'
# Results go to the directory given as $1, else $OUT, else benchmarks/gpu-results:
#   gpu_check.log (everything), tests-kernels.txt, tests-reference.txt, bench_gpu.md, summary.md
#
#   bash benchmarks/gpu_check.sh [results-dir]        (from the repository root)
# PYTHON=... picks the interpreter (default: python3). Exit status: 0 all passed, 1 a step
# failed (see summary.md), 2 no GPU or no CuPy.
set -u
cd "$(dirname "$0")/.."
DIR="${1:-${OUT:-benchmarks/gpu-results}}"
PY="${PYTHON:-python3}"
mkdir -p "$DIR"
exec > >(tee -a "$DIR/gpu_check.log") 2>&1
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
summary="$DIR/summary.md"
echo "# gpu_check $(date -u '+%Y-%m-%d %H:%M UTC') on $(hostname), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')" > "$summary"

if ! { command -v nvidia-smi >/dev/null && nvidia-smi -L; } && [ ! -e /dev/nvidia0 ]; then
    echo "gpu_check: no NVIDIA GPU visible here (nvidia-smi -L fails, no /dev/nvidia0): run it on a GPU machine" | tee -a "$summary"
    exit 2
fi

if ! "$PY" -c "import cupy" 2>/dev/null; then
    echo "gpu_check: CuPy is missing, installing cupy-cuda12x"
    src=()
    [ -n "${WHEELS:-}" ] && src=(--no-index --find-links "$WHEELS")
    "$PY" -m pip install "${src[@]}" "cupy-cuda12x[ctk]" || "$PY" -m pip install "${src[@]}" cupy-cuda12x || {
        echo "gpu_check: could not install cupy-cuda12x (no network? set WHEELS=a directory of wheels)" | tee -a "$summary"
        exit 2
    }
fi
if ! "$PY" -c "import cupy; n = cupy.cuda.runtime.getDeviceCount(); assert n > 0, 'no device'; \
print('CuPy', cupy.__version__, 'sees', n, 'GPU(s):', cupy.cuda.runtime.getDeviceProperties(0)['name'].decode()); \
print('elementwise kernel:', float((cupy.arange(4.0) * 2).sum()))"; then
    echo "gpu_check: CuPy is installed but cannot run on the GPU (driver or CUDA toolkit, see above)" | tee -a "$summary"
    exit 2
fi
"$PY" -c "import torch; print('torch', torch.__version__, 'cuda' if torch.cuda.is_available() else 'CPU only: the tests compare with torch on the CPU, the bench needs a CUDA torch')" \
    || echo "gpu_check: torch is missing: the tests skip their PyTorch half, the bench cannot run"

status=0
run() {  # run NAME COMMAND...: log it, note pass/fail in the summary
    local name="$1"; shift
    echo "== $name: $*"
    if "$@"; then echo "- $name: passed" >> "$summary"; else echo "- $name: FAILED (rc $?)" >> "$summary"; status=1; fi
}
tests=(-m pytest -q -m gpu -p no:cacheprovider -rs tests/backend)
run "gpu tests, GPU kernels" bash -c "\"$PY\" ${tests[*]} | tee \"$DIR/tests-kernels.txt\"; exit \${PIPESTATUS[0]}"
run "gpu tests, reference formulas" bash -c "FOVEANET_KERNELS=reference \"$PY\" ${tests[*]} | tee \"$DIR/tests-reference.txt\"; exit \${PIPESTATUS[0]}"
for f in tests-kernels tests-reference; do  # a skip means a check that did not happen
    grep -q "skipped" "$DIR/$f.txt" 2>/dev/null && echo "- $f: some tests SKIPPED (see $f.txt)" >> "$summary"
done
rm -f "$DIR/bench_gpu.md"
run "bench_gpu" "$PY" -m benchmarks.bench_gpu --out "$DIR/bench_gpu.md"
[ -f "$DIR/bench_gpu.md" ] && cat "$DIR/bench_gpu.md" >> "$summary"
echo; cat "$summary"
exit $status
