#!/usr/bin/env bash
# Configures and builds asr-adapt (Release) into build/. Extra arguments go to cmake's configure
# step, e.g. launch/build.sh -DASR_SANITIZE=ON. BUILD_DIR overrides the folder.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-$(nproc)}
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@"
cmake --build "$BUILD_DIR" -j "$JOBS"
