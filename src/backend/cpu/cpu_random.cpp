// Dropout masks from the counter-based generator: element i depends only on (seed, counter + i),
// so masks are identical for any thread count.
#include "asr/core/generator.h"
#include "cpu_backend.h"
#include "cpu_common.h"

namespace asr::cpu {

void CpuBackend::dropout_mask(double p, uint64_t seed, uint64_t counter, Tensor& mask) {
  dispatch_float(mask.dtype(), "dropout_mask", [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* pm = mask.data<T>();
    const T keep_scale = static_cast<T>(1.0 / (1.0 - p));
    const int64_t n = mask.numel();
#pragma omp parallel for schedule(static) if (n > 65536)
    for (int64_t i = 0; i < n; ++i)
      pm[i] = Generator::uniform(seed, counter + static_cast<uint64_t>(i)) >= p ? keep_scale : T(0);
  });
}

}  // namespace asr::cpu
