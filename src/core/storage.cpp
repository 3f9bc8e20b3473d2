#include "asr/core/storage.h"

#include "asr/core/allocator.h"

namespace asr {

Storage::Storage(size_t bytes, Device device, Allocator* allocator)
    : bytes_(bytes), device_(device), allocator_(allocator) {
  data_ = allocator_->allocate(bytes);
}

Storage::Storage(void* external, size_t bytes, Device device, std::function<void(void*)> deleter,
                 bool read_only)
    : data_(external), bytes_(bytes), device_(device), deleter_(std::move(deleter)),
      read_only_(read_only) {}

Storage::~Storage() {
  if (allocator_) {
    allocator_->deallocate(data_, bytes_);
  } else if (deleter_) {
    deleter_(data_);
  }
}

}  // namespace asr
