#pragma once
// Argument checks shared by every communicator, so single, mpi and nccl refuse the same tensors
// with the same messages. Private to src/.
#include "asr/core/tensor.h"

namespace asr::dist {

// Throws asr::Error naming `op` (e.g. "mpi: all_reduce") unless `t` is a defined, contiguous,
// writable tensor on `device` whose dtype is f32/f64 (or any dtype when !float_only).
void check_collective_tensor(const Tensor& t, Device device, const char* op, bool float_only);

// Throws unless 0 <= root < size.
void check_root(int root, int size, const char* op);

}  // namespace asr::dist
