// Core throughput benchmarks (Google Benchmark). GEMM through ops::matmul is reported next to
// raw cblas_sgemm on the same sizes, with the fraction of the raw rate measured in this process;
// then the Conformer hot spots: layer_norm, depthwise conv1d and CTC, forward and
// forward+backward. On a machine with a GPU the CUDA matmul and an elementwise bandwidth check
// are registered too. Ops that are not implemented yet report an error instead of a time.
// Counters: GFLOPS (GFLOP per second), raw_GFLOPS and frac_of_raw (core / raw cblas_sgemm),
// fwd_GBps (GB moved per second by the forward pass), rows / utts (processed per second).
//
//   bench_core --benchmark_out=bench.json --benchmark_out_format=json
#include <benchmark/benchmark.h>
#include <cblas.h>
#include <omp.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "asr/backend/backend.h"
#include "asr/core/generator.h"
#include "asr/ops/ops.h"

using namespace asr;

namespace {

using Clock = std::chrono::steady_clock;

struct GemmSize {
  const char* name;
  int64_t M, K, N;
  double flops() const { return 2.0 * double(M) * double(K) * double(N); }
};
// Square sizes plus a Conformer feed-forward GEMM: (B*T = 4096) x d_model 176 -> 4 * 176.
const GemmSize kGemmSizes[] = {{"256", 256, 256, 256},
                               {"512", 512, 512, 512},
                               {"1024", 1024, 1024, 1024},
                               {"conformer_4096x176x704", 4096, 176, 704}};

// Runs op once outside the timing; on asr::Error (e.g. an op still being written) marks the
// benchmark as errored and returns false so the caller skips its loop.
template <typename F>
bool try_once(benchmark::State& state, F&& op) {
  try {
    op();
    return true;
  } catch (const Error& e) {
    state.SkipWithError(e.what());
    return false;
  }
}

void raw_sgemm(const GemmSize& s, const float* a, const float* b, float* c) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(s.M), int(s.N), int(s.K), 1.0f, a,
              int(s.K), b, int(s.N), 0.0f, c, int(s.N));
}

// Raw cblas_sgemm GFLOP/s for a size, measured once per process (>= 0.3 s after a warm-up) so
// every core GEMM benchmark is compared with a rate taken under the same conditions.
double raw_sgemm_gflops(const GemmSize& s) {
  static std::map<std::string, double> cache;
  auto it = cache.find(s.name);
  if (it != cache.end()) return it->second;
  std::vector<float> a(size_t(s.M * s.K), 0.5f), b(size_t(s.K * s.N), 0.25f), c(size_t(s.M * s.N));
  raw_sgemm(s, a.data(), b.data(), c.data());
  int64_t reps = 0;
  const auto t0 = Clock::now();
  double secs = 0;
  while (secs < 0.3 || reps < 3) {
    raw_sgemm(s, a.data(), b.data(), c.data());
    ++reps;
    secs = std::chrono::duration<double>(Clock::now() - t0).count();
  }
  return cache[s.name] = s.flops() * double(reps) / secs * 1e-9;
}

