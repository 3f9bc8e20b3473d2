#!/usr/bin/env bash
# A batch poisoned with NaN (ASR_FAULT_INJECT=trainer.batch:nan@N) makes a non-finite loss: the
# step is skipped and counted (log line, metrics.jsonl, the closing summary), the weights are not
# touched, and the run continues to max_steps with finite losses. Every batch poisoned: the run
# stops after trainer.max_consecutive_nonfinite with a readable error. A malformed
# ASR_FAULT_INJECT is refused rather than silently ignored.
#   nan_batch_skipped.sh ASR_ADAPT_BINARY SOURCE_DIR [MPIEXEC (unused)]
set -euo pipefail
source "$2/tests/e2e/faults/lib.sh"
fault_setup "$1" "$2"
shard_fixture shards
write_experiment exp.yaml run shards 8 0

ASR_FAULT_INJECT=trainer.batch:nan@3 timeout 120 "$BIN" train exp.yaml > nan.log 2>&1 || { cat nan.log; fail "the run with one poisoned batch failed"; }
grep -q "step 3: non-finite loss or gradient" nan.log || { cat nan.log; fail "no skipped-step line for step 3"; }
grep -q "step skipped (1 in a row, 1 in total)" nan.log || { cat nan.log; fail "the skipped step was not counted"; }
grep -q "done: 8 steps (1 skipped)" nan.log || { cat nan.log; fail "the summary does not report 8 steps, 1 skipped"; }
python3 - run/metrics.jsonl <<'PY' || fail "metrics.jsonl check failed"
import json, math, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if '"train/loss"' in l]
steps = [r["step"] for r in rows]
assert steps == list(range(1, 9)), steps               # 8 optimizer steps, none lost
assert all(r["train/loss"] is not None and math.isfinite(r["train/loss"]) for r in rows), rows
assert [r["train/skipped_steps"] for r in rows] == [0, 0] + [1] * 6, [r["train/skipped_steps"] for r in rows]
PY

status=0
ASR_FAULT_INJECT=trainer.batch:nan timeout 120 "$BIN" train exp.yaml trainer.max_consecutive_nonfinite=3 run_dir=run_all > all.log 2>&1 || status=$?
[ "$status" -ne 0 ] || fail "a run whose every batch is NaN exited 0"
grep -q "3 non-finite steps in a row" all.log || { cat all.log; fail "no clear error after 3 non-finite steps"; }

status=0
ASR_FAULT_INJECT=trainer.batch:explode timeout 60 "$BIN" train exp.yaml run_dir=run_bad > bad.log 2>&1 || status=$?
[ "$status" -ne 0 ] && grep -q "ASR_FAULT_INJECT: unknown action 'explode'" bad.log || { cat bad.log; fail "a malformed ASR_FAULT_INJECT was not refused"; }
echo "PASS: poisoned batch skipped and counted, run finished ($(elapsed) s)"
