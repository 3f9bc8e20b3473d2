#!/usr/bin/env bash
# From a fresh clone: install dependencies, build, and run the main job (launch/adapt_demo.sh):
# the base model asr-adapt trained from scratch (configs/models/base/) is evaluated on its own
# domain (espeak-ng voices, general sentences) and on a new one (flite/festival voices, AN4-like
# spelled words, digits and commands), both spoken here; an adapter is trained on the new domain
# with mpirun -np 2 from configs/adapt_an4.yaml; both domains are evaluated again (adapter on, and
# off: identical to the base model, checked), and a before/after WER table, report.md and
# curves.png are written. A second run reuses the corpora and shards.
#   bash launch/quickstart.sh        (outputs in build/quickstart; QUICKSTART_OUT to change)
set -euo pipefail
cd "$(dirname "$0")/.."
bash launch/install_deps.sh
bash launch/build.sh
BIN=./build/bin/asr-adapt
OUT=${QUICKSTART_OUT:-build/quickstart}
$BIN --version
$BIN info configs/models/base/conformer_ctc_base.nemo
bash launch/adapt_demo.sh "$BIN" "$OUT"
