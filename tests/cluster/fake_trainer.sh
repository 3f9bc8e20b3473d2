#!/usr/bin/env bash
# Stands in for `asr-adapt train CONFIG run_dir=DIR` in the job-script protocol test: counts
# "steps" (0.2 s each) up to STEPS, keeps its step in DIR/checkpoint.<rank>, and on SIGUSR1 or
# SIGTERM writes that checkpoint and exits 3, as the trainer does. A later start resumes from it.
# Exit 2 on bad arguments, 0 when STEPS are done (then DIR/done.<rank> exists).
set -u
[ "${1:-}" = train ] && [ $# -ge 3 ] && [[ $3 == run_dir=* ]] || { echo "usage: $0 train CONFIG run_dir=DIR" >&2; exit 2; }
run_dir=${3#run_dir=}
rank=${SLURM_PROCID:-0}
steps=${FAKE_TRAINER_STEPS:-100}
mkdir -p "$run_dir"
step=0
if [ -s "$run_dir/checkpoint.$rank" ]; then
  step=$(cat "$run_dir/checkpoint.$rank")
  echo "rank $rank: resuming from $run_dir/checkpoint.$rank (step $step)"
fi
stop=0
trap 'stop=1' USR1 TERM
while [ "$step" -lt "$steps" ]; do
  sleep 0.2
  step=$((step + 1))
  [ "$rank" -ne 0 ] || echo "step $step" >>"$run_dir/steps.log"
  if [ $stop -eq 1 ]; then
    echo "$step" >"$run_dir/checkpoint.$rank"
    echo "rank $rank: stopped at step $step, checkpoint written"
    exit 3
  fi
done
touch "$run_dir/done.$rank"
echo "rank $rank: done"
