// The machine's raw single-precision GEMM rate through the same OpenBLAS (and thread count) the
// CPU backend uses: the best of --reps timings of square sgemm at each --sizes. bench/vs_pytorch.sh
// divides a model's FLOP/s by this figure ("fraction of the sgemm peak").
//
//   bench_sgemm_peak [--sizes 512,1024,2048] [--reps 5] [--threads N]
// Prints: sgemm_peak gflops=G size=N threads=T
#include <cblas.h>
#include <omp.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  std::string sizes = "512,1024,2048";
  int reps = 5, threads = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    if (k == "--sizes") sizes = argv[i + 1];
    else if (k == "--reps") reps = std::atoi(argv[i + 1]);
    else if (k == "--threads") threads = std::atoi(argv[i + 1]);
    else {
      std::fprintf(stderr, "usage: bench_sgemm_peak [--sizes 512,1024,2048] [--reps 5] [--threads N]\n");
      return 2;
    }
  }
  if (threads > 0) omp_set_num_threads(threads);
  double best = 0;
  long best_n = 0;
  std::stringstream list(sizes);
  for (std::string item; std::getline(list, item, ',');) {
    const long n = std::atol(item.c_str());
    if (n <= 0) continue;
    std::vector<float> a(static_cast<size_t>(n * n), 0.5f), b(a), c(a);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(), n);
    for (int r = 0; r < reps; ++r) {
      const auto t0 = std::chrono::steady_clock::now();
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(), n);
      const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      const double gflops = 2.0 * n * n * n / dt / 1e9;
      if (gflops > best) best = gflops, best_n = n;
    }
  }
  std::printf("sgemm_peak gflops=%.2f size=%ld threads=%d\n", best, best_n, omp_get_max_threads());
  return 0;
}
