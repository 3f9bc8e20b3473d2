// Every CUDA kernel family through the public ops, against the CPU backend: forward values and
// gradients of sum(y * R), f32 and f64, with strided (transposed / narrowed) and broadcast
// operands. Tolerances: f64 ~1e-11; f32 1e-5 for short sums (more where a test says why).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "asr/backend/backend.h"
#include "asr/core/generator.h"
#include "asr/ops/ops.h"
#include "cuda_compare.h"
#include "cuda_test_util.h"

using namespace asr;
using cudatest::expect_deterministic;
using cudatest::expect_matches_cpu;
using cudatest::kCuda;
using cudatest::Tol;
using cudatest::tol_for;

namespace {

const DType kFloatTypes[] = {DType::F32, DType::F64};

#define REQUIRE_GPU() \
  if (asr::cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device on this machine"

Tensor idx(const std::vector<int64_t>& v) {
  return Tensor::from_vector(v, {static_cast<int64_t>(v.size())});
}

}  // namespace

// ---- memory ------------------------------------------------------------------------------

TEST(CudaKernels, CopyConvertsEveryDtypePairBitwiseLikeCpu) {
  REQUIRE_GPU();
  const DType all[] = {DType::F32, DType::F64, DType::BF16, DType::F16,
                       DType::I32, DType::I64, DType::Bool};
  // Values exercising rounding (halves, 1/3), sign, zero, large and tiny magnitudes.
  std::vector<double> v;
  // (No values beyond the f16 range: inf -> integer is undefined on the CPU.)
  const std::vector<double> special = {0.0, -0.0, 1.0, -2.5, 1.0 / 3.0, 65504.0, 1e-6,
                                       -3e-8, 123.456, 0.5, 1.5, -1000.75};
  for (int i = 0; i < 6 * 7; ++i)
    v.push_back(i < static_cast<int>(special.size()) ? special[i] : (i % 5 - 2) * 17.3 / (i + 1));
  Tensor base = Tensor::from_vector(v, {6, 7}, DType::F64);
  for (DType from : all) {
    Tensor src = base.to(from);
    Tensor gsrc = src.to(kCuda);
    for (DType to : all) {
      // A transposed source: the strided conversion path.
      Tensor want = src.transpose(0, 1).to(to).contiguous();
      Tensor got = gsrc.transpose(0, 1).to(to).contiguous();
      ASSERT_EQ(got.device(), kCuda);
      EXPECT_EQ(got.to(Device::cpu()).to_vector(), want.to_vector())
          << dtype_name(from) << " -> " << dtype_name(to);
    }
  }
}

TEST(CudaKernels, StridedCopyAndFillIntoViews) {
  REQUIRE_GPU();
  Generator gen(2);
  for (DType dt : kFloatTypes) {
    Tensor big = Tensor::randn({5, 9, 4}, gen, 1.0, dt);
    Tensor gbig = big.to(kCuda);
    Tensor src = Tensor::randn({5, 4, 3}, gen, 1.0, dt);
    // Copy a permuted source into a narrowed destination, then fill a strided slice.
    big.narrow(1, 2, 3).copy_(src.permute({0, 2, 1}));
    gbig.narrow(1, 2, 3).copy_(src.to(kCuda).permute({0, 2, 1}));
    big.narrow(2, 1, 2).fill_(-7.25);
    gbig.narrow(2, 1, 2).fill_(-7.25);
    EXPECT_EQ(gbig.to(Device::cpu()).to_vector(), big.to_vector());
    // Broadcast source (stride 0).
    Tensor row = Tensor::randn({4}, gen, 1.0, dt);
    big.copy_(row);
    gbig.copy_(row.to(kCuda));
    EXPECT_EQ(gbig.to(Device::cpu()).to_vector(), big.to_vector());
    // Integer fill through a strided view.
    Tensor ci = Tensor::zeros({6, 6}, DType::I64), gi = Tensor::zeros({6, 6}, DType::I64, kCuda);
    ci.transpose(0, 1).narrow(0, 1, 3).fill_(42);
    gi.transpose(0, 1).narrow(0, 1, 3).fill_(42);
    EXPECT_EQ(gi.to(Device::cpu()).to_vector(), ci.to_vector());
  }
}

// ---- elementwise -------------------------------------------------------------------------

TEST(CudaKernels, UnaryOnStridedInputsWithGradients) {
  REQUIRE_GPU();
  using UFn = Tensor (*)(const Tensor&);
  struct Case { const char* name; UFn fn; bool positive; };
  const Case cases[] = {{"exp", ops::exp, false},   {"log", ops::log, true},
                        {"sqrt", ops::sqrt, true},  {"abs", ops::abs, false},
                        {"relu", ops::relu, false}, {"sigmoid", ops::sigmoid, false},
                        {"tanh", ops::tanh, false}, {"silu", ops::silu, false},
                        {"gelu", ops::gelu, false}, {"neg", ops::neg, false}};
  Generator gen(3);
  for (DType dt : kFloatTypes) {
    for (const Case& c : cases) {
      Tensor x = c.positive ? Tensor::rand({37, 29}, gen, 0.1, 3.0, dt)
                            : Tensor::randn({37, 29}, gen, 1.5, dt);
      UFn f = c.fn;
      expect_matches_cpu([f](const std::vector<Tensor>& in) { return f(in[0].transpose(0, 1)); },
                         {x}, tol_for(dt), std::string(c.name) + " " + dtype_name(dt));
    }
  }
}

TEST(CudaKernels, BroadcastBinaryOpsAndSumToGradients) {
  REQUIRE_GPU();
  Generator gen(4);
  for (DType dt : kFloatTypes) {
    Tensor a = Tensor::randn({4, 1, 5}, gen, 1.0, dt);
    Tensor b = Tensor::randn({5, 3}, gen, 1.0, dt);  // used transposed: [3, 5]
    Tensor c = Tensor::rand({1, 3, 1}, gen, 0.5, 2.0, dt);
    expect_matches_cpu(
        [](const std::vector<Tensor>& in) {
          Tensor bt = in[1].transpose(0, 1);
          Tensor s = ops::sub(ops::add(in[0], bt), ops::mul(bt, in[2]));
          return ops::div(s, in[2]);
        },
        {a, b, c}, tol_for(dt), std::string("add/sub/mul/div ") + dtype_name(dt));
    // A long broadcast (block-reduction path of sum_to in the gradient).
    Tensor big = Tensor::randn({300, 7}, gen, 1.0, dt), col = Tensor::randn({1, 7}, gen, 1.0, dt);
    expect_matches_cpu([](const std::vector<Tensor>& in) { return ops::mul(in[0], in[1]); },
                       {big, col}, tol_for(dt, 2e-5), std::string("long broadcast ") + dtype_name(dt));
  }
}

TEST(CudaKernels, AffineAndWhereWithBroadcastMask) {
  REQUIRE_GPU();
  Generator gen(5);
  for (DType dt : kFloatTypes) {
    Tensor x = Tensor::randn({6, 8}, gen, 1.0, dt), y = Tensor::randn({8}, gen, 1.0, dt);
    std::vector<double> m;
    for (int i = 0; i < 8; ++i) m.push_back(i % 3 == 0);
    Tensor mask = Tensor::from_vector(m, {1, 8}, DType::Bool);
    expect_matches_cpu(
        [](const std::vector<Tensor>& in) {
          Tensor a = ops::add_scalar(ops::scale(in[0].transpose(0, 1), 1.5), -0.25);  // [8, 6]
          Tensor w = ops::where(in[2].transpose(0, 1), a, in[1].reshape({8, 1}));
          return ops::masked_fill(w, in[2].transpose(0, 1), 3.0);
        },
        {x, y, mask}, tol_for(dt), std::string("affine/where ") + dtype_name(dt));
  }
}

// ---- reductions --------------------------------------------------------------------------

TEST(CudaKernels, SumAndMeanOverDims) {
  REQUIRE_GPU();
  Generator gen(6);
  for (DType dt : kFloatTypes) {
    Tensor x = Tensor::randn({7, 300, 5}, gen, 1.0, dt);
    // Sums in double on both backends, rounded once: f32 results agree to an ulp or two.
    const Tol tol = tol_for(dt, 1e-6, 1e-12);
    expect_matches_cpu([](const std::vector<Tensor>& in) { return ops::sum(in[0]); }, {x}, tol, "sum all");
    expect_matches_cpu([](const std::vector<Tensor>& in) { return ops::sum(in[0], {1}); }, {x}, tol, "sum dim 1");
    expect_matches_cpu([](const std::vector<Tensor>& in) { return ops::sum(in[0], {0, 2}, true); }, {x}, tol, "sum dims 0,2");
    expect_matches_cpu([](const std::vector<Tensor>& in) { return ops::mean(in[0].permute({2, 0, 1}), {0}); },
                       {x}, tol, "mean of a permuted view");
    expect_matches_cpu([](const std::vector<Tensor>& in) { return ops::sum(in[0].narrow(1, 3, 2), {1}); },
                       {x}, tol, "sum of a narrowed view");
  }
}

// ---- softmax -----------------------------------------------------------------------------

TEST(CudaKernels, SoftmaxAndLogSoftmax) {
  REQUIRE_GPU();
  Generator gen(7);
  for (DType dt : kFloatTypes) {
    for (int64_t n : {1, 7, 300, 1000}) {
      Tensor x = Tensor::randn({5, n}, gen, 3.0, dt);
      expect_matches_cpu([](const std::vector<Tensor>& in) { return ops::softmax(in[0], -1); },
                         {x}, tol_for(dt), str_cat("softmax n=", n, " ", dtype_name(dt)));
      expect_matches_cpu([](const std::vector<Tensor>& in) { return ops::log_softmax(in[0], -1); },
                         {x}, tol_for(dt), str_cat("log_softmax n=", n, " ", dtype_name(dt)));
    }
    Tensor x = Tensor::randn({4, 6, 5}, gen, 2.0, dt);
    expect_matches_cpu([](const std::vector<Tensor>& in) { return ops::softmax(in[0], 1); }, {x},
                       tol_for(dt), "softmax over a middle dim");
  }
}

// ---- normalisation -----------------------------------------------------------------------

TEST(CudaKernels, LayerNormWithAndWithoutAffine) {
  REQUIRE_GPU();
  Generator gen(8);
  for (DType dt : kFloatTypes) {
    for (int64_t n : {5, 37, 300}) {
      // 600 rows: the parameter gradients run over several row chunks.
      Tensor x = Tensor::randn({600, n}, gen, 2.0, dt), w = Tensor::randn({n}, gen, 1.0, dt),
             b = Tensor::randn({n}, gen, 1.0, dt);
      // Parameter gradients sum 600 rows: f32 reduction order differs from the CPU's.
      const Tol tol = tol_for(dt, 5e-5, 1e-10);
      expect_matches_cpu(
          [](const std::vector<Tensor>& in) { return ops::layer_norm(in[0], in[1], in[2]); },
          {x, w, b}, tol, str_cat("layer_norm affine n=", n, " ", dtype_name(dt)));
      expect_matches_cpu(
          [](const std::vector<Tensor>& in) { return ops::layer_norm(in[0], Tensor(), Tensor()); },
          {x}, tol, str_cat("layer_norm plain n=", n, " ", dtype_name(dt)));
      // Only the parameters train (gx not requested).
      expect_matches_cpu(
          [](const std::vector<Tensor>& in) { return ops::layer_norm(in[0], in[1], in[2]); },
          {x, w, b}, tol, str_cat("layer_norm params only n=", n), {false, true, true});
    }
  }
}

TEST(CudaKernels, BatchNormTrainAndEvalWithRunningStats) {
  REQUIRE_GPU();
  Generator gen(9);
  for (DType dt : kFloatTypes) {
    const Tol tol = tol_for(dt, 5e-5, 1e-10);
    for (bool training : {true, false}) {
      for (Shape shape : {Shape{4, 3, 50}, Shape{40, 6}}) {
        const int64_t C = shape[1];
        Tensor x = Tensor::randn(shape, gen, 2.0, dt), w = Tensor::randn({C}, gen, 1.0, dt),
               b = Tensor::randn({C}, gen, 1.0, dt);
        Tensor rm = Tensor::randn({C}, gen, 0.5, dt), rv = Tensor::rand({C}, gen, 0.5, 2.0, dt);
        Tensor rm_c = rm.clone(), rv_c = rv.clone(), rm_g = rm.to(kCuda), rv_g = rv.to(kCuda);
        bool first = true;  // the first call (CPU) uses the CPU stats, the second the GPU ones
        expect_matches_cpu(
            [&](const std::vector<Tensor>& in) {
              Tensor m = first ? rm_c : rm_g, v = first ? rv_c : rv_g;
              first = false;
              return ops::batch_norm(in[0], in[1], in[2], m, v, training, 0.1, 1e-5);
            },
            {x, w, b}, tol, str_cat("batch_norm ", training ? "train " : "eval ",
                                    shape_str(shape), " ", dtype_name(dt)));
        EXPECT_TRUE(cudatest::all_close(rm_g, rm_c, tol.rtol, tol.atol)) << "running_mean";
        EXPECT_TRUE(cudatest::all_close(rv_g, rv_c, tol.rtol, tol.atol)) << "running_var";
      }
    }
  }
}

// ---- dropout -----------------------------------------------------------------------------

TEST(CudaKernels, DropoutMaskIsBitwiseTheCpuMask) {
  REQUIRE_GPU();
  for (DType dt : kFloatTypes) {
    for (double p : {0.1, 0.5, 0.9}) {
      Generator gc(2024), gg(2024);
      gc.reserve(17);  // a non-zero counter
      gg.reserve(17);
      Tensor ones = Tensor::ones({3, 1001}, dt);
      Tensor mc = ops::dropout(ones, p, true, gc);
      Tensor mg = ops::dropout(ones.to(kCuda), p, true, gg);
      EXPECT_EQ(mg.to(Device::cpu()).to_vector(), mc.to_vector()) << "p " << p;
      // The next draw continues from the same counter on both.
      EXPECT_EQ(ops::dropout(ones.to(kCuda), p, true, gg).to(Device::cpu()).to_vector(),
                ops::dropout(ones, p, true, gc).to_vector());
    }
  }
}

// ---- convolution -------------------------------------------------------------------------

TEST(CudaKernels, Conv1dGroupsStridePadding) {
  REQUIRE_GPU();
  Generator gen(10);
  struct Case { int64_t cin, cout, k, stride, pad, groups; bool bias; };
  const Case cases[] = {{4, 6, 3, 1, 1, 1, true},  {4, 6, 3, 2, 0, 2, false},
                        {6, 6, 9, 1, 4, 6, true},  {6, 12, 1, 1, 0, 1, true},
                        {3, 5, 4, 3, 2, 1, true}};
  for (DType dt : kFloatTypes) {
    // Sums of Cin/groups * K products.
    const Tol tol = tol_for(dt, 3e-5, 1e-11);  // f32: the CPU sums in BLAS order
    for (const Case& c : cases) {
      Tensor x = Tensor::randn({3, c.cin, 23}, gen, 1.0, dt);
      Tensor w = Tensor::randn({c.cout, c.cin / c.groups, c.k}, gen, 0.5, dt);
      Tensor b = Tensor::randn({c.cout}, gen, 1.0, dt);
      auto fn = [c](const std::vector<Tensor>& in) {
        return ops::conv1d(in[0], in[1], c.bias ? in[2] : Tensor(), c.stride, c.pad, c.groups);
      };
      const std::string what = str_cat("conv1d cin ", c.cin, " cout ", c.cout, " k ", c.k, " s ",
                                        c.stride, " p ", c.pad, " g ", c.groups, " ", dtype_name(dt));
      expect_matches_cpu(fn, {x, w, b}, tol, what, {true, true, c.bias});
      expect_matches_cpu(fn, {x, w, b}, tol, what + " (frozen weight)", {true, false, false});
      expect_matches_cpu(fn, {x, w, b}, tol, what + " (frozen input)", {false, true, c.bias});
    }
    // A transposed (non-contiguous) input.
    Tensor xt = Tensor::randn({3, 17, 4}, gen, 1.0, dt), w = Tensor::randn({5, 4, 3}, gen, 0.5, dt);
    expect_matches_cpu([](const std::vector<Tensor>& in) {
      return ops::conv1d(in[0].transpose(1, 2), in[1], Tensor(), 1, 1, 1);
    }, {xt, w}, tol, "conv1d strided input");
  }
}

TEST(CudaKernels, Conv2dGroupsStridePadding) {
  REQUIRE_GPU();
  Generator gen(11);
  struct Case { int64_t cin, cout, k, stride, pad, groups; };
  const Case cases[] = {{1, 4, 3, 2, 1, 1}, {4, 4, 3, 2, 1, 4}, {4, 6, 3, 1, 0, 2}, {2, 3, 2, 3, 1, 1}};
  for (DType dt : kFloatTypes) {
    const Tol tol = tol_for(dt, 3e-5, 1e-11);  // f32: the CPU sums in BLAS order
    for (const Case& c : cases) {
      Tensor x = Tensor::randn({2, c.cin, 13, 11}, gen, 1.0, dt);
      Tensor w = Tensor::randn({c.cout, c.cin / c.groups, c.k, c.k}, gen, 0.5, dt);
      Tensor b = Tensor::randn({c.cout}, gen, 1.0, dt);
      auto fn = [c](const std::vector<Tensor>& in) {
        return ops::conv2d(in[0], in[1], in[2], c.stride, c.pad, c.groups);
      };
      const std::string what = str_cat("conv2d cin ", c.cin, " cout ", c.cout, " k ", c.k, " s ",
                                        c.stride, " p ", c.pad, " g ", c.groups, " ", dtype_name(dt));
      expect_matches_cpu(fn, {x, w, b}, tol, what);
      expect_matches_cpu(fn, {x, w, b}, tol, what + " (bias only)", {false, false, true});
    }
  }
}

// ---- indexing ----------------------------------------------------------------------------

TEST(CudaKernels, IndexSelectAndGatherWithRepeatedIndices) {
  REQUIRE_GPU();
  Generator gen(12);
  for (DType dt : kFloatTypes) {
    Tensor x = Tensor::randn({5, 6, 4}, gen, 1.0, dt);
    for (int64_t d = 0; d < 3; ++d) {
      Tensor ix = idx({3, 0, 3, 1, 3});  // repeats: the adjoint adds in order
      expect_matches_cpu([d](const std::vector<Tensor>& in) { return ops::index_select(in[0], d, in[1]); },
                         {x, ix}, tol_for(dt), str_cat("index_select dim ", d, " ", dtype_name(dt)));
    }
    // gather: the index may be smaller than x in the other dims.
    std::vector<int64_t> gv;
    for (int i = 0; i < 4 * 5 * 3; ++i) gv.push_back((i * 7 + 3) % 6);
    Tensor gi = Tensor::from_vector(gv, {4, 5, 3});
    expect_matches_cpu([](const std::vector<Tensor>& in) { return ops::gather(in[0], 1, in[1]); },
                       {x, gi}, tol_for(dt), str_cat("gather dim 1 ", dtype_name(dt)));
    std::vector<int64_t> gv0;
    for (int i = 0; i < 7 * 6 * 4; ++i) gv0.push_back((i * 3 + 1) % 5);
    Tensor gi0 = Tensor::from_vector(gv0, {7, 6, 4});
    expect_matches_cpu([](const std::vector<Tensor>& in) { return ops::gather(in[0], 0, in[1]); },
                       {x, gi0}, tol_for(dt), str_cat("gather dim 0 (index longer than x) ", dtype_name(dt)));
  }
}

// ---- CTC ---------------------------------------------------------------------------------

TEST(CudaKernels, CtcLossAndGradientMatchCpu) {
  REQUIRE_GPU();
  Generator gen(13);
  const int64_t B = 6, T = 20, V = 6, S = 5, blank = 0;
  // Utterances: full, repeated labels, empty target, zero-length input with empty target,
  // zero-length input with a target (infeasible), too-long target (infeasible).
  Tensor targets = Tensor::from_vector(std::vector<int64_t>{1, 2, 3, 4, 5, 2, 2, 3, 3, 1,
                                                            1, 1, 1, 1, 1, 4, 0, 0, 0, 0,
                                                            5, 0, 0, 0, 0, 1, 1, 1, 1, 1},
                                       {B, S});
  Tensor il = idx({20, 17, 9, 0, 0, 4}), tl = idx({5, 5, 0, 0, 1, 5});
  for (DType dt : kFloatTypes) {
    Tensor logits = Tensor::randn({B, T, V}, gen, 2.0, dt);
    for (auto red : {ops::CtcReduction::None, ops::CtcReduction::MeanBatch, ops::CtcReduction::Sum}) {
      // Sums over up to 2S+1 states and T steps in double, stored in f32.
      expect_matches_cpu(
          [&](const std::vector<Tensor>& in) {
            Tensor lp = ops::log_softmax(in[0], -1);
            return ops::ctc_loss(lp, in[1], il, tl, blank, red, /*zero_infinity=*/true);
          },
          {logits, targets}, tol_for(dt, 1e-4, 1e-10),
          str_cat("ctc reduction ", static_cast<int>(red), " ", dtype_name(dt)));
    }
    // Without zero_infinity the infeasible utterances give +inf on both.
    Tensor lp = ops::log_softmax(logits, -1);
    Tensor nc = ops::ctc_loss(lp, targets, il, tl, blank, ops::CtcReduction::None, false);
    Tensor ng = ops::ctc_loss(lp.to(kCuda), targets.to(kCuda), il, tl, blank,
                              ops::CtcReduction::None, false);
    EXPECT_TRUE(cudatest::all_close(ng, nc, 1e-5, 1e-5));
    EXPECT_TRUE(std::isinf(ng.to_vector()[4]) && std::isinf(ng.to_vector()[5]));
    EXPECT_EQ(ng.to_vector()[3], 0.0);
  }
}

TEST(CudaKernels, CtcWithLongTargetsAndNonZeroBlank) {
  REQUIRE_GPU();
  // 2S+1 = 301 states: more than one state per thread.
  Generator gen(14);
  const int64_t B = 2, T = 400, V = 30, S = 150, blank = V - 1;
  std::vector<int64_t> tv;
  for (int64_t i = 0; i < B * S; ++i) tv.push_back((i * 7 + i / 3) % (V - 1));
  Tensor targets = Tensor::from_vector(tv, {B, S});
  Tensor il = idx({400, 350}), tl = idx({150, 120});
  for (DType dt : kFloatTypes) {
    Tensor logits = Tensor::randn({B, T, V}, gen, 1.0, dt);
    expect_matches_cpu(
        [&](const std::vector<Tensor>& in) {
          return ops::ctc_loss(ops::log_softmax(in[0], -1), in[1], il, tl, blank,
                               ops::CtcReduction::None, false);
        },
        {logits, targets}, tol_for(dt, 1e-4, 1e-9), str_cat("long ctc ", dtype_name(dt)));
  }
}

// ---- determinism -------------------------------------------------------------------------

TEST(CudaKernels, ReductionsAndScattersAreBitwiseReproducible) {
  REQUIRE_GPU();
  Generator gen(15);
  Tensor x = Tensor::randn({64, 300}, gen), w = Tensor::randn({300}, gen);
  expect_deterministic([](const std::vector<Tensor>& in) {
    return ops::layer_norm(ops::softmax(in[0], -1), in[1], in[1]);
  }, {x, w}, "softmax + layer_norm");
  Tensor xc = Tensor::randn({4, 16, 50}, gen), wc = Tensor::randn({32, 8, 5}, gen);
  expect_deterministic([](const std::vector<Tensor>& in) {
    return ops::conv1d(in[0], in[1], Tensor(), 2, 2, 2);
  }, {xc, wc}, "conv1d");
  Tensor xi = Tensor::randn({10, 30}, gen);
  expect_deterministic([](const std::vector<Tensor>& in) {
    return ops::index_select(in[0], 0, idx({1, 1, 1, 2, 1}).to(kCuda));
  }, {xi}, "index_select with repeats");
  Tensor lg = Tensor::randn({3, 30, 8}, gen);
  Tensor tg = Tensor::from_vector(std::vector<int64_t>{1, 2, 3, 3, 2, 2, 4, 5, 6}, {3, 3});
  expect_deterministic([&](const std::vector<Tensor>& in) {
    return ops::ctc_loss(ops::log_softmax(in[0], -1), tg, idx({30, 25, 11}), idx({3, 3, 2}), 0,
                         ops::CtcReduction::MeanBatch, true);
  }, {lg}, "ctc");
}

// ---- errors ------------------------------------------------------------------------------

TEST(CudaKernels, NonFloatDtypesAreClearErrors) {
  REQUIRE_GPU();
  Backend& be = backend_for(kCuda);
  Tensor xi = Tensor::zeros({4, 6}, DType::I32, kCuda), yi = Tensor::zeros({4, 6}, DType::I32, kCuda);
  try {
    be.softmax(xi, false, yi);
    FAIL() << "expected asr::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("softmax"), std::string::npos) << e.what();
  }
  EXPECT_THROW(be.unary(UnaryOp::Exp, xi, yi), Error);
}
