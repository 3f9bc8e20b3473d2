#!/usr/bin/env bash
# asr-adapt against NeMo's own modules on PyTorch, same model, same batch, same machine, one run:
#   step:  an adapter-training step (Conformer-CTC Small, LinearAdapter dim 32 in every layer, base
#          frozen as NeMo's adapter tutorial freezes it): forward + CTC + backward + AdamW, fp32
#   infer: eval-mode forward + greedy CTC decoding of the same batch (transcription)
# The two sides alternate, one process each (A B A B ...), ROUNDS times; every process times REPS
# repetitions after one warm-up. Prints the medians, their ratio, each side's peak memory, and
# the model's GEMM FLOP/s as a fraction of this machine's sgemm peak measured in the same run.
#
#   bench/vs_pytorch.sh [step|infer|all] [BUILD_DIR]          (default: all, build)
#   env: NEMO_PY (python with NeMo; default .venv-nemo/bin/python), BATCH (8), UTT_SECONDS (8: seconds
#        of audio per utterance), THREADS (2), ROUNDS (2), REPS (3)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WHAT=${1:-all}
BUILD=${2:-$ROOT/build}
NEMO_PY=${NEMO_PY:-$ROOT/.venv-nemo/bin/python}
BATCH=${BATCH:-8} SECONDS_PER_UTT=${UTT_SECONDS:-8} THREADS=${THREADS:-2} ROUNDS=${ROUNDS:-2} REPS=${REPS:-3}
STEP_BIN=$BUILD/bin/bench_train_step
PEAK_BIN=$BUILD/bin/bench_sgemm_peak
case $WHAT in step|infer) MODES=("$WHAT") ;; all) MODES=(step infer) ;;
  *) echo "usage: bench/vs_pytorch.sh [step|infer|all] [BUILD_DIR]" >&2; exit 2 ;; esac
source "$ROOT/bench/ensure_built.sh"
ensure_built "$BUILD" bench_train_step bench_sgemm_peak
# NeMo's side needs a Python with NeMo 3.0: made on first use (launch/nemo_venv.sh, from PyPI).
if [[ ! -x $NEMO_PY ]]; then NEMO_PY=$(bash "$ROOT/launch/nemo_venv.sh" | tail -1); fi

# Both sides on the same cores, nothing else competing: OpenMP and OpenBLAS get THREADS threads.
export OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS MKL_NUM_THREADS=$THREADS
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

echo "machine: $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)"
echo "work: batch $BATCH x ${SECONDS_PER_UTT} s, $THREADS threads, fp32; $ROUNDS rounds x $REPS timed reps per side"
"$PEAK_BIN" --threads "$THREADS" | tee "$TMP/peak"
PEAK=$(sed -n 's/.*gflops=\([0-9.]*\).*/\1/p' "$TMP/peak")

for mode in "${MODES[@]}"; do
  asr_mode=$([[ $mode == step ]] && echo adapters || echo infer)
  : >"$TMP/$mode.asr"
  : >"$TMP/$mode.torch"
  for r in $(seq "$ROUNDS"); do
    echo "[$mode] round $r/$ROUNDS: asr-adapt" >&2
    "$STEP_BIN" --mode "$asr_mode" --batch "$BATCH" --seconds "$SECONDS_PER_UTT" --threads "$THREADS" \
      --warmup 1 --steps 1 --reps "$REPS" | grep '^asr ' | tee -a "$TMP/$mode.asr" >&2
    echo "[$mode] round $r/$ROUNDS: PyTorch + NeMo" >&2
    "$NEMO_PY" "$ROOT/bench/torch_conformer.py" --mode "$mode" --batch "$BATCH" --seconds "$SECONDS_PER_UTT" \
      --threads "$THREADS" --warmup 1 --reps "$REPS" 2>/dev/null | grep '^torch ' | tee -a "$TMP/$mode.torch" >&2
  done
  python3 - "$mode" "$TMP/$mode.asr" "$TMP/$mode.torch" "$PEAK" "$BATCH" "$SECONDS_PER_UTT" <<'PY'
import re, statistics, sys
mode, asr_file, torch_file, peak, batch, seconds = sys.argv[1:]
peak, audio = float(peak), float(batch) * float(seconds)
def rows(path):
    return [dict(re.findall(r"(\w+)=([^\s]+)", line)) for line in open(path) if line.strip()]
a, t = rows(asr_file), rows(torch_file)
if not a or not t:
    sys.exit(f"vs_pytorch: {mode}: a side printed no timings")
a_s = statistics.median(float(r["seconds_per_step"]) for r in a)
t_s = statistics.median(float(r["seconds_per_step"]) for r in t)
a_m = max(float(r["peak_rss_mib"]) for r in a)
t_m = max(float(r["peak_rss_mib"]) for r in t)
gflop = statistics.median(float(r["gemm_gflop_per_step"]) for r in a)
what = "adapter-training step" if mode == "step" else "inference (forward + greedy decode)"
print(f"{mode}: {what}, median of {len(a)} asr-adapt and {len(t)} PyTorch timings")
print(f"  asr-adapt  {a_s:8.3f} s  ({audio / a_s:6.1f} audio-s/s)  peak RSS {a_m:7.0f} MiB  "
      f"GEMM {gflop / a_s:6.1f} GFLOP/s = {100 * gflop / a_s / peak:4.1f}% of sgemm peak")
print(f"  PyTorch    {t_s:8.3f} s  ({audio / t_s:6.1f} audio-s/s)  peak RSS {t_m:7.0f} MiB  "
      f"GEMM {gflop / t_s:6.1f} GFLOP/s = {100 * gflop / t_s / peak:4.1f}% of sgemm peak")
a_min = min(float(r["seconds_per_step"]) for r in a)
t_min = min(float(r["seconds_per_step"]) for r in t)
print(f"  ratio: asr-adapt is {t_s / a_s:.2f}x PyTorch's throughput (medians; fastest runs {t_min:.3f} vs "
      f"{a_min:.3f} s: {t_min / a_min:.2f}x); memory {a_m / t_m:.2f}x PyTorch's")
PY
done
