// All-reduce time of the gradient buffer the trainer reduces each step: adapter-only (Conformer
// Small + dim-32 adapters, 185,856 floats) against what full fine-tuning would reduce (the whole
// Small model, 13.2M floats). Run on 2 ranks:
//   mpirun -np 2 build/bin/bench_allreduce [--device cuda] [--iters-scale X]
// Times are the slowest rank's, per all-reduce, after warm-up; "bus" bandwidth is the bytes each
// rank must send and receive for a ring all-reduce, 2 (N-1)/N * size, per second.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "asr/core/error.h"
#include "asr/dist/communicator.h"

namespace {

struct Buffer {
  const char* what;
  int64_t floats;
  int iterations;
};

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

int main(int argc, char** argv) {
  try {
    asr::dist::CommunicatorOptions options;
    double iters_scale = 1.0;
    for (int i = 1; i < argc; ++i) {
      const std::string arg = argv[i];
      if (arg == "--device" && i + 1 < argc)
        options.device =
            std::string(argv[++i]) == "cuda" ? asr::Device::cuda(0) : asr::Device::cpu();
      else if (arg == "--iters-scale" && i + 1 < argc)
        iters_scale = std::atof(argv[++i]);
      else
        throw asr::Error(asr::str_cat("bench_allreduce: unknown argument '", arg,
                                      "' (expected --device cpu|cuda, --iters-scale X)"));
    }
    auto comm = asr::dist::make_communicator(options);
    if (comm->device().is_cuda()) options.device = comm->device();
    const bool root = comm->rank() == 0;
    if (root && comm->size() < 2)
      std::printf("note: %d rank; run under `mpirun -np 2` to measure communication\n",
                  comm->size());
    const Buffer buffers[] = {{"adapters (Small + dim-32 adapters)", 185'856, 300},
                              {"full model (Conformer Small)", 13'200'000, 20}};
    if (root)
      std::printf("backend %s, %d ranks, device %s\n%-36s %12s %10s %10s %10s %10s\n", comm->name(),
                  comm->size(), comm->device().str().c_str(), "gradient buffer", "floats", "MiB",
                  "ms/reduce", "min ms", "bus GB/s");
    std::vector<double> mean_ms;
    for (const Buffer& b : buffers) {
      asr::Tensor grad =
          asr::Tensor::full({b.floats}, 1.0 + comm->rank(), asr::DType::F32, options.device);
      const int iters = std::max(3, static_cast<int>(b.iterations * iters_scale));
      for (int w = 0; w < 3; ++w) comm->all_reduce_mean(grad);  // warm-up: connections, caches
      double total = 0, best = 1e30;
      for (int it = 0; it < iters; ++it) {
        comm->barrier();  // every rank starts together, so the time is the collective's own
        const double t0 = now_seconds();
        comm->all_reduce_sum(grad);
        const double dt = now_seconds() - t0;
        // The slowest rank's time is the step's.
        const double slowest = comm->all_reduce_max(std::vector<double>{dt})[0];
        total += slowest;
        best = std::min(best, slowest);
      }
      const double mean = total / iters;
      mean_ms.push_back(mean * 1e3);
      const double bytes = static_cast<double>(b.floats) * 4;
      const double bus =
          comm->size() > 1 ? 2.0 * (comm->size() - 1) / comm->size() * bytes / mean / 1e9 : 0;
      if (root)
        std::printf("%-36s %12lld %10.2f %10.3f %10.3f %10.2f\n", b.what,
                    static_cast<long long>(b.floats), bytes / (1 << 20), mean * 1e3, best * 1e3,
                    bus);
    }
    if (root && mean_ms.size() == 2)
      std::printf(
          "volume ratio full/adapters: %.1fx; time ratio: %.1fx; bytes all-reduced by rank 0: "
          "%lld\n",
          13'200'000.0 / 185'856.0, mean_ms[1] / mean_ms[0],
          static_cast<long long>(comm->bytes_all_reduced()));
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_allreduce: %s\n", e.what());
    return 1;
  }
}
