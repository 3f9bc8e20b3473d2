// Transcription speed of the published Conformer-CTC Small architecture (d_model 176, 16 layers,
// 4 heads, kernel 31, 128 tokens + blank; random weights: speed does not depend on their values)
// on 10 s of 16 kHz audio: features alone, encoder+decoder forward, and both together, reported
// as real-time factors (RTF = compute time / audio time; lower is faster).
//
//   bench_conformer --benchmark_min_time=2
#include <benchmark/benchmark.h>

#include <cmath>
#include <vector>

#include "asr/audio/features.h"
#include "asr/autograd/node.h"
#include "asr/models/conformer_ctc.h"
#include "asr/models/published_configs.h"

using namespace asr;

namespace {

constexpr double kAudioSeconds = 10.0;

std::vector<float> synthetic_audio() {  // a chirp plus noise: any signal costs the same
  Generator gen(1);
  const int64_t n = static_cast<int64_t>(kAudioSeconds * 16000);
  std::vector<float> x(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    double t = i / 16000.0;
    x[i] = static_cast<float>(0.3 * std::sin(2 * M_PI * (200 + 150 * t) * t) +
                              0.01 * Generator::normal(gen.seed(), static_cast<uint64_t>(i)));
  }
  return x;
}

struct Setup {
  io::ModelConfig config = models::conformer_ctc_small_config();
  Generator gen{7};
  models::ConformerCtcModel model{config, gen};
  audio::FeatureExtractor features{config.preprocessor};
  std::vector<float> audio = synthetic_audio();
  Setup() { model.train(false); }
};

Setup& setup() {
  static Setup s;
  return s;
}

void report(benchmark::State& state) {
  state.counters["RTF"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * kAudioSeconds, benchmark::Counter::kIsRate |
                                                                   benchmark::Counter::kInvert);
}

void BM_Features(benchmark::State& state) {
  Setup& s = setup();
  for (auto _ : state) benchmark::DoNotOptimize(s.features.compute(s.audio));
  report(state);
}

void BM_Forward(benchmark::State& state) {
  Setup& s = setup();
  autograd::NoGradGuard no_grad;
  Tensor feats = s.features.compute(s.audio).unsqueeze(0).contiguous();
  Tensor lengths = Tensor::from_vector(std::vector<int64_t>{feats.size(2)}, {1});
  for (auto _ : state) benchmark::DoNotOptimize(s.model.forward(feats, lengths).log_probs);
  state.counters["params"] = static_cast<double>(s.model.num_parameters());
  report(state);
}

void BM_Transcribe(benchmark::State& state) {  // features + forward, as `transcribe` runs them
  Setup& s = setup();
  autograd::NoGradGuard no_grad;
  for (auto _ : state) {
    Tensor feats = s.features.compute(s.audio).unsqueeze(0).contiguous();
    Tensor lengths = Tensor::from_vector(std::vector<int64_t>{feats.size(2)}, {1});
    benchmark::DoNotOptimize(s.model.forward(feats, lengths).log_probs);
  }
  report(state);
}

}  // namespace

BENCHMARK(BM_Features)->Name("conformer_small/features_10s")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Forward)->Name("conformer_small/forward_10s")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Transcribe)->Name("conformer_small/transcribe_10s")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_MAIN();
