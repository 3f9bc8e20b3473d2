// One training step (forward, CTC loss, backward, optimizer update) of the published
// Conformer-CTC Small architecture (d_model 176, 16 layers, 4 heads, kernel 31, 128 tokens +
// blank; random weights) on a batch of synthetic log-mel features, in one of two modes:
//   adapters: the base frozen (no gradient buffers, eval mode), a LinearAdapter (dim 32) in every layer
//   full:     every parameter trains (full fine-tuning)
// It prints the mean step time and this process's peak resident memory, so each mode runs in its
// own process (peak RSS only grows). bench/adapter_vs_full.sh runs both and prints the ratios.
//
//   bench_train_step --mode adapters|full [--batch 4] [--seconds 4] [--steps 5] [--warmup 1]
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "asr/models/conformer_ctc.h"
#include "asr/models/published_configs.h"
#include "asr/ops/ops.h"
#include "asr/train/optimizer.h"

using namespace asr;

namespace {

double peak_rss_mib() {
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode = "adapters";
  int64_t batch = 4, steps = 5, warmup = 1;
  double seconds = 4.0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    if (k == "--mode") mode = argv[i + 1];
    else if (k == "--batch") batch = std::atoll(argv[i + 1]);
    else if (k == "--seconds") seconds = std::atof(argv[i + 1]);
    else if (k == "--steps") steps = std::atoll(argv[i + 1]);
    else if (k == "--warmup") warmup = std::atoll(argv[i + 1]);
    else {
      std::fprintf(stderr, "usage: bench_train_step --mode adapters|full [--batch N] [--seconds S] [--steps N]\n");
      return 2;
    }
  }
  if (mode != "adapters" && mode != "full") {
    std::fprintf(stderr, "bench_train_step: --mode must be adapters or full\n");
    return 2;
  }
  Generator gen(11);
  models::ConformerCtcModel model(models::conformer_ctc_small_config(), gen);
  if (mode == "adapters") {
    model.add_adapter("bench", models::AdapterConfig::linear(32));
    model.freeze_base_for_adapters();
    model.set_adapter_training_mode();  // as the trainer runs it: base in eval mode, adapters training
  } else {
    model.train(true);
    model.prepare_full_training();
  }
  int64_t total = 0;
  for (const auto& [n, p] : model.named_parameters()) total += p.numel();

  // Synthetic batch: features ~ N(0,1) (normalised log-mels), 100 frames/s, ~1 token per 80 ms.
  const int64_t frames = static_cast<int64_t>(seconds * 100);
  const int64_t tokens = static_cast<int64_t>(seconds * 12);
  std::vector<float> f(static_cast<size_t>(batch * 80 * frames));
  for (size_t i = 0; i < f.size(); ++i) f[i] = static_cast<float>(Generator::normal(3, i));
  std::vector<int64_t> t(static_cast<size_t>(batch * tokens));
  for (size_t i = 0; i < t.size(); ++i) t[i] = static_cast<int64_t>(Generator::hash(5, i) % 128);
  const Tensor features = Tensor::from_vector(f, {batch, 80, frames});
  const Tensor lengths = Tensor::from_vector(std::vector<int64_t>(static_cast<size_t>(batch), frames), {batch});
  const Tensor targets = Tensor::from_vector(t, {batch, tokens});
  const Tensor target_lengths = Tensor::from_vector(std::vector<int64_t>(static_cast<size_t>(batch), tokens), {batch});

  train::AdamWConfig ac;
  ac.lr = 1e-4;
  train::AdamW opt(ac);
  double timed = 0;
  for (int64_t s = 0; s < warmup + steps; ++s) {
    const auto t0 = std::chrono::steady_clock::now();
    model.zero_grad();
    const models::CtcOutput out = model.forward(features, lengths);
    Tensor loss = ops::ctc_loss(out.log_probs, targets, out.lengths, target_lengths, model.blank(),
                                ops::CtcReduction::MeanBatch, true);
    loss.backward();
    opt.step(model.flat_parameters(), model.flat_gradients());
    const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (s >= warmup) timed += dt;
  }
  std::printf("mode=%s trainable=%lld total=%lld batch=%lld seconds=%.1f step_s=%.4f peak_rss_mib=%.1f\n",
              mode.c_str(), static_cast<long long>(model.num_trainable_parameters()), static_cast<long long>(total),
              static_cast<long long>(batch), seconds, timed / static_cast<double>(steps), peak_rss_mib());
  return 0;
}
