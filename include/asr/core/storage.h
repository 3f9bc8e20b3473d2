#pragma once
// A Storage is one contiguous block of memory on one device. Tensors are views into a Storage.
// Storage can also wrap memory it does not own (e.g. a read-only mmap of frozen weights): then
// `deleter` releases it and `read_only` forbids in-place writes through the core.
#include <functional>
#include <memory>

#include "asr/core/device.h"

namespace asr {

class Allocator;

class Storage {
 public:
  Storage(size_t bytes, Device device, Allocator* allocator);
  Storage(void* external, size_t bytes, Device device, std::function<void(void*)> deleter,
          bool read_only);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }
  Device device() const { return device_; }
  bool read_only() const { return read_only_; }

 private:
  void* data_ = nullptr;
  size_t bytes_ = 0;
  Device device_;
  Allocator* allocator_ = nullptr;
  std::function<void(void*)> deleter_;
  bool read_only_ = false;
};

}  // namespace asr
