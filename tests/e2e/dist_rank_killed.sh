#!/usr/bin/env bash
# A rank that dies must not hang the job nor cost more than the steps since the last checkpoint:
# `mpirun -np 2 asr-adapt train`, SIGKILL one rank in the middle of the run (once a checkpoint
# exists), expect the job to end non-zero within 60 s with the last checkpoint intact; the same
# command then resumes from it, and its final adapter equals, bit for bit, the adapter of an
# uninterrupted run with the same config, seed and max_steps.
#   dist_rank_killed.sh ASR_ADAPT_BINARY SOURCE_DIR MPIEXEC
set -euo pipefail
source "$2/tests/e2e/faults/lib.sh"
fault_setup "$1" "$2"
MPIEXEC=${3:-mpirun}
STEPS=60
shard_fixture shards
write_experiment exp.yaml run shards $STEPS 5
write_experiment ref.yaml ref shards $STEPS 5
run_job() { timeout -k 5 120 "$MPIEXEC" --allow-run-as-root --oversubscribe -np 2 "$BIN" train "$@"; }

run_job exp.yaml > job1.log 2>&1 &
JOB=$!
for _ in $(seq 3000); do [ -f run/checkpoints/latest ] && break; sleep 0.02; done
[ -f run/checkpoints/latest ] || { cat job1.log; fail "no checkpoint after 60 s"; }
victim=$(ranks_of_job "$JOB" | tail -n 1)  # a rank of this job, not another test's
[ -n "$victim" ] || { cat job1.log; fail "no rank process found (did the job end before the kill?)"; }
start=$(date +%s)
kill -9 "$victim"
status=0
wait "$JOB" || status=$?
took=$(( $(date +%s) - start ))
echo "job ended with status $status ${took}s after SIGKILL of pid $victim"
[ "$status" -ne 0 ] || fail "the job exited 0 after a rank was killed"
[ "$status" -ne 124 ] || fail "the job hung (killed by timeout)"
[ "$took" -le 60 ] || fail "the job took ${took}s to end"
[ ! -f run/adapters.h5 ] || fail "the job finished all $STEPS steps before the kill: the test proves nothing"
step=$(cat run/checkpoints/latest)
[ -f "run/checkpoints/$step/state.h5" ] && [ -f "run/checkpoints/$step/adapters.h5" ] || fail "latest checkpoint $step incomplete"

# The same command resumes from the intact checkpoint and finishes the planned steps.
run_job exp.yaml > job2.log 2>&1 || { cat job2.log; fail "the restarted job failed"; }
grep -q "resuming from run/checkpoints/$step" job2.log || { cat job2.log; fail "the restarted job did not resume from $step"; }
[ -f run/adapters.h5 ] || fail "no adapter file after the restarted job"

# An uninterrupted run of the same experiment gives the same adapter, bit for bit.
run_job ref.yaml > ref.log 2>&1 || { cat ref.log; fail "the reference job failed"; }
same_adapters run/adapters.h5 ref/adapters.h5
echo "PASS: killed at $step (of $STEPS), resumed, final adapter identical to an uninterrupted run's ($(elapsed) s)"
