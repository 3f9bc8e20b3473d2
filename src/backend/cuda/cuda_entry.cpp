// The link-time seam to the core (src/backend/cuda_entry.h): one CudaBackend per device, made on
// first use. Backends are never destroyed: tensors held in statics may free memory after main.
#include <memory>
#include <mutex>
#include <vector>

#include <cuda_runtime.h>

#include "../cuda_entry.h"
#include "asr/backend/backend.h"
#include "cuda_backend.h"

namespace asr {

int cuda_device_count() {
  // Asked once: without a driver or GPU the runtime answers an error, which means "none".
  static const int count = [] {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
      (void)cudaGetLastError();
      return 0;
    }
    return n;
  }();
  return count;
}

bool cuda_backend_compiled() { return true; }

Backend* cuda_backend_entry(int index) {
  const int count = cuda_device_count();
  if (index < 0 || index >= count) return nullptr;
  static std::mutex mu;
  static std::vector<cuda::CudaBackend*>* backends = new std::vector<cuda::CudaBackend*>(count);
  std::lock_guard<std::mutex> lock(mu);
  auto& slot = (*backends)[static_cast<size_t>(index)];
  if (!slot) slot = new cuda::CudaBackend(index);
  return slot;
}

}  // namespace asr
