#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs dependencies, builds (CPU + CUDA backend when
# the toolkit is present), runs every test through ctest and ends with ctest's summary line.
# GPU tests skip (and ctest reports them as skipped) on machines without a GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
bash launch/install_deps.sh
bash launch/build.sh
cd "${BUILD_DIR:-build}"
set +e
ctest --output-on-failure -j "${JOBS:-$(nproc)}" --timeout 900 2>&1 | tee ctest.log
status=${PIPESTATUS[0]}
set -e
# ctest lists skipped (GPU) tests after its summary; repeat the summary as the closing line.
echo
grep -E "tests passed, .* tests failed out of" ctest.log | tail -n 1
exit "$status"
