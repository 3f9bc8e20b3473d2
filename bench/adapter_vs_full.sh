#!/usr/bin/env bash
# Adapter training vs full fine-tuning of Conformer-CTC Small on this machine: step time and peak
# memory of each (separate processes), and their ratios. The baseline (full) runs in the same
# invocation.   bash bench/adapter_vs_full.sh [BUILD_DIR] [extra bench_train_step args]
set -euo pipefail
BUILD_DIR=${1:-build}
shift || true
BIN="$BUILD_DIR/bin/bench_train_step"
[ -x "$BIN" ] || BIN="$BUILD_DIR/bench_train_step"
[ -x "$BIN" ] || { echo "adapter_vs_full: $BUILD_DIR has no bench_train_step (build with -DASR_BUILD_BENCH=ON)" >&2; exit 1; }
full=$("$BIN" --mode full "$@")
adapters=$("$BIN" --mode adapters "$@")
echo "$full"
echo "$adapters"
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p" <<<"$2"; }
python3 - "$(field step_s "$full")" "$(field step_s "$adapters")" \
  "$(field peak_rss_mib "$full")" "$(field peak_rss_mib "$adapters")" \
  "$(field trainable "$adapters")" "$(field total "$adapters")" <<'PY'
import sys
fs, as_, fm, am, tr, tot = map(float, sys.argv[1:])
print(f"adapters: {int(tr):,} trainable of {int(tot):,} parameters ({100*tr/tot:.2f}%)")
print(f"step time: full {fs:.3f} s, adapters {as_:.3f} s -> adapters take {as_/fs:.2f}x the full step ({fs/as_:.2f}x faster)")
print(f"peak memory: full {fm:.0f} MiB, adapters {am:.0f} MiB -> {am/fm:.2f}x")
PY
