#!/usr/bin/env bash
# End to end, as a user runs it: generate a tiny speech corpus with espeak-ng, shard it for the
# NeMo-made fixture model, evaluate the base model, train adapters from a YAML config, evaluate
# again, check the adapters-disabled output is the base model's, resume, export to .nemo.
#   adapt_tiny_corpus.sh ASR_ADAPT_BINARY SOURCE_DIR
set -euo pipefail
BIN=$1
SRC=$2
WORK=$(mktemp -d /tmp/asr_e2e.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
MODEL=$SRC/tests/fixtures/nemo/conformer_ctc.nemo
cd "$WORK"
fail() { echo "FAIL: $*" >&2; exit 1; }
num() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$@"; }

echo "== corpus + shards"
python3 "$SRC/tools/make_speech_corpus.py" --out corpus --seed 3 --voices en-us+f3,en-us+m2 \
  --split train:32,dev:8 --text-style commands
"$BIN" shard --model "$MODEL" --manifest corpus/train.json --out shards/train --strict
"$BIN" shard --model "$MODEL" --manifest corpus/dev.json --out shards/dev --strict

echo "== base model"
"$BIN" eval --model "$MODEL" --shards shards/train --json > base_train.json
"$BIN" eval --model "$MODEL" --shards shards/dev --out base_dev.jsonl --json > base_dev.json

echo "== train adapters"
"$BIN" train "$SRC/tests/e2e/tiny_adapter.yaml" model.path="$MODEL" run_dir=run \
  data.train.shards=[shards/train] data.validation.0.shards=[shards/train] data.validation.1.shards=[shards/dev]
[ -f run/adapters.h5 ] || fail "no adapter file"
[ -f run/config.yaml ] || fail "no resolved config"
ls run/tensorboard/events.out.tfevents.* > /dev/null || fail "no TensorBoard events"
python3 - run/metrics.jsonl <<'PY' || fail "training loss did not fall by half"
import json, sys
losses = [r["train/loss"] for r in map(json.loads, open(sys.argv[1])) if "train/loss" in r]
print(f"train/loss: first window {losses[0]:.2f}, last window {losses[-1]:.2f}")
sys.exit(0 if losses[-1] < 0.5 * losses[0] else 1)
PY

echo "== adapted model"
"$BIN" eval --model "$MODEL" --adapter run/adapters.h5 --shards shards/train --json > adapted_train.json
"$BIN" eval --model "$MODEL" --adapter run/adapters.h5 --disable-adapters --shards shards/dev \
  --out disabled_dev.jsonl --json > disabled_dev.json
wer_before=$(num base_train.json wer)
wer_after=$(num adapted_train.json wer)
loss_before=$(num base_train.json loss)
loss_after=$(num adapted_train.json loss)
echo "training-set WER $wer_before -> $wer_after, CTC loss $loss_before -> $loss_after"
python3 -c "import sys; a,b,c,d=map(float,sys.argv[1:]); sys.exit(0 if b < a and d < 0.5*c else 1)" \
  "$wer_before" "$wer_after" "$loss_before" "$loss_after" || fail "adapted WER/loss did not fall"
cmp base_dev.jsonl disabled_dev.jsonl || fail "adapters disabled: hypotheses differ from the base model's"

echo "== export to .nemo and transcribe with it"
"$BIN" export --model "$MODEL" --adapter run/adapters.h5 -o adapted.nemo
"$BIN" eval --model adapted.nemo --shards shards/train --json > exported_train.json
[ "$(num exported_train.json wer)" = "$(num adapted_train.json wer)" ] || fail "the exported .nemo gives another WER"
echo "== resume: a finished run resumes at its last step and continues to a new max_steps"
"$BIN" train "$SRC/tests/e2e/tiny_adapter.yaml" model.path="$MODEL" run_dir=run trainer.max_steps=210 \
  data.train.shards=[shards/train] data.validation.0.shards=[shards/train] data.validation.1.shards=[shards/dev] \
  2> resume.log
grep -q "resuming from run/checkpoints/step-00000200" resume.log || { cat resume.log; fail "did not resume"; }
grep -q "step 210/210" resume.log || { cat resume.log; fail "did not continue to step 210"; }

echo "PASS"
