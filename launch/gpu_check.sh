#!/usr/bin/env bash
# Unattended check of the CUDA backend on a bare GPU machine (H100/H200 with the CUDA toolkit,
# PyTorch, cmake and ninja, but none of the build machine's Debian libraries).
#
#   1. on the build machine:  tools/bundle_gpu.sh          (writes gpu_bundle/)
#   2. on the GPU machine:    launch/gpu_check.sh OUTDIR   (from the repo root, gpu_bundle/ along)
#
# Finds the CUDA libraries (toolkit or PyTorch's nvidia/* wheels), prints the GPU, runs
# test_cuda (gtest XML), test_cuda again under compute-sanitizer (memcheck, initcheck), test_ops and
# bench_core (JSON), then writes OUTDIR/summary.txt. Every step has a time limit; the whole run
# stays under ~7 minutes. Exit status: 0 all tests passed, 1 a test or check failed, 2 no bundle.
# On a machine without a GPU it still runs: the GPU tests report as skipped.
#
# Files in OUTDIR: summary.txt, gpu_check.log, test_cuda.xml, sanitizer.log, test_ops.xml,
# bench.json.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUNDLE=${GPU_BUNDLE:-$ROOT/gpu_bundle}
BUDGET_S=${GPU_CHECK_BUDGET_S:-420}  # hard ceiling for all timed steps together

