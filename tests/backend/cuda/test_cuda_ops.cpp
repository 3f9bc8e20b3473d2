// Every implemented CUDA kernel against the CPU backend (or a naive reference) on random inputs.
// All tests skip on a machine without a GPU.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <vector>

#include "asr/backend/backend.h"
#include "asr/ops/ops.h"
#include "cuda_test_util.h"

using namespace asr;
using cudatest::all_close;

namespace {

const Device kGpu = Device::cuda(0);
const DType kFloatTypes[] = {DType::F32, DType::F64};

}  // namespace

TEST(CudaOps, HostRoundTripIsExact) {
  if (asr::cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device on this machine";
  Generator gen(1);
  for (DType dt : kFloatTypes) {
    Tensor x = Tensor::randn({37, 53}, gen, 1.0, dt);
    Tensor g = x.to(kGpu);
    EXPECT_EQ(g.device(), kGpu);
    EXPECT_EQ(g.to(Device::cpu()).to_vector(), x.to_vector());
  }
  Tensor idx = Tensor::from_vector(std::vector<int64_t>{5, -3, 1ll << 40}, {3});
  EXPECT_EQ(idx.to(kGpu).to(Device::cpu()).to_vector(), idx.to_vector());
  Tensor empty = Tensor::zeros({0, 4}, DType::F32, kGpu);
  EXPECT_EQ(empty.to(Device::cpu()).numel(), 0);
}

TEST(CudaOps, FillEveryDtype) {
  if (asr::cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device on this machine";
  for (DType dt : {DType::F32, DType::F64, DType::BF16, DType::F16, DType::I32, DType::I64,
                   DType::Bool}) {
    for (double v : {0.0, 1.0, -2.5, 3.25}) {
      Tensor got = Tensor::full({1031}, v, dt, kGpu);
      Tensor want = Tensor::full({1031}, v, dt);
      EXPECT_EQ(got.to(Device::cpu()).to_vector(), want.to_vector())
          << dtype_name(dt) << " value " << v;
    }
  }
}

TEST(CudaOps, CloneCopiesOnDevice) {
  if (asr::cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device on this machine";
  Generator gen(2);
  for (DType dt : kFloatTypes) {
    Tensor x = Tensor::randn({300, 7}, gen, 1.0, dt);
    Tensor g = x.to(kGpu);
    Tensor c = g.clone();
    g.fill_(0.0);  // the clone must not share memory with its source
    EXPECT_EQ(c.to(Device::cpu()).to_vector(), x.to_vector());
  }
}

TEST(CudaOps, BinaryMatchesCpuExactly) {
  if (asr::cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device on this machine";
  using Fn = Tensor (*)(const Tensor&, const Tensor&);
  const std::pair<const char*, Fn> fns[] = {
      {"add", ops::add}, {"sub", ops::sub}, {"mul", ops::mul}, {"div", ops::div}};
  Generator gen(3);
  for (DType dt : kFloatTypes) {
    // 129 x 257 is not a multiple of the block size: exercises the tail.
    Tensor a = Tensor::randn({129, 257}, gen, 1.0, dt);
    Tensor b = cudatest::uniform({129, 257}, gen, 0.5, 2.0, dt);
    Tensor ga = a.to(kGpu), gb = b.to(kGpu);
    for (auto [name, fn] : fns) {
      // One correctly rounded IEEE operation each: bitwise equal to the CPU.
      EXPECT_EQ(fn(ga, gb).to(Device::cpu()).to_vector(), fn(a, b).to_vector())
          << name << " " << dtype_name(dt);
    }
  }
}

TEST(CudaOps, UnaryMatchesCpu) {
  if (asr::cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device on this machine";
  using Fn = Tensor (*)(const Tensor&);
  struct Case { const char* name; Fn fn; bool positive; };
  const Case cases[] = {{"neg", ops::neg, false},   {"exp", ops::exp, false},
                        {"log", ops::log, true},    {"sqrt", ops::sqrt, true},
                        {"abs", ops::abs, false},   {"relu", ops::relu, false},
                        {"sigmoid", ops::sigmoid, false}, {"tanh", ops::tanh, false},
                        {"silu", ops::silu, false}, {"gelu", ops::gelu, false}};
  Generator gen(4);
  for (DType dt : kFloatTypes) {
    Tensor xs = Tensor::randn({1000, 33}, gen, 3.0, dt);
    Tensor xp = cudatest::uniform({1000, 33}, gen, 1e-3, 50.0, dt);
    for (const Case& c : cases) {
      Tensor x = c.positive ? xp : xs;
      // CUDA's libm is within 2 ulp of the true result. The absolute floor covers GELU's
      // cancellation in 1 + erf(x/sqrt 2) for negative x: a few ulp of 1, times |x| <= ~15.
      const double rtol = dt == DType::F32 ? 4e-6 : 1e-14;
      const double atol = dt == DType::F32 ? 2e-6 : 1e-14;
      EXPECT_TRUE(all_close(c.fn(x.to(kGpu)), c.fn(x), rtol, atol)) << c.name << " "
                                                                   << dtype_name(dt);
    }
  }
}

TEST(CudaOps, UnaryEdgeValues) {
  if (asr::cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device on this machine";
  // Saturation and special values behave as on the CPU (inf, 0, NaN from log of a negative).
  Tensor x = Tensor::from_vector(std::vector<double>{-100.0, -20.0, 0.0, 20.0, 100.0, -1.0},
                                 {6}, DType::F32);
  for (auto fn : {ops::exp, ops::sigmoid, ops::tanh, ops::silu, ops::gelu, ops::relu, ops::log})
    EXPECT_TRUE(all_close(fn(x.to(kGpu)), fn(x), 4e-6, 1e-30));
}

TEST(CudaOps, AffineMatchesCpu) {
  if (asr::cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device on this machine";
  Generator gen(5);
  for (DType dt : kFloatTypes) {
    Tensor x = Tensor::randn({77, 91}, gen, 1.0, dt);
    Tensor g = x.to(kGpu);
    // The GPU fuses alpha*x+beta into one FMA: one rounding fewer than the CPU.
    const double rtol = cudatest::rtol_for(dt), atol = dt == DType::F32 ? 1e-6 : 1e-15;
    EXPECT_TRUE(all_close(ops::scale(g, -1.75), ops::scale(x, -1.75), rtol, atol));
    EXPECT_TRUE(all_close(ops::add_scalar(g, 0.3), ops::add_scalar(x, 0.3), rtol, atol));
    EXPECT_EQ(ops::neg(g).to(Device::cpu()).to_vector(), ops::neg(x).to_vector());
  }
}

TEST(CudaOps, KernelsAreDeterministic) {
  if (asr::cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device on this machine";
  Generator gen(6);
  Tensor a = Tensor::randn({64, 96}, gen).to(kGpu), b = Tensor::randn({96, 80}, gen).to(kGpu);
  auto run = [&] {
    Tensor c = Tensor::zeros({1, 64, 80}, DType::F32, kGpu);
    backend_for(kGpu).gemm(false, false, 1.0, a.unsqueeze(0), b.unsqueeze(0), 0.0, c);
    return ops::gelu(ops::mul(c, c)).to(Device::cpu()).to_vector();
  };
  EXPECT_EQ(run(), run());
}

// ---- GEMM through the backend's rank-3 contract -------------------------------------------

namespace {

// Naive C = alpha * op(A) op(B) + beta * C0 in double, from logical (any-layout) CPU tensors.
std::vector<double> naive_gemm(bool ta, bool tb, double alpha, const Tensor& a, const Tensor& b,
                               double beta, const Tensor& c0) {
  const int64_t batch = c0.size(0), M = c0.size(1), N = c0.size(2);
  const int64_t K = ta ? a.size(1) : a.size(2);
  const std::vector<double> va = a.to_vector(), vb = b.to_vector(), vc = c0.to_vector();
  const int64_t ra = a.size(1), ca = a.size(2), rb = b.size(1), cb = b.size(2);
  std::vector<double> out(vc.size());
  for (int64_t p = 0; p < batch; ++p) {
    const int64_t pa = a.size(0) == 1 ? 0 : p, pb = b.size(0) == 1 ? 0 : p;
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        double s = 0;
        for (int64_t k = 0; k < K; ++k) {
          const double x = ta ? va[(pa * ra + k) * ca + i] : va[(pa * ra + i) * ca + k];
          const double y = tb ? vb[(pb * rb + j) * cb + k] : vb[(pb * rb + k) * cb + j];
          s += x * y;
        }
        const size_t o = static_cast<size_t>((p * M + i) * N + j);
        out[o] = alpha * s + (beta == 0.0 ? 0.0 : beta * vc[o]);
      }
  }
  return out;
}

// A [batch, rows, cols] operand on CPU and GPU with the same (possibly strided) layout:
// pad > 0 narrows a wider buffer (row stride cols + pad, nonzero offset); broadcast builds a
// batch-stride-0 view of a single matrix.
struct Operand {
  Tensor cpu, gpu;
};

Operand make_operand(Generator& gen, int64_t batch, int64_t rows, int64_t cols, DType dt,
                     int64_t pad, bool broadcast) {
  const int64_t nb = broadcast ? 1 : batch;
  Tensor base = Tensor::randn({nb, rows, cols + pad}, gen, 1.0, dt);
  Tensor gbase = base.to(kGpu);
  Operand op{base.narrow(2, pad > 0 ? 1 : 0, cols), gbase.narrow(2, pad > 0 ? 1 : 0, cols)};
  if (broadcast) {
    op.cpu = op.cpu.expand({batch, rows, cols});
    op.gpu = op.gpu.expand({batch, rows, cols});
  }
  return op;
}

}  // namespace

TEST(CudaGemm, AllLayoutsMatchNaive) {
  if (asr::cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device on this machine";
  Backend& be = backend_for(kGpu);
  Generator gen(7);
  struct Dims { int64_t batch, M, N, K; };
  for (DType dt : kFloatTypes) {
    for (Dims d : {Dims{1, 1, 1, 1}, Dims{3, 5, 7, 4}, Dims{2, 65, 33, 129}, Dims{4, 1, 17, 9}}) {
      for (int variant = 0; variant < 16; ++variant) {
        const bool ta = variant & 1, tb = variant & 2, strided = variant & 4, bcast = variant & 8;
        const int64_t pad = strided ? 3 : 0;
        Operand a = ta ? make_operand(gen, d.batch, d.K, d.M, dt, pad, bcast)
                       : make_operand(gen, d.batch, d.M, d.K, dt, pad, false);
        Operand b = tb ? make_operand(gen, d.batch, d.N, d.K, dt, pad, false)
                       : make_operand(gen, d.batch, d.K, d.N, dt, pad, bcast);
        // C is a narrowed view too when strided: its padding columns must stay untouched.
        Tensor cbase = Tensor::randn({d.batch, d.M, d.N + pad}, gen, 1.0, dt);
        Tensor gcbase = cbase.to(kGpu);
        Tensor c0 = cbase.narrow(2, 0, d.N);
        Tensor gc = gcbase.narrow(2, 0, d.N);
        const double alpha = 0.75, beta = (variant % 3 == 0) ? 0.0 : -0.5;
        const uint64_t calls = be.stats().gemm_calls;
        be.gemm(ta, tb, alpha, a.gpu, b.gpu, beta, gc);
        EXPECT_EQ(be.stats().gemm_calls, calls + 1);

        const std::vector<double> want = naive_gemm(ta, tb, alpha, a.cpu, b.cpu, beta, c0);
        const std::vector<double> full = gcbase.to(Device::cpu()).to_vector();
        const std::vector<double> orig = cbase.to_vector();
        std::vector<double> got;
        for (int64_t p = 0; p < d.batch; ++p)
          for (int64_t i = 0; i < d.M; ++i)
            for (int64_t j = 0; j < d.N + pad; ++j) {
              const size_t o = static_cast<size_t>((p * d.M + i) * (d.N + pad) + j);
              if (j < d.N) got.push_back(full[o]);
              else EXPECT_EQ(full[o], orig[o]) << "padding overwritten";
            }
        const double tol = (dt == DType::F32 ? 2e-6 : 1e-14) * static_cast<double>(d.K + 1);
        EXPECT_TRUE(all_close(got, want, tol, tol))
            << dtype_name(dt) << " batch " << d.batch << " M " << d.M << " N " << d.N << " K "
            << d.K << " ta " << ta << " tb " << tb << " strided " << strided << " bcast " << bcast;
      }
    }
  }
}

TEST(CudaGemm, EmptyInnerDimensionScalesC) {
  if (asr::cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device on this machine";
  Tensor a = Tensor::zeros({2, 3, 0}, DType::F32, kGpu), b = Tensor::zeros({2, 0, 4}, DType::F32, kGpu);
  Tensor c = Tensor::full({2, 3, 4}, 2.0, DType::F32, kGpu);
  backend_for(kGpu).gemm(false, false, 1.0, a, b, 0.5, c);
  for (double v : c.to(Device::cpu()).to_vector()) EXPECT_EQ(v, 1.0);
  backend_for(kGpu).gemm(false, false, 1.0, a, b, 0.0, c);
  for (double v : c.to(Device::cpu()).to_vector()) EXPECT_EQ(v, 0.0);
}

TEST(CudaGemm, RejectsBadOperands) {
  if (asr::cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device on this machine";
  Backend& be = backend_for(kGpu);
  Tensor a = Tensor::zeros({1, 3, 4}, DType::F32, kGpu);
  Tensor b = Tensor::zeros({1, 5, 2}, DType::F32, kGpu);
  Tensor c = Tensor::zeros({1, 3, 2}, DType::F32, kGpu);
  EXPECT_THROW(be.gemm(false, false, 1.0, a, b, 0.0, c), Error);  // K 4 vs 5
  Tensor bi = Tensor::zeros({1, 4, 2}, DType::I64, kGpu);
  EXPECT_THROW(be.gemm(false, false, 1.0, a, bi, 0.0, c), Error);
}

// ---- the public matmul / linear ops on the GPU -------------------------------------------

TEST(CudaOps, MatmulMatchesNaive) {
  if (asr::cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device on this machine";
  Generator gen(8);
  for (DType dt : kFloatTypes) {
    Tensor a = Tensor::randn({3, 45, 70}, gen, 1.0, dt), b = Tensor::randn({70, 38}, gen, 1.0, dt);
    Tensor got = ops::matmul(a.to(kGpu), b.to(kGpu));
    ASSERT_EQ(got.shape(), (Shape{3, 45, 38}));
    Tensor c0 = Tensor::zeros({3, 45, 38}, dt);
    const std::vector<double> want =
        naive_gemm(false, false, 1.0, a, b.unsqueeze(0), 0.0, c0);
    const double tol = (dt == DType::F32 ? 2e-6 : 1e-14) * 71;
    EXPECT_TRUE(all_close(got.to(Device::cpu()).to_vector(), want, tol, tol)) << dtype_name(dt);
  }
}

TEST(CudaOps, LinearMatchesCpu) {
  if (asr::cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device on this machine";
  Generator gen(9);
  Tensor x = Tensor::randn({4, 25, 176}, gen), w = Tensor::randn({144, 176}, gen, 0.1);
  // No bias: a [out] bias broadcasts, and broadcast adds are not on the GPU yet.
  Tensor got = ops::linear(x.to(kGpu), w.to(kGpu));
  Tensor c0 = Tensor::zeros({1, 100, 144});
  const std::vector<double> want =
      naive_gemm(false, true, 1.0, x.reshape({1, 100, 176}), w.unsqueeze(0), 0.0, c0);
  EXPECT_TRUE(all_close(got.to(Device::cpu()).to_vector(), want, 1e-4, 1e-4));
}
