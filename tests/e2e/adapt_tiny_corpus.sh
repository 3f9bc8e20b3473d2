#!/usr/bin/env bash
# CI: the quickstart's adapter workflow (launch/adapt_tiny.sh: espeak-ng corpus -> shard -> eval
# -> mpirun -np 2 train -> eval -> adapters-disabled == base -> export), then resume: the finished
# run continues from its last checkpoint to a new max_steps.
#   adapt_tiny_corpus.sh ASR_ADAPT_BINARY SOURCE_DIR
set -euo pipefail
BIN=$1
SRC=$2
WORK=$(mktemp -d /tmp/asr_e2e.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
bash "$SRC/launch/adapt_tiny.sh" "$BIN" "$WORK" 2
cd "$WORK"
ls run/tensorboard/events.out.tfevents.* > /dev/null || { echo "FAIL: no TensorBoard events"; exit 1; }
mpirun --allow-run-as-root --oversubscribe -np 2 "$BIN" train "$SRC/configs/tiny_adapter.yaml" model.path="$SRC/tests/fixtures/nemo/conformer_ctc.nemo" \
  run_dir=run trainer.max_steps=210 data.train.shards=[shards/train] data.validation.0.shards=[shards/train] \
  data.validation.1.shards=[shards/dev] 2> resume.log
grep -q "resuming from run/checkpoints/step-00000200" resume.log || { cat resume.log; echo "FAIL: did not resume"; exit 1; }
grep -q "step 210/210" resume.log || { cat resume.log; echo "FAIL: did not continue to step 210"; exit 1; }
echo PASS