if [[ $# -ne 1 ]]; then
  echo "usage: $0 OUTDIR" >&2
  exit 2
fi
OUTDIR=$1
mkdir -p "$OUTDIR"
OUTDIR=$(cd "$OUTDIR" && pwd)

# Seconds a step may take: its own cap, but never past the overall budget.
step_limit() {
  local cap=$1 left=$((BUDGET_S - SECONDS))
  ((left < cap)) && cap=$left
  echo $((cap > 0 ? cap : 1))  # (timeout 0 would mean "no limit")
}

# "N passed, M failed, K skipped" from a gtest console log.
gtest_counts() {
  local log=$1 p f s
  p=$(grep -oE '^\[  PASSED  \] [0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1)
  f=$(grep -oE '^\[  FAILED  \] [0-9]+ test' "$log" | grep -oE '[0-9]+' | tail -1)
  s=$(grep -oE '^\[  SKIPPED \] [0-9]+ test' "$log" | grep -oE '[0-9]+' | tail -1)
  echo "${p:-0} passed, ${f:-0} failed, ${s:-0} skipped"
}

main() {
  local failed=0 summary=()
  note() { summary+=("$*"); echo ">> $*"; }

  echo "== asr-adapt GPU check, $(date -u '+%Y-%m-%d %H:%M:%S UTC'), host $(hostname), repo $ROOT"
  if [[ ! -x $BUNDLE/bin/test_cuda || ! -f $BUNDLE/cuda_libs.txt ]]; then
    echo "error: no GPU bundle at $BUNDLE."
    echo "Make it on the build machine (Debian + CUDA toolkit), from the repo root:"
    echo "    tools/bundle_gpu.sh"
    echo "then bring gpu_bundle/ along to this machine (e.g. the device tool's carry=[\"gpu_bundle\"])."
    return 2
  fi
  cat "$BUNDLE/MANIFEST.txt" 2>/dev/null | sed -n '1,5p'

  # ---- the bundle's own libraries -----------------------------------------------------------
  WORK=$(mktemp -d /tmp/asr_gpu_check.XXXXXX)
  trap 'rm -rf "$WORK"' EXIT
  local lib=$BUNDLE/lib
  if [[ ! -d $lib ]]; then
    lib=$WORK/lib
    if ! tar -C "$WORK" -xJf "$BUNDLE/lib.tar.xz" 2>/dev/null; then
      python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' \
        "$BUNDLE/lib.tar.xz" "$WORK" || { echo "error: cannot unpack $BUNDLE/lib.tar.xz"; return 1; }
    fi
  fi

  # ---- the CUDA-family libraries: the loader's cache, the toolkit, or PyTorch's wheels -------
  local orig_ld=${LD_LIBRARY_PATH:-} cuda_dirs=() roots=() so found d
  roots+=(/usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib)
  for d in /usr/local/cuda-*/lib64 /usr/local/cuda-*/targets/x86_64-linux/lib; do [[ -d $d ]] && roots+=("$d"); done
  # Python's site-packages (nvidia/*/lib, torch/lib), asked with the machine's own environment.
  while read -r d; do [[ -d $d/nvidia ]] && roots+=("$d/nvidia"); [[ -d $d/torch/lib ]] && roots+=("$d/torch/lib"); done < <(
    python3 -c 'import site, sys; print("\n".join(site.getsitepackages() + [site.getusersitepackages()] + sys.path))' 2>/dev/null | sort -u)
  roots+=(/usr/local/nvidia/lib64 /usr/local/nvidia/lib /usr/lib/x86_64-linux-gnu /usr/lib64)
  local cache
  cache=$(ldconfig -p 2>/dev/null || true)
  for so in $(cat "$BUNDLE/cuda_libs.txt") libcuda.so.1; do
    found=""
    for d in "${roots[@]}"; do
      [[ -d $d ]] || continue
      found=$(find -L "$d" -maxdepth 4 -name "$so" -print -quit 2>/dev/null)
      [[ -n $found ]] && break
    done
    if [[ -n $found ]]; then
      d=$(dirname "$found")
      [[ " ${cuda_dirs[*]} " == *" $d "* || ":$orig_ld:" == *":$d:"* ]] || cuda_dirs+=("$d")
      echo "   $so: $found"
    elif grep -q " $so " <<<"$cache"; then
      echo "   $so: from the loader cache"
    elif [[ $so == libcuda.so.1 ]]; then
      echo "   $so: not found (the driver's library: needed only where there is a GPU)"
    else
      note "MISSING CUDA library $so (searched ${roots[*]})"
      failed=1
    fi
  done
  LD_LIBRARY_PATH=$lib
  for d in "${cuda_dirs[@]}"; do LD_LIBRARY_PATH+=":$d"; done
  export LD_LIBRARY_PATH="$LD_LIBRARY_PATH${orig_ld:+:$orig_ld}"

  # ---- compiler runtimes from lib/compat, only where this machine's are missing or too old ---
  local bins=() b need=()
  for b in "$BUNDLE"/bin/*; do bins+=("$b"); done
  if command -v ldd >/dev/null; then
    while read -r so; do
      [[ -e $lib/compat/$so ]] && need+=("$so")
    done < <(for b in "${bins[@]}"; do ldd "$b" 2>&1; done |
             sed -nE 's/^\s*(\S+) => not found.*/\1/p; s/.*: (\S+): version .* not found.*/\1/p' |
             xargs -r -n1 basename | sort -u)
  else
    need=($(ls "$lib/compat"))
  fi
  if ((${#need[@]})); then
    mkdir -p "$WORK/compat"
    for so in "${need[@]}"; do ln -sf "$lib/compat/$so" "$WORK/compat/$so"; done
    export LD_LIBRARY_PATH="$LD_LIBRARY_PATH:$WORK/compat"
    echo "   using the bundle's ${need[*]} (missing or too old here)"
  fi
  if command -v ldd >/dev/null; then
    local unresolved
    unresolved=$(for b in "${bins[@]}"; do ldd "$b" 2>&1 | grep 'not found' | sed "s|^|$(basename "$b"): |"; done)
    if [[ -n $unresolved ]]; then note "unresolved libraries:"; echo "$unresolved"; summary+=("$unresolved"); failed=1; fi
  fi
  echo "   LD_LIBRARY_PATH=$LD_LIBRARY_PATH"

  # ---- the machine --------------------------------------------------------------------------
  echo "== GPU"
  local gpu="none"
  if command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1; then
    nvidia-smi
    gpu=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | head -1)
  else
    echo "no GPU visible (nvidia-smi missing or failing): the CUDA tests will be skipped"
  fi
  note "GPU: $gpu; CPU: $(nproc) cores; $(uname -srm)"
  [[ -x $BUNDLE/bin/asr-adapt ]] && { echo "== asr-adapt --version"; timeout 30 "$BUNDLE/bin/asr-adapt" --version; }

  # ---- test_cuda ----------------------------------------------------------------------------
  echo "== test_cuda"
  local rc t
  t=$(step_limit 90)
  timeout "$t" "$BUNDLE/bin/test_cuda" --gtest_output="xml:$OUTDIR/test_cuda.xml" 2>&1 | tee "$WORK/test_cuda.log"
  rc=${PIPESTATUS[0]}
  note "test_cuda: $(gtest_counts "$WORK/test_cuda.log"), exit $rc$([[ $rc == 124 ]] && echo ' (TIMED OUT)')"
  grep -E '^\[  FAILED  \] [A-Za-z]' "$WORK/test_cuda.log" | sort -u | sed 's/^/   /' >>"$WORK/summary_extra"
  [[ $rc == 0 ]] || failed=1
  if grep -q '^\[  SKIPPED \] [0-9]' "$WORK/test_cuda.log" && [[ $gpu == none ]]; then
    note "GPU tests skipped: no CUDA device on this machine"
  fi

  # ---- compute-sanitizer over the same tests --------------------------------------------------
  local san=""
  for d in "$(command -v compute-sanitizer 2>/dev/null)" /usr/local/cuda/bin/compute-sanitizer \
           /usr/local/cuda-*/bin/compute-sanitizer /usr/local/cuda/compute-sanitizer/compute-sanitizer \
           /opt/nvidia/*/compute-sanitizer; do
    [[ -n $d && -x $d ]] && { san=$d; break; }
  done
  if [[ $gpu == none ]]; then
    note "compute-sanitizer: not run (no GPU)"
  elif [[ -z $san ]]; then
    note "compute-sanitizer: not found"
  else
    # memcheck (out-of-bounds / misaligned accesses, API errors) decides pass/fail; initcheck
    # (reads of uninitialised device memory) is reported. No leak check: the caching allocator
    # and the never-destroyed backends hold their blocks until exit on purpose. The
    # out-of-memory test is left out: its deliberate 1 PiB cudaMalloc is an API error.
    local tool errs
    : >"$OUTDIR/sanitizer.log"
    for tool in memcheck initcheck; do
      echo "== compute-sanitizer $tool ($san)"
      t=$(step_limit 120)
      echo "===== compute-sanitizer --tool $tool" >>"$OUTDIR/sanitizer.log"
      timeout "$t" "$san" --tool "$tool" --error-exitcode 99 "$BUNDLE/bin/test_cuda" \
        --gtest_brief=1 --gtest_filter='-CudaBackend.OutOfMemoryIsAnError' >"$WORK/san.log" 2>&1
      rc=$?
      cat "$WORK/san.log" >>"$OUTDIR/sanitizer.log"
      tail -4 "$WORK/san.log"
      errs=$(grep -oE 'ERROR SUMMARY: [0-9]+' "$WORK/san.log" | grep -oE '[0-9]+$' | tail -1)
      if [[ $rc == 124 ]]; then
        note "compute-sanitizer $tool: TIMED OUT after ${t}s (not counted as a failure)"
      elif [[ -z $errs ]]; then
        note "compute-sanitizer $tool: did not run to its summary (exit $rc; see sanitizer.log; not counted as a failure)"
      elif [[ $errs != 0 ]]; then
        note "compute-sanitizer $tool: $errs ERRORS (see sanitizer.log)"
        [[ $tool == memcheck ]] && failed=1
      else
        note "compute-sanitizer $tool: 0 errors (tests exit $rc)"
        [[ $rc == 0 ]] || failed=1
      fi
    done
  fi

  # ---- test_ops (CPU kernels, on this machine's many cores) ---------------------------------
  if [[ -x $BUNDLE/bin/test_ops ]]; then
    echo "== test_ops"
    t=$(step_limit 90)
    timeout "$t" "$BUNDLE/bin/test_ops" --gtest_brief=1 --gtest_output="xml:$OUTDIR/test_ops.xml" 2>&1 | tee "$WORK/test_ops.log"
    rc=${PIPESTATUS[0]}
    note "test_ops: $(gtest_counts "$WORK/test_ops.log"), exit $rc$([[ $rc == 124 ]] && echo ' (TIMED OUT)')"
    grep -E '^\[  FAILED  \] [A-Za-z]' "$WORK/test_ops.log" | sort -u | sed 's/^/   /' >>"$WORK/summary_extra"
    [[ $rc == 0 ]] || failed=1
  else
    note "test_ops: not in the bundle"
  fi

  # ---- bench_core ---------------------------------------------------------------------------
  echo "== bench_core"
  t=$(step_limit 120)
  timeout "$t" "$BUNDLE/bin/bench_core" --benchmark_out="$OUTDIR/bench.json" \
    --benchmark_out_format=json --benchmark_min_time=0.2 2>&1
  rc=$?
  if [[ $rc == 0 ]]; then
    note "bench_core: done (bench.json)"
  else
    note "bench_core: exit $rc$([[ $rc == 124 ]] && echo ' (TIMED OUT)')"
    failed=1
  fi
  if [[ -s $OUTDIR/bench.json ]]; then
    LD_LIBRARY_PATH=$orig_ld python3 - "$OUTDIR/bench.json" >"$WORK/bench_table" 2>/dev/null <<'PY'
import json, sys
for b in json.load(open(sys.argv[1]))["benchmarks"]:
    name = b["name"].replace("/real_time", "")
    if b.get("error_occurred"):
        print(f"   {name:48s} ERROR: {b.get('error_message', '')[:70]}")
        continue
    extra = "  ".join(f"{k}={b[k]:.4g}" for k in ("GFLOPS", "frac_of_raw", "GBps", "fwd_GBps", "utts") if k in b)
    print(f"   {name:48s} {b['real_time']:12.1f} {b['time_unit']}  {extra}")
PY
    cat "$WORK/bench_table"
  fi

  # ---- summary ------------------------------------------------------------------------------
  {
    echo "asr-adapt GPU check: $([[ $failed == 0 ]] && echo PASS || echo FAIL)   ($(date -u '+%Y-%m-%d %H:%M UTC'), ${SECONDS}s)"
    sed -n '2,3p' "$BUNDLE/MANIFEST.txt" 2>/dev/null
    printf '%s\n' "${summary[@]}"
    [[ -s $WORK/summary_extra ]] && { echo "failed tests:"; cat "$WORK/summary_extra"; }
    [[ -s $WORK/bench_table ]] && { echo "benchmarks:"; cat "$WORK/bench_table"; }
  } >"$OUTDIR/summary.txt"
  echo "== summary ($OUTDIR/summary.txt)"
  cat "$OUTDIR/summary.txt"
  return $failed
}

main "$@" 2>&1 | tee "$OUTDIR/gpu_check.log"
exit "${PIPESTATUS[0]}"
