#!/usr/bin/env bash
# What a change bought on the CPU: bench_train_step built from two commits the same way (Release,
# CUDA off, each in its own git worktree under $AB_DIR), run interleaved (A B A B ...) so both see
# the same machine state; prints every run and the medians of the step and inference times.
#
#   bench/ab_commits.sh COMMIT_A COMMIT_B
#   env: AB_DIR (/tmp/asr_ab), ROUNDS (3), BATCH (8), UTT_SECONDS (8), STEPS (3), THREADS (2), JOBS (2)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
[[ $# -eq 2 ]] || { echo "usage: bench/ab_commits.sh COMMIT_A COMMIT_B" >&2; exit 2; }
DIR=${AB_DIR:-/tmp/asr_ab} ROUNDS=${ROUNDS:-3} BATCH=${BATCH:-8} SECS=${UTT_SECONDS:-8} STEPS=${STEPS:-3}
THREADS=${THREADS:-2} JOBS=${JOBS:-2}
declare -A BIN
for c in "$1" "$2"; do
  sha=$(git -C "$ROOT" rev-parse --short "$c")
  wt=$DIR/$sha
  [[ -d $wt ]] || git -C "$ROOT" worktree add -f --detach "$wt" "$sha" >/dev/null
  echo "== build $sha in $wt/b" >&2
  cmake -S "$wt" -B "$wt/b" -G Ninja -DCMAKE_BUILD_TYPE=Release -DASR_ENABLE_CUDA=OFF -DASR_BUILD_TESTS=OFF \
    -DASR_BUILD_BENCH=ON >/dev/null
  cmake --build "$wt/b" --target bench_train_step -j"$JOBS" >"$wt/build.log" 2>&1 || { tail "$wt/build.log" >&2; exit 1; }
  BIN[$c]=$wt/b/bin/bench_train_step
done
export OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS
out=$(mktemp)
for r in $(seq "$ROUNDS"); do
  for c in "$1" "$2"; do
    for mode in adapters infer; do
      s=$("${BIN[$c]}" --mode "$mode" --batch "$BATCH" --seconds "$SECS" --steps "$STEPS" --warmup 1 --reps 1 \
            --threads "$THREADS" | grep '^mode=' | grep -o 'step_s=[0-9.]*' | cut -d= -f2)
      echo "round $r $c $mode $s" | tee -a "$out"
    done
  done
done
for mode in adapters infer; do
  for c in "$1" "$2"; do
    echo "median $mode $c: $(awk -v c="$c" -v m="$mode" '$3 == c && $4 == m {print $5}' "$out" | sort -n |
      awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}') s"
  done
done
rm -f "$out"
