#!/usr/bin/env bash
# From a fresh clone: install dependencies, build, and run the main job. Until the Conformer model
# and adapter training land, the main job is the core demo: a tiny CTC model trained on generated
# sequences, printing its loss falling.
set -euo pipefail
cd "$(dirname "$0")/.."
bash launch/install_deps.sh
bash launch/build.sh
./build/bin/asr-adapt --version
./build/bin/asr-adapt demo --config configs/demo.yaml "$@"
