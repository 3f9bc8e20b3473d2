#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs dependencies, builds (CPU + CUDA backend when
# the toolkit is present), runs every test through ctest, then the hardening stage
# (launch/hardening.sh: the CPU suite under ASan + UBSan and every fuzz target for 30 s; HARDENING=0
# skips it). Ends with ctest's summary line for the main suite.
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
summary=$(grep -E "tests passed, .* tests failed out of" ctest.log | tail -n 1)
cd - >/dev/null

hardening_status=0
if [ "${HARDENING:-1}" != 0 ]; then
  echo
  echo "==== hardening: sanitizers and fuzzing (launch/hardening.sh) ===="
  set +e
  bash launch/hardening.sh "${FUZZ_SECONDS:-30}" 2>&1 | tee hardening.log
  hardening_status=${PIPESTATUS[0]}
  set -e
  echo
  grep -E "^sanitize \(ASan\+UBSan\): |^fuzz " hardening.log || true
  [ "$hardening_status" -eq 0 ] && echo "hardening: passed" || echo "hardening: FAILED (see hardening.log)"
fi
# ctest lists skipped (GPU) tests after its summary; repeat the main suite's summary as the closing line.
echo
echo "$summary"
[ "$status" -eq 0 ] || exit "$status"
exit "$hardening_status"
