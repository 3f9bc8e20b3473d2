// Batched GEMM through cuBLAS. The core's matrices are row-major; cuBLAS is column-major. A
// row-major [r, c] matrix with row stride ld is, read column-major, its transpose [c, r] with the
// same ld. So C = op(A) op(B) is computed as C^T = op(B)^T op(A)^T: swap the operands, swap
// M and N, and keep each operand's own transpose flag.
#include <algorithm>
#include <climits>
#include <utility>

#include "cuda_backend.h"
#include "cuda_check.h"
#include "cuda_kernels.h"

namespace asr::cuda {

namespace {

struct MatLayout {
  const char* what;
  int64_t batch_stride;  // elements; 0 broadcasts one matrix over the batch
  int64_t ld;            // row stride in elements, as cuBLAS wants it (>= row length)
};

// Validates the rank-3 contract for one operand and returns its cuBLAS layout.
MatLayout layout_of(const Tensor& t, const char* what, int64_t batch) {
  ASR_CHECK(t.dim() == 3, "gemm", what, " must be rank 3 [batch, rows, cols], got ", t.describe());
  ASR_CHECK(t.size(0) == batch || t.size(0) == 1, "gemm", what, " batch ", t.size(0),
            " does not match ", batch);
  const int64_t rows = t.size(1), cols = t.size(2);
  ASR_CHECK(cols <= 1 || t.strides()[2] == 1, "gemm", what, " ", t.describe(),
            " needs unit stride in its last dim, got strides ", shape_str(t.strides()));
  // A single-row (or empty) matrix may carry any row stride; cuBLAS still wants
  // ld >= row length.
  int64_t ld = (rows <= 1 || cols == 0) ? std::max<int64_t>(cols, 1) : t.strides()[1];
  if (ld < std::max<int64_t>(cols, 1))
    not_implemented("gemm", str_cat(what, " ", t.describe(), " with overlapping rows (strides ",
                                    shape_str(t.strides()), ")"));
  const int64_t bstride = (t.size(0) == 1) ? 0 : t.strides()[0];
  return {what, bstride, ld};
}

void check_int(int64_t v, const char* what) {
  ASR_CHECK(v >= 0 && v <= INT_MAX, "gemm", what, " = ", v, " exceeds cuBLAS' 32-bit limit");
}

}  // namespace

void CudaBackend::gemm(bool trans_a, bool trans_b, double alpha, const Tensor& a, const Tensor& b,
                       double beta, Tensor& c) {
  ASR_CHECK(c.dim() == 3, "gemm", "C must be rank 3 [batch, rows, cols], got ", c.describe());
  // bf16 A and B with an f32 C: mixed precision (tensor cores, f32 accumulation).
  const bool mixed = a.dtype() == DType::BF16 || b.dtype() == DType::BF16;
  if (mixed)
    ASR_CHECK(a.dtype() == DType::BF16 && b.dtype() == DType::BF16 && c.dtype() == DType::F32, "gemm",
              "bf16 operands need bf16 A and B with an f32 C, got ", a.describe(), ", ", b.describe(),
              " -> ", c.describe());
  else
    ASR_CHECK(a.dtype() == c.dtype() && b.dtype() == c.dtype(), "gemm", "dtype mismatch: ",
              a.describe(), ", ", b.describe(), " -> ", c.describe());
  if (c.dtype() != DType::F32 && c.dtype() != DType::F64)
    not_implemented("gemm", str_cat("dtype ", dtype_name(c.dtype()), " (", c.describe(), ")"));

  const int64_t batch = c.size(0), M = c.size(1), N = c.size(2);
  const MatLayout la = layout_of(a, "A", batch), lb = layout_of(b, "B", batch);
  const MatLayout lc = layout_of(c, "C", batch);
  const int64_t K = trans_a ? a.size(1) : a.size(2);
  ASR_CHECK((trans_a ? a.size(2) : a.size(1)) == M && (trans_b ? b.size(2) : b.size(1)) == K &&
                (trans_b ? b.size(1) : b.size(2)) == N,
            "gemm", "shapes do not chain: op(A) of ", a.describe(), (trans_a ? " (T)" : ""),
            " times op(B) of ", b.describe(), (trans_b ? " (T)" : ""), " into ", c.describe());
  ASR_CHECK(batch <= 1 || lc.batch_stride != 0, "gemm", "C ", c.describe(),
            " cannot broadcast over the batch (stride 0)");

  stats().gemm_calls++;
  stats().gemm_flops += static_cast<uint64_t>(2 * batch * M * N * K);
  if (batch == 0 || M == 0 || N == 0) return;
  for (auto [v, what] : {std::pair<int64_t, const char*>{M, "M"}, {N, "N"}, {K, "K"},
                         {batch, "batch"}, {la.ld, "lda"}, {lb.ld, "ldb"}, {lc.ld, "ldc"}})
    check_int(v, what);

  DeviceGuard guard(device_);
  if (K == 0) {  // empty sum: C = beta * C (cuBLAS' handling of k = 0 is not documented)
    if (c.dtype() == DType::F32)
      launch_scale_matrix<float>(c.data<float>(), batch, M, N, lc.batch_stride, lc.ld,
                                 static_cast<float>(beta));
    else
      launch_scale_matrix<double>(c.data<double>(), batch, M, N, lc.batch_stride, lc.ld, beta);
    return;
  }

  const cublasOperation_t op_b = trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t op_a = trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  const int m = static_cast<int>(N), n = static_cast<int>(M), k = static_cast<int>(K);
  const int nb = static_cast<int>(batch);
  cublasHandle_t h = blas();
  if (mixed) {
    const float al = static_cast<float>(alpha), be = static_cast<float>(beta);
    CUBLAS_CHECK(cublasGemmStridedBatchedEx(
        h, op_b, op_a, m, n, k, &al, b.raw_data(), CUDA_R_16BF, static_cast<int>(lb.ld), lb.batch_stride,
        a.raw_data(), CUDA_R_16BF, static_cast<int>(la.ld), la.batch_stride, &be, c.data<float>(), CUDA_R_32F,
        static_cast<int>(lc.ld), lc.batch_stride, nb, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
  } else if (c.dtype() == DType::F32) {
    const float al = static_cast<float>(alpha), be = static_cast<float>(beta);
    CUBLAS_CHECK(cublasSgemmStridedBatched(
        h, op_b, op_a, m, n, k, &al, b.data<float>(), static_cast<int>(lb.ld), lb.batch_stride,
        a.data<float>(), static_cast<int>(la.ld), la.batch_stride, &be, c.data<float>(),
        static_cast<int>(lc.ld), lc.batch_stride, nb));
  } else {
    CUBLAS_CHECK(cublasDgemmStridedBatched(
        h, op_b, op_a, m, n, k, &alpha, b.data<double>(), static_cast<int>(lb.ld),
        lb.batch_stride, a.data<double>(), static_cast<int>(la.ld), la.batch_stride, &beta,
        c.data<double>(), static_cast<int>(lc.ld), lc.batch_stride, nb));
  }
}

}  // namespace asr::cuda
