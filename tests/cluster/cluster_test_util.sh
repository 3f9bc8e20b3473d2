# Sourced by the tests in tests/cluster/: the local cluster they share (started by
# start_cluster.sh as a ctest fixture), job submission and polling, and a tiny training run of
# the committed NeMo fixture that takes seconds per run.

SKIP=77 # ctest's SKIP_RETURN_CODE for these tests

log() { echo "[$(date +%H:%M:%S)] $*"; }
die() {
  echo "FAIL: $*" >&2
  exit 1
}

# The cluster folder, shared by the fixture scripts and the tests (CLUSTER_DIR from ctest).
cluster_use() {
  CLUSTER_DIR=${CLUSTER_DIR:?CLUSTER_DIR must name the local cluster folder}
  if ! bash "$ASR_ROOT/launch/slurm_local.sh" status "$CLUSTER_DIR" >/dev/null 2>&1; then
    if [ -f "$CLUSTER_DIR/skip_reason" ]; then
      echo "SKIP: $(cat "$CLUSTER_DIR/skip_reason")"
      exit $SKIP
    fi
    bash "$ASR_ROOT/launch/slurm_local.sh" status "$CLUSTER_DIR"
    die "the local Slurm cluster in $CLUSTER_DIR is not running (the cluster.slurm_start test starts it)"
  fi
  export SLURM_CONF=$CLUSTER_DIR/etc/slurm.conf
}

# One field of a job's record, e.g. job_field 12 JobState.
job_field() { scontrol show job -o "$1" 2>/dev/null | grep -oE "(^| )$2=[^ ]*" | head -n 1 | cut -d= -f2-; }

# Waits until job $1 has ended (or $2 seconds have passed: then cancels it and fails).
wait_job_end() {
  local job=$1 timeout=$2 state deadline=$((SECONDS + $2))
  while [ $SECONDS -lt $deadline ]; do
    state=$(job_field "$job" JobState)
    case $state in
      COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY | BOOT_FAIL | DEADLINE | PREEMPTED)
        return 0
        ;;
    esac
    sleep 1
  done
  scancel "$job"
  die "job $job still ${state:-unknown} after ${timeout}s"
}

# Shards of the fixture audio for the fixture model, in $1.
make_fixture_shards() {
  "$ASR_ADAPT" shard --model "$ASR_ROOT/tests/fixtures/nemo/conformer_ctc.nemo" \
    --manifest "$ASR_ROOT/tests/fixtures/nemo/audio/manifest.json" --out "$1" --threads 1 >/dev/null ||
    die "asr-adapt shard failed"
}

# A config that trains adapters on the fixture in well under a second per step (as
# tests/train/train_test_util.h): $1 file, $2 shards folder, $3 max_steps.
write_tiny_config() {
  cat >"$1" <<EOF
name: cluster_test
seed: 7
model:
  path: $ASR_ROOT/tests/fixtures/nemo/conformer_ctc.nemo
adapters:
  - name: domain
    module: encoder+decoder
    dim: 16
data:
  train:
    shards: [$2]
    batch_size: 3
    num_buckets: 1
  validation:
    - name: dev
      shards: [$2]
      batch_size: 5
optim:
  name: adamw
  lr: 0.01
  sched:
    name: constant
trainer:
  max_steps: $3
  log_every_n_steps: 1
checkpoint:
  every_n_steps: 2
  keep_last: 2
logging:
  progress: never
  tensorboard: false
EOF
}

# Fails unless RUN_DIR/metrics.jsonl has one training line for each step 1..$2, each once: rank 0
# alone writes metrics, and a resumed run appends only the steps it did itself.
check_metrics_once() {
  local metrics=$1/metrics.jsonl steps
  [ -s "$metrics" ] || die "no $metrics"
  steps=$(grep '"train/loss"' "$metrics" | grep -oE '"step":[0-9]+' | cut -d: -f2 | sort -n | tr '\n' ' ')
  [ "$steps" = "$(seq -s ' ' 1 "$2") " ] || die "$metrics has training steps [$steps], expected 1..$2 once each"
}
