// PinnedStaging (pinned_staging.h).
#include "pinned_staging.h"

#include <cstring>

#include "cuda_check.h"

namespace asr::cuda {

PinnedStaging::~PinnedStaging() {
  // Backends live until the process ends; the driver may be gone by then, so errors are ignored.
  if (done_) (void)cudaEventDestroy(done_);
  if (buffer_) (void)cudaFreeHost(buffer_);
}

void* PinnedStaging::acquire(size_t bytes) {
  if (unavailable_) return nullptr;
  if (pending_) {  // the last upload's DMA may still read the buffer
    CUDA_CHECK(cudaEventSynchronize(done_));
    pending_ = false;
  }
  if (bytes > capacity_) {
    if (buffer_) CUDA_CHECK(cudaFreeHost(buffer_));
    buffer_ = nullptr;
    capacity_ = 0;
    size_t want = kMinBytes;
    while (want < bytes) want *= 2;  // grow geometrically: few re-allocations over a run
    if (cudaHostAlloc(&buffer_, want, cudaHostAllocDefault) != cudaSuccess) {
      (void)cudaGetLastError();  // clear the sticky error state of this failed call
      buffer_ = nullptr;
      unavailable_ = true;
      return nullptr;
    }
    capacity_ = want;
  }
  if (!done_) CUDA_CHECK(cudaEventCreateWithFlags(&done_, cudaEventDisableTiming));
  return buffer_;
}

void PinnedStaging::upload(void* device_dst, const void* host_src, size_t bytes) {
  if (bytes >= kMinBytes) {
    std::lock_guard<std::mutex> lock(mu_);
    if (void* pinned = acquire(bytes)) {
      std::memcpy(pinned, host_src, bytes);
      CUDA_CHECK(cudaMemcpyAsync(device_dst, pinned, bytes, cudaMemcpyHostToDevice, nullptr));
      CUDA_CHECK(cudaEventRecord(done_, nullptr));
      pending_ = true;
      return;
    }
  }
  CUDA_CHECK(cudaMemcpy(device_dst, host_src, bytes, cudaMemcpyHostToDevice));
}

void PinnedStaging::download(void* host_dst, const void* device_src, size_t bytes) {
  if (bytes >= kMinBytes) {
    std::lock_guard<std::mutex> lock(mu_);
    if (void* pinned = acquire(bytes)) {
      // On the legacy stream: waits for every kernel that wrote device_src.
      CUDA_CHECK(cudaMemcpyAsync(pinned, device_src, bytes, cudaMemcpyDeviceToHost, nullptr));
      CUDA_CHECK(cudaStreamSynchronize(nullptr));
      std::memcpy(host_dst, pinned, bytes);
      return;
    }
  }
  // Blocking copy on the legacy stream: waits for every kernel that wrote device_src.
  CUDA_CHECK(cudaMemcpy(host_dst, device_src, bytes, cudaMemcpyDeviceToHost));
}

}  // namespace asr::cuda
