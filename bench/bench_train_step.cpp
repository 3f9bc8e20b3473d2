// One training step (forward, CTC loss, backward, optimizer update) of the published
// Conformer-CTC Small architecture (d_model 176, 16 layers, 4 heads, kernel 31, 128 tokens +
// blank; random weights) on a batch of synthetic log-mel features, in one of three modes:
//   adapters: the base frozen (no gradient buffers, eval mode), a LinearAdapter (dim 32) in every layer
//   full:     every parameter trains (full fine-tuning)
//   infer:    eval-mode forward + greedy CTC decoding, no autograd graph (transcription)
// It prints one line per timed repetition (--reps, each the mean of --steps steps) with the GEMM
// work done per step (the CPU backend's counter), then the mean over all of them and this
// process's peak resident memory, so each mode runs in its own process (peak RSS only grows).
// bench/adapter_vs_full.sh compares adapters with full; bench/vs_pytorch.sh compares each mode
// with NeMo's modules on PyTorch (bench/torch_conformer.py), same batch, same threads.
//
//   bench_train_step --mode adapters|full|infer [--batch 4] [--seconds 4] [--steps 5] [--warmup 1]
//                    [--reps 1] [--threads N]
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <omp.h>

#include "asr/autograd/node.h"
#include "asr/backend/backend.h"
#include "asr/models/conformer_ctc.h"
#include "asr/models/published_configs.h"
#include "asr/ops/ops.h"
#include "asr/text/ctc_decoding.h"
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
  int64_t batch = 4, steps = 5, warmup = 1, reps = 1, threads = 0;
  double seconds = 4.0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    if (k == "--mode") mode = argv[i + 1];
    else if (k == "--batch") batch = std::atoll(argv[i + 1]);
    else if (k == "--seconds") seconds = std::atof(argv[i + 1]);
    else if (k == "--steps") steps = std::atoll(argv[i + 1]);
    else if (k == "--warmup") warmup = std::atoll(argv[i + 1]);
    else if (k == "--reps") reps = std::atoll(argv[i + 1]);
    else if (k == "--threads") threads = std::atoll(argv[i + 1]);
    else {
      std::fprintf(stderr, "usage: bench_train_step --mode adapters|full|infer [--batch N] [--seconds S] "
                           "[--steps N] [--warmup N] [--reps N] [--threads N]\n");
      return 2;
    }
  }
  if (mode != "adapters" && mode != "full" && mode != "infer") {
    std::fprintf(stderr, "bench_train_step: --mode must be adapters, full or infer\n");
    return 2;
  }
  if (threads > 0) omp_set_num_threads(static_cast<int>(threads));
  Generator gen(11);
  models::ConformerCtcModel model(models::conformer_ctc_small_config(), gen);
  if (mode == "adapters") {
    model.add_adapter("bench", models::AdapterConfig::linear(32));
    model.freeze_base_for_adapters();
    model.set_adapter_training_mode();  // as the trainer runs it: base in eval mode, adapters training
  } else if (mode == "full") {
    model.train(true);
    model.prepare_full_training();
  } else {
    model.train(false);
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
  auto run_step = [&] {
    if (mode == "infer") {
      autograd::NoGradGuard no_grad;
      const models::CtcOutput out = model.forward(features, lengths);
      (void)text::ctc_greedy_decode(out.log_probs, out.lengths, model.blank());
      return;
    }
    model.zero_grad();
    const models::CtcOutput out = model.forward(features, lengths);
    Tensor loss = ops::ctc_loss(out.log_probs, targets, out.lengths, target_lengths, model.blank(),
                                ops::CtcReduction::MeanBatch, true);
    loss.backward();
    opt.step(model.flat_parameters(), model.flat_gradients());
  };
  BackendStats& counters = backend_for(Device::cpu()).stats();
  for (int64_t s = 0; s < warmup; ++s) run_step();
  double timed = 0;
  for (int64_t r = 0; r < reps; ++r) {
    const uint64_t flops0 = counters.gemm_flops;
    const auto t0 = std::chrono::steady_clock::now();
    for (int64_t s = 0; s < steps; ++s) run_step();
    const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    timed += dt;
    const double gflop = static_cast<double>(counters.gemm_flops - flops0) / 1e9 / static_cast<double>(steps);
    std::printf("asr mode=%s rep=%lld seconds_per_step=%.4f gemm_gflop_per_step=%.3f peak_rss_mib=%.1f threads=%d\n",
                mode.c_str(), static_cast<long long>(r), dt / static_cast<double>(steps), gflop, peak_rss_mib(),
                omp_get_max_threads());
    std::fflush(stdout);
  }
  std::printf("mode=%s trainable=%lld total=%lld batch=%lld seconds=%.1f step_s=%.4f peak_rss_mib=%.1f\n",
              mode.c_str(), static_cast<long long>(model.num_trainable_parameters()), static_cast<long long>(total),
              static_cast<long long>(batch), seconds, timed / static_cast<double>(steps * reps), peak_rss_mib());
  return 0;
}
