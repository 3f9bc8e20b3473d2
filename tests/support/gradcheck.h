#pragma once
// Finite-difference gradient checking in double precision.
//
// gradcheck(fn, inputs): inputs are F64 leaves with requires_grad; fn maps them to any tensor.
// The scalar checked is L = sum(fn(inputs) * R) for a fixed random R, so every output element
// matters. Analytic gradients come from backward(); numeric ones from central differences
// (step 1e-6). Returns an empty string on success, otherwise a description of the worst entry.
#include <functional>
#include <string>
#include <vector>

#include "asr/core/generator.h"
#include "asr/core/tensor.h"

namespace asr::test {

using TensorFn = std::function<Tensor(const std::vector<Tensor>&)>;

struct GradcheckOptions {
  double eps = 1e-6;
  double atol = 1e-5;
  double rtol = 1e-4;
  uint64_t seed = 1234;
};

std::string gradcheck(const TensorFn& fn, const std::vector<Tensor>& inputs,
                      const GradcheckOptions& opt = {});

// A random F64 leaf of `shape` with requires_grad. With strided=true the tensor is a
// non-contiguous view (the transpose of a transposed buffer, or a narrowed slice of a larger
// buffer) holding the same kind of values, to exercise kernels on strided input.
Tensor random_leaf(const Shape& shape, Generator& gen, bool strided = false, double lo = -1.0,
                   double hi = 1.0);

// Max |a - b| over all elements (any dtype/layout); throws on shape mismatch.
double max_abs_diff(const Tensor& a, const Tensor& b);
// Bitwise equality of two tensors' values (after conversion to contiguous).
bool bitwise_equal(const Tensor& a, const Tensor& b);

}  // namespace asr::test

// EXPECT_GRADCHECK(fn, inputs): fails the test with gradcheck's message.
#define EXPECT_GRADCHECK(fn, inputs)                                   \
  do {                                                                 \
    std::string asr_gc_msg__ = ::asr::test::gradcheck(fn, inputs);  \
    EXPECT_TRUE(asr_gc_msg__.empty()) << asr_gc_msg__;                 \
  } while (0)
