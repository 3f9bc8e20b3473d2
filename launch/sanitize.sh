#!/usr/bin/env bash
# The CPU test suite under AddressSanitizer + UndefinedBehaviorSanitizer (CMake option ASR_SANITIZE).
#   launch/sanitize.sh                 build build-sanitize and run every CPU test in it
#   launch/sanitize.sh -R 'Loader'     extra arguments go to ctest (select, exclude, -j ...)
# Any ASan/UBSan/LeakSanitizer report fails the test that produced it (halt_on_error, exit code).
# Leaks inside OpenMPI's and OpenMP's own start-up are suppressed (tests/sanitizers/lsan.supp):
# they are the libraries' one-time allocations, not ours.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${SANITIZE_BUILD_DIR:-build-sanitize}
bash launch/install_deps.sh
# An existing build folder keeps its configuration (launch/hardening.sh configures one with clang).
if [ ! -f "$BUILD/build.ninja" ]; then
  echo "sanitize: configuring $BUILD (ASan + UBSan, CPU only)"
  cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DASR_SANITIZE=ON \
        -DASR_ENABLE_CUDA=OFF -DASR_BUILD_BENCH=OFF >/dev/null
fi
grep -q "^ASR_SANITIZE:BOOL=ON" "$BUILD/CMakeCache.txt" || { echo "sanitize: $BUILD is not an ASR_SANITIZE build" >&2; exit 2; }
cmake --build "$BUILD" -j "${JOBS:-$(nproc)}"
# fast_unwind_on_malloc=0: full stacks through libraries built without frame pointers, so the
# suppressions can match OpenMPI's frames; its plugins stay loaded at exit for the same reason.
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:fast_unwind_on_malloc=0:check_initialization_order=1:detect_odr_violation=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export LSAN_OPTIONS="suppressions=$ROOT/tests/sanitizers/lsan.supp:print_suppressions=0"
export OMPI_MCA_mca_base_component_disable_dlclose=1
cd "$BUILD"
set +e
ctest --output-on-failure -j "${JOBS:-$(nproc)}" --timeout 1200 "$@" 2>&1 | tee ctest-sanitize.log
status=${PIPESTATUS[0]}
set -e
echo
echo "sanitize (ASan+UBSan): $(grep -E 'tests passed, .* tests failed out of' ctest-sanitize.log | tail -n 1)"
exit "$status"
