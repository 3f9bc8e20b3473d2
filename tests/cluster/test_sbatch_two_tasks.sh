#!/usr/bin/env bash
# sbatch a job script of cluster/ with 2 tasks on the local cluster: the job completes with exit
# 0, the trainer runs data-parallel on 2 MPI ranks, writes the adapters, and rank 0 alone logs
# (metrics once per step, one start line).
#   test_sbatch_two_tasks.sh ASR_ADAPT ASR_ROOT [JOB_SCRIPT [srun|mpirun]]
# JOB_SCRIPT (default train_one_node.sbatch) is a file in cluster/; train_multi_node.sbatch runs
# on the one local node without GPUs. CLUSTER_DIR in the environment.
set -uo pipefail
[ $# -ge 2 ] && [ $# -le 4 ] || { echo "usage: $0 ASR_ADAPT ASR_ROOT [JOB_SCRIPT [srun|mpirun]]" >&2; exit 2; }
ASR_ADAPT=$1
ASR_ROOT=$2
JOB_SCRIPT=${3:-train_one_node.sbatch}
LAUNCHER=${4:-srun}
# shellcheck source=cluster_test_util.sh
. "$ASR_ROOT/tests/cluster/cluster_test_util.sh"
cluster_use

WORK=$(mktemp -d "${TMPDIR:-/tmp}/asr_sbatch.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
cd "$WORK" || die "cannot enter $WORK"
STEPS=4
make_fixture_shards "$WORK/shards"
write_tiny_config "$WORK/tiny.yaml" "$WORK/shards" $STEPS

mkdir -p runs/two_tasks
options=(--parsable --job-name=two_tasks --ntasks-per-node=2 --cpus-per-task=1 --time=00:10:00)
[ "$JOB_SCRIPT" != train_multi_node.sbatch ] || options+=(--nodes=1 --gpus-per-node=0)
start=$SECONDS
job=$(ASR_ADAPT=$ASR_ADAPT ASR_LAUNCHER=$LAUNCHER sbatch "${options[@]}" "$ASR_ROOT/cluster/$JOB_SCRIPT" tiny.yaml) ||
  die "sbatch failed"
log "submitted job $job: $JOB_SCRIPT, ranks started by $LAUNCHER"
wait_job_end "$job" 300
out=runs/two_tasks/slurm-$job.out
log "job $job ended after $((SECONDS - start)) s: $(job_field "$job" JobState), exit $(job_field "$job" ExitCode)"
echo "----- $out"
cat "$out"
echo "-----"

[ "$(job_field "$job" JobState)" = COMPLETED ] || die "job $job is $(job_field "$job" JobState), not COMPLETED"
[ "$(job_field "$job" ExitCode)" = 0:0 ] || die "job $job exit code $(job_field "$job" ExitCode), not 0:0"
[ "$(job_field "$job" NumTasks)" = 2 ] || die "job $job ran $(job_field "$job" NumTasks) tasks, not 2"
grep -q "2 task(s) x 1 thread(s)" "$out" || die "the job did not start 2 tasks x 1 thread"
grep -q "^data-parallel: 2 ranks" "$out" || die "the trainer did not run on 2 ranks"
grep -q "asr-job: training finished" "$out" || die "no 'training finished' in $out"
[ -s runs/two_tasks/adapters.h5 ] || die "no runs/two_tasks/adapters.h5"
check_metrics_once runs/two_tasks $STEPS
starts=$(grep -c "^train: cluster_test | mode" "$out")
[ "$starts" -eq 1 ] || die "$starts ranks printed the start line; rank 0 alone should"
echo "PASS: sbatch $JOB_SCRIPT, 2 tasks by $LAUNCHER: job $job completed in $((SECONDS - start)) s"
