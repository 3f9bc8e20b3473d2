#!/usr/bin/env bash
# Builds what launch/gpu_check.sh runs on a bare GPU machine (CUDA toolkit + PyTorch there, but
# none of this machine's Debian libraries) and puts it in gpu_bundle/ (gitignored):
#   bin.tar.xz  bin/: test_cuda, test_ops (when it exists), bench_core, asr-adapt, bench_train_step
#               (the step benchmark's asr-adapt side) (Release, CUDA on). Packed like lib/: the
#               device tool carries at most 64 MiB with the source tree (27 MB), and the bare
#               binaries alone are ~21 MB. The PyTorch side of the step benchmark,
#               bench/torch_conformer.py + torch_conformer_port.py, travels with the source tree.
#   lib.tar.xz  lib/: every shared library they load except glibc and the CUDA family, and
#               lib/compat/: the compiler runtimes (libstdc++, libgcc_s, libgomp, libgfortran,
#               libquadmath), which gpu_check.sh uses only where the GPU machine's own are
#               missing or too old. Packed because OpenBLAS alone is 36 MB and the device tool
#               carries at most 64 MiB with the source tree.
#   cuda_libs.txt  the CUDA-family sonames the binaries need (gpu_check.sh finds them there)
#   MANIFEST.txt   commit, toolchain, minimum glibc, file sizes
# Usage: tools/bundle_gpu.sh            (env: BUILD_DIR, BUNDLE_DIR, JOBS)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD_DIR:-$ROOT/build-cuda}
OUT=${BUNDLE_DIR:-$ROOT/gpu_bundle}
JOBS=${JOBS:-2}

echo "== configure $BUILD (Release, CUDA on, sm_90 + PTX)"
cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DASR_ENABLE_CUDA=ON \
  -DASR_BUILD_TESTS=ON -DASR_BUILD_BENCH=ON -DCMAKE_CUDA_ARCHITECTURES=90 >/dev/null
all_targets=$(ninja -C "$BUILD" -t targets all)  # (grep -q on a pipe would SIGPIPE ninja)
has_target() { grep -q "^$1: phony" <<<"$all_targets"; }
if ! has_target asr_cuda; then
  echo "error: the CUDA backend is not enabled in $BUILD (no CUDA toolkit found?)" >&2
  exit 1
fi

# test_cuda and bench_core are required; the CLI, test_ops and bench_train_step are bundled when
# they build (other work in progress must not block a GPU check of the backend; gpu_check.sh says
# what is missing).
echo "== build test_cuda bench_core"
cmake --build "$BUILD" --target test_cuda bench_core -j"$JOBS"
targets=(test_cuda bench_core)
for opt in asr-adapt test_ops bench_train_step; do
  if ! has_target "$opt"; then
    echo "note: no $opt target (no sources yet); bundling without it"
  elif cmake --build "$BUILD" --target "$opt" -j"$JOBS" >"$BUILD/bundle_$opt.log" 2>&1; then
    targets+=("$opt")
  else
    echo "warning: $opt does not build (see $BUILD/bundle_$opt.log); bundling without it" >&2
  fi
done

rm -rf "$OUT"
mkdir -p "$OUT/bin" "$OUT/lib/compat"
for t in "${targets[@]}"; do cp "$BUILD/bin/$t" "$OUT/bin/"; done

# Sort every library ldd resolves into lib/, lib/compat/ or the CUDA list; skip glibc's own.
is_glibc() { [[ $1 =~ ^(linux-vdso|ld-linux|libc\.so|libm\.so|libpthread\.so|libdl\.so|librt\.so|libutil\.so|libresolv\.so|libmvec\.so) ]]; }
is_cuda() { [[ $1 =~ ^lib(cuda|cudart|cublas|cublasLt|cudnn|nccl|nvrtc|nvJitLink|cufft|curand|cusparse|cusolver|nvToolsExt)[._-] ]]; }
is_compat() { [[ $1 =~ ^lib(stdc\+\+|gcc_s|gomp|gfortran|quadmath|atomic)\.so ]]; }

declare -A cuda_libs=()
missing=0
for t in "${targets[@]}"; do
  while read -r name arrow path _; do
    [[ $arrow == "=>" ]] || continue
    if [[ $path == "not" ]]; then echo "error: $t needs $name, which ldd cannot find" >&2; missing=1; continue; fi
    if is_glibc "$name"; then continue; fi
    if is_cuda "$name"; then cuda_libs[$name]=1; continue; fi
    dest="$OUT/lib"
    is_compat "$name" && dest="$OUT/lib/compat"
    [[ -e $dest/$name ]] || cp -L "$path" "$dest/$name"
  done < <(ldd "$BUILD/bin/$t")
done
[[ $missing == 0 ]] || exit 1
printf '%s\n' "${!cuda_libs[@]}" | sort >"$OUT/cuda_libs.txt"

glibc_min=$(for f in "$OUT"/bin/* "$OUT"/lib/*.so* "$OUT"/lib/compat/*.so*; do
              objdump -T "$f" 2>/dev/null | grep -o 'GLIBC_[0-9.]*' ; done | sort -uV | tail -1)
{
  echo "asr-adapt GPU bundle"
  echo "commit:    $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$ROOT" diff --quiet 2>/dev/null || echo ' (+ uncommitted changes)')"
  echo "built:     $(date -u '+%Y-%m-%d %H:%M UTC') on $(. /etc/os-release && echo "$PRETTY_NAME")"
  echo "compiler:  $(c++ --version | head -1); $(/usr/local/cuda/bin/nvcc --version | tail -1)"
  echo "needs:     glibc >= ${glibc_min#GLIBC_}, an sm_90 GPU (or newer, through PTX), and: $(tr '\n' ' ' <"$OUT/cuda_libs.txt")"
  echo
  (cd "$OUT" && find bin lib -type f -printf '%10s  %p\n' | sort -k2)
} >"$OUT/MANIFEST.txt"

tar -C "$OUT" -cf - lib | xz -T"$JOBS" -6 >"$OUT/lib.tar.xz"
tar -C "$OUT" -cf - bin | xz -T"$JOBS" -6 >"$OUT/bin.tar.xz"
rm -rf "$OUT/lib" "$OUT/bin"

size_kb=$(du -sk "$OUT" | cut -f1)
# What travels to the device machine: tracked + untracked-not-ignored files, plus the bundle.
tree_b=$(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard 2>/dev/null |
         du -cb --files0-from=- 2>/dev/null | tail -1 | cut -f1) || true
tree_kb=$(( ${tree_b:-0} / 1024 ))
echo "== wrote $OUT ($((size_kb / 1024)) MiB; with the source tree $(((size_kb + tree_kb) / 1024)) MiB): ${targets[*]}"
echo "   CUDA libraries expected on the GPU machine: $(tr '\n' ' ' <"$OUT/cuda_libs.txt")"
if ((size_kb + tree_kb > 60 * 1024)); then
  echo "warning: bundle + source tree are over 60 MiB; the device tool carries at most 64 MiB" >&2
fi
