// sum_to: sums x over the dims where out has size 1 (keep-dim layout). Accumulates in double, as
// the CPU does, with no atomics: each output is reduced by one thread (short reductions) or one
// block with a fixed tree (long ones), so results are bitwise reproducible.
#include "cuda_backend.h"
#include "cuda_check.h"
#include "cuda_device.cuh"
#include "cuda_dispatch.h"

namespace asr::cuda {

namespace {

// Reductions at least this long get a whole block per output.
constexpr int64_t kBlockReduceMin = 256;

// kept: the output dims (operands x, out); red: the reduced dims (operand x).
template <typename T>
__global__ void sum_thread_kernel(const T* x, T* out, Layout<2> kept, Layout<1> red, int64_t n_out,
                                  int64_t n_red) {
  ASR_GRID_STRIDE(o, n_out) {
    int64_t ko[2];
    strided_offsets(kept, o, ko);
    double acc = 0;
    for (int64_t r = 0; r < n_red; ++r) {
      int64_t ro[1];
      strided_offsets(red, r, ro);
      acc += static_cast<double>(x[ko[0] + ro[0]]);
    }
    out[ko[1]] = static_cast<T>(acc);
  }
}

template <typename T>
__global__ void sum_block_kernel(const T* x, T* out, Layout<2> kept, Layout<1> red, int64_t n_out,
                                 int64_t n_red) {
  __shared__ double sh[kThreads];
  for (int64_t o = blockIdx.x; o < n_out; o += gridDim.x) {
    int64_t ko[2];
    strided_offsets(kept, o, ko);
    double acc = 0;
    for (int64_t r = threadIdx.x; r < n_red; r += blockDim.x) {
      int64_t ro[1];
      strided_offsets(red, r, ro);
      acc += static_cast<double>(x[ko[0] + ro[0]]);
    }
    acc = block_sum(acc, sh);
    if (threadIdx.x == 0) out[ko[1]] = static_cast<T>(acc);
  }
}

}  // namespace

void CudaBackend::sum_to(const Tensor& x, Tensor& out) {
  ASR_CHECK(out.dim() == x.dim(), "sum_to", "rank mismatch ", x.describe(), " -> ", out.describe());
  Shape kshape, kxs, kos, rshape, rxs;
  for (int64_t d = 0; d < x.dim(); ++d) {
    const int64_t xs = x.shape()[d], os = out.shape()[d];
    ASR_CHECK(os == xs || os == 1, "sum_to", "cannot reduce ", x.describe(), " to ", out.describe());
    if (os == 1 && xs != 1) {
      rshape.push_back(xs);
      rxs.push_back(x.strides()[d]);
    } else {
      kshape.push_back(xs);
      kxs.push_back(x.strides()[d]);
      kos.push_back(out.strides()[d]);
    }
  }
  const int64_t n_out = out.numel();
  if (n_out == 0) return;
  if (x.numel() == 0) {  // reducing an empty dim: zeros
    fill(out, 0.0);
    return;
  }
  const int64_t n_red = x.numel() / n_out;
  const Shape* kst[2] = {&kxs, &kos};
  const Shape* rst[1] = {&rxs};
  const Layout<2> kept = make_layout<2>(kshape, kst, "sum_to");
  const Layout<1> red = make_layout<1>(rshape, rst, "sum_to");
  DeviceGuard guard(device_);
  dispatch_float(x.dtype(), "sum_to", [&](auto tag) {
    using T = decltype(tag);
    if (n_red >= kBlockReduceMin)
      sum_block_kernel<T><<<blocks_for(n_out, 1), kThreads>>>(x.data<T>(), out.data<T>(), kept, red,
                                                             n_out, n_red);
    else
      sum_thread_kernel<T><<<blocks_for(n_out), kThreads>>>(x.data<T>(), out.data<T>(), kept, red,
                                                           n_out, n_red);
    CUDA_CHECK_LAUNCH();
  });
}

}  // namespace asr::cuda
