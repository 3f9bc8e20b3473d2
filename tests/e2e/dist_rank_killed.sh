#!/usr/bin/env bash
# A rank that dies must not hang the job: `mpirun -np 2 asr-adapt train`, SIGKILL one rank once a
# checkpoint exists, expect the job to end non-zero within 60 s with the last checkpoint intact,
# then the same command resumes from it and finishes.
#   dist_rank_killed.sh ASR_ADAPT_BINARY SOURCE_DIR MPIEXEC
set -euo pipefail
BIN=$1
SRC=$2
MPIEXEC=${3:-mpirun}
WORK=$(mktemp -d /tmp/asr_kill.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
MODEL=$SRC/tests/fixtures/nemo/conformer_ctc.nemo
cd "$WORK"
fail() { echo "FAIL: $*" >&2; exit 1; }
"$BIN" shard --model "$MODEL" --manifest "$SRC/tests/fixtures/nemo/audio/manifest.json" --out shards --threads 1 >/dev/null 2>&1
cat > exp.yaml <<YAML
name: killed
run_dir: run
model: {path: $MODEL}
adapters: [{name: a, module: encoder+decoder, dim: 16}]
data: {train: {shards: [shards], batch_size: 2, num_buckets: 1}}
optim: {name: adamw, lr: 0.01, sched: {name: constant}}
trainer: {max_steps: 3000, log_every_n_steps: 1, collective_timeout: 20}
checkpoint: {every_n_steps: 5}
logging: {progress: never}
YAML
run_job() { timeout -k 5 120 "$MPIEXEC" --allow-run-as-root --oversubscribe -np 2 "$BIN" train exp.yaml "$@"; }

run_job > job1.log 2>&1 &
JOB=$!
for _ in $(seq 600); do [ -f run/checkpoints/latest ] && break; sleep 0.1; done
[ -f run/checkpoints/latest ] || { cat job1.log; fail "no checkpoint after 60 s"; }
# A rank of this job (not another test's asr-adapt): an asr-adapt process descending from $JOB.
descends_from_job() {
  local p=$1
  while [ "$p" -gt 1 ]; do
    [ "$p" -eq "$JOB" ] && return 0
    p=$(awk '{print $4}' "/proc/$p/stat" 2>/dev/null || echo 1)
  done
  return 1
}
victim=""
for pid in $(pgrep -x asr-adapt); do descends_from_job "$pid" && victim=$pid; done
[ -n "$victim" ] || fail "no rank process found"
start=$(date +%s)
kill -9 "$victim"
status=0
wait "$JOB" || status=$?
took=$(( $(date +%s) - start ))
echo "job ended with status $status ${took}s after SIGKILL of pid $victim"
[ "$status" -ne 0 ] || fail "the job exited 0 after a rank was killed"
[ "$status" -ne 124 ] || fail "the job hung (killed by timeout)"
[ "$took" -le 60 ] || fail "the job took ${took}s to end"
step=$(cat run/checkpoints/latest)
[ -f "run/checkpoints/$step/state.h5" ] && [ -f "run/checkpoints/$step/adapters.h5" ] || fail "latest checkpoint $step incomplete"

# The restarted job resumes from the intact checkpoint and finishes a few steps later.
done_step=$((10#${step#step-}))
run_job trainer.max_steps=$((done_step + 3)) > job2.log 2>&1 || { cat job2.log; fail "the restarted job failed"; }
grep -q "resuming from run/checkpoints/$step" job2.log || { cat job2.log; fail "the restarted job did not resume from $step"; }
[ -f run/adapters.h5 ] || fail "no adapter file after the restarted job"
echo "PASS: resumed from $step and finished at step $((done_step + 3))"
