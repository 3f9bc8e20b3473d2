// Maps a Device to its Backend. The CUDA backend is linked in only when the toolkit was found;
// cuda_backend_entry() comes from src/backend/cuda/ or from cuda_absent.cpp.
#include "asr/backend/backend.h"
#include "cpu/cpu_backend.h"
#include "cuda_entry.h"

namespace asr {

Backend& backend_for(Device device) {
  if (device.is_cpu()) {
    static cpu::CpuBackend cpu_backend;
    return cpu_backend;
  }
  Backend* b = cuda_backend_entry(device.index);
  if (!b) {
    throw Error(cuda_backend_compiled()
                    ? str_cat("backend: no CUDA device ", device.index, " on this machine (",
                              cuda_device_count(), " visible)")
                    : std::string("backend: this build has no CUDA backend (configured without "
                                  "a CUDA toolkit)"));
  }
  return *b;
}

}  // namespace asr