void set_gflops(benchmark::State& state, double flops_per_iter) {
  state.counters["GFLOPS"] =
      benchmark::Counter(flops_per_iter * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

// ---- GEMM -------------------------------------------------------------------------------------

void BM_raw_sgemm(benchmark::State& state, GemmSize s) {
  std::vector<float> a(size_t(s.M * s.K), 0.5f), b(size_t(s.K * s.N), 0.25f), c(size_t(s.M * s.N));
  for (auto _ : state) {
    raw_sgemm(s, a.data(), b.data(), c.data());
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  set_gflops(state, s.flops());
}

void BM_core_sgemm(benchmark::State& state, GemmSize s) {
  Generator gen(1);
  Tensor a = Tensor::randn({s.M, s.K}, gen), b = Tensor::randn({s.K, s.N}, gen);
  if (!try_once(state, [&] { ops::matmul(a, b); })) return;
  const double raw = raw_sgemm_gflops(s);
  const auto t0 = Clock::now();
  for (auto _ : state) {
    Tensor c = ops::matmul(a, b);
    benchmark::DoNotOptimize(c.raw_data());
  }
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  set_gflops(state, s.flops());
  const double core = s.flops() * double(state.iterations()) / secs * 1e-9;
  state.counters["raw_GFLOPS"] = raw;
  state.counters["frac_of_raw"] = core / raw;
}

// ---- Conformer hot spots ----------------------------------------------------------------------

// layer_norm over [B*T, C]: B*T = 8 utterances x 400 frames.
void BM_layer_norm(benchmark::State& state, int64_t C, bool backward) {
  const int64_t rows = 8 * 400;
  Generator gen(2);
  Tensor x = Tensor::randn({rows, C}, gen), w = Tensor::ones({C}), b = Tensor::zeros({C});
  if (backward) {
    x.set_requires_grad(true);
    w.set_requires_grad(true);
    b.set_requires_grad(true);
  }
  Tensor seed = Tensor::ones({rows, C});
  auto step = [&] {
    Tensor y = ops::layer_norm(x, w, b, 1e-5);
    if (backward) {
      y.backward(seed);
      x.zero_grad();
      w.zero_grad();
      b.zero_grad();
    }
    benchmark::DoNotOptimize(y.raw_data());
  };
  if (!try_once(state, step)) return;
  for (auto _ : state) step();
  // Bytes a single forward pass must move: read x, write y.
  state.counters["fwd_GBps"] = benchmark::Counter(
      2.0 * double(rows * C) * 4 * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["rows"] = benchmark::Counter(double(rows), benchmark::Counter::kIsIterationInvariantRate);
}

// Depthwise conv1d as in a Conformer conv module: [8, 176, 400], kernel 31, same padding.
void BM_depthwise_conv1d(benchmark::State& state, bool backward) {
  const int64_t N = 8, C = 176, L = 400, K = 31;
  Generator gen(3);
  Tensor x = Tensor::randn({N, C, L}, gen), w = Tensor::randn({C, 1, K}, gen, 0.2);
  Tensor bias = Tensor::zeros({C});
  if (backward) {
    x.set_requires_grad(true);
    w.set_requires_grad(true);
    bias.set_requires_grad(true);
  }
  Tensor seed = Tensor::ones({N, C, L});
  auto step = [&] {
    Tensor y = ops::conv1d(x, w, bias, 1, K / 2, C);
    if (backward) {
      y.backward(seed);
      x.zero_grad();
      w.zero_grad();
      bias.zero_grad();
    }
    benchmark::DoNotOptimize(y.raw_data());
  };
  if (!try_once(state, step)) return;
  for (auto _ : state) step();
  set_gflops(state, 2.0 * double(N * C * L * K) * (backward ? 3.0 : 1.0));
}

// CTC over [B=8, T=100, V=129] log-probabilities with 30-token targets.
void BM_ctc_loss(benchmark::State& state, bool backward) {
  const int64_t B = 8, T = 100, V = 129, S = 30;
  Generator gen(4);
  Tensor lp = ops::log_softmax(Tensor::randn({B, T, V}, gen), -1).detach();
  if (backward) lp.set_requires_grad(true);
  std::vector<int64_t> tg(size_t(B * S));
  for (size_t i = 0; i < tg.size(); ++i) tg[i] = 1 + int64_t((i * 37 + 11) % (V - 1));
  Tensor targets = Tensor::from_vector(tg, {B, S});
  Tensor in_len = Tensor::from_vector(std::vector<int64_t>(size_t(B), T), {B});
  Tensor tg_len = Tensor::from_vector(std::vector<int64_t>(size_t(B), S), {B});
  auto step = [&] {
    Tensor loss = ops::ctc_loss(lp, targets, in_len, tg_len, 0, ops::CtcReduction::MeanBatch, false);
    if (backward) {
      loss.backward();
      lp.zero_grad();
    }
    benchmark::DoNotOptimize(loss.raw_data());
  };
  if (!try_once(state, step)) return;
  for (auto _ : state) step();
  state.counters["utts"] = benchmark::Counter(double(B), benchmark::Counter::kIsIterationInvariantRate);
}

// ---- GPU (registered only when a CUDA device is visible) ---------------------------------------

// Waits for the device's queue by copying one element of t to the host (blocking copy).
void sync_via(const Tensor& t) {
  Tensor one = t.reshape({-1}).narrow(0, 0, 1);
  benchmark::DoNotOptimize(one.to(Device::cpu()).raw_data());
}

// Each iteration queues kBatch products and then waits, so launch latency is amortised the way
// a training step amortises it.
constexpr int kBatch = 10;

void BM_cuda_sgemm(benchmark::State& state, GemmSize s) {
  Generator gen(5);
  Tensor a = Tensor::randn({s.M, s.K}, gen).to(Device::cuda(0));
  Tensor b = Tensor::randn({s.K, s.N}, gen).to(Device::cuda(0));
  if (!try_once(state, [&] { sync_via(ops::matmul(a, b)); })) return;
  for (auto _ : state) {
    Tensor c;
    for (int i = 0; i < kBatch; ++i) c = ops::matmul(a, b);
    sync_via(c);
  }
  set_gflops(state, s.flops() * kBatch);
}

void BM_cuda_add(benchmark::State& state) {
  const int64_t n = int64_t(1) << 24;
  Tensor a = Tensor::full({n}, 1.0, DType::F32, Device::cuda(0));
  Tensor b = Tensor::full({n}, 2.0, DType::F32, Device::cuda(0));
  if (!try_once(state, [&] { sync_via(ops::add(a, b)); })) return;
  for (auto _ : state) {
    Tensor c;
    for (int i = 0; i < kBatch; ++i) c = ops::add(a, b);
    sync_via(c);
  }
  // Two reads and one write per element.
  state.counters["GBps"] = benchmark::Counter(3.0 * double(n) * 4 * kBatch * 1e-9,
                                              benchmark::Counter::kIsIterationInvariantRate);
}

void register_all() {
  for (const GemmSize& s : kGemmSizes) {
    benchmark::RegisterBenchmark((std::string("raw_sgemm/") + s.name).c_str(), BM_raw_sgemm, s)
        ->UseRealTime()->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark((std::string("core_sgemm/") + s.name).c_str(), BM_core_sgemm, s)
        ->UseRealTime()->Unit(benchmark::kMicrosecond);
  }
  for (int64_t C : {176, 512})
    for (bool bwd : {false, true})
      benchmark::RegisterBenchmark(
          (std::string("layer_norm/3200x") + std::to_string(C) + (bwd ? "/fwd_bwd" : "/fwd")).c_str(),
          BM_layer_norm, C, bwd)->UseRealTime()->Unit(benchmark::kMicrosecond);
  for (bool bwd : {false, true})
    benchmark::RegisterBenchmark(
        (std::string("depthwise_conv1d/8x176x400_k31") + (bwd ? "/fwd_bwd" : "/fwd")).c_str(),
        BM_depthwise_conv1d, bwd)->UseRealTime()->Unit(benchmark::kMicrosecond);
  for (bool bwd : {false, true})
    benchmark::RegisterBenchmark(
        (std::string("ctc_loss/8x100x129_s30") + (bwd ? "/fwd_bwd" : "/fwd")).c_str(),
        BM_ctc_loss, bwd)->UseRealTime()->Unit(benchmark::kMicrosecond);
  if (cuda_device_count() > 0) {
    for (const GemmSize& s : kGemmSizes)
      benchmark::RegisterBenchmark((std::string("cuda_sgemm/") + s.name).c_str(), BM_cuda_sgemm, s)
          ->UseRealTime()->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark("cuda_add/16M", BM_cuda_add)->UseRealTime()->Unit(benchmark::kMicrosecond);
  }
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::AddCustomContext("omp_max_threads", std::to_string(omp_get_max_threads()));
  benchmark::AddCustomContext("openblas_threads", std::to_string(openblas_get_num_threads()));
  benchmark::AddCustomContext("openblas_config", openblas_get_config());
  benchmark::AddCustomContext("cuda_backend_compiled", cuda_backend_compiled() ? "yes" : "no");
  benchmark::AddCustomContext("cuda_devices", std::to_string(cuda_device_count()));
  register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
