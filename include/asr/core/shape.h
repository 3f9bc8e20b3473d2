#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace asr {

using Shape = std::vector<int64_t>;

int64_t shape_numel(const Shape& s);
std::string shape_str(const Shape& s);        // "[2, 3, 4]"
Shape contiguous_strides(const Shape& s);     // row-major strides in elements
// NumPy broadcasting of two shapes; throws naming `op` if incompatible.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);
// Normalises a possibly negative dim against rank `ndim`; throws naming `op` if out of range.
int64_t wrap_dim(int64_t dim, int64_t ndim, const char* op);

}  // namespace asr
