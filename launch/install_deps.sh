#!/usr/bin/env bash
# Installs every system dependency of asr-adapt from Debian's packages (run as root on Debian 12).
# The CUDA 13 toolkit (nvcc, cuBLAS, cuDNN, NCCL) is expected at /usr/local/cuda; without it the
# build is CPU-only and says so.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  libopenblas-dev libopenblas-openmp-dev libopenmpi-dev openmpi-bin libhdf5-dev hdf5-tools
  libyaml-cpp-dev googletest libgtest-dev libbenchmark-dev
  clang libclang-rt-14-dev libomp-14-dev
  libcli11-dev libspdlog-dev nlohmann-json3-dev
  libarchive-dev libzip-dev libsndfile1-dev libsoxr-dev libfftw3-dev libsentencepiece-dev
  espeak-ng sox python3-h5py python3-matplotlib
  flite festival festvox-kallpc16k festvox-us-slt-hts fortune-mod fortunes-min fortunes sentencepiece
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install_deps: all ${#PACKAGES[@]} packages already installed"
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "install_deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install_deps: done"
