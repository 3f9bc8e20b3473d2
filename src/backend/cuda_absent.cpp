// Compiled instead of src/backend/cuda/ when no CUDA toolkit was found at configure time.
#include "asr/backend/backend.h"
#include "cuda_entry.h"

namespace asr {
Backend* cuda_backend_entry(int) { return nullptr; }
bool cuda_backend_compiled() { return false; }
int cuda_device_count() { return 0; }
std::string cuda_build_info() { return "CUDA backend: not built (no CUDA toolkit at configure time)"; }
}  // namespace asr
