#!/usr/bin/env bash
# Runs the libFuzzer targets (tests/fuzz/fuzz_<target>.cpp) for a bounded time each.
#
#   launch/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]      (default: 60 s, every target)
#
# Configures and builds build-fuzz (clang, -DASR_FUZZ=ON -DASR_SANITIZE=ON: ASan + UBSan, UBSan
# aborting) when needed, then fuzzes each target from a working corpus seeded with
# tests/fuzz/corpus/<target> and tests/fuzz/regressions/<target> (build-fuzz/fuzz-work/<target>),
# with tests/fuzz/dicts/<target>.dict when there is one. Findings (crash-*, leak-*, timeout-*,
# oom-*) go to build-fuzz/fuzz-crashes/<target>/<run time>/; logs to build-fuzz/fuzz-logs/<target>.log.
# Prints one summary line per target and exits 1 if any target found anything.
#
# Environment: FUZZ_BUILD (build folder, default build-fuzz), FUZZ_PARALLEL (targets run at once,
# default 1), FUZZ_JOBS (build jobs, default 2), FUZZ_ARGS (extra libFuzzer flags).
# A finding is reproduced with: build-fuzz/bin/fuzz_<target> <file>; once fixed, copy the file to
# tests/fuzz/regressions/<target>/<bug-name> so ctest's fuzz.replay.<target> keeps checking it.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SECONDS_PER_TARGET=${1:-60}
[[ $# -gt 0 ]] && shift
BUILD=${FUZZ_BUILD:-$ROOT/build-fuzz}
PARALLEL=${FUZZ_PARALLEL:-1}

if ! [[ $SECONDS_PER_TARGET =~ ^[0-9]+$ ]] || (( SECONDS_PER_TARGET < 1 )); then
  echo "usage: launch/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]" >&2
  exit 2
fi

ALL_TARGETS=()
for harness in "$ROOT"/tests/fuzz/fuzz_*.cpp; do
  name=$(basename "$harness" .cpp)
  ALL_TARGETS+=("${name#fuzz_}")
done
TARGETS=("$@")
[[ ${#TARGETS[@]} -eq 0 ]] && TARGETS=("${ALL_TARGETS[@]}")
for t in "${TARGETS[@]}"; do
  if [[ ! -f $ROOT/tests/fuzz/fuzz_$t.cpp ]]; then
    echo "fuzz.sh: unknown target '$t' (have: ${ALL_TARGETS[*]})" >&2
    exit 2
  fi
done

# ---- build ------------------------------------------------------------------------------------
if [[ ! -f $BUILD/build.ninja ]]; then
  command -v clang++ >/dev/null || { echo "fuzz.sh: clang++ not found (apt-get install clang)" >&2; exit 2; }
  CC=clang CXX=clang++ cmake -S "$ROOT" -B "$BUILD" -G Ninja -DASR_FUZZ=ON -DASR_SANITIZE=ON \
    -DASR_ENABLE_CUDA=OFF -DASR_BUILD_BENCH=OFF -DASR_BUILD_TESTS=OFF >/dev/null
fi
BUILD_TARGETS=()
for t in "${TARGETS[@]}"; do BUILD_TARGETS+=("fuzz_$t"); done
cmake --build "$BUILD" -j"${FUZZ_JOBS:-2}" --target "${BUILD_TARGETS[@]}"

# ---- fuzz -------------------------------------------------------------------------------------
# Leaks and UB are findings. An impossible malloc (libhdf5 asks for 0x3a00...00d0 bytes on some
# corrupt headers) returns NULL as glibc's does in a release build, instead of aborting in ASan;
# libFuzzer's -malloc_limit_mb still reports any allocation over 2 GiB that succeeds.
# tests/fuzz/asan.supp and lsan.supp list third-party libraries' own bugs (each with its reason).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1:suppressions=$ROOT/tests/fuzz/asan.supp}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$ROOT/tests/fuzz/lsan.supp:print_suppressions=0}
mkdir -p "$BUILD/fuzz-logs"

# Targets whose input reaches libhdf5. Debian 12's libhdf5 1.10.8 itself crashes, loops or asks
# for gigabytes on some crafted files (its global heap: tests/fuzz/known-third-party/README.md),
# so these run in libFuzzer's fork mode, which carries on after a finding, and every finding is
# replayed and triaged: one whose first frame outside the sanitizer/libFuzzer/libc runtime is in
# libhdf5 is reported as third-party and does not fail the run; anything else does. A finding
# that does not reproduce on its own (libhdf5 keeps state across inputs in one process) is
# reported as such, and does not fail the run either.
HDF5_TARGETS=" shard adapter_file "

# The first frame of a sanitizer/libFuzzer report that is not the runtime's own.
first_own_frame() {
  grep -E '^ +#[0-9]+ ' | grep -vE '__asan|__interceptor|__sanitizer|__lsan|__ubsan|fuzzer::|compiler-rt|libclang_rt|/libc\.so|sysdeps/|in __(mem|str)[a-z_0-9]+ |in (malloc|calloc|realloc|free|memcpy|memmove|memset|strlen)\b|in operator (new|delete)' | head -n 1
}

# Sorts the new files in $crashes: third-party ones (and unreproducible ones) move to
# $crashes/third-party/; prints "<ours> <third-party> <unreproducible>".
triage_findings() {
  local t=$1 crashes=$2 ours=0 third=0 unrepro=0 f report frame
  mkdir -p "$crashes/third-party"
  for f in "$crashes"/*; do
    [[ -f $f ]] || continue
    [[ $f == *.report ]] && continue
    report=$(timeout -k 5 60 "$BUILD/bin/fuzz_$t" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=2048 "$f" 2>&1) && {
      unrepro=$((unrepro + 1)); mv "$f" "$crashes/third-party/unreproducible-$(basename "$f")"; continue; }
    frame=$(first_own_frame <<<"$report" || true)
    if [[ $frame == *libhdf5* ]]; then
      third=$((third + 1)); mv "$f" "$crashes/third-party/libhdf5-$(basename "$f")"
      printf '%s\n' "$report" >"$crashes/third-party/libhdf5-$(basename "$f").report"
    else
      # Ours, or a report without a usable frame: kept with its replay, and the deciding frame
      # goes to the log so a CI run says what it found without the artifact at hand.
      ours=$((ours + 1))
      printf '%s\n' "$report" >"$f.report"
      echo "  $t finding $(basename "$f"): first frame: ${frame:-<none>}" >&2
      grep -m 3 -E 'ERROR|SUMMARY|runtime error' <<<"$report" | sed "s/^/  $t   /" >&2 || true
    fi
  done
  echo "$ours $third $unrepro"
}

run_target() {
  local t=$1 work=$BUILD/fuzz-work/$1 log=$BUILD/fuzz-logs/$1.log
  local crashes
  crashes=$BUILD/fuzz-crashes/$t/$(date +%Y%m%d-%H%M%S)  # this run's findings only
  mkdir -p "$work" "$crashes"
  rm -f "$BUILD/fuzz-logs/$t.triage"
  cp -n "$ROOT"/tests/fuzz/corpus/"$t"/* "$work"/ 2>/dev/null || true
  if [[ -d $ROOT/tests/fuzz/regressions/$t ]]; then
    cp -n "$ROOT"/tests/fuzz/regressions/"$t"/* "$work"/ 2>/dev/null || true
  fi
  local dict=() mode=()
  [[ -f $ROOT/tests/fuzz/dicts/$t.dict ]] && dict=(-dict="$ROOT/tests/fuzz/dicts/$t.dict")
  [[ $HDF5_TARGETS == *" $t "* ]] && mode=(-fork=1 -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1)
  local rc=0
  # shellcheck disable=SC2086
  "$BUILD/bin/fuzz_$t" "$work" -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=2048 \
    -malloc_limit_mb=2048 -artifact_prefix="$crashes/" -print_final_stats=1 "${mode[@]}" "${dict[@]}" \
    ${FUZZ_ARGS:-} >"$log" 2>&1 || rc=$?
  local execs rate cov
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  # -fork mode prints no final stats: take the last status line ("#N ... exec/s: R").
  [[ -z $execs ]] && execs=$(grep -o '^#[0-9]*' "$log" | tail -1 | tr -d '#')
  [[ -z ${rate:-} ]] && rate=$(grep -o 'exec/s: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  [[ -z ${rate:-} && -n ${execs:-} ]] && rate=$(( execs / SECONDS_PER_TARGET ))
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  local found third=0 unrepro=0
  if [[ ${#mode[@]} -gt 0 ]]; then
    read -r found third unrepro < <(triage_findings "$t" "$crashes" 2>"$BUILD/fuzz-logs/$t.triage")
  else
    found=$(find "$crashes" -maxdepth 1 -type f | wc -l)
    (( rc != 0 && found == 0 )) && found=1  # e.g. a crash libFuzzer could not save
    (( found )) && { grep -m 3 -E 'ERROR|SUMMARY|runtime error' "$log" | sed "s/^/  $t   /" \
      >"$BUILD/fuzz-logs/$t.triage" || true; }
  fi
  local extra=""
  (( third + unrepro > 0 )) && extra="  (libhdf5: $third, not reproducible alone: $unrepro -> $crashes/third-party)"
  printf 'fuzz %-18s %5ss  execs %-10s exec/s %-7s cov %-6s findings %s%s%s\n' "$t" "$SECONDS_PER_TARGET" \
    "${execs:-?}" "${rate:-?}" "${cov:-?}" "$found" "$extra" \
    "$( ((found)) && echo "  -> $crashes (log: $log)")" >"$BUILD/fuzz-logs/$t.summary"
  [[ -s $BUILD/fuzz-logs/$t.triage ]] && cat "$BUILD/fuzz-logs/$t.triage" >>"$BUILD/fuzz-logs/$t.summary"
  find "$crashes" -depth -type d -empty -delete 2>/dev/null || true
  return $((found > 0))
}

# Up to FUZZ_PARALLEL targets at once; each summary prints as its target ends.
status=0
running=0
for t in "${TARGETS[@]}"; do
  if (( running >= PARALLEL )); then
    wait -n || status=1
    running=$((running - 1))
  fi
  ( rc=0; run_target "$t" || rc=$?; cat "$BUILD/fuzz-logs/$t.summary"; exit $rc ) &
  running=$((running + 1))
done
while (( running > 0 )); do
  wait -n || status=1
  running=$((running - 1))
done
exit $status
