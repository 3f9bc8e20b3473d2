// Sum-reduction to a keep-dim shape. Accumulates in double and runs serially in a fixed order,
// so results are bitwise reproducible for any thread count.
#include <vector>

#include "cpu_backend.h"
#include "cpu_common.h"

namespace asr::cpu {

void CpuBackend::sum_to(const Tensor& x, Tensor& out) {
  ASR_CHECK(out.dim() == x.dim(), "sum_to", "rank mismatch ", x.describe(), " -> ", out.describe());
  dispatch_float(x.dtype(), "sum_to", [&](auto tag) {
    using T = typename decltype(tag)::type;
    // Out viewed with stride 0 on the reduced dims, so each x element lands in its bucket.
    Shape ostr = contiguous_strides(out.shape());
    for (size_t d = 0; d < ostr.size(); ++d)
      if (out.shape()[d] == 1 && x.shape()[d] != 1) ostr[d] = 0;
    std::vector<double> acc(static_cast<size_t>(out.numel()), 0.0);
    const T* px = x.data<T>();
    const Shape* st[2] = {&x.strides(), &ostr};
    for_each_row<2>(x.shape(), st, [&](const int64_t* off, int64_t n, const int64_t* inc) {
      if (inc[1] == 0) {
        double s = 0;
        for (int64_t i = 0; i < n; ++i) s += px[off[0] + i * inc[0]];
        acc[off[1]] += s;
      } else {
        for (int64_t i = 0; i < n; ++i) acc[off[1] + i * inc[1]] += px[off[0] + i * inc[0]];
      }
    });
    Tensor tmp = Tensor::from_external(acc.data(), out.shape(), DType::F64, Device::cpu(), nullptr, true);
    copy(tmp, out);
  });
}

}  // namespace asr::cpu
