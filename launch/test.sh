#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs dependencies, builds (CPU + CUDA backend when
# the toolkit is present), runs every test through ctest and ends with ctest's summary line.
# GPU tests skip (and ctest reports them as skipped) on machines without a GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
bash launch/install_deps.sh
bash launch/build.sh
cd "${BUILD_DIR:-build}"
ctest --output-on-failure -j "${JOBS:-$(nproc)}" --timeout 900
