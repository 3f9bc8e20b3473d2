// GEMM through OpenBLAS (sgemm for f32, dgemm for f64), one call per batch entry. A single large
// product has its rows split across the threads, one BLAS call each. Small entries
// (attention's per-head products) run one per thread: OpenBLAS's OpenMP build then runs each call
// single-threaded (it checks omp_in_parallel), instead of splitting a tiny product across threads
// with a fork and a barrier per call.
#include <cblas.h>
#include <omp.h>

#include "cpu_backend.h"
#include "cpu_common.h"

namespace asr::cpu {

void CpuBackend::gemm(bool trans_a, bool trans_b, double alpha, const Tensor& a, const Tensor& b,
                      double beta, Tensor& c) {
  ASR_CHECK(a.dim() == 3 && b.dim() == 3 && c.dim() == 3, "gemm", "expects rank-3 operands, got ",
            a.describe(), ", ", b.describe(), ", ", c.describe());
  ASR_CHECK(a.strides()[2] == 1 && b.strides()[2] == 1 && c.strides()[2] == 1, "gemm",
            "last dims must have stride 1");
  if (a.dtype() == DType::BF16 || b.dtype() == DType::BF16) {
    // Mixed precision: bf16 operands, f32 product. The reference widens them exactly (bf16 is
    // the top half of an f32), so the result is the f32 GEMM of the rounded operands.
    ASR_CHECK(a.dtype() == DType::BF16 && b.dtype() == DType::BF16 && c.dtype() == DType::F32, "gemm",
              "bf16 operands need bf16 A and B with an f32 C, got ", a.describe(), ", ", b.describe(), " -> ",
              c.describe());
    gemm(trans_a, trans_b, alpha, a.to(DType::F32), b.to(DType::F32), beta, c);
    return;
  }
  ASR_CHECK(a.dtype() == c.dtype() && b.dtype() == c.dtype(), "gemm", "dtype mismatch: ", a.describe(), ", ",
            b.describe(), " -> ", c.describe());
  const int64_t batch = c.shape()[0];
  const int64_t m = c.shape()[1], n = c.shape()[2];
  const int64_t k = trans_a ? a.shape()[1] : a.shape()[2];
  const CBLAS_TRANSPOSE ta = trans_a ? CblasTrans : CblasNoTrans;
  const CBLAS_TRANSPOSE tb = trans_b ? CblasTrans : CblasNoTrans;
  // A row stride of a size-1 dim is arbitrary; BLAS needs ld >= the row length.
  auto ld = [](const Tensor& t) { return std::max<int64_t>(t.shape()[1] == 1 ? t.shape()[2] : t.strides()[1], std::max<int64_t>(t.shape()[2], 1)); };
  const int64_t lda = ld(a), ldb = ld(b), ldc = ld(c);
  stats().gemm_calls += static_cast<uint64_t>(batch);
  stats().gemm_flops += static_cast<uint64_t>(2 * batch * m * n * k);
  if (m == 0 || n == 0) return;
  constexpr int64_t kSmallEntryFlops = int64_t{1} << 24;
  const bool across_batch = batch > 1 && 2 * m * n * k < kSmallEntryFlops && omp_get_max_threads() > 1 &&
                            !omp_in_parallel();
  dispatch_float(c.dtype(), "gemm", [&](auto tag) {
    using T = typename decltype(tag)::type;
    auto blas = [&](int64_t rows, const T* pa, const T* pb, T* pc) {
      if constexpr (std::is_same_v<T, float>) {
        cblas_sgemm(CblasRowMajor, ta, tb, rows, n, k, static_cast<float>(alpha), pa, lda, pb, ldb,
                    static_cast<float>(beta), pc, ldc);
      } else {
        cblas_dgemm(CblasRowMajor, ta, tb, rows, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc);
      }
    };
    auto entry = [&](int64_t i) {
      blas(m, a.data<T>() + i * a.strides()[0], b.data<T>() + i * b.strides()[0], c.data<T>() + i * c.strides()[0]);
    };
    // One large product: its rows split evenly across the threads, each calling BLAS on its own
    // block (single-threaded inside our region). OpenBLAS's own split of a product shares packed
    // panels between threads and waits at every panel; in the adapter step the other thread sat
    // spinning in those waits for 7% of its samples. Measured in 8 interleaved rounds: the step's
    // median 7% faster, inference 4% (docs/performance.md).
    const int threads = omp_get_max_threads();
    const bool split_rows = batch == 1 && threads > 1 && m >= 64 * threads && !omp_in_parallel() &&
                            2 * m * n * k >= kSmallEntryFlops;
    // Not `parallel for if(...)`: a one-thread (inactive) region around the BLAS call would make
    // OpenBLAS's own parallel region a nested one, which libgomp serves with new threads per call.
    if (split_rows) {
#pragma omp parallel num_threads(threads)
      {
        const int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
        const int64_t r0 = m * t / nt, r1 = m * (t + 1) / nt;
        blas(r1 - r0, a.data<T>() + (trans_a ? r0 : r0 * lda), b.data<T>(), c.data<T>() + r0 * ldc);
      }
    } else if (across_batch) {
#pragma omp parallel for schedule(static)
      for (int64_t i = 0; i < batch; ++i) entry(i);
    } else {
      for (int64_t i = 0; i < batch; ++i) entry(i);
    }
  });
}

}  // namespace asr::cpu
