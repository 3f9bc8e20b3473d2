# shellcheck shell=bash
# Shared by the fault tests (sourced): a private work folder, the fixture model sharded once, an
# experiment file, and a bitwise comparison of two adapter files.
#   fault_setup ASR_ADAPT_BINARY SOURCE_DIR   (sets BIN, SRC, MODEL, MANIFEST, WORK; cd "$WORK")
set -euo pipefail

fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }  # ctest SKIP_RETURN_CODE

CLEANUP=()  # commands run at exit, last first (unmounts before the folder is removed)
run_cleanup() {
  local i
  for ((i = ${#CLEANUP[@]} - 1; i >= 0; i--)); do eval "${CLEANUP[i]}" || true; done
}

fault_setup() {
  BIN=$1
  SRC=$2
  MODEL=$SRC/tests/fixtures/nemo/conformer_ctc.nemo
  MANIFEST=$SRC/tests/fixtures/nemo/audio/manifest.json
  WORK=$(mktemp -d /tmp/asr_fault.XXXXXX)
  CLEANUP=("rm -rf '$WORK'")
  trap run_cleanup EXIT
  trap 'exit 143' TERM INT HUP  # a ctest timeout still unmounts and removes the folder
  cd "$WORK"
  START_SECONDS=$(date +%s)
}

# shard_fixture OUT_DIR [extra shard options]: the fixture's five utterances as shards.
shard_fixture() {
  local out=$1
  shift
  "$BIN" shard --model "$MODEL" --manifest "$MANIFEST" --out "$out" --threads 1 "$@" > "shard_$(basename "$out").log" 2>&1 ||
    { cat "shard_$(basename "$out").log"; fail "sharding the fixture into $out failed"; }
}

# write_experiment FILE RUN_DIR SHARDS MAX_STEPS EVERY_N_STEPS: a small adapter run (constant lr,
# seeded, every step logged to metrics.jsonl).
write_experiment() {
  cat > "$1" <<YAML
name: fault
run_dir: $2
seed: 7
model: {path: $MODEL}
adapters: [{name: a, module: encoder+decoder, dim: 16}]
data: {train: {shards: [$3], batch_size: 2, num_buckets: 1}}
optim: {name: adamw, lr: 0.01, sched: {name: constant}}
trainer: {max_steps: $4, log_every_n_steps: 1, collective_timeout: 20, threads: 1}
checkpoint: {every_n_steps: $5, keep_last: 3}
logging: {progress: never, tensorboard: false}
YAML
}

# same_adapters A B: every dataset and attribute equal, bit for bit (h5diff without tolerance).
same_adapters() {
  if command -v h5diff > /dev/null; then
    h5diff "$1" "$2" > h5diff.log 2>&1 || { cat h5diff.log; fail "$1 and $2 differ"; }
  else
    cmp "$1" "$2" || fail "$1 and $2 differ (byte comparison; h5diff not installed)"
  fi
}

# ranks_of_job PID: the asr-adapt processes descending from PID (that job's ranks, not another
# test's).
ranks_of_job() {
  local job=$1 pid p
  for pid in $(pgrep -x asr-adapt); do
    p=$pid
    while [ "$p" -gt 1 ]; do
      if [ "$p" -eq "$job" ]; then echo "$pid"; break; fi
      p=$(awk '{print $4}' "/proc/$p/stat" 2>/dev/null || echo 1)
    done
  done
}

elapsed() { echo $(( $(date +%s) - START_SECONDS )); }
