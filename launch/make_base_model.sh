#!/usr/bin/env bash
# Reproduces the quickstart's base model (configs/models/base/conformer_ctc_base.nemo) from
# nothing: the base-domain corpus (espeak-ng, 10 h, seed 2), a 128-piece SentencePiece vocabulary
# trained on its text, an untrained Conformer-CTC (configs/models/conformer_ctc_base.yaml), shards,
# full training from scratch on 2 MPI ranks in two phases (configs/base_model_train.yaml, then
# configs/base_model_continue.yaml), test-set WER, and the export to a .nemo NeMo restores.
# About 2 h 10 min on 2 CPU cores (configs/models/base/README.md has the figures).
#   bash launch/make_base_model.sh [ASR_ADAPT_BINARY] [WORK_DIR]
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
BIN=$(realpath "${1:-$SRC/build/bin/asr-adapt}")
WORK=${2:-$SRC/build/base}
mkdir -p "$WORK"
cd "$WORK"
python3 "$SRC/tools/make_speech_corpus.py" --preset base --out corpus --seed 2 --hours 10 --jobs 2
# NeMo's create_spt_model flags (tools/README.md). spm_train's scores vary in their last bits
# between runs; the committed model carries the tokenizer it was trained with.
spm_train --input=corpus/text/train.txt --model_prefix=tokenizer --vocab_size=128 --model_type=unigram \
  --character_coverage=1.0 --bos_id=-1 --eos_id=-1 --hard_vocab_limit=false --remove_extra_whitespaces=false \
  --num_threads=1 > spm_train.log 2>&1
"$BIN" init --config "$SRC/configs/models/conformer_ctc_base.yaml" --tokenizer tokenizer.model -o base_init.h5 --force
for s in train dev test; do "$BIN" shard --model base_init.h5 --manifest corpus/$s.json --out shards/$s; done
mpirun --allow-run-as-root --oversubscribe -np 2 "$BIN" train "$SRC/configs/base_model_train.yaml" 2>&1 | tee train.log
mpirun --allow-run-as-root --oversubscribe -np 2 "$BIN" train "$SRC/configs/base_model_continue.yaml" 2>&1 | tee continue.log
"$BIN" eval --model cont_run/model.h5 --shards shards/test --out test_hypotheses.jsonl --json | tee test_wer.json
"$BIN" export --model cont_run/model.h5 -o conformer_ctc_base.nemo --force
echo "base model: $WORK/conformer_ctc_base.nemo"
