#!/usr/bin/env bash
# From a fresh clone: install dependencies, build, and run the main job. Until adapter training
# lands, the main job is (1) NeMo inference on the committed NeMo-made Conformer-CTC fixture
# (import to HDF5, inspect, transcribe with WER) and (2) the core demo: a tiny CTC model trained
# from scratch on generated sequences, printing its loss falling.
set -euo pipefail
cd "$(dirname "$0")/.."
bash launch/install_deps.sh
bash launch/build.sh
BIN=./build/bin/asr-adapt
MODEL=tests/fixtures/nemo/conformer_ctc.nemo
OUT=${QUICKSTART_OUT:-build/quickstart}
mkdir -p "$OUT"
$BIN --version
echo "== NeMo model: import, inspect, transcribe (random-weight fixture: NeMo's transcripts, not English)"
$BIN import "$MODEL" -o "$OUT/conformer_ctc.h5" --force
$BIN info "$OUT/conformer_ctc.h5"
$BIN transcribe --model "$OUT/conformer_ctc.h5" --manifest tests/fixtures/nemo/audio/manifest.json
echo "== Core demo: train a tiny CTC model"
$BIN demo --config configs/demo.yaml "$@"
