#!/usr/bin/env bash
# The adapter workflow end to end on data made here, as a user runs it: generate a tiny speech
# corpus with espeak-ng, shard it for the NeMo-made fixture model, evaluate the base model, train
# adapters data-parallel (mpirun -np 2) from configs/tiny_adapter.yaml, evaluate again, check that
# the adapters-disabled output is the base model's, export a .nemo. Exits non-zero if any check
# fails. (The fixture has random weights: the point is the workflow and that adaptation helps.)
#   launch/adapt_tiny.sh ASR_ADAPT_BINARY WORK_DIR [RANKS]
set -euo pipefail
BIN=$(realpath "$1")
WORK=$2
RANKS=${3:-2}
SRC=$(cd "$(dirname "$0")/.." && pwd)
MODEL=$SRC/tests/fixtures/nemo/conformer_ctc.nemo
mkdir -p "$WORK"
cd "$WORK"
fail() { echo "FAIL: $*" >&2; exit 1; }
num() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$@"; }
launch() {
  if [ "$RANKS" -gt 1 ]; then mpirun --allow-run-as-root --oversubscribe -np "$RANKS" "$@"; else "$@"; fi
}

echo "== 1. corpus (espeak-ng) and shards"
python3 "$SRC/tools/make_speech_corpus.py" --out corpus --seed 3 --voices en-us+f3,en-us+m2 \
  --split train:32,dev:8 --text-style commands
"$BIN" shard --model "$MODEL" --manifest corpus/train.json --out shards/train --strict
"$BIN" shard --model "$MODEL" --manifest corpus/dev.json --out shards/dev --strict

echo "== 2. the base model"
"$BIN" eval --model "$MODEL" --shards shards/train --json > base_train.json
"$BIN" eval --model "$MODEL" --shards shards/dev --out base_dev.jsonl --json > base_dev.json

echo "== 3. train adapters ($RANKS process(es))"
rm -rf run
launch "$BIN" train "$SRC/configs/tiny_adapter.yaml" model.path="$MODEL" run_dir=run \
  data.train.shards=[shards/train] data.validation.0.shards=[shards/train] data.validation.1.shards=[shards/dev]
[ -f run/adapters.h5 ] || fail "no adapter file"
python3 - run/metrics.jsonl <<'PY' || fail "training loss did not fall by half"
import json, sys
losses = [r["train/loss"] for r in map(json.loads, open(sys.argv[1])) if "train/loss" in r]
print(f"train/loss: first window {losses[0]:.2f}, last window {losses[-1]:.2f}")
sys.exit(0 if losses[-1] < 0.5 * losses[0] else 1)
PY

echo "== 4. the adapted model"
"$BIN" eval --model "$MODEL" --adapter run/adapters.h5 --shards shards/train --json > adapted_train.json
"$BIN" eval --model "$MODEL" --adapter run/adapters.h5 --shards shards/dev --json > adapted_dev.json
"$BIN" eval --model "$MODEL" --adapter run/adapters.h5 --disable-adapters --shards shards/dev \
  --out disabled_dev.jsonl --json > disabled_dev.json
cmp -s base_dev.jsonl disabled_dev.jsonl || fail "adapters disabled: hypotheses differ from the base model's"

echo "== 5. export to .nemo (NeMo restores it with the adapter enabled)"
"$BIN" export --model "$MODEL" --adapter run/adapters.h5 -o adapted.nemo --force
"$BIN" eval --model adapted.nemo --shards shards/train --json > exported_train.json
[ "$(num exported_train.json wer)" = "$(num adapted_train.json wer)" ] || fail "the exported .nemo gives another WER"

python3 - <<'PY'
import json
r = {k: json.load(open(f"{k}.json")) for k in ["base_train", "adapted_train", "base_dev", "adapted_dev"]}
print("\n                      WER      CER     CTC loss")
for split in ["train", "dev"]:
    for who in ["base", "adapted"]:
        x = r[f"{who}_{split}"]
        print(f"{split:5} {who:8}  {100 * x['wer']:7.1f}% {100 * x['cer']:7.1f}% {x['loss']:9.2f}")
print("(adapters disabled: identical hypotheses to the base model on dev)")
PY
b=$(num base_train.json wer); a=$(num adapted_train.json wer)
python3 -c "import sys; sys.exit(0 if float(sys.argv[2]) < float(sys.argv[1]) else 1)" "$b" "$a" \
  || fail "adapted training-set WER $a is not below the base model's $b"
echo "adapter: $WORK/run/adapters.h5, adapted model: $WORK/adapted.nemo"
