// One training step (forward, CTC loss, backward, optimizer update) of a published Conformer-CTC
// architecture (--config small: d_model 176, 16 layers, 4 heads; --config large: d_model 512,
// 18 layers, 8 heads; both conv kernel 31, striding 4x, 128 tokens + blank; random weights) on a
// batch of synthetic log-mel features, in one of three modes:
//   adapters: the base frozen (no gradient buffers, eval mode), a LinearAdapter (--adapter-dim, 32)
//             in every layer
//   full:     every parameter trains (full fine-tuning)
//   infer:    eval-mode forward + greedy CTC decoding, no autograd graph (transcription)
// --device cuda builds the model on the CPU, moves it to the GPU (ConformerCtcModel::to_device,
// before the adapter freeze so the flat adapter buffers live there) and the features with it; the
// clock is read after a blocking device-to-host copy (all work runs on one stream).
// --precision bf16 (adapters or infer): the frozen Linear / 1x1-conv weights become bf16
// (convert_frozen_linear_weights): bf16 GEMM operands, f32 accumulation, f32 activations.
// It prints one line per timed repetition (--reps, each the mean of --steps steps) with the GEMM
// work done per step (the device backend's counter), audio seconds per second and peak memory
// (process RSS; on CUDA also the caching allocator's peak bytes in use), then the mean over all of
// them, so each mode runs in its own process (peaks only grow).
// bench/adapter_vs_full.sh compares adapters with full; bench/vs_pytorch.sh compares each mode
// with NeMo's modules on PyTorch (bench/torch_conformer.py), same batch, same threads;
// launch/gpu_check.sh runs the large config on a GPU against bench/torch_conformer.py --impl port.
//
//   bench_train_step --mode adapters|full|infer [--config small|large] [--device cpu|cuda]
//                    [--precision fp32|bf16] [--adapter-dim 32] [--batch 4] [--seconds 4]
//                    [--steps 5] [--warmup 1] [--reps 1] [--threads N]
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
  std::string mode = "adapters", config = "small", device_name = "cpu", precision = "fp32";
  int64_t batch = 4, steps = 5, warmup = 1, reps = 1, threads = 0, adapter_dim = 32;
  double seconds = 4.0;
  auto usage = [] {
    std::fprintf(stderr, "usage: bench_train_step --mode adapters|full|infer [--config small|large] "
                         "[--device cpu|cuda] [--precision fp32|bf16] [--adapter-dim N] [--batch N] "
                         "[--seconds S] [--steps N] [--warmup N] [--reps N] [--threads N]\n");
    return 2;
  };
  if (argc % 2 != 1) return usage();
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    if (k == "--mode") mode = argv[i + 1];
    else if (k == "--config") config = argv[i + 1];
    else if (k == "--device") device_name = argv[i + 1];
    else if (k == "--precision") precision = argv[i + 1];
    else if (k == "--adapter-dim") adapter_dim = std::atoll(argv[i + 1]);
    else if (k == "--batch") batch = std::atoll(argv[i + 1]);
    else if (k == "--seconds") seconds = std::atof(argv[i + 1]);
    else if (k == "--steps") steps = std::atoll(argv[i + 1]);
    else if (k == "--warmup") warmup = std::atoll(argv[i + 1]);
    else if (k == "--reps") reps = std::atoll(argv[i + 1]);
    else if (k == "--threads") threads = std::atoll(argv[i + 1]);
    else return usage();
  }
  if (mode != "adapters" && mode != "full" && mode != "infer") {
    std::fprintf(stderr, "bench_train_step: --mode must be adapters, full or infer\n");
    return 2;
  }
  if (config != "small" && config != "large") {
    std::fprintf(stderr, "bench_train_step: --config must be small or large\n");
    return 2;
  }
  if (device_name != "cpu" && device_name != "cuda") {
    std::fprintf(stderr, "bench_train_step: --device must be cpu or cuda\n");
    return 2;
  }
  if (precision != "fp32" && precision != "bf16") {
    std::fprintf(stderr, "bench_train_step: --precision must be fp32 or bf16\n");
    return 2;
  }
  if (precision == "bf16" && mode == "full") {
    std::fprintf(stderr, "bench_train_step: --precision bf16 converts the frozen weights: adapters or infer only\n");
    return 2;
  }
  if (adapter_dim < 1 || batch < 1 || seconds <= 0 || steps < 1 || reps < 1 || warmup < 0) {
    std::fprintf(stderr, "bench_train_step: --adapter-dim, --batch, --seconds, --steps, --reps must be positive\n");
    return 2;
  }
  const bool on_cuda = device_name == "cuda";
  if (on_cuda && cuda_device_count() < 1) {
    std::fprintf(stderr, "bench_train_step: --device cuda, but %s\n",
                 cuda_backend_compiled() ? "no CUDA device is visible" : "this build has no CUDA backend");
    return 3;
  }
  const Device dev = on_cuda ? Device::cuda(0) : Device::cpu();
  if (threads > 0) omp_set_num_threads(static_cast<int>(threads));
  Generator gen(11);
  const io::ModelConfig model_cfg =
      config == "large" ? models::conformer_ctc_large_config() : models::conformer_ctc_small_config();
  models::ConformerCtcModel model(model_cfg, gen);
  int64_t converted = 0;
  if (mode == "adapters") {
    model.add_adapter("bench", models::AdapterConfig::linear(adapter_dim));
    if (on_cuda) model.to_device(dev);  // before the freeze: the flat adapter buffers are made there
    model.freeze_base_for_adapters();
    if (precision == "bf16") converted = model.convert_frozen_linear_weights(DType::BF16);
    model.set_adapter_training_mode();  // as the trainer runs it: base in eval mode, adapters training
  } else if (mode == "full") {
    if (on_cuda) model.to_device(dev);
    model.train(true);
    model.prepare_full_training();
  } else {
    if (on_cuda) model.to_device(dev);
    model.train(false);
    if (precision == "bf16") {
      model.set_requires_grad(false);  // (only frozen weights are converted)
      converted = model.convert_frozen_linear_weights(DType::BF16);
    }
  }
  int64_t total = 0;
  for (const auto& [n, p] : model.named_parameters()) total += p.numel();

  // Synthetic batch: features ~ N(0,1) (normalised log-mels), 100 frames/s, ~1 token per 80 ms.
  const int64_t frames = static_cast<int64_t>(seconds * 100);
  const int64_t tokens = static_cast<int64_t>(seconds * 12);
  const int64_t feat_in = model_cfg.encoder.feat_in, vocab = model_cfg.decoder.num_classes;
  std::vector<float> f(static_cast<size_t>(batch * feat_in * frames));
  for (size_t i = 0; i < f.size(); ++i) f[i] = static_cast<float>(Generator::normal(3, i));
  std::vector<int64_t> t(static_cast<size_t>(batch * tokens));
  for (size_t i = 0; i < t.size(); ++i) t[i] = static_cast<int64_t>(Generator::hash(5, i) % static_cast<uint64_t>(vocab));
  const Tensor features = Tensor::from_vector(f, {batch, feat_in, frames}).to(dev);  // on the device once
  const Tensor lengths = Tensor::from_vector(std::vector<int64_t>(static_cast<size_t>(batch), frames), {batch});
  const Tensor targets = Tensor::from_vector(t, {batch, tokens});
  const Tensor target_lengths = Tensor::from_vector(std::vector<int64_t>(static_cast<size_t>(batch), tokens), {batch});

  train::AdamWConfig ac;
  ac.lr = 1e-4;
  train::AdamW opt(ac);
  // Waits for the device's queue: a blocking copy of one element (one stream: ordered after all).
  auto sync_device = [&](const Tensor& last) {
    if (!on_cuda || !last.defined()) return;
    volatile double sink = last.reshape({-1}).narrow(0, 0, 1).to_vector()[0];
    (void)sink;
  };
  auto run_step = [&]() -> Tensor {
    if (mode == "infer") {
      autograd::NoGradGuard no_grad;
      const models::CtcOutput out = model.forward(features, lengths);
      (void)text::ctc_greedy_decode(out.log_probs, out.lengths, model.blank());  // (copies to the host)
      return Tensor();
    }
    model.zero_grad();
    const models::CtcOutput out = model.forward(features, lengths);
    Tensor loss = ops::ctc_loss(out.log_probs, targets, out.lengths, target_lengths, model.blank(),
                                ops::CtcReduction::MeanBatch, true);
    loss.backward();
    opt.step(model.flat_parameters(), model.flat_gradients());
    return model.flat_parameters();
  };
  Backend& be = backend_for(dev);
  BackendStats& counters = be.stats();
  auto peak_dev_mib = [&]() -> double {
    if (!on_cuda) return -1.0;
    return static_cast<double>(be.allocator().stats().peak_bytes_in_use) / (1024.0 * 1024.0);
  };
  for (int64_t s = 0; s < warmup; ++s) sync_device(run_step());
  const double audio = static_cast<double>(batch) * seconds;
  double timed = 0;
  for (int64_t r = 0; r < reps; ++r) {
    const uint64_t flops0 = counters.gemm_flops;
    const auto t0 = std::chrono::steady_clock::now();
    Tensor last;
    for (int64_t s = 0; s < steps; ++s) last = run_step();
    sync_device(last);
    const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    timed += dt;
    const double per_step = dt / static_cast<double>(steps);
    const double gflop = static_cast<double>(counters.gemm_flops - flops0) / 1e9 / static_cast<double>(steps);
    std::printf("asr mode=%s rep=%lld seconds_per_step=%.4f gemm_gflop_per_step=%.3f peak_rss_mib=%.1f threads=%d "
                "device=%s precision=%s config=%s batch=%lld seconds=%g audio_s_per_s=%.2f peak_gpu_mib=%.1f\n",
                mode.c_str(), static_cast<long long>(r), per_step, gflop, peak_rss_mib(), omp_get_max_threads(),
                device_name.c_str(), precision.c_str(), config.c_str(), static_cast<long long>(batch), seconds,
                audio / per_step, peak_dev_mib());
    std::fflush(stdout);
  }
  const double step_s = timed / static_cast<double>(steps * reps);
  std::printf("mode=%s trainable=%lld total=%lld batch=%lld seconds=%.1f step_s=%.4f peak_rss_mib=%.1f device=%s "
              "precision=%s config=%s audio_s_per_s=%.2f peak_gpu_mib=%.1f bf16_weights=%lld\n",
              mode.c_str(), static_cast<long long>(model.num_trainable_parameters()), static_cast<long long>(total),
              static_cast<long long>(batch), seconds, step_s, peak_rss_mib(), device_name.c_str(), precision.c_str(),
              config.c_str(), audio / step_s, peak_dev_mib(), static_cast<long long>(converted));
  return 0;
}
