#pragma once
// RAII switch for the emulated CUDA device (asr::emulate_cuda_device): Device::cuda(0) served by
// a second CPU backend while the guard lives, so GPU placement code runs on machines without one.
#include "asr/backend/backend.h"

namespace asr::test {

class EmulatedCuda {
 public:
  EmulatedCuda() { emulate_cuda_device(true); }
  ~EmulatedCuda() { emulate_cuda_device(false); }
  EmulatedCuda(const EmulatedCuda&) = delete;
  EmulatedCuda& operator=(const EmulatedCuda&) = delete;
};

}  // namespace asr::test
