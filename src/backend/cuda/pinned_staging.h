#pragma once
// Host <-> device transfers through page-locked (pinned) host memory. A copy from pageable memory
// runs at a fraction of the bus speed (the driver stages it in small pinned chunks); here the
// caller's bytes are copied once into one pinned buffer per backend (grown to the largest
// transfer, kept), and the DMA runs from there:
//   upload:   memcpy into the buffer, cudaMemcpyAsync on the legacy stream, an event recorded;
//             the host returns at once, so the copy overlaps with the kernels the host launches
//             next (they are ordered after it on the stream). The next transfer waits for that
//             event before reusing the buffer.
//   download: cudaMemcpyAsync into the buffer, wait for the stream, memcpy out.
// Small transfers (lengths, scalars) and any failure to pin memory fall back to plain cudaMemcpy.
#include <cuda_runtime.h>

#include <cstddef>
#include <mutex>

namespace asr::cuda {

class PinnedStaging {
 public:
  static constexpr size_t kMinBytes = size_t{256} << 10;  // below this, cudaMemcpy directly

  ~PinnedStaging();
  // Both run with the owning backend's device current.
  void upload(void* device_dst, const void* host_src, size_t bytes);
  void download(void* host_dst, const void* device_src, size_t bytes);

 private:
  // The buffer (>= bytes) once the previous transfer through it has finished; nullptr when
  // pinned memory cannot be had (the caller then copies directly).
  void* acquire(size_t bytes);

  std::mutex mu_;
  void* buffer_ = nullptr;
  size_t capacity_ = 0;
  cudaEvent_t done_ = nullptr;  // recorded after the last upload from buffer_
  bool pending_ = false;
  bool unavailable_ = false;    // cudaHostAlloc failed once: stop trying
};

}  // namespace asr::cuda
