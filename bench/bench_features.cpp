// Feature extraction alone, the same work tools/nemo_preprocess_bench.py times for NeMo: per
// manifest item, read the (whole) file, mix down, resample to the model's rate (soxr HQ) and compute the
// normalised log-mels. No tokenising, no shard writing (`asr-adapt shard`'s own figure has both).
// With --threads N > 1 the utterances are spread over N threads, one utterance at a time each,
// as NeMo's DataLoader workers do. Prints the best of --repeat runs:
//   asr_features threads=N audio_s=A wall_s=W xrt=X xrt_per_core=Y gflops=G
// G is the feature arithmetic per second, counted per frame as the window product, a real FFT at
// the usual 2.5 n log2(n) (n = n_fft), |X|^2 (3 per bin) and the mel products (2 per nonzero
// filterbank weight); resampling is not counted. bench/shard_throughput.sh sets it against the
// sgemm peak.
//
//   bench_features --model M.nemo --manifest M.json [--threads 1] [--repeat 3]
#include <atomic>
#include <cmath>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "asr/audio/audio.h"
#include "asr/audio/features.h"
#include "asr/core/error.h"
#include "asr/io/manifest.h"
#include "asr/io/model_file.h"

namespace {

asr::Tensor buffer(const asr::io::ModelFile& mf, const char* key) {
  auto it = mf.weights.find(key);
  return it == mf.weights.end() ? asr::Tensor() : it->second;
}

int usage() {
  std::fprintf(stderr, "usage: bench_features --model M.nemo --manifest M.json [--threads 1] [--repeat 3]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string model, manifest;
  int threads = 1, repeat = 3;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    if (k == "--help" || k == "-h") return usage(), 0;
    if (i + 1 >= argc) return usage();
    const char* v = argv[++i];
    if (k == "--model") model = v;
    else if (k == "--manifest") manifest = v;
    else if (k == "--threads") threads = std::atoi(v);
    else if (k == "--repeat") repeat = std::atoi(v);
    else return usage();
  }
  if (model.empty() || manifest.empty() || threads < 1 || repeat < 1) return usage();
  try {
    const asr::io::ModelFile mf = asr::io::load_model_file(model);
    const asr::audio::FeatureExtractor fx(mf.config.preprocessor, buffer(mf, "preprocessor.featurizer.fb"),
                                          buffer(mf, "preprocessor.featurizer.window"));
    const auto items = asr::io::read_manifest(manifest);
    const int64_t rate = fx.config().sample_rate;
    int64_t nonzero = 0;
    for (float w : fx.filterbank()) nonzero += w != 0.0f;
    const double n_fft = static_cast<double>(fx.n_fft());
    const double flop_per_frame = static_cast<double>(fx.win_length()) + 2.5 * n_fft * std::log2(n_fft) +
                                  3.0 * (n_fft / 2 + 1) + 2.0 * static_cast<double>(nonzero);

    double best_wall = 0, audio_s = 0, gflop = 0;
    for (int r = 0; r < repeat; ++r) {
      std::atomic<size_t> next{0};
      std::vector<int64_t> samples(static_cast<size_t>(threads), 0), frames(static_cast<size_t>(threads), 0);
      std::vector<double> checksum(static_cast<size_t>(threads), 0.0);  // keeps the work observable
      auto work = [&](int t) {
        for (size_t i; (i = next.fetch_add(1)) < items.size();) {
          // The whole file, as the NeMo side reads it.
          const auto a = asr::audio::load_audio(items[i].audio_filepath, rate, 0.0, 0.0);
          const asr::Tensor f = fx.compute(a.samples);
          samples[t] += static_cast<int64_t>(a.samples.size());
          frames[t] += f.shape()[1];
          checksum[t] += f.data<float>()[0];
        }
      };
      const auto t0 = std::chrono::steady_clock::now();
      std::vector<std::thread> pool;
      for (int t = 1; t < threads; ++t) pool.emplace_back(work, t);
      work(0);
      for (auto& th : pool) th.join();
      const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      int64_t total = 0, total_frames = 0;
      for (int64_t s : samples) total += s;
      for (int64_t f : frames) total_frames += f;
      audio_s = static_cast<double>(total) / static_cast<double>(rate);
      gflop = static_cast<double>(total_frames) * flop_per_frame / 1e9;
      if (r == 0 || wall < best_wall) best_wall = wall;
    }
    std::printf("asr_features threads=%d audio_s=%.2f wall_s=%.3f xrt=%.1f xrt_per_core=%.1f gflops=%.2f\n", threads,
                audio_s, best_wall, audio_s / best_wall, audio_s / best_wall / threads, gflop / best_wall);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_features: %s\n", e.what());
    return 1;
  }
}
