#!/usr/bin/env bash
# Preemption end to end on the local cluster: submit cluster/train_one_node.sbatch (2 tasks),
# send the batch shell the time-limit warning early (scancel --signal=USR1 --batch), and check
# that the trainer checkpointed and stopped with status 3, the job requeued itself, and the
# requeued run resumed from that checkpoint and finished.
#   test_preempt_requeue.sh ASR_ADAPT ASR_ROOT          the real trainer
#   test_preempt_requeue.sh --fake ASR_ROOT             tests/cluster/fake_trainer.sh: the job
#                                                       script's side of the protocol alone
# (CLUSTER_DIR in the environment.)
set -uo pipefail
[ $# -eq 2 ] || { echo "usage: $0 ASR_ADAPT|--fake ASR_ROOT" >&2; exit 2; }
ASR_ROOT=$2
# shellcheck source=cluster_test_util.sh
. "$ASR_ROOT/tests/cluster/cluster_test_util.sh"
cluster_use

WORK=$(mktemp -d "${TMPDIR:-/tmp}/asr_preempt.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
cd "$WORK" || die "cannot enter $WORK"
RUN=runs/preempt
mkdir -p $RUN

if [ "$1" = --fake ]; then
  FAKE=1
  STEPS=60 # 0.2 s each
  export FAKE_TRAINER_STEPS=$STEPS
  ASR_ADAPT=$ASR_ROOT/tests/cluster/fake_trainer.sh
  PROGRESS_FILE=$RUN/steps.log
  touch tiny.yaml
else
  FAKE=0
  ASR_ADAPT=$1
  # Long enough to be signalled mid-run on a busy machine, short when steps are fast (~20 ms
  # here); checkpoints are rare, so resuming from anything but the stop step repeats steps.
  STEPS=300
  PROGRESS_FILE=$RUN/metrics.jsonl
  make_fixture_shards "$WORK/shards"
  write_tiny_config "$WORK/tiny.yaml" "$WORK/shards" $STEPS
fi

start=$SECONDS
job=$(ASR_ADAPT=$ASR_ADAPT sbatch --parsable --job-name=preempt --ntasks-per-node=2 --cpus-per-task=1 \
  --time=00:15:00 "$ASR_ROOT/cluster/train_one_node.sbatch" tiny.yaml checkpoint.every_n_steps=100) ||
  die "sbatch failed"
out=$RUN/slurm-$job.out
log "submitted job $job"
show_log() {
  echo "----- $out"
  cat "$out" 2>/dev/null
  echo "-----"
}

# Signal once two steps are done, so there is progress to keep.
deadline=$((SECONDS + 180))
steps_done() {
  local n
  n=$(grep -c step "$PROGRESS_FILE" 2>/dev/null)
  echo "${n:-0}"
}
until [ "$(steps_done)" -ge 2 ]; do
  state=$(job_field "$job" JobState)
  case $state in PENDING | RUNNING | CONFIGURING) ;; *) show_log; die "job $job is $state before it was signalled" ;; esac
  [ $SECONDS -lt $deadline ] || { scancel "$job"; show_log; die "job $job made no progress in 180 s"; }
  sleep 0.2
done
log "step 2 reached after $((SECONDS - start)) s; scancel --signal=USR1 --batch $job"
scancel --signal=USR1 --batch "$job" || die "scancel --signal=USR1 failed"

deadline=$((SECONDS + 120))
until [ "$(job_field "$job" Restarts)" -ge 1 ]; do
  if [ $SECONDS -ge $deadline ] || [ "$(job_field "$job" JobState)" = COMPLETED ] ||
    [ "$(job_field "$job" JobState)" = FAILED ]; then
    show_log
    die "job $job was not requeued after the signal (state $(job_field "$job" JobState))"
  fi
  sleep 0.5
done
log "job $job requeued after $((SECONDS - start)) s"
wait_job_end "$job" 600
log "job $job ended after $((SECONDS - start)) s: $(job_field "$job" JobState), exit $(job_field "$job" ExitCode)," \
  "restarts $(job_field "$job" Restarts)"
show_log

[ "$(job_field "$job" JobState)" = COMPLETED ] || die "job $job is $(job_field "$job" JobState), not COMPLETED"
[ "$(job_field "$job" ExitCode)" = 0:0 ] || die "job $job exit code $(job_field "$job" ExitCode), not 0:0"
[ "$(job_field "$job" Restarts)" = 1 ] || die "job $job restarted $(job_field "$job" Restarts) times, not once"
grep -q "asr-job: SIGUSR1" "$out" || die "the job script did not catch SIGUSR1"
grep -q "checkpointed and stopped (status 3); requeueing job $job" "$out" ||
  die "the step did not stop with status 3 after SIGUSR1"
grep -q "asr-job: job $job (restart 1)" "$out" || die "the requeued run did not start"
grep -q "asr-job: training finished" "$out" || die "the requeued run did not finish"
if [ $FAKE -eq 1 ]; then
  grep -q "rank 0: resuming from" "$out" && grep -q "rank 1: resuming from" "$out" ||
    die "the requeued run did not resume on both ranks"
  [ -f $RUN/done.0 ] && [ -f $RUN/done.1 ] || die "the fake trainer did not finish on both ranks"
  steps=$(grep -oE '[0-9]+' $RUN/steps.log | tr '\n' ' ')
  [ "$steps" = "$(seq -s ' ' 1 $STEPS) " ] || die "steps [$steps], expected 1..$STEPS once each"
else
  resumed=$(grep -oE "resuming from [^ ]+ \(step [0-9]+" "$out" | head -n 1 | grep -oE '[0-9]+$')
  [ -n "$resumed" ] || die "the requeued run did not resume from a checkpoint"
  [ "$resumed" -ge 2 ] && [ "$resumed" -lt $STEPS ] || die "resumed from step $resumed, not from the stop step"
  [ -s $RUN/adapters.h5 ] || die "no $RUN/adapters.h5"
  check_metrics_once $RUN $STEPS
fi
echo "PASS: preempted, requeued and resumed: job $job in $((SECONDS - start)) s"
