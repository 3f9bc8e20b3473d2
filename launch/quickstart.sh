#!/usr/bin/env bash
# From a fresh clone: install dependencies, build, and run the main job: adapter training end to
# end on data made here (launch/adapt_tiny.sh): an espeak-ng corpus, shards, the base model's WER,
# adapters trained with mpirun -np 2 from configs/tiny_adapter.yaml, the adapted WER, the
# adapters-disabled check and a .nemo export. The base model is the NeMo-made fixture in
# tests/fixtures/nemo (random weights), so the table shows adaptation on its training data.
#   bash launch/quickstart.sh        (outputs in build/quickstart; QUICKSTART_OUT to change)
set -euo pipefail
cd "$(dirname "$0")/.."
bash launch/install_deps.sh
bash launch/build.sh
BIN=./build/bin/asr-adapt
OUT=${QUICKSTART_OUT:-build/quickstart}
$BIN --version
$BIN info tests/fixtures/nemo/conformer_ctc.nemo
bash launch/adapt_tiny.sh "$BIN" "$OUT" 2
