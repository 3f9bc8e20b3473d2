// Maps a Device to its Backend. The CUDA backend is linked in only when the toolkit was found;
// cuda_backend_entry() comes from src/backend/cuda/ or from cuda_absent.cpp.
#include <atomic>
#include <cstdlib>
#include <string>

#include "asr/backend/backend.h"
#include "cpu/cpu_backend.h"
#include "cuda_entry.h"

namespace asr {

namespace {
std::atomic<int> g_emulate_cuda{-1};  // -1: not decided yet (read ASR_EMULATE_CUDA once)
}  // namespace

void emulate_cuda_device(bool on) { g_emulate_cuda = on ? 1 : 0; }

bool cuda_device_emulated() {
  if (g_emulate_cuda < 0) {
    const char* env = std::getenv("ASR_EMULATE_CUDA");
    int expected = -1;
    g_emulate_cuda.compare_exchange_strong(expected, env && std::string(env) == "1" ? 1 : 0);
  }
  return g_emulate_cuda == 1;
}

Backend& backend_for(Device device) {
  if (device.is_cpu()) {
    static cpu::CpuBackend cpu_backend;
    return cpu_backend;
  }
  if (device.index == 0 && cuda_device_emulated()) {
    static cpu::CpuBackend emulated("cuda-emulated-on-cpu");
    return emulated;
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
