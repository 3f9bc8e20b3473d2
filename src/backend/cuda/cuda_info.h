#pragma once
// Versions of the CUDA libraries this binary runs with (and was built against), for
// `asr-adapt --version` and bug reports. Needs no GPU. Plain C++ header: a CPU-only build can
// provide its own definition (e.g. "CUDA backend not compiled").
#include <string>

namespace asr {
// e.g. "CUDA runtime 13.0 (built 13.0), driver 13.0, cuBLAS 13.0.2, cuDNN 9.13.0 (built
// 9.13.0), NCCL 2.27.7 (built 2.27.7), 1 device(s)".
std::string cuda_library_versions();
}  // namespace asr
